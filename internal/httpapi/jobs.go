package httpapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/jifen/jifen/internal/jobs"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

type jobRequest struct {
	AsOf *string `json:"as_of,omitempty"`
}

func (s *Server) registerJobs() {
	s.handle(route{method: "POST", path: "/v1/jobs/expire", access: admin, tag: "jobs",
		summary: "Expire points due at as_of", in: jobRequest{}, out: jobs.ExpireResult{}, status: 200,
		handler: s.runJob(func(ctx context.Context, p program.Program, at time.Time) (any, error) {
			return jobs.Expire(ctx, s.db, p, at)
		})})
	s.handle(route{method: "POST", path: "/v1/jobs/activate-pending", access: admin, tag: "jobs",
		summary: "Make pending points available at as_of", in: jobRequest{}, out: jobs.ActivateResult{}, status: 200,
		handler: s.runJob(func(ctx context.Context, p program.Program, at time.Time) (any, error) {
			return jobs.ActivatePending(ctx, s.db, p, at)
		})})
	s.handle(route{method: "POST", path: "/v1/jobs/expire-holds", access: admin, tag: "jobs",
		summary: "Release holds past their expiry at as_of", in: jobRequest{}, out: jobs.HoldsResult{}, status: 200,
		handler: s.runJob(func(ctx context.Context, p program.Program, at time.Time) (any, error) {
			return jobs.ExpireHolds(ctx, s.db, p, at)
		})})
	s.handle(route{method: "GET", path: "/v1/books/verify", access: admin, tag: "jobs",
		summary: "Check the ledger invariants", out: ledger.Report{}, status: 200, handler: s.verify})
}

// runJob answers a job request. A job writes many transactions (one per
// member), so its idempotency record is written after the run: a replay
// returns the first run's counts, and a run interrupted half-way is simply
// run again (every job is safe to repeat).
func (s *Server) runJob(run func(ctx context.Context, p program.Program, at time.Time) (any, error)) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		in, err := decode[jobRequest](s, w, r)
		if err != nil {
			return err
		}
		at, err := asOf(in.AsOf, s.clock.Now())
		if err != nil {
			return err
		}
		p, err := s.program(r)
		if err != nil {
			return err
		}
		body, _ := s.readBody(w, r)
		key, hash, err := idempotencyKey(r, body)
		if err != nil {
			return err
		}
		if key != "" {
			rec, found, err := s.db.Read().Idempotent(r.Context(), p.ID, key)
			if err != nil {
				return err
			}
			if found {
				return s.replay(w, rec, hash)
			}
		}
		res, err := run(r.Context(), p, at)
		if err != nil {
			return err
		}
		out, err := marshal(res)
		if err != nil {
			return err
		}
		// A job runs in batches of its own transactions; its audit entry
		// (and idempotency record) is written after them, in one more.
		err = s.db.Write(r.Context(), "job", func(ctx context.Context, tx *store.Tx) error {
			if key != "" {
				err := tx.ClaimIdempotent(ctx, p.ID, key, hash, s.clock.Now())
				if errors.Is(err, store.ErrRace) {
					return nil // a concurrent duplicate ran too; both runs are harmless, and it is recorded
				}
				if err != nil {
					return err
				}
				if err := tx.PutIdempotent(ctx, p.ID, key, store.IdemRecord{RequestHash: hash, Status: 200, Body: out}, s.clock.Now()); err != nil {
					return err
				}
			}
			_, err := s.auditRecord(ctx, tx, r, body, 200, out)
			return err
		})
		if err != nil {
			return err
		}
		writeRaw(w, 200, jsonType, out)
		return nil
	}
}

func (s *Server) verify(w http.ResponseWriter, r *http.Request) error {
	rep, err := s.app.Points.Verify(r.Context(), actor(r))
	if err != nil {
		return err
	}
	return encode(w, 200, rep)
}
