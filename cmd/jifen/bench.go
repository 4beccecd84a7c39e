package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jifen/jifen/internal/bench"
	"github.com/jifen/jifen/internal/store"
)

// benchCmd is jifen bench: load scenarios over real HTTP against a fresh
// database per backend, printed as a table and written as JSON.
func benchCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	backends := fs.String("backend", "sqlite", "sqlite, postgres, or both as sqlite,postgres")
	db := fs.String("db", "", "use this database instead of a fresh one it creates and removes")
	set := newSettings(fs, getenv)
	pg := fs.String("postgres", set.str("JIFEN_BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"),
		"PostgreSQL server where fresh databases are made (JIFEN_BENCH_POSTGRES)")
	scenarios := fs.String("scenario", "", "comma-separated scenarios (default all): "+strings.Join(bench.Scenarios, ","))
	duration := fs.Duration("duration", 10*time.Second, "how long each scenario runs")
	concurrency := fs.Int("concurrency", 64, "concurrent clients")
	url := fs.String("url", "", "bench a running server instead of starting one")
	key := fs.String("key", set.str("JIFEN_BENCH_KEY", ""), "admin key of the --url server (JIFEN_BENCH_KEY)")
	members := fs.Int("members", 100_000, "members to create")
	out := fs.String("out", "", "write the results as JSON to this file")
	nats := fs.String("nats", set.str("JIFEN_BENCH_NATS", ""), "NATS server for the ingest scenario (JIFEN_BENCH_NATS)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: jifen bench [flags]\n\nStarts jifen serve on a fresh database of each backend (or targets --url),\n"+
			"loads it over HTTP and prints scenario, backend, requests/s, p50, p99, p99.9,\nerrors and the server's RSS.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := set.parse(args); err != nil {
		return err
	}
	set.check(isPostgres(*pg), "postgres", "JIFEN_BENCH_POSTGRES", store.Redact(*pg), "postgres://…")
	set.check(*nats == "" || strings.HasPrefix(*nats, "nats://") || strings.HasPrefix(*nats, "tls://"), "nats", "JIFEN_BENCH_NATS", *nats, "nats://host:port")
	if err := set.err(); err != nil {
		return err
	}
	cfg := bench.Config{Postgres: *pg, DB: *db, Duration: *duration, Concurrency: *concurrency, URL: *url, Key: *key,
		Members: *members, Progress: stderr, NATS: *nats}
	for _, b := range strings.Split(*backends, ",") {
		if b = strings.TrimSpace(b); b != "sqlite" && b != "postgres" {
			return fmt.Errorf("%w: --backend %q: want sqlite or postgres", errConfig, b)
		}
		cfg.Backends = append(cfg.Backends, strings.TrimSpace(b))
	}
	if *scenarios != "" {
		for _, s := range strings.Split(*scenarios, ",") {
			s = strings.TrimSpace(s)
			if !slices.Contains(bench.Scenarios, s) {
				return fmt.Errorf("%w: --scenario %q: want one of %s", errConfig, s, strings.Join(bench.Scenarios, ","))
			}
			cfg.Scenarios = append(cfg.Scenarios, s)
		}
	}
	if *db != "" && len(cfg.Backends) > 1 {
		return fmt.Errorf("%w: --db names one database: give one --backend", errConfig)
	}
	if *concurrency < 1 || *duration < time.Second || *members < 1 {
		return fmt.Errorf("%w: --concurrency, --members must be at least 1 and --duration at least 1s", errConfig)
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cfg.Exe = exe
	rep, err := bench.Run(ctx, cfg)
	fmt.Fprintln(stdout)
	rep.Table(stdout)
	if *out != "" {
		f, ferr := os.Create(*out)
		if ferr != nil {
			return ferr
		}
		defer f.Close()
		if jerr := rep.JSON(f); jerr != nil {
			return jerr
		}
	}
	return err
}
