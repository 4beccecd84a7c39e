package store

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// SQLite copies committed pages from the WAL back into the database file
// in checkpoints. Left to itself it does so inside the commit that takes
// the WAL past 1,000 pages — in the writer, whose one goroutine every
// write queues behind: a tenth of its time under load (issue 19's
// profile). The writer's connection therefore runs with
// wal_autocheckpoint(0), and this goroutine checkpoints from a connection
// of its own: PASSIVE, so it never waits for and never blocks the writer
// or a reader, every checkpointEvery. A checkpoint changes no data, only
// where committed pages live, so durability is the writer's commit's as
// before.
const checkpointEvery = 250 * time.Millisecond

// checkpointRestartPages is the WAL size past which a checkpoint also
// waits for readers (RESTART) so that the WAL starts over instead of
// growing while long reads keep old pages in use.
const checkpointRestartPages = 16384

type checkpointer struct {
	db   *sql.DB
	log  *slog.Logger
	stop chan struct{}
	done sync.WaitGroup
}

func startCheckpointer(dsn string, log *slog.Logger) (*checkpointer, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite checkpointer: %w", err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxIdleTime(0)
	c := &checkpointer{db: db, log: log, stop: make(chan struct{})}
	c.done.Add(1)
	go c.run()
	return c, nil
}

func (c *checkpointer) run() {
	defer c.done.Done()
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			c.checkpoint("PASSIVE")
		}
	}
}

// checkpoint runs one checkpoint of mode; a WAL grown past
// checkpointRestartPages gets a RESTART right after.
func (c *checkpointer) checkpoint(mode string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var busy, walPages, done int
	if err := c.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(`+mode+`)`).Scan(&busy, &walPages, &done); err != nil {
		c.log.Warn("sqlite checkpoint", "mode", mode, "err", err)
		return
	}
	if mode == "PASSIVE" && walPages > checkpointRestartPages {
		c.checkpoint("RESTART")
	}
}

// close stops the goroutine, checkpoints what is left, and closes the
// connection.
func (c *checkpointer) close() error {
	close(c.stop)
	c.done.Wait()
	c.checkpoint("PASSIVE")
	return c.db.Close()
}
