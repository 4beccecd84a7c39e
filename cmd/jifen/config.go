package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"github.com/jifen/jifen/internal/seal"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/operator"
	"github.com/jifen/jifen/internal/store"
)

// Config is every setting of jifen serve, with its default, its
// environment variable and its flag in one place.
type Config struct {
	Addr      string
	DB        string
	DBReplica string // a streaming replica for lists and reports; empty: none
	Ingest    string // nats://… to consume order events from JetStream; empty: off
	AdminKey  string
	// AdminEmail and AdminPassword make the first console operator (an
	// admin) on a database that has none.
	AdminEmail    string
	AdminPassword string
	NoMigrate     bool
	LogFormat     string // text or json
	LogLevel      slog.Level
	MaxBody       int64
	// RateLimit is the token bucket of a key without one of its own
	// (JIFEN_RATE_LIMIT=<per_second>:<burst>; 0: none).
	RateLimit   auth.RateLimit
	Scheduler   bool
	JobTick     time.Duration
	WriteLanes  int
	WriteBatch  int
	ReadConns   int
	CacheTTL    time.Duration
	ShutdownFor time.Duration
	Pprof       string // listen address of net/http/pprof; empty: off
	// WebhookDenyPrivate refuses webhook deliveries to loopback and
	// private addresses.
	WebhookDenyPrivate bool
	// PublicURL is where shoppers reach this installation: join links'
	// url (and QR codes) are PublicURL + /m/join?l=…; default http://<addr>.
	PublicURL string
	// DataKeys seal personal values at rest (JIFEN_DATA_KEY, read from
	// the environment only); nil: stored clear.
	DataKeys *seal.Keyring
}

// Defaults.
const (
	DefaultAddr = "127.0.0.1:8080"
	DefaultDB   = "sqlite:jifen.db"
)

// settings reads jifen's settings from the environment and checks them
// once, strictly: a variable that is set but malformed is an error naming
// the variable and its value, never a silent fallback to the default.
// Flags override the environment; an error about a value names the flag
// when it was given on the command line, else the variable.
type settings struct {
	getenv func(string) string
	fs     *flag.FlagSet
	errs   []error
}

func newSettings(fs *flag.FlagSet, getenv func(string) string) *settings {
	return &settings{getenv: getenv, fs: fs}
}

// malformed records that variable name holds value, which is not a want.
func (s *settings) malformed(name, value, want string) {
	s.errs = append(s.errs, fmt.Errorf("%s=%q: want %s", name, value, want))
}

func (s *settings) str(name, def string) string { return cmp.Or(s.getenv(name), def) }

func (s *settings) int(name string, def int) int {
	v := s.getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		s.malformed(name, v, "a whole number")
		return def
	}
	return n
}

func (s *settings) int64(name string, def int64) int64 {
	v := s.getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		s.malformed(name, v, "a whole number")
		return def
	}
	return n
}

func (s *settings) bool(name string, def bool) bool {
	v := s.getenv(name)
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		s.malformed(name, v, "true or false")
		return def
	}
	return b
}

func (s *settings) duration(name string, def time.Duration) time.Duration {
	v := s.getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		s.malformed(name, v, "a duration with its unit, such as 500ms, 2s or 1m")
		return def
	}
	return d
}

// check records a bad value of a setting, named as it was given: by its
// flag when on the command line, else by its variable. value is what is
// shown of it (a DSN with its password masked).
func (s *settings) check(ok bool, flagName, env string, value any, want string) {
	if ok {
		return
	}
	if s.fromEnv(flagName, env) {
		s.malformed(env, fmt.Sprint(value), want)
		return
	}
	s.errs = append(s.errs, fmt.Errorf("--%s %q: want %s", flagName, fmt.Sprint(value), want))
}

// fromEnv reports whether a setting's value came from its variable.
func (s *settings) fromEnv(flagName, env string) bool {
	given := false
	s.fs.Visit(func(f *flag.Flag) { given = given || f.Name == flagName })
	return !given && s.getenv(env) != ""
}

// err is every problem found, or nil.
func (s *settings) err() error {
	if len(s.errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", errConfig, errors.Join(s.errs...))
}

// parse parses the command line; the environment's problems are reported
// after it, so --help works whatever the environment holds.
func (s *settings) parse(args []string) error {
	if err := s.fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}

func dbFlag(fs *flag.FlagSet, s *settings) *string {
	return fs.String("db", s.str("JIFEN_DB", DefaultDB), "database: sqlite:<path> or postgres://… (JIFEN_DB)")
}

func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// dataKeys reads JIFEN_DATA_KEY. A key is a secret: it has no flag, and
// a malformed one is reported without its value.
func (s *settings) dataKeys() *seal.Keyring {
	k, err := seal.Parse(s.getenv(seal.Env))
	if err != nil {
		s.errs = append(s.errs, err)
	}
	return k
}

func (s *settings) checkDB(db string) {
	s.check(strings.HasPrefix(db, "sqlite:") || isPostgres(db), "db", "JIFEN_DB", store.Redact(db), "sqlite:<path> or postgres://…")
}

func validPublicURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.RawQuery == "" && u.Fragment == ""
}

func validAddr(addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	return err == nil && port != ""
}

func parseServe(args []string, getenv func(string) string, out io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(out)
	s := newSettings(fs, getenv)
	fs.StringVar(&c.Addr, "addr", s.str("JIFEN_ADDR", DefaultAddr), "listen address (JIFEN_ADDR)")
	fs.StringVar(&c.DB, "db", s.str("JIFEN_DB", DefaultDB), "database: sqlite:<path> or postgres://… (JIFEN_DB)")
	fs.StringVar(&c.DBReplica, "db-replica", s.str("JIFEN_DB_REPLICA", ""), "PostgreSQL streaming replica for lists and reports (JIFEN_DB_REPLICA); balances and checks stay on --db")
	fs.StringVar(&c.Ingest, "ingest", s.str("JIFEN_INGEST", ""), "consume events from NATS JetStream, e.g. nats://127.0.0.1:4222?stream=JIFEN_EVENTS&prefix=jifen&consumer=jifen (JIFEN_INGEST); off by default")
	fs.BoolVar(&c.NoMigrate, "no-migrate", s.bool("JIFEN_NO_MIGRATE", false), "do not run migrations at start (JIFEN_NO_MIGRATE)")
	fs.StringVar(&c.LogFormat, "log-format", s.str("JIFEN_LOG_FORMAT", ""), "log format: text or json; default text on a terminal, else json (JIFEN_LOG_FORMAT)")
	level := fs.String("log-level", s.str("JIFEN_LOG_LEVEL", "info"), "log level: debug, info, warn, error (JIFEN_LOG_LEVEL)")
	fs.Int64Var(&c.MaxBody, "max-body", s.int64("JIFEN_MAX_BODY", 1<<20), "largest request body in bytes (JIFEN_MAX_BODY)")
	rateLimit := fs.String("rate-limit", s.str("JIFEN_RATE_LIMIT", "0"), "default rate limit of an API key, <per_second>:<burst>; 0: none (JIFEN_RATE_LIMIT)")
	fs.BoolVar(&c.Scheduler, "scheduler", s.bool("JIFEN_SCHEDULER", true), "run scheduled jobs on this node (JIFEN_SCHEDULER)")
	fs.DurationVar(&c.JobTick, "job-tick", s.duration("JIFEN_JOB_TICK", time.Second), "how often the scheduler looks for due jobs (JIFEN_JOB_TICK)")
	fs.IntVar(&c.WriteLanes, "write-lanes", s.int("JIFEN_WRITE_LANES", 4), "concurrent write transactions on PostgreSQL (JIFEN_WRITE_LANES)")
	fs.IntVar(&c.WriteBatch, "write-batch", s.int("JIFEN_WRITE_BATCH", 64), "most operations per group commit; 1 turns it off (JIFEN_WRITE_BATCH)")
	fs.IntVar(&c.ReadConns, "read-conns", s.int("JIFEN_READ_CONNS", 0), "read connections; 0: 4 on SQLite, 8 on PostgreSQL (JIFEN_READ_CONNS)")
	fs.DurationVar(&c.CacheTTL, "cache-ttl", s.duration("JIFEN_CACHE_TTL", 2*time.Second), "how long a node trusts its copy of keys and settings changed elsewhere (JIFEN_CACHE_TTL)")
	fs.BoolVar(&c.WebhookDenyPrivate, "webhook-deny-private", s.bool("JIFEN_WEBHOOK_DENY_PRIVATE", false), "refuse webhook deliveries to loopback and private addresses (JIFEN_WEBHOOK_DENY_PRIVATE)")
	fs.StringVar(&c.Pprof, "pprof", s.str("JIFEN_PPROF", ""), "serve net/http/pprof on this address, e.g. 127.0.0.1:6060 (JIFEN_PPROF); off by default")
	fs.DurationVar(&c.ShutdownFor, "shutdown-timeout", s.duration("JIFEN_SHUTDOWN_TIMEOUT", 30*time.Second), "time to finish requests on shutdown (JIFEN_SHUTDOWN_TIMEOUT)")
	fs.StringVar(&c.PublicURL, "public-url", s.str("JIFEN_PUBLIC_URL", ""), "where shoppers reach this server, such as https://jifen.example.com: join links and their QR codes point there (JIFEN_PUBLIC_URL); default http://<addr>")
	c.AdminKey = getenv("JIFEN_ADMIN_KEY")
	c.AdminEmail, c.AdminPassword = getenv("JIFEN_ADMIN_EMAIL"), getenv("JIFEN_ADMIN_PASSWORD")
	c.DataKeys = s.dataKeys()
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: jifen serve [flags]\n\nRuns the API and the scheduler. JIFEN_ADMIN_KEY (at least %d characters)\nis the secret of the admin key created on an empty database; on a database\nthat has keys it is ignored (make another with jifen keys create).\n\nFlags:\n", auth.MinSecretLen)
		fs.PrintDefaults()
	}
	if err := s.parse(args); err != nil {
		return c, err
	}
	s.check(c.LogLevel.UnmarshalText([]byte(*level)) == nil, "log-level", "JIFEN_LOG_LEVEL", *level, "debug, info, warn or error")
	var rateOK bool
	c.RateLimit, rateOK = parseRateLimit(*rateLimit)
	s.check(rateOK, "rate-limit", "JIFEN_RATE_LIMIT", *rateLimit, "0 or <per_second>:<burst>, such as 100:200")
	c.validate(s)
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.Addr
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	return c, s.err()
}

// validate checks the values that parsed but make no sense.
func (c Config) validate(s *settings) {
	if c.AdminKey != "" && len(c.AdminKey) < auth.MinSecretLen {
		// The value is a secret: say what is wrong without repeating it.
		s.errs = append(s.errs, fmt.Errorf("JIFEN_ADMIN_KEY must be at least %d characters (it has %d)", auth.MinSecretLen, len(c.AdminKey)))
	}
	if c.AdminEmail != "" && !operator.ValidEmail(c.AdminEmail) {
		s.malformed("JIFEN_ADMIN_EMAIL", c.AdminEmail, "an email address")
	}
	switch {
	case (c.AdminEmail == "") != (c.AdminPassword == ""):
		s.errs = append(s.errs, errors.New("JIFEN_ADMIN_EMAIL and JIFEN_ADMIN_PASSWORD go together"))
	case c.AdminPassword != "" && len([]rune(c.AdminPassword)) < operator.MinPassword:
		// The value is a secret: say what is wrong without repeating it.
		s.errs = append(s.errs, fmt.Errorf("JIFEN_ADMIN_PASSWORD must be at least %d characters", operator.MinPassword))
	}
	s.check(validAddr(c.Addr), "addr", "JIFEN_ADDR", c.Addr, "host:port, such as 127.0.0.1:8080 or :8080")
	s.checkDB(c.DB)
	s.check(c.DBReplica == "" || isPostgres(c.DBReplica), "db-replica", "JIFEN_DB_REPLICA", store.Redact(c.DBReplica), "postgres://…")
	if c.DBReplica != "" && strings.HasPrefix(c.DB, "sqlite:") {
		s.errs = append(s.errs, errors.New("a replica (--db-replica, JIFEN_DB_REPLICA) needs --db on PostgreSQL"))
	}
	s.check(c.Ingest == "" || strings.HasPrefix(c.Ingest, "nats://") || strings.HasPrefix(c.Ingest, "tls://"), "ingest", "JIFEN_INGEST", c.Ingest, "nats://host:port")
	s.check(c.PublicURL == "" || validPublicURL(c.PublicURL), "public-url", "JIFEN_PUBLIC_URL", c.PublicURL, "http:// or https:// and a host, such as https://jifen.example.com")
	s.check(c.Pprof == "" || validAddr(c.Pprof), "pprof", "JIFEN_PPROF", c.Pprof, "host:port, such as 127.0.0.1:6060")
	s.check(c.LogFormat == "" || c.LogFormat == "text" || c.LogFormat == "json", "log-format", "JIFEN_LOG_FORMAT", c.LogFormat, "text or json")
	s.check(c.MaxBody >= 1024, "max-body", "JIFEN_MAX_BODY", c.MaxBody, "at least 1024")
	s.check(c.JobTick > 0, "job-tick", "JIFEN_JOB_TICK", c.JobTick, "more than 0")
	s.check(c.WriteLanes >= 1, "write-lanes", "JIFEN_WRITE_LANES", c.WriteLanes, "at least 1")
	s.check(c.WriteBatch >= 1, "write-batch", "JIFEN_WRITE_BATCH", c.WriteBatch, "at least 1")
	s.check(c.ReadConns >= 0, "read-conns", "JIFEN_READ_CONNS", c.ReadConns, "0 or more")
	s.check(c.CacheTTL >= 0, "cache-ttl", "JIFEN_CACHE_TTL", c.CacheTTL, "0 or more")
	s.check(c.ShutdownFor >= 0, "shutdown-timeout", "JIFEN_SHUTDOWN_TIMEOUT", c.ShutdownFor, "0 or more")
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

// parseRateLimit reads JIFEN_RATE_LIMIT: "0" (no limit) or
// "<per_second>:<burst>" with per_second more than 0 and burst at least 1.
func parseRateLimit(v string) (auth.RateLimit, bool) {
	if v == "0" {
		return auth.RateLimit{}, true
	}
	ps, b, ok := strings.Cut(v, ":")
	if !ok {
		return auth.RateLimit{}, false
	}
	perSecond, err1 := strconv.ParseFloat(ps, 64)
	burst, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || !(perSecond > 0 && perSecond <= 1_000_000) || burst < 1 || burst > 1_000_000 {
		return auth.RateLimit{}, false
	}
	return auth.RateLimit{PerSecond: perSecond, Burst: burst}, true
}
