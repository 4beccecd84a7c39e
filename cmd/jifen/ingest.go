package main

import (
	"context"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/events"
	"github.com/jifen/jifen/internal/ingest"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

// startIngest starts consuming events from NATS JetStream when --ingest is
// set (a no-op otherwise). It fails when NATS cannot be reached. The
// consumer stops when ctx is done or stop is called; stop then waits for
// the messages in progress to commit and be acknowledged, and closes the
// connection. Call stop before the database closes.
func startIngest(ctx context.Context, cfg Config, db *store.DB, programs *program.Service, evs *events.Service,
	clk clock.Clock, log *slog.Logger, reg prometheus.Registerer) (stop func(), err error) {
	if cfg.Ingest == "" {
		return func() {}, nil
	}
	c, err := ingest.New(ctx, ingest.Config{
		URL: cfg.Ingest, DB: db, Programs: programs, Events: evs, Clock: clk, Logger: log, Registry: reg, MaxBody: cfg.MaxBody,
	})
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.Run(runCtx)
	}()
	return func() {
		cancel()
		wg.Wait()
		if err := c.Close(); err != nil {
			log.Warn("ingest", "err", err)
		}
	}, nil
}
