package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/jifen/jifen/internal/input"
	"net/http"

	"github.com/jifen/jifen/internal/events"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/store"
)

func (s *Server) registerEvents() {
	s.handle(route{method: "POST", path: "/v1/events", access: operator, tag: "events",
		summary: "Post an event (order paid or refunded, check-in, share, custom)", in: events.Input{},
		out: events.Result{}, status: 201, handler: legacy(s.postEvent)})
	s.handle(route{method: "POST", path: "/v1/events/simulate", access: anyRole, tag: "events",
		summary: "What an event would earn; nothing is written", in: events.Input{}, out: events.Result{},
		status: 200, handler: legacy(s.simulateEvent)})
}

func (s *Server) decodeEvent(w http.ResponseWriter, r *http.Request) (events.Input, []byte, error) {
	in, body, err := decodeBody[events.Input](s, w, r)
	if err != nil {
		return in, nil, err
	}
	if in.MerchantID, err = actingMerchant(r, in.MerchantID); err != nil {
		return in, nil, err
	}
	return in, body, nil
}

// DecodeEvent decodes an event body exactly as POST /v1/events does: a
// body over maxBody is payload_too_large, malformed JSON bad_request, a
// field of the wrong type validation_failed. The NATS ingest decodes with
// it, so both doors into the event pipeline refuse the same input with the
// same code.
func DecodeEvent(body []byte, maxBody int64) (events.Input, error) {
	var in events.Input
	if int64(len(body)) > maxBody {
		return in, errTooLarge(maxBody)
	}
	err := input.Decode(body, &in)
	return in, err
}

// CheckEventMerchant is the check POST /v1/events makes in its
// transaction before it processes the event: a named merchant must exist
// in the program.
func CheckEventMerchant(ctx context.Context, tx *store.Tx, programID, merchantID string) error {
	return merchantFor(ctx, tx, programID, merchantID)
}

// postEvent processes an event once. A repeat of its id answers the first
// result with 200, whatever its Idempotency-Key; a repeat of an
// Idempotency-Key with the same body replays as for any write.
func (s *Server) postEvent(w http.ResponseWriter, r *http.Request) {
	in, body, err := s.decodeEvent(w, r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	p, err := s.program(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	key, hash, err := idempotencyKey(r, body)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	// One member's events queue on one lane: resolve the member first.
	lane := in.Member
	if m, err := s.resolve(r, in.Member); err == nil {
		lane = m.ID
	}
	for attempt := 0; ; attempt++ {
		if key != "" {
			rec, found, err := s.db.Read().Idempotent(r.Context(), p.ID, key)
			if err != nil {
				s.problem(w, r, err)
				return
			}
			if found {
				if err := s.replay(w, rec, hash); err != nil {
					s.problem(w, r, err)
				}
				return
			}
		}
		if in.ID != "" {
			if stored, ok, err := s.events.Stored(r.Context(), s.db.Read(), p.ID, in.ID); err != nil {
				s.problem(w, r, err)
				return
			} else if ok {
				writeRaw(w, http.StatusOK, jsonType, stored)
				return
			}
		}
		var out json.RawMessage
		var replay bool
		err = s.db.Write(r.Context(), lane, func(ctx context.Context, tx *store.Tx) (err error) {
			if key != "" {
				if err := tx.ClaimIdempotent(ctx, p.ID, key, hash, s.clock.Now()); err != nil {
					return err
				}
			}
			if err := merchantFor(ctx, tx, p.ID, in.MerchantID); err != nil {
				return err
			}
			out, replay, err = s.events.Process(ctx, tx, p, in, s.clock.Now(), false)
			if err != nil || key == "" {
				return err
			}
			status := 201
			if replay {
				status = 200
			}
			return tx.PutIdempotent(ctx, p.ID, key, store.IdemRecord{RequestHash: hash, Status: status, Body: out}, s.clock.Now())
		})
		if (errors.Is(err, events.ErrRace) || errors.Is(err, store.ErrRace)) && attempt < 3 {
			continue // a concurrent duplicate committed first: answer with its result
		}
		if err != nil {
			s.problem(w, r, err)
			return
		}
		status := http.StatusCreated
		if replay {
			status = http.StatusOK
		}
		writeRaw(w, status, jsonType, out)
		return
	}
}

var errSimulated = errors.New("simulated: roll back")

// simulateEvent runs the event exactly as postEvent would, in a
// transaction that is then rolled back.
func (s *Server) simulateEvent(w http.ResponseWriter, r *http.Request) {
	in, _, err := s.decodeEvent(w, r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	p, err := s.program(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	var out json.RawMessage
	err = s.db.Write(r.Context(), in.Member, func(ctx context.Context, tx *store.Tx) (err error) {
		if err := merchantFor(ctx, tx, p.ID, in.MerchantID); err != nil {
			return err
		}
		if out, _, err = s.events.Process(ctx, tx, p, in, s.clock.Now(), true); err != nil {
			return err
		}
		return errSimulated
	})
	if !errors.Is(err, errSimulated) {
		if err == nil {
			err = failure.New(failure.Internal, "simulation was not rolled back")
		}
		s.problem(w, r, err)
		return
	}
	writeRaw(w, http.StatusOK, jsonType, out)
}
