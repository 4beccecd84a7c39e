package main

import (
	"cmp"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jifen/jifen/internal/auth"
)

// Config is every setting of jifen serve, with its default, its
// environment variable and its flag in one place.
type Config struct {
	Addr        string
	DB          string
	DBReplica   string // a streaming replica for lists and reports; empty: none
	Ingest      string // nats://… to consume order events from JetStream; empty: off
	AdminKey    string
	NoMigrate   bool
	LogFormat   string // text or json
	LogLevel    slog.Level
	MaxBody     int64
	Scheduler   bool
	JobTick     time.Duration
	WriteLanes  int
	WriteBatch  int
	ReadConns   int
	CacheTTL    time.Duration
	ShutdownFor time.Duration
	Pprof       string // listen address of net/http/pprof; empty: off
}

// Defaults.
const (
	DefaultAddr = "127.0.0.1:8080"
	DefaultDB   = "sqlite:jifen.db"
)

func envInt(getenv func(string) string, name string, def int) int {
	if v := getenv(name); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return def
}

func envBool(getenv func(string) string, name string, def bool) bool {
	if v := getenv(name); v != "" {
		if b, err := strconv.ParseBool(v); err == nil {
			return b
		}
	}
	return def
}

func envDuration(getenv func(string) string, name string, def time.Duration) time.Duration {
	if v := getenv(name); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
	}
	return def
}

func dbFlag(fs *flag.FlagSet, getenv func(string) string) *string {
	return fs.String("db", cmp.Or(getenv("JIFEN_DB"), DefaultDB), "database: sqlite:<path> or postgres://… (JIFEN_DB)")
}

func parseServe(args []string, getenv func(string) string, out io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.Addr, "addr", cmp.Or(getenv("JIFEN_ADDR"), DefaultAddr), "listen address (JIFEN_ADDR)")
	db := dbFlag(fs, getenv)
	fs.StringVar(&c.DBReplica, "db-replica", getenv("JIFEN_DB_REPLICA"), "PostgreSQL streaming replica for lists and reports (JIFEN_DB_REPLICA); balances and checks stay on --db")
	fs.StringVar(&c.Ingest, "ingest", getenv("JIFEN_INGEST"), "consume events from NATS JetStream, e.g. nats://127.0.0.1:4222?stream=JIFEN_EVENTS&prefix=jifen&consumer=jifen (JIFEN_INGEST); off by default")
	fs.BoolVar(&c.NoMigrate, "no-migrate", envBool(getenv, "JIFEN_NO_MIGRATE", false), "do not run migrations at start (JIFEN_NO_MIGRATE)")
	fs.StringVar(&c.LogFormat, "log-format", getenv("JIFEN_LOG_FORMAT"), "log format: text or json; default text on a terminal, else json (JIFEN_LOG_FORMAT)")
	level := fs.String("log-level", cmp.Or(getenv("JIFEN_LOG_LEVEL"), "info"), "log level: debug, info, warn, error (JIFEN_LOG_LEVEL)")
	fs.Int64Var(&c.MaxBody, "max-body", int64(envInt(getenv, "JIFEN_MAX_BODY", 1<<20)), "largest request body in bytes (JIFEN_MAX_BODY)")
	fs.BoolVar(&c.Scheduler, "scheduler", envBool(getenv, "JIFEN_SCHEDULER", true), "run scheduled jobs on this node (JIFEN_SCHEDULER)")
	fs.DurationVar(&c.JobTick, "job-tick", envDuration(getenv, "JIFEN_JOB_TICK", time.Second), "how often the scheduler looks for due jobs (JIFEN_JOB_TICK)")
	fs.IntVar(&c.WriteLanes, "write-lanes", envInt(getenv, "JIFEN_WRITE_LANES", 4), "concurrent write transactions on PostgreSQL (JIFEN_WRITE_LANES)")
	fs.IntVar(&c.WriteBatch, "write-batch", envInt(getenv, "JIFEN_WRITE_BATCH", 64), "most operations per group commit; 1 turns it off (JIFEN_WRITE_BATCH)")
	fs.IntVar(&c.ReadConns, "read-conns", envInt(getenv, "JIFEN_READ_CONNS", 0), "read connections; 0: 4 on SQLite, 8 on PostgreSQL (JIFEN_READ_CONNS)")
	fs.DurationVar(&c.CacheTTL, "cache-ttl", envDuration(getenv, "JIFEN_CACHE_TTL", 2*time.Second), "how long a node trusts its copy of keys and settings changed elsewhere (JIFEN_CACHE_TTL)")
	fs.StringVar(&c.Pprof, "pprof", getenv("JIFEN_PPROF"), "serve net/http/pprof on this address, e.g. 127.0.0.1:6060 (JIFEN_PPROF); off by default")
	fs.DurationVar(&c.ShutdownFor, "shutdown-timeout", envDuration(getenv, "JIFEN_SHUTDOWN_TIMEOUT", 30*time.Second), "time to finish requests on shutdown (JIFEN_SHUTDOWN_TIMEOUT)")
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: jifen serve [flags]\n\nRuns the API and the scheduler. JIFEN_ADMIN_KEY (at least %d characters)\nis the secret of the admin key created on an empty database.\n\nFlags:\n", auth.MinSecretLen)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return c, err
		}
		return c, fmt.Errorf("%w: %v", errUsage, err)
	}
	c.DB = *db
	c.AdminKey = getenv("JIFEN_ADMIN_KEY")
	if err := c.LogLevel.UnmarshalText([]byte(*level)); err != nil {
		return c, fmt.Errorf("--log-level %q: want debug, info, warn or error", *level)
	}
	return c, c.validate()
}

func (c Config) validate() error {
	if c.AdminKey != "" && len(c.AdminKey) < auth.MinSecretLen {
		return fmt.Errorf("JIFEN_ADMIN_KEY must be at least %d characters", auth.MinSecretLen)
	}
	if c.LogFormat != "" && c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("--log-format %q: want text or json", c.LogFormat)
	}
	if c.MaxBody < 1024 {
		return fmt.Errorf("--max-body %d: at least 1024", c.MaxBody)
	}
	if c.WriteLanes < 1 || c.WriteBatch < 1 || c.ReadConns < 0 {
		return fmt.Errorf("--write-lanes and --write-batch must be at least 1, --read-conns not negative")
	}
	if !strings.HasPrefix(c.DB, "sqlite:") && !strings.HasPrefix(c.DB, "postgres://") && !strings.HasPrefix(c.DB, "postgresql://") {
		return fmt.Errorf("--db %q: want sqlite:<path> or postgres://…", c.DB)
	}
	if c.DBReplica != "" && !strings.HasPrefix(c.DBReplica, "postgres://") && !strings.HasPrefix(c.DBReplica, "postgresql://") {
		return fmt.Errorf("--db-replica %q: want postgres://…", c.DBReplica)
	}
	if c.DBReplica != "" && strings.HasPrefix(c.DB, "sqlite:") {
		return fmt.Errorf("--db-replica needs --db on PostgreSQL")
	}
	if c.Ingest != "" && !strings.HasPrefix(c.Ingest, "nats://") && !strings.HasPrefix(c.Ingest, "tls://") {
		return fmt.Errorf("--ingest %q: want nats://host:port", c.Ingest)
	}
	return nil
}

// logger builds the process's one logger: text on a terminal, JSON
// otherwise, unless the configuration says.
func logger(format string, level slog.Level, w io.Writer) *slog.Logger {
	if format == "" {
		format = "json"
		if f, ok := w.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				format = "text"
			}
		}
	}
	opts := &slog.HandlerOptions{Level: level}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
