package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/auth"
)

// envCase is a variable jifen serve reads: a good value and what it sets,
// and malformed values that must stop it.
type envCase struct {
	name   string
	with   map[string]string // other variables the case needs
	good   string
	got    func(Config) any
	want   any
	bad    []string
	secret bool // the value must not be repeated in the message
}

var envCases = []envCase{
	{name: "JIFEN_ADDR", good: "127.0.0.1:9090", got: func(c Config) any { return c.Addr }, want: "127.0.0.1:9090",
		bad: []string{"8080", "localhost", "127.0.0.1:"}},
	{name: "JIFEN_DB", good: "postgres://u@h/db", got: func(c Config) any { return c.DB }, want: "postgres://u@h/db",
		bad: []string{"jifen.db", "mysql://u@h/db"}},
	{name: "JIFEN_DB_REPLICA", with: map[string]string{"JIFEN_DB": "postgres://u@h/db"}, good: "postgres://u@standby/db",
		got: func(c Config) any { return c.DBReplica }, want: "postgres://u@standby/db", bad: []string{"standby:5432", "sqlite:r.db"}},
	{name: "JIFEN_INGEST", good: "nats://127.0.0.1:4222", got: func(c Config) any { return c.Ingest }, want: "nats://127.0.0.1:4222",
		bad: []string{"127.0.0.1:4222", "http://nats"}},
	{name: "JIFEN_PPROF", good: "127.0.0.1:6060", got: func(c Config) any { return c.Pprof }, want: "127.0.0.1:6060",
		bad: []string{"6060", "on"}},
	{name: "JIFEN_ADMIN_KEY", good: "an-admin-key-of-enough-length-42", got: func(c Config) any { return c.AdminKey },
		want: "an-admin-key-of-enough-length-42", bad: []string{"short-secret"}, secret: true},
	{name: "JIFEN_ADMIN_EMAIL", good: "boss@brand.cn", with: map[string]string{"JIFEN_ADMIN_PASSWORD": "a long enough password"},
		got: func(c Config) any { return c.AdminEmail }, want: "boss@brand.cn", bad: []string{"boss", "boss@brand"}},
	{name: "JIFEN_ADMIN_PASSWORD", good: "a long enough password", with: map[string]string{"JIFEN_ADMIN_EMAIL": "boss@brand.cn"},
		got: func(c Config) any { return c.AdminPassword }, want: "a long enough password", bad: []string{"too short"}, secret: true},
	{name: "JIFEN_DATA_KEY", good: "k2:Hx4dHBsaGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQA=, k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
		got: func(c Config) any { return strings.Join(c.DataKeys.IDs(), ",") }, want: "k2,k1",
		bad: []string{"k1", "k1:c2hvcnQ=", "K1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}, secret: true},
	{name: "JIFEN_NO_MIGRATE", good: "true", got: func(c Config) any { return c.NoMigrate }, want: true,
		bad: []string{"yes", "2", "on"}},
	{name: "JIFEN_LOG_FORMAT", good: "text", got: func(c Config) any { return c.LogFormat }, want: "text",
		bad: []string{"xml", "JSON "}},
	{name: "JIFEN_LOG_LEVEL", good: "debug", got: func(c Config) any { return c.LogLevel }, want: slog.LevelDebug,
		bad: []string{"loud", "verbose"}},
	{name: "JIFEN_MAX_BODY", good: "2048", got: func(c Config) any { return c.MaxBody }, want: int64(2048),
		bad: []string{"1e6", "1MiB", "100", "-1"}},
	{name: "JIFEN_RATE_LIMIT", good: "100:200", got: func(c Config) any { return c.RateLimit }, want: auth.RateLimit{PerSecond: 100, Burst: 200},
		bad: []string{"100", "0:10", "10:0", "fast", "-1:5", "1:2:3"}},
	{name: "JIFEN_SCHEDULER", good: "false", got: func(c Config) any { return c.Scheduler }, want: false,
		bad: []string{"maybe", "off"}},
	{name: "JIFEN_PUBLIC_URL", good: "https://jifen.example.com/", got: func(c Config) any { return c.PublicURL },
		want: "https://jifen.example.com", bad: []string{"jifen.example.com", "ftp://x", "https://x/?a=1"}},
	{name: "JIFEN_WEBHOOK_DENY_PRIVATE", good: "1", got: func(c Config) any { return c.WebhookDenyPrivate }, want: true,
		bad: []string{"yes", "2"}},
	{name: "JIFEN_JOB_TICK", good: "250ms", got: func(c Config) any { return c.JobTick }, want: 250 * time.Millisecond,
		bad: []string{"5", "0s", "-1s", "1 s"}},
	{name: "JIFEN_WRITE_LANES", good: "2", got: func(c Config) any { return c.WriteLanes }, want: 2,
		bad: []string{"two", "0", "1.5"}},
	{name: "JIFEN_WRITE_BATCH", good: "1", got: func(c Config) any { return c.WriteBatch }, want: 1,
		bad: []string{"abc", "0", " 64"}},
	{name: "JIFEN_READ_CONNS", good: "3", got: func(c Config) any { return c.ReadConns }, want: 3,
		bad: []string{"-1", "many"}},
	{name: "JIFEN_CACHE_TTL", good: "0s", got: func(c Config) any { return c.CacheTTL }, want: time.Duration(0),
		bad: []string{"2", "-1s", "forever"}},
	{name: "JIFEN_SHUTDOWN_TIMEOUT", good: "1m", got: func(c Config) any { return c.ShutdownFor }, want: time.Minute,
		bad: []string{"30", "-5s"}},
}

// baseEnv is what every case starts from: a database in a temporary
// directory, so nothing touches ./jifen.db.
func baseEnv(t *testing.T) map[string]string {
	return map[string]string{"JIFEN_DB": "sqlite:" + filepath.Join(t.TempDir(), "env.db")}
}

// TestServeEnvironment: a good value of each variable is taken; a
// malformed one stops jifen serve before it opens anything, with exit
// code 2 and a message naming the variable and the value.
func TestServeEnvironment(t *testing.T) {
	stopped, cancel := context.WithCancel(context.Background())
	cancel() // were a bad value accepted, serve would stop at once instead of running
	for _, tc := range envCases {
		t.Run(tc.name, func(t *testing.T) {
			vars := baseEnv(t)
			maps.Copy(vars, tc.with)
			vars[tc.name] = tc.good
			c, err := parseServe(nil, env(vars), io.Discard)
			if err != nil {
				t.Fatalf("%s=%q refused: %v", tc.name, tc.good, err)
			}
			if got := tc.got(c); got != tc.want {
				t.Fatalf("%s=%q set %v, want %v", tc.name, tc.good, got, tc.want)
			}
			for _, bad := range tc.bad {
				vars[tc.name] = bad
				var out, errb bytes.Buffer
				code := run(stopped, []string{"serve"}, env(vars), &out, &errb)
				msg := errb.String()
				if code != 2 || !strings.Contains(msg, tc.name) {
					t.Errorf("%s=%q: exit %d, %q; want exit 2 naming %s", tc.name, bad, code, msg, tc.name)
				}
				if shown := strconv.Quote(bad); tc.secret == strings.Contains(msg, bad) || !tc.secret && !strings.Contains(msg, shown) {
					t.Errorf("%s=%q: message %q (the value must be shown as %s, unless it is a secret)", tc.name, bad, msg, shown)
				}
			}
		})
	}
}

// TestServeEnvironmentCovered: the table above and the README's
// configuration table name every variable jifen serve reads.
func TestServeEnvironmentCovered(t *testing.T) {
	var mu sync.Mutex
	read := map[string]bool{}
	getenv := func(k string) string {
		mu.Lock()
		read[k] = true
		mu.Unlock()
		return ""
	}
	if _, err := parseServe(nil, getenv, io.Discard); err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range slices.Sorted(maps.Keys(read)) {
		if !slices.ContainsFunc(envCases, func(c envCase) bool { return c.name == name }) {
			t.Errorf("serve reads %s but envCases does not test it", name)
		}
		if !bytes.Contains(readme, []byte("| `"+name+"` |")) {
			t.Errorf("serve reads %s but the README's configuration table does not list it", name)
		}
	}
}

// TestEnvironmentNamesSource: a bad value given as a flag is named by the
// flag; a malformed variable stops serve even when a flag overrides it.
func TestEnvironmentNamesSource(t *testing.T) {
	vars := baseEnv(t)
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"serve", "--write-batch", "0"}, env(vars), &out, &errb); code != 2 ||
		!strings.Contains(errb.String(), `--write-batch "0"`) {
		t.Errorf("--write-batch 0: exit %d, %q", code, errb.String())
	}
	errb.Reset()
	vars["JIFEN_JOB_TICK"] = "5"
	if code := run(context.Background(), []string{"serve", "--job-tick", "5s"}, env(vars), &out, &errb); code != 2 ||
		!strings.Contains(errb.String(), `JIFEN_JOB_TICK="5"`) {
		t.Errorf("JIFEN_JOB_TICK=5 with --job-tick 5s: exit %d, %q", code, errb.String())
	}
	errb.Reset()
	vars["JIFEN_WRITE_BATCH"] = "abc"
	if code := run(context.Background(), []string{"serve"}, env(vars), &out, &errb); code != 2 ||
		!strings.Contains(errb.String(), `JIFEN_JOB_TICK="5"`) || !strings.Contains(errb.String(), `JIFEN_WRITE_BATCH="abc"`) {
		t.Errorf("two bad variables: exit %d, %q; want both named", code, errb.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"serve", "--help"}, env(vars), &out, &out); code != 0 {
		t.Errorf("serve --help with a bad environment: exit %d, %s", code, out.String())
	}
}

// TestOtherCommandsEnvironment: every other command that reads the
// environment refuses a malformed value the same way.
func TestOtherCommandsEnvironment(t *testing.T) {
	tests := []struct {
		args     []string
		name     string
		bad      string
		wantText string
	}{
		{[]string{"migrate"}, "JIFEN_DB", "jifen.db", `JIFEN_DB="jifen.db"`},
		{[]string{"verify"}, "JIFEN_DB", "mysql://u@h/db", `JIFEN_DB="mysql://u@h/db"`},
		{[]string{"keys", "list"}, "JIFEN_DB", "jifen.db", `JIFEN_DB="jifen.db"`},
		{[]string{"keys", "create", "--role", "admin"}, "JIFEN_DB", "x", `JIFEN_DB="x"`},
		{[]string{"keys", "revoke", "key_x"}, "JIFEN_DB", "x", `JIFEN_DB="x"`},
		{[]string{"migrate"}, "JIFEN_DB", "mysql://u:hunter2@h/db", `JIFEN_DB="mysql://u:xxxxx@h/db"`}, // the password masked
		{[]string{"bench"}, "JIFEN_BENCH_POSTGRES", "mysql://u@h/db", `JIFEN_BENCH_POSTGRES="mysql://u@h/db"`},
		{[]string{"bench"}, "JIFEN_BENCH_NATS", "127.0.0.1:4222", `JIFEN_BENCH_NATS="127.0.0.1:4222"`},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		code := run(context.Background(), tt.args, env(map[string]string{tt.name: tt.bad}), &out, &errb)
		if code != 2 || !strings.Contains(errb.String(), tt.wantText) {
			t.Errorf("%v with %s=%q: exit %d, %q; want exit 2 and %s", tt.args, tt.name, tt.bad, code, errb.String(), tt.wantText)
		}
	}
}
