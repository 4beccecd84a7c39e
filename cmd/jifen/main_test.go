package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/store/storetest"
)

// syncBuffer is a bytes.Buffer safe for the server's logger and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// startServe runs jifen serve until the test ends and waits for /readyz.
func startServe(t *testing.T, vars map[string]string) (base string, stderr *syncBuffer) {
	t.Helper()
	base, stderr, stop := serveTest(t, vars)
	t.Cleanup(stop)
	return base, stderr
}

// serveTest starts jifen serve, waits until it is ready, and returns the stop
// function that shuts it down (and fails the test if it exits badly).
func serveTest(t *testing.T, vars map[string]string) (base string, stderr *syncBuffer, stop func()) {
	t.Helper()
	addr := freeAddr(t)
	vars["JIFEN_ADDR"] = addr
	stderr = &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"serve"}, env(vars), &bytes.Buffer{}, stderr) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("serve exited %d: %s", code, stderr)
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop within 30s")
		}
	}
	t.Cleanup(stop)
	base = "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get(base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return base, stderr, stop
			}
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d: %s", code, stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not ready: %v\n%s", err, stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func get(t *testing.T, url, key string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var v map[string]any
	json.NewDecoder(res.Body).Decode(&v)
	return res.StatusCode, v
}

var printedKey = regexp.MustCompile(`jk_[0-9a-z]{40}`)

func TestServe(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		dsn := b.DSN(t)
		base, stderr := startServe(t, map[string]string{"JIFEN_DB": dsn, "JIFEN_LOG_FORMAT": "json"})
		key := printedKey.FindString(stderr.String())
		if key == "" {
			t.Fatalf("no admin key printed on an empty database: %s", stderr)
		}
		code, prog := get(t, base+"/v1/program", key)
		if code != 200 || prog["id"] != "default" || prog["timezone"] != "Asia/Shanghai" {
			t.Fatalf("GET /v1/program = %d %v", code, prog)
		}
		if code, _ := get(t, base+"/v1/program", "jk_wrong"); code != 401 {
			t.Fatalf("wrong key: %d", code)
		}
		var out bytes.Buffer
		if code := run(context.Background(), []string{"verify", "--db", dsn}, env(nil), &out, &out); code != 0 {
			t.Fatalf("verify exited %d: %s", code, out.String())
		}
		if !strings.Contains(out.String(), "all checks passed") {
			t.Fatalf("verify said: %s", out.String())
		}
	})
}

func TestServeWithAdminKeyFromEnv(t *testing.T) {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "j.db")
	key := "an-admin-key-of-enough-length-42"
	base, stderr := startServe(t, map[string]string{"JIFEN_DB": dsn, "JIFEN_ADMIN_KEY": key})
	if printedKey.MatchString(stderr.String()) || strings.Contains(stderr.String(), key) {
		t.Fatalf("a key was printed although JIFEN_ADMIN_KEY was set: %s", stderr)
	}
	if code, _ := get(t, base+"/v1/program", key); code != 200 {
		t.Fatalf("JIFEN_ADMIN_KEY refused: %d", code)
	}
}

func TestCommands(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"version"}, env(nil), &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "jifen ") {
		t.Fatalf("version: %d %q", code, out.String())
	}
	short := env(map[string]string{"JIFEN_ADMIN_KEY": "short", "JIFEN_DB": "sqlite:" + filepath.Join(t.TempDir(), "x.db")})
	if code := run(context.Background(), []string{"serve"}, short, &out, &errb); code == 0 || !strings.Contains(errb.String(), "at least 24") {
		t.Fatalf("short admin key: exit %d, %s", code, errb.String())
	}
	errb.Reset()
	if code := run(context.Background(), []string{"serve", "--db", "mysql://x"}, env(nil), &out, &errb); code == 0 {
		t.Fatalf("bad --db accepted")
	}
	if code := run(context.Background(), []string{"frobnicate"}, env(nil), &out, &errb); code != 2 {
		t.Fatalf("unknown command: exit %d", code)
	}
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "m.db")
	out.Reset()
	if code := run(context.Background(), []string{"migrate", "--db", dsn}, env(nil), &out, &errb); code != 0 || !strings.Contains(out.String(), "applied") {
		t.Fatalf("migrate: %d %s %s", code, out.String(), errb.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"migrate", "--db", dsn}, env(nil), &out, &errb); code != 0 || !strings.Contains(out.String(), "current") {
		t.Fatalf("migrate again: %d %s", code, out.String())
	}
	if code := run(context.Background(), []string{"serve", "--help"}, env(nil), &out, &out); code != 0 || !strings.Contains(out.String(), "JIFEN_DB") {
		t.Fatalf("serve --help: %d %s", code, out.String())
	}
}
