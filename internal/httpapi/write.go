package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/store"
)

// op is the effect of one write request, run inside a write transaction.
// Its result is encoded as the response body.
type op func(ctx context.Context, tx *store.Tx) (any, error)

// write runs fn in a write transaction and answers with status and the
// result. With an Idempotency-Key, the response is stored in the same
// transaction as the effect: a repeat with the same body gets the stored
// response (header Idempotent-Replayed: true) and changes nothing; the
// same key with another body is idempotency_conflict. Concurrent
// duplicates are applied once: the key's primary key lets one commit, and
// the other, rolled back, replays it. lane orders writes that touch the
// same member on one lane of the writer.
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
	h.Write(body)
	return key, hex.EncodeToString(h.Sum(nil)), nil
}
