package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

// Job is one kind of scheduled work, run for every program.
type Job struct {
	Name  string
	Every time.Duration
	// Global jobs run once per run, not once per program; Run gets the
	// zero Program.
	Global bool
	Run    func(ctx context.Context, p program.Program, now time.Time) error
}

// Scheduler runs jobs on their schedules. Several nodes may run one: each
// run is claimed through a lease row, so it happens on one node only.
type Scheduler struct {
	db       *store.DB
	programs *program.Service
	clock    clock.Clock
	log      *slog.Logger
	holder   string
	jobs     []Job

	runs     *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// IdempotencyTTL is how long idempotency keys are kept (at least 7 days,
// as the API promises).
const IdempotencyTTL = 8 * 24 * time.Hour

// NewScheduler returns a scheduler with the standard jobs; its metrics go
// to reg.
func NewScheduler(db *store.DB, programs *program.Service, clk clock.Clock, log *slog.Logger, reg prometheus.Registerer) *Scheduler {
	host, _ := os.Hostname()
	s := &Scheduler{
		db: db, programs: programs, clock: clk, log: log,
		holder: fmt.Sprintf("%s/%d/%s", host, os.Getpid(), id.Secret(6)),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jifen_job_runs_total", Help: "Scheduled job runs by job and outcome.",
		}, []string{"job", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "jifen_job_duration_seconds", Help: "Duration of scheduled job runs.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}, []string{"job"}),
	}
	if reg != nil {
		reg.MustRegister(s.runs, s.duration)
	}
	s.jobs = []Job{
		{Name: "expire", Every: time.Minute, Run: func(ctx context.Context, p program.Program, now time.Time) error {
			_, err := Expire(ctx, db, p, now)
			return err
		}},
		{Name: "activate-pending", Every: time.Minute, Run: func(ctx context.Context, p program.Program, now time.Time) error {
			_, err := ActivatePending(ctx, db, p, now)
			return err
		}},
		{Name: "expire-holds", Every: time.Second, Run: func(ctx context.Context, p program.Program, now time.Time) error {
			_, err := ExpireHolds(ctx, db, p, now)
			return err
		}},
		{Name: "purge-idempotency", Every: time.Hour, Global: true, Run: func(ctx context.Context, _ program.Program, now time.Time) error {
			return PurgeIdempotency(ctx, db, now)
		}},
		{Name: "purge-nonces", Every: time.Minute, Global: true, Run: func(ctx context.Context, _ program.Program, now time.Time) error {
			return PurgeNonces(ctx, db, now)
		}},
	}
	return s
}

// Add registers another job (later capabilities add theirs).
func (s *Scheduler) Add(j Job) { s.jobs = append(s.jobs, j) }

// Run checks every tick which jobs are due and runs those this node
// claims, until ctx ends. A run in progress finishes its current write
// before Run returns.
func (s *Scheduler) Run(ctx context.Context, tick time.Duration) {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		s.RunDue(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunDue runs, once, every job that is due and that this node claims. It
// returns the names of the jobs it ran.
func (s *Scheduler) RunDue(ctx context.Context) []string {
	var ran []string
	for _, j := range s.jobs {
		if ctx.Err() != nil {
			return ran
		}
		now := s.clock.Now()
		var claimed bool
		err := s.db.Write(ctx, "job:"+j.Name, func(ctx context.Context, tx *store.Tx) (err error) {
			// The lease outlives a normal run; a node that dies mid-run
			// frees the job when it runs out.
			claimed, err = tx.ClaimRun(ctx, j.Name, s.holder, now, now.Add(j.Every), now.Add(j.Every+5*time.Minute))
			return err
		})
		if err != nil {
			s.log.Warn("job lease", "job", j.Name, "err", err)
			continue
		}
		if !claimed {
			continue
		}
		ran = append(ran, j.Name)
		s.runOnce(ctx, j, now)
		_ = s.db.Write(context.WithoutCancel(ctx), "job:"+j.Name, func(ctx context.Context, tx *store.Tx) error {
			return tx.ReleaseRun(ctx, j.Name, s.holder)
		})
	}
	return ran
}

func (s *Scheduler) runOnce(ctx context.Context, j Job, now time.Time) {
	start := time.Now()
	var ids []string
	var err error
	if j.Global {
		err = j.Run(ctx, program.Program{}, now)
	} else {
		ids, err = s.db.Read().ProgramIDs(ctx)
	}
	outcome := "ok"
	for _, pid := range ids {
		if err != nil {
			break
		}
		var p program.Program
		if p, err = s.programs.Get(ctx, pid); err == nil {
			err = j.Run(ctx, p, now)
		}
	}
	if err != nil {
		outcome = "error"
		s.log.Error("job failed", "job", j.Name, "err", err)
	}
	s.runs.WithLabelValues(j.Name, outcome).Inc()
	s.duration.WithLabelValues(j.Name).Observe(time.Since(start).Seconds())
}

// PurgeIdempotency deletes idempotency keys older than IdempotencyTTL.
func PurgeIdempotency(ctx context.Context, db *store.DB, now time.Time) error {
	cutoff := now.Add(-IdempotencyTTL)
	for {
		var n int64
		err := db.Write(ctx, "job:purge", func(ctx context.Context, tx *store.Tx) (err error) {
			n, err = tx.PurgeIdempotent(ctx, cutoff, 1000)
			return err
		})
		if err != nil || n < 1000 {
			return err
		}
	}
}

// NonceTTL is how long the nonces of signed requests are kept: longer
// than the 300-second window either side of now in which a signed
// request is accepted, so a nonce is never forgotten while its request
// could still be replayed.
const NonceTTL = 15 * time.Minute

// PurgeNonces deletes the nonces of signed requests older than NonceTTL.
func PurgeNonces(ctx context.Context, db *store.DB, now time.Time) error {
	cutoff := now.Add(-NonceTTL)
	for {
		var n int64
		err := db.Write(ctx, "job:purge-nonces", func(ctx context.Context, tx *store.Tx) (err error) {
			n, err = tx.PurgeNonces(ctx, cutoff, 1000)
			return err
		})
		if err != nil || n < 1000 {
			return err
		}
	}
}
