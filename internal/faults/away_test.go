package faults_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/store/storetest"
)

// failFast bounds how long any request may take while the database is
// away: it must be refused promptly, not hang.
const failFast = 6 * time.Second

// TestDatabaseAway stops PostgreSQL under load, twice (a fast shutdown,
// then an immediate one, as in a crash): requests must fail fast with 503
// and code unavailable (with Retry-After), /readyz must say not ready,
// nothing may be half written, and when the database is back the same
// process must serve again without a restart.
//
// It never touches the shared server of JIFEN_TEST_POSTGRES (other
// packages test on it in parallel): it makes a throwaway cluster with
// pg_createcluster, which needs root.
func TestDatabaseAway(t *testing.T) {
	if os.Getenv(storetest.EnvPostgres) == "" {
		t.Skip("needs PostgreSQL: set JIFEN_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable " +
			"(and run as root with pg_createcluster: the test stops a cluster of its own)")
	}
	began := time.Now()
	pg := newCluster(t)
	dsn := pg.dsn()
	c := newClient()
	defer c.CloseIdleConnections()
	// A short cache TTL, so that keys and program settings are read from
	// the database during the outage too, as they would be in a longer one.
	n := newNode(t, "serve", map[string]string{"JIFEN_DB": dsn, "JIFEN_CACHE_TTL": "500ms"})
	n.start()
	pid := n.PID()
	w := setupWorkload(t, c, n.Base(), "away", 6, 10_000_000)
	var stop atomic.Bool
	wait := w.drive(c, n.Base, 8, &stop, true)
	probe := startReadyProbe(n.Base())
	type outage struct {
		mode                    string
		stopAt, downAt, startAt time.Time // stop asked, stopped, start asked
		upAt                    time.Time // pg_ctlcluster start returned
		recovered, readyAgain   time.Duration
	}
	outages := []*outage{{mode: "fast"}, {mode: "immediate"}}
	for _, o := range outages {
		time.Sleep(time.Second) // load on a healthy database
		o.stopAt = time.Now()
		pg.ctl(t, "stop", "-m", o.mode)
		o.downAt = time.Now()
		time.Sleep(2500 * time.Millisecond)
		if !n.running() {
			t.Fatalf("serve exited while the database was away:\n%s", tail(n.logs[len(n.logs)-1], 25))
		}
		o.startAt = time.Now()
		pg.ctl(t, "start")
		o.upAt = time.Now()
		// Service must come back on its own: a request answered 2xx, and
		// /readyz 200, after the start.
		deadline := o.startAt.Add(20 * time.Second)
		for o.recovered == 0 || o.readyAgain == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%s stop: no 2xx answer or ready /readyz within 20s of the database's start", o.mode)
			}
			time.Sleep(50 * time.Millisecond)
			if o.recovered == 0 {
				if at, ok := w.firstOK(o.startAt); ok {
					o.recovered = at.Sub(o.startAt)
				}
			}
			if o.readyAgain == 0 {
				if at, ok := probe.firstAfter(o.startAt, 200); ok {
					o.readyAgain = at.Sub(o.startAt)
				}
			}
		}
	}
	time.Sleep(500 * time.Millisecond)
	stop.Store(true)
	wait()
	probe.stop()
	if n.PID() != pid || !n.running() {
		t.Fatalf("serve was restarted or died (pid %d, was %d)", n.PID(), pid)
	}

	// Every answer: 2xx, or 503 unavailable with Retry-After, promptly.
	// While the database was down (stopped and not yet started again),
	// nothing may succeed.
	var ok, refused, unanswered, refusedYetApplied int
	var slowest, slowest503 time.Duration
	var lat503 []time.Duration
	for _, op := range w.all() {
		if f := op.final(); f != nil && f.replayed() && op.Attempts[0].Status == 503 {
			// Answered 503, yet its retry found it committed: the
			// connection went during COMMIT, after the database had
			// committed. Whole, not half: the retry's replay tells.
			refusedYetApplied++
		}
		for _, a := range op.Attempts {
			slowest = max(slowest, a.Took)
			switch {
			case a.Err != nil:
				unanswered++
				t.Errorf("%s %s (key %s) sent at %s: no answer: %v", op.Kind, op.Member, op.Key, a.At.Format("15:04:05.000"), a.Err)
			case a.ok():
				ok++
				for _, o := range outages {
					if a.At.After(o.downAt) && a.At.Add(a.Took).Before(o.startAt) {
						t.Errorf("%s %s answered %s while the database was down", op.Kind, op.Key, a)
					}
				}
			default:
				refused++
				lat503 = append(lat503, a.Took)
				slowest503 = max(slowest503, a.Took)
				if a.Status != 503 || a.code() != "unavailable" || a.Header.Get("Content-Type") != "application/problem+json" {
					t.Errorf("%s %s (key %s) answered %s (%s), want 503 application/problem+json code unavailable; the server logged: %s",
						op.Kind, op.Member, op.Key, a, a.Header.Get("Content-Type"), n.logLines(a.Header.Get("X-Request-Id")))
				} else if ra, err := strconv.Atoi(a.Header.Get("Retry-After")); err != nil || ra < 1 {
					t.Errorf("503 with Retry-After %q, want whole seconds ≥ 1", a.Header.Get("Retry-After"))
				}
			}
			if a.Took > failFast {
				t.Errorf("%s %s (key %s) took %s to answer %s: not fail-fast", op.Kind, op.Member, op.Key, a.Took, a)
			}
		}
	}
	if refused == 0 {
		t.Errorf("no request was refused while the database was away: did the outages hit the load?")
	}
	// /readyz: 503 whenever it was asked while the database was down.
	for _, o := range outages {
		notReady := 0
		for _, p := range probe.results() {
			if p.at.After(o.downAt) && p.at.Add(p.took).Before(o.startAt) {
				if p.status != 503 || !strings.Contains(string(p.body), "not_ready") {
					t.Errorf("%s stop: /readyz answered %d %s while the database was down", o.mode, p.status, p.body)
				}
				notReady++
			}
			if p.took > failFast {
				t.Errorf("/readyz took %s", p.took)
			}
		}
		if notReady == 0 {
			t.Errorf("%s stop: /readyz was never asked while the database was down", o.mode)
		}
		t.Logf("%s stop: database down %s after the stop began and started again %s later (pg_ctlcluster start took %s); "+
			"/readyz 503 %d times while it was down; first 2xx %s and /readyz 200 %s after the start began",
			o.mode, o.downAt.Sub(o.stopAt).Round(time.Millisecond), o.startAt.Sub(o.downAt).Round(time.Millisecond),
			o.upAt.Sub(o.startAt).Round(time.Millisecond), notReady,
			o.recovered.Round(time.Millisecond), o.readyAgain.Round(time.Millisecond))
	}
	if t.Failed() {
		t.FailNow()
	}

	// Nothing half written: once every refused request is sent again with
	// its key, the books are exactly the requests, each applied once.
	st := w.settle(t, c, n.Base())
	w.checkBooks(t, c, n.Base())
	w.replayAll(t, c, n.Base())
	n.stop()
	verifyCLI(t, dsn)
	slices.Sort(lat503)
	median := time.Duration(0)
	if len(lat503) > 0 {
		median = lat503[len(lat503)/2]
	}
	t.Logf("%d requests: %d answers 2xx, %d 503 (median %s, slowest %s), %d unanswered; slowest answer %s; "+
		"%d answered 503 first were found committed by their retry; "+
		"%d without a 2xx at the end, of which %d had been applied and replayed, %d applied on resend; %s",
		len(w.all()), ok, refused, median.Round(time.Microsecond), slowest503.Round(time.Millisecond), unanswered,
		slowest.Round(time.Millisecond), refusedYetApplied, st.pending, st.committed, st.applied,
		time.Since(began).Round(time.Millisecond))
}

// readyProbe asks /readyz every 100 ms and keeps the answers.
type readyProbe struct {
	done chan struct{}
	quit atomic.Bool
	mu   sync.Mutex
	got  []readyResult
}

type readyResult struct {
	at     time.Time
	took   time.Duration
	status int
	body   []byte
}

func startReadyProbe(base string) *readyProbe {
	p := &readyProbe{done: make(chan struct{})}
	hc := newClient()
	go func() {
		defer close(p.done)
		defer hc.CloseIdleConnections()
		for !p.quit.Load() {
			a := call(hc, "GET", base+"/readyz", nil, "")
			p.mu.Lock()
			p.got = append(p.got, readyResult{a.At, a.Took, a.Status, a.Body})
			p.mu.Unlock()
			time.Sleep(100 * time.Millisecond)
		}
	}()
	return p
}

func (p *readyProbe) stop() { p.quit.Store(true); <-p.done }

func (p *readyProbe) results() []readyResult {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]readyResult(nil), p.got...)
}

func (p *readyProbe) firstAfter(at time.Time, status int) (time.Time, bool) {
	for _, r := range p.results() {
		if r.at.After(at) && r.status == status {
			return r.at.Add(r.took), true
		}
	}
	return time.Time{}, false
}

// cluster is a PostgreSQL cluster of the test's own, made with Debian's
// pg_createcluster and dropped when the test ends.
type cluster struct {
	version, name string
	port          int
}

var staleCluster = regexp.MustCompile(`^jf_away_(\d+)_[a-z0-9]+$`)

func newCluster(t *testing.T) *cluster {
	t.Helper()
	if os.Geteuid() != 0 {
		skipOrFail(t, "TestDatabaseAway makes a PostgreSQL cluster with pg_createcluster: run as root")
	}
	for _, tool := range []string{"pg_createcluster", "pg_ctlcluster", "pg_dropcluster"} {
		if _, err := exec.LookPath(tool); err != nil {
			skipOrFail(t, "TestDatabaseAway needs %s (Debian's postgresql-common): %v", tool, err)
		}
	}
	entries, _ := os.ReadDir("/etc/postgresql")
	var versions []int
	for _, e := range entries {
		if v, err := strconv.Atoi(e.Name()); err == nil {
			versions = append(versions, v)
		}
	}
	if len(versions) == 0 {
		skipOrFail(t, "no PostgreSQL version under /etc/postgresql")
	}
	sort.Ints(versions)
	cl := &cluster{version: strconv.Itoa(versions[len(versions)-1])}
	// Drop clusters that an earlier run, killed before its cleanup, left.
	old, _ := os.ReadDir(filepath.Join("/etc/postgresql", cl.version))
	for _, e := range old {
		if m := staleCluster.FindStringSubmatch(e.Name()); m != nil {
			if pid, _ := strconv.Atoi(m[1]); pid > 0 && syscall.Kill(pid, 0) == syscall.ESRCH {
				exec.Command("pg_dropcluster", "--stop", cl.version, e.Name()).Run()
			}
		}
	}
	cl.name = fmt.Sprintf("jf_away_%d_%s", os.Getpid(), strings.ToLower(id.Secret(6)))
	cl.port = freePort(t)
	out, err := exec.Command("pg_createcluster", "--start-conf=manual", "-p", strconv.Itoa(cl.port),
		cl.version, cl.name, "--", "--auth=trust", "--no-sync").CombinedOutput()
	if err != nil {
		t.Fatalf("pg_createcluster %s %s: %v\n%s", cl.version, cl.name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("pg_dropcluster", "--stop", cl.version, cl.name).CombinedOutput(); err != nil {
			t.Errorf("pg_dropcluster %s %s: %v\n%s", cl.version, cl.name, err, out)
		}
	})
	cl.ctl(t, "start")
	return cl
}

// ctl runs pg_ctlcluster action (start, stop) with extra options; it
// returns when the cluster is up, or down.
func (cl *cluster) ctl(t *testing.T, action string, opts ...string) {
	t.Helper()
	args := append([]string{"--skip-systemctl-redirect"}, opts...)
	args = append(args, cl.version, cl.name, action)
	if out, err := exec.Command("pg_ctlcluster", args...).CombinedOutput(); err != nil {
		t.Fatalf("pg_ctlcluster %v: %v\n%s", args, err, out)
	}
}

func (cl *cluster) dsn() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", cl.port)
}
