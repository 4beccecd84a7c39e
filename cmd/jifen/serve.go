package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/jifen/jifen/internal/apidocs"
	"github.com/jifen/jifen/internal/app"
	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/coupon"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/httpapi"
	"github.com/jifen/jifen/internal/jobs"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/tier"
	"github.com/jifen/jifen/internal/webhook"
	"github.com/jifen/jifen/internal/webui"
)

func serve(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, err := parseServe(args, getenv, stderr)
	if err != nil {
		return err
	}
	log := logger(cfg.LogFormat, cfg.LogLevel, stderr)
	db, err := store.Open(ctx, cfg.DB, store.Options{
		Lanes: cfg.WriteLanes, MaxBatch: cfg.WriteBatch, ReadConns: cfg.ReadConns, Replica: cfg.DBReplica, Logger: log,
		Keys: cfg.DataKeys,
	})
	if err != nil {
		return err
	}
	defer db.Close()
	if !cfg.NoMigrate {
		applied, err := db.Migrate(ctx)
		if err != nil {
			return err
		}
		if len(applied) > 0 {
			log.Info("migrated", "versions", applied)
		}
	}
	if err := db.CheckDataKeys(ctx); err != nil {
		return err
	}
	if cfg.DataKeys.Enabled() {
		log.Info("personal values are encrypted at rest", "key", cfg.DataKeys.Current(), "keys", cfg.DataKeys.IDs())
	}
	clk := clock.System{}
	secret, err := bootstrap(ctx, db, cfg.AdminKey, clk.Now())
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	if secret != "" && cfg.AdminKey == "" {
		fmt.Fprintf(stderr, "\nCreated program %q and an admin API key. It is shown only this once:\n\n    %s\n\n",
			program.DefaultID, secret)
	}
	a := app.New(app.Config{DB: db, Clock: clk, CacheTTL: cfg.CacheTTL, PublicURL: cfg.PublicURL})
	if secret == "" && cfg.AdminKey != "" {
		if err := warnAdminKeyIgnored(ctx, a.Auth, cfg.AdminKey, log.With("db", db.URL())); err != nil {
			return err
		}
	}
	if err := firstOperator(ctx, a, cfg, log, stderr); err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	programs, evs := a.Programs, a.Events
	api := httpapi.New(httpapi.Config{App: a, Logger: log, Registry: reg, MaxBody: cfg.MaxBody, RateLimit: cfg.RateLimit, Version: versionString(),
		Pages: map[string]http.Handler{
			apidocs.Prefix: apidocs.Handler(),
			"/console":     webui.Console(),
			"/m":           webui.Member(),
		}})
	srv := &http.Server{
		Addr:              cfg.Addr,
		Handler:           api,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	// Events from NATS JetStream (--ingest): consumed until shutdown, then
	// drained before the database closes.
	stopIngest, err := startIngest(ctx, cfg, db, programs, evs, clk, log, reg)
	if err != nil {
		return err
	}
	defer stopIngest()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	log.Info("serving", "addr", ln.Addr().String(), "db", db.URL(), "version", versionString())

	if cfg.Pprof != "" {
		// A listener of its own, never the API's: profiles are for operators.
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		go func() {
			log.Info("pprof", "addr", cfg.Pprof)
			// Timeouts like the API's, but long enough to write a CPU
			// profile or trace of up to two minutes.
			ps := &http.Server{Addr: cfg.Pprof, Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
				WriteTimeout: 150 * time.Second, IdleTimeout: 120 * time.Second}
			if err := ps.ListenAndServe(); err != nil {
				log.Warn("pprof", "err", err)
			}
		}()
	}
	jobCtx, stopJobs := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	// A join code's message is sent as soon as it commits: a shopper waits
	// for it (the sender's claims keep it from going twice).
	a.Join.Kick = func(programID string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := a.Messages.SendDue(jobCtx, programID); err != nil {
				log.Warn("send join code", "err", err)
			}
		}()
	}
	if cfg.Scheduler {
		sched := jobs.NewScheduler(db, programs, clk, log, reg)
		sched.Add(jobs.Job{Name: "tier-review", Every: 24 * time.Hour, Run: func(ctx context.Context, p program.Program, now time.Time) error {
			_, err := tier.Review(ctx, db, p, now)
			return err
		}})
		sched.Add(jobs.Job{Name: "expire-coupons", Every: 10 * time.Minute, Run: func(ctx context.Context, p program.Program, now time.Time) error {
			_, err := coupon.ExpireDue(ctx, db, p, now)
			return err
		}})
		sched.Add(jobs.Job{Name: "birthdays", Every: time.Hour, Run: func(ctx context.Context, p program.Program, now time.Time) error {
			_, err := evs.Birthdays(ctx, p, now)
			return err
		}})
		sched.Add(jobs.Job{Name: "rfm", Every: 24 * time.Hour, Run: func(ctx context.Context, p program.Program, now time.Time) error {
			_, err := a.Audience.ComputeRFM(ctx, p, now)
			return err
		}})
		// The sender: each run claims due messages row by row, so several
		// nodes never send one twice (internal/message/sender.go).
		sched.Add(jobs.Job{Name: "send-messages", Every: time.Second, Run: func(ctx context.Context, p program.Program, _ time.Time) error {
			_, err := a.Messages.SendDue(ctx, p.ID)
			return err
		}})
		sched.Add(jobs.Job{Name: "expiry-notices", Every: 24 * time.Hour, Run: func(ctx context.Context, p program.Program, now time.Time) error {
			_, err := a.Webhooks.ExpiryNotices(ctx, p, now)
			return err
		}})
		// Campaigns: each occurrence is claimed by a unique row, so every
		// node may run it; joins and tier changes fire at once as well.
		sched.Add(jobs.Job{Name: "campaigns", Every: 5 * time.Minute, Run: func(ctx context.Context, p program.Program, now time.Time) error {
			_, err := a.Campaigns.Run(ctx, p, now)
			return err
		}})
		// Webhook deliveries: claimed row by row, so every node runs a worker.
		hooks := webhook.NewWorker(webhook.WorkerConfig{DB: db, Clock: clk, Log: log, DenyPrivate: cfg.WebhookDenyPrivate})
		wg.Add(2)
		go func() {
			defer wg.Done()
			sched.Run(jobCtx, cfg.JobTick)
		}()
		go func() {
			defer wg.Done()
			hooks.Run(jobCtx, time.Second)
		}()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		stopJobs()
		wg.Wait()
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownFor)
	defer cancel()
	err = srv.Shutdown(sctx)
	stopJobs()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// bootstrap creates program "default" and its first admin key on an empty
// database; it returns the key's secret when it made one.
func bootstrap(ctx context.Context, db *store.DB, adminKey string, now time.Time) (string, error) {
	var secret string
	err := db.Write(ctx, "bootstrap", func(ctx context.Context, tx *store.Tx) (err error) {
		if _, err = program.Create(ctx, tx, program.DefaultID, program.DefaultID, now); err != nil {
			return err
		}
		secret, err = auth.Bootstrap(ctx, tx, program.DefaultID, adminKey, now)
		return err
	})
	return secret, err
}

// firstOperator makes the console's first operator from JIFEN_ADMIN_EMAIL
// and JIFEN_ADMIN_PASSWORD on a database that has none, or says how to
// make one.
func firstOperator(ctx context.Context, a *app.App, cfg Config, log *slog.Logger, stderr io.Writer) error {
	var had int
	var made bool
	err := a.DB.Write(ctx, "bootstrap", func(ctx context.Context, tx *store.Tx) (err error) {
		if had, err = tx.CountOperators(ctx); err != nil || had > 0 || cfg.AdminEmail == "" {
			return err
		}
		made, err = a.Operators.Bootstrap(ctx, tx, program.DefaultID, cfg.AdminEmail, cfg.AdminPassword)
		return err
	})
	switch {
	case err != nil:
		return fmt.Errorf("first operator (JIFEN_ADMIN_EMAIL): %w", err)
	case made:
		log.Info("created the first console operator", "email", cfg.AdminEmail, "program", program.DefaultID)
	case had > 0 && cfg.AdminEmail != "":
		log.Info("JIFEN_ADMIN_EMAIL ignored: the console has operators (JIFEN_ADMIN_EMAIL only makes the first one)")
	case had == 0:
		fmt.Fprintf(stderr, "No console operator exists yet. Make the first one with\n\n"+
			"    JIFEN_OPERATOR_PASSWORD=… jifen operator add --email you@example.com --role admin\n\n"+
			"or start jifen serve with JIFEN_ADMIN_EMAIL and JIFEN_ADMIN_PASSWORD set.\n\n")
	}
	return nil
}

// warnAdminKeyIgnored says so when JIFEN_ADMIN_KEY is set on a database
// that already had keys, so bootstrap did not use it, and it is not the
// secret of an admin key of the default program either (as it is when the
// same variable is set on every start). Otherwise an operator would find
// out only when the API answers 401.
func warnAdminKeyIgnored(ctx context.Context, keys *auth.Service, adminKey string, log *slog.Logger) error {
	p, err := keys.Authenticate(ctx, adminKey)
	if err != nil && !failure.Is(err, failure.NotFound) {
		return fmt.Errorf("check JIFEN_ADMIN_KEY: %w", err)
	}
	if err == nil && p.Role == auth.Admin && p.ProgramID == program.DefaultID {
		return nil
	}
	log.Warn("JIFEN_ADMIN_KEY ignored: the database already has API keys and none of its admin keys has this secret "+
		"(JIFEN_ADMIN_KEY only sets the first key of an empty database). To make an admin key: jifen keys create --role admin",
		"program", program.DefaultID)
	return nil
}
