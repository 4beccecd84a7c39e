package faults_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx", to look at the schema

	"github.com/jifen/jifen/internal/store/storetest"
)

// Sizes of TestSeveralNodes.
const (
	spendMembers  = 10 // members whose balance three nodes race to spend
	spendBalance  = 1000
	spendEach     = 100 // points per spend: spendBalance/spendEach succeed
	spendRequests = 40  // per member, spread over the nodes
	flashStock    = 100
	flashMembers  = 160 // each tries twice, on two nodes
	flashPrice    = 10
	expiryMembers = 10
)

// The scheduler's jobs and their intervals (jobs.NewScheduler and
// cmd/jifen/serve.go): each due run must happen on one node only.
var scheduled = map[string]time.Duration{
	"expire": time.Minute, "activate-pending": time.Minute, "expire-holds": time.Second,
	"purge-idempotency": time.Hour, "tier-review": 24 * time.Hour, "expire-coupons": 10 * time.Minute,
	"birthdays": time.Hour,
}

// TestSeveralNodes runs three serve processes on one PostgreSQL with
// requests spread across them: concurrent spends of the same members, a
// flash sale, and the scheduler running on all three. No member spends
// more than it has, the sale sells its stock exactly, each scheduled run
// happens once, expiry applies once, and `jifen verify` passes.
func TestSeveralNodes(t *testing.T) {
	pg := os.Getenv(storetest.EnvPostgres)
	if pg == "" {
		t.Skip("needs PostgreSQL: set JIFEN_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run it")
	}
	dsn := storetest.FreshSchema(t, pg)
	c := newClient()
	defer c.CloseIdleConnections()
	vars := map[string]string{"JIFEN_DB": dsn, "JIFEN_READ_CONNS": "4", "JIFEN_JOB_TICK": "100ms"}

	// Setup on a node of its own, without the scheduler, so that the
	// three nodes find every job due when they start together.
	setup := newNode(t, "setup", map[string]string{"JIFEN_DB": dsn, "JIFEN_SCHEDULER": "false"})
	setup.start()
	base := setup.Base()
	spenders := makeMembers(t, c, base, "spend", spendMembers, map[string]any{"points": spendBalance})
	buyers := makeMembers(t, c, base, "flash", flashMembers, map[string]any{"points": 2 * flashPrice})
	expiring := makeMembers(t, c, base, "expire", expiryMembers, map[string]any{"points": 50})
	expiresAt := time.Now().Add(time.Second)
	var fe firstErr
	parallel(len(expiring), 4, func(i int) {
		_, err := earn(c, base, expiring[i], map[string]any{"points": 100, "expires_at": expiresAt.Format(time.RFC3339Nano)})
		fe.set(err)
	})
	fe.check(t)
	checkSearchPath(t, pg, dsn, spendMembers+flashMembers+expiryMembers)
	setup.stop()
	time.Sleep(time.Until(expiresAt.Add(100 * time.Millisecond)))

	// Three nodes, started together: each one's scheduler races the
	// others for every job's first run.
	nodesStart := time.Now()
	var nodes [3]*node
	for i := range nodes {
		nodes[i] = newNode(t, fmt.Sprintf("node%d", i+1), vars)
		nodes[i].launch()
	}
	for _, n := range nodes {
		for !n.waitReady() {
			n.launch()
		}
	}
	bases := func(i int) string { return nodes[i%len(nodes)].Base() }

	t.Run("concurrent spends", func(t *testing.T) { raceSpends(t, c, bases, spenders) })
	t.Run("flash sale", func(t *testing.T) { flashSale(t, c, bases, buyers, spenders[0]) })
	t.Run("expiry", func(t *testing.T) { expiryOnce(t, c, bases, expiring, nodesStart) })
	t.Run("each scheduled run once", func(t *testing.T) {
		var runs [3]map[string]float64
		for i, n := range nodes {
			runs[i] = jobRuns(t, c, n.Base())
		}
		elapsed := time.Since(nodesStart)
		for job, every := range scheduled {
			var total float64
			var per []string
			for i := range nodes {
				total += runs[i][job+"/ok"]
				per = append(per, fmt.Sprintf("node%d %g", i+1, runs[i][job+"/ok"]))
				if e := runs[i][job+"/error"]; e > 0 {
					t.Errorf("job %s failed %g times on node%d", job, e, i+1)
				}
			}
			// A run claims the next at now+every, so in elapsed there can
			// be at most elapsed/every+1 runs across all nodes (1 % for
			// the lease's millisecond rounding); every job was due when
			// the nodes started, so at least one. A lease that let each
			// node run would show up to three times as many.
			most := math.Floor(1.01*elapsed.Seconds()/every.Seconds()) + 1
			if total < 1 || total > most {
				t.Errorf("job %s (every %s) ran %g times on 3 nodes in %s, want 1 to %g (%v)", job, every, total, elapsed.Round(time.Millisecond), most, per)
			} else {
				t.Logf("job %s (every %s): %g runs in %s (%v)", job, every, total, elapsed.Round(time.Millisecond), per)
			}
		}
	})
	booksOK(t, c, bases(0))
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n.cmd.Process.Signal(os.Interrupt)
			<-n.exited
		}()
	}
	wg.Wait()
	for _, n := range nodes {
		if code := n.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("%s exited %d after SIGINT", n.name, code)
		}
	}
	verifyCLI(t, dsn)
}

// makeMembers creates n members, each with one earn of body.
func makeMembers(t *testing.T, c *http.Client, base, prefix string, n int, body map[string]any) []string {
	t.Helper()
	ids := make([]string, n)
	var fe firstErr
	parallel(n, 6, func(i int) {
		id, err := createMember(c, base, fmt.Sprintf("%s-%d", prefix, i))
		if err == nil {
			_, err = earn(c, base, id, body)
		}
		fe.set(err)
		ids[i] = id
	})
	fe.check(t)
	return ids
}

// checkSearchPath looks in the test's schema directly: serve must have put
// its tables and rows there, as the DSN's search_path says, not in public.
func checkSearchPath(t *testing.T, pg, dsn string, wantMembers int) {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	schema := u.Query().Get("search_path")
	db, err := sql.Open("pgx", pg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	q := `SELECT COUNT(*) FROM ` + schema + `.members`
	if err := db.QueryRowContext(context.Background(), q).Scan(&n); err != nil || n != wantMembers {
		t.Fatalf("%s: %d members, %v; want %d (does serve honour search_path?)", q, n, err, wantMembers)
	}
}

// raceSpends sends spendRequests spends of spendEach points per member,
// all at once, round-robin over the nodes: exactly spendBalance/spendEach
// must succeed per member, the rest be refused insufficient_points, and no
// balance read meanwhile may be negative.
func raceSpends(t *testing.T, c *http.Client, bases func(int) string, members []string) {
	type result struct {
		member string
		a      answer
	}
	results := make([]result, len(members)*spendRequests)
	var stop atomic.Bool
	var negative atomic.Value
	var polls atomic.Int64
	done := make(chan struct{})
	go func() { // read balances on every node while the spends race
		defer close(done)
		for i := 0; !stop.Load(); i++ {
			b, a := getBalance(c, bases(i), members[i%len(members)])
			if a.ok() {
				polls.Add(1)
				if b.Available < 0 || b.Held < 0 || b.Pending < 0 {
					negative.Store(fmt.Sprintf("%s on %s: %+v", members[i%len(members)], bases(i), b))
				}
			}
		}
	}()
	parallel(len(results), 48, func(i int) {
		m := members[i%len(members)]
		a := call(c, "POST", bases(i)+"/v1/members/"+m+"/points/spend", map[string]any{"points": spendEach},
			fmt.Sprintf("race-%d", i))
		results[i] = result{m, a}
	})
	stop.Store(true)
	<-done
	if v := negative.Load(); v != nil {
		t.Errorf("a balance read during the race was negative: %s", v)
	}
	ok := map[string]int{}
	refused := 0
	for _, r := range results {
		switch {
		case r.a.Status == 201:
			ok[r.member]++
		case r.a.Status == 422 && r.a.code() == "insufficient_points":
			refused++
		default:
			t.Errorf("spend of %s: %s, want 201 or 422 insufficient_points", r.member, r.a)
		}
	}
	for _, m := range members {
		if ok[m] != spendBalance/spendEach {
			t.Errorf("member %s: %d spends of %d succeeded on a balance of %d, want %d", m, ok[m], spendEach, spendBalance, spendBalance/spendEach)
		}
		b, a := getBalance(c, bases(0), m)
		if !a.ok() || b.Available != 0 || b.LifetimeSpent != spendBalance {
			t.Errorf("member %s after the race: %+v (%s), want 0 available, %d spent", m, b, a, spendBalance)
		}
		var spent int64
		txns, _ := transactions(t, c, bases(1), m, "spend")
		for _, txn := range txns {
			spent += txn.Points
		}
		if spent != spendBalance || len(txns) != spendBalance/spendEach {
			t.Errorf("member %s: ledger has %d spends of %d points in all, want %d of %d", m, len(txns), spent, spendBalance/spendEach, spendBalance)
		}
	}
	t.Logf("%d spends on 3 nodes: %d succeeded, %d refused insufficient_points; %d balance reads meanwhile, none negative",
		len(results), len(results)-refused, refused, polls.Load())
}

// flashSale puts flashStock units on sale and has flashMembers members
// buy at the start, each twice at once on two nodes: exactly flashStock
// are sold, to as many members, each charged once. broke is a member
// with no points, who asks every node before the start.
func flashSale(t *testing.T, c *http.Client, bases func(int) string, members []string, broke string) {
	startsAt := time.Now().Add(1500 * time.Millisecond).Truncate(time.Millisecond)
	var rw struct {
		ID string `json:"id"`
	}
	must(t, c, "POST", bases(0)+"/v1/rewards", map[string]any{"name": "flash", "type": "virtual",
		"points_price": flashPrice, "stock": flashStock, "per_member_limit": 1,
		"starts_at": startsAt.Format(time.RFC3339Nano)}, 201, &rw)
	// Every node has seen the reward before the sale (so each one's gate
	// has it cached, as in a real sale): it is not on sale yet. (Asked
	// too late on a slow machine, the broke member is refused anyway.)
	for i := 0; i < 3; i++ {
		a := call(c, "POST", bases(i)+"/v1/redemptions", map[string]any{"member": broke, "reward_id": rw.ID}, "")
		if (a.Status != 422 || a.code() != "not_started") && a.At.Add(a.Took).Before(startsAt) {
			t.Fatalf("redemption before the start on node%d: %s, want 422 not_started", i+1, a)
		}
	}
	type result struct {
		member string
		a      answer
	}
	results := make([]result, 2*len(members))
	var ready, wg sync.WaitGroup
	ready.Add(1)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := members[i/2]
			body := map[string]any{"member": m, "reward_id": rw.ID}
			ready.Wait()
			results[i] = result{m, call(c, "POST", bases(i/2+i%2)+"/v1/redemptions", body, fmt.Sprintf("flash-%d", i))}
		}()
	}
	time.Sleep(time.Until(startsAt.Add(20 * time.Millisecond)))
	began := time.Now()
	ready.Done()
	wg.Wait()
	took := time.Since(began)

	sold := map[string]int{}
	codes := map[string]int{}
	for _, r := range results {
		switch {
		case r.a.Status == 201:
			sold[r.member]++
			codes["201"]++
		case r.a.Status == 409 && r.a.code() == "out_of_stock", r.a.Status == 422 && r.a.code() == "limit_exceeded":
			codes[r.a.code()]++
		default:
			t.Errorf("redemption by %s: %s, want 201, 409 out_of_stock or 422 limit_exceeded", r.member, r.a)
		}
	}
	if codes["201"] != flashStock || len(sold) != flashStock {
		t.Errorf("sold %d units to %d members, want %d to %d", codes["201"], len(sold), flashStock, flashStock)
	}
	for m, n := range sold {
		if n > 1 {
			t.Errorf("member %s bought %d with a limit of 1", m, n)
		}
	}
	var got struct {
		Stock *int64 `json:"stock"`
		Sold  int64  `json:"sold"`
	}
	must(t, c, "GET", bases(2)+"/v1/rewards/"+rw.ID, nil, 200, &got)
	if got.Stock == nil || *got.Stock != 0 || got.Sold != flashStock {
		t.Errorf("reward after the sale: stock %v, sold %d; want 0 and %d", got.Stock, got.Sold, flashStock)
	}
	var reds int
	for cursor := ""; ; {
		var page struct {
			Data []struct {
				MemberID string `json:"member_id"`
			} `json:"data"`
			NextCursor *string `json:"next_cursor"`
		}
		must(t, c, "GET", bases(1)+"/v1/redemptions?limit=500&reward_id="+rw.ID+"&cursor="+cursor, nil, 200, &page)
		for _, r := range page.Data {
			if sold[r.MemberID] != 1 {
				t.Errorf("a redemption of %s that no 201 answered", r.MemberID)
			}
		}
		reds += len(page.Data)
		if page.NextCursor == nil || *page.NextCursor == "" {
			break
		}
		cursor = *page.NextCursor
	}
	if reds != flashStock {
		t.Errorf("%d redemptions stored, want %d", reds, flashStock)
	}
	for i, m := range members {
		b, a := getBalance(c, bases(i), m)
		want := int64(2 * flashPrice)
		if sold[m] == 1 {
			want = flashPrice
		}
		if !a.ok() || b.Available != want {
			t.Errorf("member %s (bought %d): available %d (%s), want %d", m, sold[m], b.Available, a, want)
		}
	}
	t.Logf("flash sale of %d on 3 nodes: %d requests by %d members, all answered in %s: %v",
		flashStock, len(results), len(members), took.Round(time.Millisecond), codes)
}

// expiryOnce checks the scheduled expiry (the nodes' first run, at start)
// and then an expiry that all three nodes are asked to run at once: each
// lot expires once.
func expiryOnce(t *testing.T, c *http.Client, bases func(int) string, expired []string, nodesStart time.Time) {
	deadline := time.Now().Add(15 * time.Second)
	for i, m := range expired {
		for {
			b, a := getBalance(c, bases(i), m)
			if a.ok() && b.LifetimeExpired > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("member %s: the scheduler did not expire its points within 15s: %+v %s", m, b, a)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// More expiring points, now; then every node runs the expiry twice
	// concurrently, by the API.
	later := makeMembers(t, c, bases(0), "expire-later", expiryMembers, map[string]any{"points": 50})
	expiresAt := time.Now().Add(time.Second)
	var fe firstErr
	parallel(len(later), 4, func(i int) {
		_, err := earn(c, bases(i), later[i], map[string]any{"points": 100, "expires_at": expiresAt.Format(time.RFC3339Nano)})
		fe.set(err)
	})
	fe.check(t)
	time.Sleep(time.Until(expiresAt.Add(50 * time.Millisecond)))
	var lots, points atomic.Int64
	parallel(6, 6, func(i int) {
		var res struct {
			LotsExpired   int64 `json:"lots_expired"`
			PointsExpired int64 `json:"points_expired"`
		}
		_, err := try(c, "POST", bases(i)+"/v1/jobs/expire", map[string]any{}, 200, &res)
		fe.set(err)
		lots.Add(res.LotsExpired)
		points.Add(res.PointsExpired)
	})
	fe.check(t)
	// The scheduler's next expire run is a minute after the nodes started,
	// so (unless this machine is very slow) these runs did it all: once.
	exact := time.Since(nodesStart) < 55*time.Second
	if lots.Load() > expiryMembers || points.Load() > 100*expiryMembers ||
		exact && (lots.Load() != expiryMembers || points.Load() != 100*expiryMembers) {
		t.Errorf("6 concurrent expiry runs on 3 nodes expired %d lots, %d points; want %d and %d",
			lots.Load(), points.Load(), expiryMembers, 100*expiryMembers)
	}
	for i, m := range append(expired, later...) {
		b, a := getBalance(c, bases(i), m)
		if !a.ok() || b.Available != 50 || b.LifetimeExpired != 100 {
			t.Errorf("member %s after expiry: %+v (%s), want 50 available, 100 expired", m, b, a)
		}
		txns, _ := transactions(t, c, bases(i+1), m, "expire")
		if len(txns) != 1 || txns[0].Points != 100 {
			t.Errorf("member %s: expire transactions %+v, want one of 100", m, txns)
		}
	}
}

var jobRunLine = regexp.MustCompile(`^jifen_job_runs_total\{job="([^"]+)",outcome="([^"]+)"\} (\S+)$`)

// jobRuns reads a node's jifen_job_runs_total as "job/outcome" → count.
func jobRuns(t *testing.T, c *http.Client, base string) map[string]float64 {
	t.Helper()
	a := call(c, "GET", base+"/metrics", nil, "")
	if a.Status != 200 {
		t.Fatalf("GET /metrics: %s", a)
	}
	runs := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(a.Body))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if m := jobRunLine.FindStringSubmatch(sc.Text()); m != nil {
			v, err := strconv.ParseFloat(m[3], 64)
			if err != nil {
				t.Fatalf("metrics line %q: %v", sc.Text(), err)
			}
			runs[m[1]+"/"+m[2]] = v
		}
	}
	return runs
}
