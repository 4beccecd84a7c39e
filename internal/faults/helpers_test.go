package faults_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// adminKey is the secret of the admin key every test database is made
// with (JIFEN_ADMIN_KEY).
const adminKey = "faults-admin-key-0123456789abcdef"

// envRequired makes a missing prerequisite of a fault test (root,
// pg_createcluster) a failure instead of a skip. CI sets it.
const envRequired = "JIFEN_TEST_FAULTS_REQUIRED"

var (
	binDir    string
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "jifen-faults-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// jifenBin builds cmd/jifen once per test binary and returns its path. It
// is built without the race detector whatever the tests run with: the
// detector watches the test process, the server is a black box here.
func jifenBin(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		// go test puts its own GOROOT/bin first on PATH.
		goCmd, err := exec.LookPath("go")
		if err != nil {
			buildErr = fmt.Errorf("go is not on PATH: %v", err)
			return
		}
		binPath = filepath.Join(binDir, "jifen")
		cmd := exec.Command(goCmd, "build", "-o", binPath, "github.com/jifen/jifen/cmd/jifen")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/jifen: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// skipOrFail skips the test, or fails it when CI requires fault tests.
func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(envRequired) == "1" {
		t.Fatalf("%s (%s=1: fault tests must run)", msg, envRequired)
	}
	t.Skip(msg)
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// procEnv is the environment of a child process: this one's without any
// JIFEN_ setting (a developer's shell must not leak into the test), plus
// vars.
func procEnv(vars map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "JIFEN_") {
			env = append(env, kv)
		}
	}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	return env
}

// node is one `jifen serve` process that a test starts, kills and starts
// again. Every start listens on a fresh port and logs to a file of its
// own, shown when the test fails.
type node struct {
	t      testing.TB
	name   string
	vars   map[string]string
	dir    string
	starts int

	mu   sync.Mutex // guards base (read by load goroutines)
	base string

	cmd    *exec.Cmd
	exited chan struct{}
	logs   []string
}

// newNode returns a node that is not started yet; it is killed when the
// test ends, if still running.
func newNode(t testing.TB, name string, vars map[string]string) *node {
	t.Helper()
	n := &node{t: t, name: name, vars: vars, dir: t.TempDir()}
	t.Cleanup(func() {
		if n.running() {
			n.cmd.Process.Kill()
			<-n.exited
		}
		if t.Failed() {
			for _, p := range n.logs {
				t.Logf("--- %s (last lines)\n%s", p, tail(p, 25))
			}
		}
	})
	return n
}

func (n *node) running() bool {
	if n.cmd == nil {
		return false
	}
	select {
	case <-n.exited:
		return false
	default:
		return true
	}
}

// Base is the node's current URL, http://127.0.0.1:port.
func (n *node) Base() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.base
}

// PID is the current process's ID.
func (n *node) PID() int { return n.cmd.Process.Pid }

// launch starts the process without waiting for it to be ready.
func (n *node) launch() {
	n.t.Helper()
	if n.running() {
		n.t.Fatalf("%s: already running", n.name)
	}
	n.starts++
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(n.t))
	vars := map[string]string{"JIFEN_ADDR": addr, "JIFEN_ADMIN_KEY": adminKey, "JIFEN_LOG_FORMAT": "json", "JIFEN_LOG_LEVEL": "warn"}
	for k, v := range n.vars {
		vars[k] = v
	}
	logPath := filepath.Join(n.dir, fmt.Sprintf("%s-%d.log", n.name, n.starts))
	f, err := os.Create(logPath)
	if err != nil {
		n.t.Fatal(err)
	}
	n.logs = append(n.logs, logPath)
	cmd := exec.Command(jifenBin(n.t), "serve")
	cmd.Env = procEnv(vars)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		n.t.Fatalf("%s: start: %v", n.name, err)
	}
	n.cmd, n.exited = cmd, make(chan struct{})
	exited := n.exited
	go func() {
		cmd.Wait()
		f.Close()
		close(exited)
	}()
	n.mu.Lock()
	n.base = "http://" + addr
	n.mu.Unlock()
}

// waitReady waits for /readyz to answer 200. It reports false when the
// process died because its port was taken meanwhile (the caller starts it
// again on another).
func (n *node) waitReady() bool {
	n.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	c := &http.Client{Timeout: 2 * time.Second}
	defer c.CloseIdleConnections()
	for {
		res, err := c.Get(n.Base() + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return true
			}
		}
		select {
		case <-n.exited:
			log := n.logs[len(n.logs)-1]
			if strings.Contains(tail(log, 10), "address already in use") {
				return false
			}
			n.t.Fatalf("%s exited before it was ready (%s):\n%s", n.name, n.cmd.ProcessState, tail(log, 25))
		default:
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("%s not ready after 30s: %v\n%s", n.name, err, tail(n.logs[len(n.logs)-1], 25))
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// start starts the process and waits until it is ready.
func (n *node) start() {
	n.t.Helper()
	for attempt := 0; ; attempt++ {
		n.launch()
		if n.waitReady() {
			return
		}
		if attempt == 3 {
			n.t.Fatalf("%s: no free port after %d tries", n.name, attempt+1)
		}
	}
}

// kill9 sends SIGKILL, as `kill -9` does, and waits for the process to go.
func (n *node) kill9() {
	n.t.Helper()
	if err := n.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		n.t.Fatalf("%s: kill -9: %v", n.name, err)
	}
	<-n.exited
}

// stop shuts the process down gracefully (SIGTERM) and fails the test
// unless it exits 0 within 30 s.
func (n *node) stop() {
	n.t.Helper()
	if err := n.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		n.t.Fatalf("%s: SIGTERM: %v", n.name, err)
	}
	select {
	case <-n.exited:
	case <-time.After(30 * time.Second):
		n.cmd.Process.Kill()
		<-n.exited
		n.t.Fatalf("%s did not stop within 30s of SIGTERM", n.name)
	}
	if code := n.cmd.ProcessState.ExitCode(); code != 0 {
		n.t.Fatalf("%s exited %d after SIGTERM:\n%s", n.name, code, tail(n.logs[len(n.logs)-1], 25))
	}
}

// logLines returns the lines of the node's logs (every start) that
// contain s: the server's own account of a request, by its X-Request-Id.
func (n *node) logLines(s string) []string {
	var out []string
	for _, p := range n.logs {
		b, _ := os.ReadFile(p)
		for _, line := range strings.Split(string(b), "\n") {
			if s != "" && strings.Contains(line, s) {
				out = append(out, line)
			}
		}
	}
	return out
}

// tail returns the last lines of a file.
func tail(path string, lines int) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var all []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		all = append(all, sc.Text())
	}
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// verifyCLI runs `jifen verify --db dsn` and fails the test unless it
// exits 0 saying every check passed.
func verifyCLI(t testing.TB, dsn string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, jifenBin(t), "verify", "--db", dsn)
	cmd.Env = procEnv(nil)
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("all checks passed")) {
		t.Fatalf("jifen verify --db %s: %v\n%s", dsn, err, out)
	}
}

// answer is what one HTTP request got: a status and body, or, when the
// server never answered, Err.
type answer struct {
	At     time.Time // when it was sent
	Took   time.Duration
	Status int
	Header http.Header
	Body   []byte
	Err    error
}

func (a answer) ok() bool { return a.Err == nil && a.Status/100 == 2 }

func (a answer) replayed() bool { return a.Header.Get("Idempotent-Replayed") == "true" }

// code is the problem+json code of a refusal, "" otherwise.
func (a answer) code() string {
	var p struct {
		Code string `json:"code"`
	}
	json.Unmarshal(a.Body, &p)
	return p.Code
}

func (a answer) String() string {
	if a.Err != nil {
		return "no answer: " + a.Err.Error()
	}
	b := a.Body
	if len(b) > 300 {
		b = b[:300]
	}
	return fmt.Sprintf("%d %s", a.Status, b)
}

func newClient() *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns: 512, MaxIdleConnsPerHost: 256, IdleConnTimeout: 30 * time.Second,
			DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		},
	}
}

// call sends one request with the admin key. body is JSON-encoded unless
// it is already []byte. It never fails the test; the caller judges.
func call(c *http.Client, method, url string, body any, idemKey string) answer {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			panic(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		panic(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminKey)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	a := answer{At: time.Now()}
	res, err := c.Do(req)
	if err != nil {
		a.Took, a.Err = time.Since(a.At), err
		return a
	}
	defer res.Body.Close()
	a.Body, err = io.ReadAll(res.Body)
	a.Took = time.Since(a.At)
	if err != nil {
		a.Err = err // the server died while answering: no answer
		return a
	}
	a.Status, a.Header = res.StatusCode, res.Header
	return a
}

// try sends a request and returns an error unless it is answered want;
// the body is decoded into out when out is not nil. Goroutines use it;
// the test goroutine uses must.
func try(c *http.Client, method, url string, body any, want int, out any) (answer, error) {
	a := call(c, method, url, body, "")
	if a.Err != nil || a.Status != want {
		return a, fmt.Errorf("%s %s: %s, want %d", method, url, a, want)
	}
	if out != nil {
		if err := json.Unmarshal(a.Body, out); err != nil {
			return a, fmt.Errorf("%s %s: decode %s: %v", method, url, a.Body, err)
		}
	}
	return a, nil
}

// must is try that fails the test.
func must(t testing.TB, c *http.Client, method, url string, body any, want int, out any) answer {
	t.Helper()
	a, err := try(c, method, url, body, want, out)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// parallel runs fn(i) for i in [0, n) on at most width goroutines.
func parallel(n, width int, fn func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < width; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

// txnRow is the part of a ledger transaction the tests compare.
type txnRow struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	MemberID string `json:"member_id"`
	Points   int64  `json:"points"`
}

// balance is a member's points balance.
type balance struct {
	Available       int64 `json:"available"`
	Pending         int64 `json:"pending"`
	Held            int64 `json:"held"`
	Debt            int64 `json:"debt"`
	LifetimeEarned  int64 `json:"lifetime_earned"`
	LifetimeSpent   int64 `json:"lifetime_spent"`
	LifetimeExpired int64 `json:"lifetime_expired"`
}

// getBalance reads a member's points balance; ok is false when the
// request failed (the caller decides whether that matters).
func getBalance(c *http.Client, base, member string) (balance, answer) {
	a := call(c, "GET", base+"/v1/members/"+member+"/balance", nil, "")
	var b map[string]balance
	if a.ok() {
		json.Unmarshal(a.Body, &b)
	}
	return b["points"], a
}

// transactions lists every transaction of a member (all pages), newest
// first, with the raw pages for snapshots.
func transactions(t testing.TB, c *http.Client, base, member, typ string) ([]txnRow, []byte) {
	t.Helper()
	var all []txnRow
	var raw []byte
	cursor := ""
	for {
		url := base + "/v1/members/" + member + "/transactions?limit=500"
		if typ != "" {
			url += "&type=" + typ
		}
		if cursor != "" {
			url += "&cursor=" + cursor
		}
		var page struct {
			Data       []txnRow `json:"data"`
			NextCursor *string  `json:"next_cursor"`
		}
		a := must(t, c, "GET", url, nil, 200, &page)
		raw = append(raw, a.Body...)
		all = append(all, page.Data...)
		if page.NextCursor == nil || *page.NextCursor == "" {
			return all, raw
		}
		cursor = *page.NextCursor
	}
}

// booksOK asks a node's /v1/books/verify and fails the test unless ok.
func booksOK(t testing.TB, c *http.Client, base string) []byte {
	t.Helper()
	var v struct {
		OK     bool            `json:"ok"`
		Checks json.RawMessage `json:"checks"`
	}
	a := must(t, c, "GET", base+"/v1/books/verify", nil, 200, &v)
	if !v.OK {
		t.Fatalf("GET /v1/books/verify: %s", a.Body)
	}
	return a.Body
}

// createMember makes a member and returns its ID.
func createMember(c *http.Client, base, externalID string) (string, error) {
	var m struct {
		ID string `json:"id"`
	}
	_, err := try(c, "POST", base+"/v1/members", map[string]any{"external_id": externalID}, 201, &m)
	return m.ID, err
}

// earn credits points and returns the transaction's ID.
func earn(c *http.Client, base, member string, body map[string]any) (string, error) {
	var txn txnRow
	_, err := try(c, "POST", base+"/v1/members/"+member+"/points/earn", body, 201, &txn)
	return txn.ID, err
}

// firstErr collects the first error of several goroutines.
type firstErr struct {
	mu  sync.Mutex
	err error
}

func (f *firstErr) set(err error) {
	if err == nil {
		return
	}
	f.mu.Lock()
	if f.err == nil {
		f.err = err
	}
	f.mu.Unlock()
}

func (f *firstErr) check(t testing.TB) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		t.Fatal(f.err)
	}
}
