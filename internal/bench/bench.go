package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/store"
)

// Scenarios, in the order they run.
var Scenarios = []string{"floor", "balance", "earn", "earn_half", "earn_single", "spend", "mixed", "flash", "commit", "ingest"}

// Config is a bench run.
type Config struct {
	Backends    []string      // sqlite, postgres
	DB          string        // an existing database to use instead of a fresh one
	Postgres    string        // where fresh PostgreSQL databases are made
	Scenarios   []string      // default all
	Duration    time.Duration // per scenario
	Concurrency int
	URL         string // a running server instead of starting one
	Key         string // its admin key (with URL)
	Members     int
	Exe         string    // the jifen binary to start
	Progress    io.Writer // progress lines
	NATS        string    // NATS server for the ingest scenario
}

// Result is one scenario on one backend.
type Result struct {
	Scenario string  `json:"scenario"`
	Backend  string  `json:"backend"`
	Requests int64   `json:"requests"`
	RPS      float64 `json:"rps"`
	P50      float64 `json:"p50_ms"`
	P99      float64 `json:"p99_ms"`
	P999     float64 `json:"p999_ms"`
	Errors   int64   `json:"errors"`
	RSSMiB   float64 `json:"rss_mib"`
	Sold     *int64  `json:"sold,omitempty"`

	statuses string // the responses by status, for the progress line
}

// Machine describes where the run happened.
type Machine struct {
	CPUs        int    `json:"cpus"`
	MemoryBytes int64  `json:"memory_bytes"`
	Go          string `json:"go"`
}

// Report is a whole run.
type Report struct {
	Date    string   `json:"date"`
	Machine Machine  `json:"machine"`
	Results []Result `json:"results"`
}

func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version()}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
				kb, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
				m.MemoryBytes = kb * 1024
			}
		}
	}
	return m
}

func (c Config) wants(s string) bool { return len(c.Scenarios) == 0 || slices.Contains(c.Scenarios, s) }

func (c Config) progress(format string, args ...any) {
	if c.Progress != nil {
		fmt.Fprintf(c.Progress, format+"\n", args...)
	}
}

// Run runs the configured scenarios on each backend.
func Run(ctx context.Context, cfg Config) (Report, error) {
	rep := Report{Date: time.Now().Format(time.DateOnly), Machine: machine()}
	if cfg.URL != "" {
		rs, err := runRemote(ctx, cfg)
		rep.Results = rs
		return rep, err
	}
	for _, backend := range cfg.Backends {
		rs, err := runBackend(ctx, cfg, backend)
		rep.Results = append(rep.Results, rs...)
		if err != nil {
			return rep, fmt.Errorf("%s: %w", backend, err)
		}
	}
	return rep, nil
}

func runBackend(ctx context.Context, cfg Config, backend string) ([]Result, error) {
	dsn := cfg.DB
	if dsn == "" {
		fresh, cleanup, err := FreshDatabase(ctx, backend, cfg.Postgres)
		if err != nil {
			return nil, err
		}
		defer cleanup()
		dsn = fresh
	}
	key := "bench-admin-" + id.Secret(24)
	cfg.progress("%s: seeding %d members into %s", backend, cfg.Members, store.Redact(dsn))
	t0 := time.Now()
	seeded, err := Seed(ctx, dsn, key, cfg.Members)
	if err != nil {
		return nil, err
	}
	cfg.progress("%s: seeded in %s; starting jifen serve", backend, time.Since(t0).Round(time.Millisecond))
	t := target{key: key, members: seeded.Members, run: "r" + id.Secret(6), events: new(atomic.Int64)}
	if t.ingest, err = cfg.prepareIngest(ctx, backend, t.run); err != nil {
		return nil, err
	}
	defer t.ingest.close() // after the server has stopped
	srv, err := StartServer(ctx, cfg.Exe, dsn, key, t.ingest.serverEnv()...)
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	t.url = srv.URL
	return runScenarios(ctx, cfg, backend, dsn, t, srv)
}

func runScenarios(ctx context.Context, cfg Config, backend, dsn string, t target, srv *Server) ([]Result, error) {
	client := NewClient(cfg.Concurrency)
	var out []Result
	var earnRPS float64
	for _, sc := range Scenarios {
		if !cfg.wants(sc) || ctx.Err() != nil {
			continue
		}
		var res Result
		var err error
		var b0, o0, s0 float64
		if srv != nil {
			b0, o0, s0 = writerStats(srv.URL)
		}
		switch sc {
		case "floor", "balance", "earn", "earn_single", "spend", "mixed":
			fn := map[string]func(*workerState, int64) Step{
				"floor": t.floor, "balance": t.balance, "earn": t.earn, "earn_single": t.earnSingle, "spend": t.spend, "mixed": t.mixed,
			}[sc]
			res = cfg.drive(ctx, client, backend, sc, srv, Load{Concurrency: cfg.Concurrency, Duration: cfg.Duration,
				Warmup: min(2*time.Second, cfg.Duration/5)}, fn)
			if sc == "earn" {
				earnRPS = res.RPS
			}
		case "earn_half":
			if earnRPS == 0 {
				continue // it needs the earn figure of this run
			}
			res = cfg.drive(ctx, client, backend, sc, srv, Load{Concurrency: cfg.Concurrency, Duration: cfg.Duration,
				Rate: earnRPS / 2}, t.earn)
		case "flash":
			res, err = cfg.flash(ctx, client, backend, t, srv)
		case "commit":
			if dsn == "" {
				continue // a remote server: no database to probe
			}
			res, err = cfg.commit(ctx, backend, dsn)
		case "ingest":
			if t.ingest == nil {
				if srv == nil {
					cfg.progress("%s ingest: skipped (it needs a server the bench starts, with --ingest)", backend)
				}
				continue // else prepareIngest said why
			}
			res, err = cfg.ingest(ctx, backend, t, srv)
		}
		if err != nil {
			return out, fmt.Errorf("%s: %w", sc, err)
		}
		if srv != nil {
			b1, o1, s1 := writerStats(srv.URL)
			switch {
			case b1 > b0 && s1 > s0:
				res.statuses += fmt.Sprintf(" (%.1f writes per commit, %.1f statements per write)", (o1-o0)/(b1-b0), (s1-s0)/(o1-o0))
			case b1 > b0:
				res.statuses += fmt.Sprintf(" (%.1f writes per commit)", (o1-o0)/(b1-b0))
			}
		}
		out = append(out, res)
		cfg.progress("%s %s: %.0f req/s, p50 %.2f ms, p99 %.2f ms, %d errors%s", backend, sc, res.RPS, res.P50, res.P99, res.Errors, res.statuses)
	}
	return out, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func result(scenario, backend string, o Outcome, rss int64) Result {
	r := Result{Scenario: scenario, Backend: backend, Requests: o.Requests, RPS: o.RPS(), P50: ms(o.Percentile(0.5)),
		P99: ms(o.Percentile(0.99)), P999: ms(o.Percentile(0.999)), Errors: o.Errors, RSSMiB: float64(rss) / (1 << 20)}
	if o.Errors > 0 {
		codes := make([]int, 0, len(o.Tally))
		for c := range o.Tally {
			codes = append(codes, c)
		}
		slices.Sort(codes)
		for _, c := range codes {
			r.statuses += fmt.Sprintf(" [%d: %d]", c, o.Tally[c])
		}
	}
	return r
}

func (cfg Config) drive(ctx context.Context, client *http.Client, backend, scenario string, srv *Server, l Load, fn func(*workerState, int64) Step) Result {
	ws := newWorkers(l.Concurrency)
	stop := make(chan struct{})
	rss := peakRSS(srv, stop)
	o := Drive(ctx, client, l, func(w int, seq int64) Step { return fn(ws[w], seq) }, func(done int64, el time.Duration) {
		cfg.progress("  %s %s: %s  %d requests  %.0f/s", backend, scenario, el.Round(time.Second), done, float64(done)/el.Seconds())
	})
	close(stop)
	return result(scenario, backend, o, <-rss)
}

// flash races 5,000 members for 100 units with 20,000 requests and checks
// that exactly 100 were sold.
func (cfg Config) flash(ctx context.Context, client *http.Client, backend string, t target, srv *Server) (Result, error) {
	reward, err := t.createReward(client, 100)
	if err != nil {
		return Result{}, err
	}
	racers := t.members[:min(5000, len(t.members))]
	stop := make(chan struct{})
	rss := peakRSS(srv, stop)
	ws := newWorkers(cfg.Concurrency)
	fn := t.flash(reward, racers)
	o := Drive(ctx, client, Load{Concurrency: cfg.Concurrency, Total: 20_000}, func(w int, seq int64) Step { return fn(ws[w], seq) }, nil)
	close(stop)
	r := result("flash", backend, o, <-rss)
	sold := o.Tally[201]
	r.Sold = &sold
	if sold != 100 {
		return r, fmt.Errorf("flash sale sold %d of 100", sold)
	}
	return r, nil
}

// commit measures one-row insert transactions straight on the database,
// with the server's driver settings and no group commit: the per-commit
// floor of the disk.
func (cfg Config) commit(ctx context.Context, backend, dsn string) (Result, error) {
	db, err := store.Open(ctx, dsn, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return Result{}, err
	}
	defer db.Close()
	insert, drop, err := db.CommitProbe(ctx)
	if err != nil {
		return Result{}, err
	}
	defer drop()
	var mu sync.Mutex
	var lat []time.Duration
	var errs int64
	runCtx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < cfg.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []time.Duration
			var bad int64
			for runCtx.Err() == nil {
				t0 := time.Now()
				if err := insert(runCtx); err != nil {
					if runCtx.Err() != nil {
						break
					}
					bad++
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, local...)
			errs += bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(lat)
	o := Outcome{Requests: int64(len(lat)), Errors: errs, Elapsed: min(time.Since(start), cfg.Duration), Latencies: lat}
	return result("commit", backend, o, 0), nil
}

// Table writes the results as an aligned text table.
func (r Report) Table(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tbackend\trequests\treq/s\tp50 ms\tp99 ms\tp99.9 ms\terrors\tRSS MiB\tsold\t")
	for _, x := range r.Results {
		sold := ""
		if x.Sold != nil {
			sold = strconv.FormatInt(*x.Sold, 10)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.0f\t%.2f\t%.2f\t%.2f\t%d\t%.0f\t%s\t\n", x.Scenario, x.Backend, x.Requests, x.RPS,
			x.P50, x.P99, x.P999, x.Errors, x.RSSMiB, sold)
	}
	tw.Flush()
}

// JSON writes the report as JSON.
func (r Report) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
