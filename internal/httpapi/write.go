package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/store"
)

// op is the effect of one write request, run inside a write transaction.
// Its result is encoded as the response body.
type op func(ctx context.Context, tx *store.Tx) (any, error)

// write runs fn in a write transaction and answers with status and the
// result. With an Idempotency-Key, the key is claimed first in the
// transaction and the response stored in it after the effect: a repeat
// with the same body gets the stored response (header Idempotent-Replayed:
// true) and changes nothing; the same key with another body is
// idempotency_conflict. Concurrent duplicates are applied once: the key's
// primary key lets one claim it; the other waits for it (PostgreSQL) or
// finds it taken, runs nothing, and replays the first. lane orders writes
// that touch the same member on one lane of the writer.
func (s *Server) write(w http.ResponseWriter, r *http.Request, body []byte, status int, lane string, fn op) {
	key, hash, err := idempotencyKey(r, body)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	programID := principal(r).ProgramID
	for attempt := 0; ; attempt++ {
		if key != "" {
			rec, found, err := s.db.Read().Idempotent(r.Context(), programID, key)
			if err != nil {
				s.problem(w, r, err)
				return
			}
			if found {
				s.replay(w, r, rec, hash)
				return
			}
		}
		var out []byte
		err = s.db.Write(r.Context(), lane, func(ctx context.Context, tx *store.Tx) error {
			if key != "" {
				if err := tx.ClaimIdempotent(ctx, programID, key, hash, s.clock.Now()); err != nil {
					return err
				}
			}
			v, err := fn(ctx, tx)
			if err != nil {
				return err
			}
			if out, err = marshal(v); err != nil {
				return err
			}
			if key == "" {
				return nil
			}
			return tx.PutIdempotent(ctx, programID, key, store.IdemRecord{RequestHash: hash, Status: status, Body: out}, s.clock.Now())
		})
		if errors.Is(err, store.ErrIdemRace) && attempt < 3 {
			continue // a concurrent duplicate committed first: replay it
		}
		if err != nil {
			s.problem(w, r, err)
			return
		}
		if status == http.StatusNoContent {
			w.WriteHeader(status)
			return
		}
		writeRaw(w, status, jsonType, out)
		return
	}
}

// replayed answers a request whose Idempotency-Key is already stored, and
// reports whether it did. Handlers that can answer some requests without a
// transaction (the flash-sale gate) call it first, so that a retry of a
// request that succeeded gets its first answer, not a different one.
func (s *Server) replayed(w http.ResponseWriter, r *http.Request, body []byte) bool {
	key, hash, err := idempotencyKey(r, body)
	if err != nil || key == "" {
		return false
	}
	rec, found, err := s.db.Read().Idempotent(r.Context(), principal(r).ProgramID, key)
	if err != nil || !found {
		return false
	}
	s.replay(w, r, rec, hash)
	return true
}

func (s *Server) replay(w http.ResponseWriter, r *http.Request, rec store.IdemRecord, hash string) {
	if rec.RequestHash != hash {
		s.problem(w, r, failure.New(failure.IdempotencyConflict,
			"the Idempotency-Key was used for a different request"))
		return
	}
	w.Header().Set("Idempotent-Replayed", "true")
	if rec.Status == http.StatusNoContent {
		w.WriteHeader(rec.Status)
		return
	}
	writeRaw(w, rec.Status, jsonType, rec.Body)
}

// idempotencyKey reads and checks the Idempotency-Key header (1–255
// printable ASCII characters) and hashes the request it names: method,
// path and body.
func idempotencyKey(r *http.Request, body []byte) (key, hash string, err error) {
	key = r.Header.Get("Idempotency-Key")
	if key == "" {
		if _, present := r.Header["Idempotency-Key"]; present {
			return "", "", &apiError{400, "bad_request", "Bad request", "Idempotency-Key must be 1 to 255 printable ASCII characters",
				[]failure.FieldError{{Field: "Idempotency-Key", Message: "must not be empty"}}}
		}
		return "", "", nil
	}
	if len(key) > 255 {
		return "", "", &apiError{400, "bad_request", "Bad request", "Idempotency-Key must be 1 to 255 printable ASCII characters",
			[]failure.FieldError{{Field: "Idempotency-Key", Message: "must be at most 255 characters"}}}
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return "", "", &apiError{400, "bad_request", "Bad request", "Idempotency-Key must be 1 to 255 printable ASCII characters",
				[]failure.FieldError{{Field: "Idempotency-Key", Message: "must be printable ASCII"}}}
		}
	}
	h := sha256.New()
	h.Write([]byte(r.Method))
	h.Write([]byte{0})
	h.Write([]byte(r.URL.Path))
	h.Write([]byte{0})
	h.Write(canonical(body))
	return key, hex.EncodeToString(h.Sum(nil)), nil
}

// canonical rewrites a JSON body with sorted keys and no spacing, so that
// "the same body" means the same JSON value, whatever its formatting. A
// body that is not JSON is hashed as it is.
func canonical(body []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if len(bytes.TrimSpace(body)) == 0 || dec.Decode(&v) != nil || dec.More() {
		return body
	}
	out, err := json.Marshal(v)
	if err != nil {
		return body
	}
	return out
}
