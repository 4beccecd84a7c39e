package main

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/jifen/jifen/internal/browsertest"
)

// demoServer is what the browser tests of the console and the member page
// run against: jifen demo (a small one: 200 members over 60 days, a few
// seconds) then jifen serve on the same SQLite file.
type demoServer struct {
	Base     string // http://127.0.0.1:port
	AdminKey string // the demo's admin API key
	Email    string // the demo operator's login
	Password string
}

var demoKey = regexp.MustCompile(`Admin API key:\s+(\S+)`)

// startDemo fills a fresh database with jifen demo and serves it until t
// ends.
func startDemo(t *testing.T) demoServer {
	t.Helper()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "demo.db")
	var out, errs bytes.Buffer
	if code := run(context.Background(), []string{"demo", "--db", dsn, "--members", "200", "--days", "60"},
		env(map[string]string{}), &out, &errs); code != 0 {
		t.Fatalf("jifen demo exited %d: %s%s", code, out.String(), errs.String())
	}
	m := demoKey.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("jifen demo printed no admin key:\n%s", out.String())
	}
	base, _ := startServe(t, map[string]string{"JIFEN_DB": dsn})
	return demoServer{Base: base, AdminKey: m[1], Email: "demo@jifen.dev", Password: "jifen-demo-2026"}
}

// waitStill waits until no overlay is showing and no CSS animation or
// transition runs, so a screenshot shows the page as it settles.
func waitStill(t *testing.T, page *browsertest.Page) {
	t.Helper()
	consolePoll(t, page, `document.getAnimations().length === 0 &&
		[...document.querySelectorAll('.van-overlay')].every((e) => getComputedStyle(e).display === 'none')`, "the page to settle")
}
