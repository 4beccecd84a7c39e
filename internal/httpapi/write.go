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
	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/store"
)

// op is the effect of one write request, run inside a write transaction:
// one call of a domain operation. Its result is encoded as the response
// body (nil for none).
type op func(ctx context.Context, tx *store.Tx) (any, error)

// statusCoder is a result that chooses its own status (an event's replay
// answers 200, not 201).
type statusCoder interface{ StatusCode() int }

// precheck refuses, before any transaction, a request the database would
// refuse anyway (the flash-sale gate).
type precheck func(ctx context.Context) error

// write runs fn in a write transaction of the group-commit writer and
// answers with status and its result. With an Idempotency-Key, the key is
// claimed first in the transaction and the response stored in it after
// the effect: a repeat with the same body gets the stored response
// (header Idempotent-Replayed: true) and changes nothing; the same key
// with another body is idempotency_conflict. Concurrent duplicates are
// applied once: the key's primary key lets one claim it; the other waits
// for it (PostgreSQL) or finds it taken, runs nothing, and replays the
// first (store.ErrRace, retried here). lane orders writes that touch the
// same member on one lane of the writer; pre runs after a replay check and
// before the transaction.
func (s *Server) write(w http.ResponseWriter, r *http.Request, status int, lane string, fn op, pre ...precheck) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	key, hash, err := idempotencyKey(r, body)
	if err != nil {
		return err
	}
	programID := actor(r).ProgramID
	audit := prepareAudit(r, body)
	for attempt := 0; ; attempt++ {
		if key != "" {
			rec, found, err := s.db.Read().Idempotent(r.Context(), programID, key)
			if err != nil {
				return err
			}
			if found {
				return s.replay(w, rec, hash)
			}
		}
		if attempt == 0 {
			for _, check := range pre {
				if err := check(r.Context()); err != nil {
					return err
				}
			}
		}
		var out []byte
		code := status
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
			if sc, ok := v.(statusCoder); ok {
				code = sc.StatusCode()
			}
			if v != nil {
				if out, err = marshal(v); err != nil {
					return err
				}
			}
			target, err := s.recordAudit(ctx, tx, r, audit, body, code, out)
			if err != nil {
				return err
			}
			if key == "" {
				return nil
			}
			rec := store.IdemRecord{RequestHash: hash, Status: code, Body: out}
			if target.Type == "member" && target.ID != "" {
				rec.MemberID = null.String(target.ID) // erasing the member scrubs the stored response
			}
			return tx.PutIdempotent(ctx, programID, key, rec, s.clock.Now())
		})
		if errors.Is(err, store.ErrRace) && attempt < 3 {
			continue // a concurrent duplicate committed first: replay it
		}
		if err != nil {
			return err
		}
		if code == http.StatusNoContent {
			w.WriteHeader(code)
			return nil
		}
		writeRaw(w, code, jsonType, out)
		return nil
	}
}

func (s *Server) replay(w http.ResponseWriter, rec store.IdemRecord, hash string) error {
	if rec.RequestHash != hash {
		return failure.New(failure.IdempotencyConflict, "the Idempotency-Key was used for a different request")
	}
	w.Header().Set("Idempotent-Replayed", "true")
	if rec.Status == http.StatusNoContent {
		w.WriteHeader(rec.Status)
		return nil
	}
	writeRaw(w, rec.Status, jsonType, rec.Body)
	return nil
}

// idempotencyKey reads and checks the Idempotency-Key header (1–255
// printable ASCII characters) and hashes the request it names: method,
// path and body.
func idempotencyKey(r *http.Request, body []byte) (key, hash string, err error) {
	key = r.Header.Get("Idempotency-Key")
	bad := func(msg string) error {
		return &failure.Error{Kind: failure.BadRequest, Message: "Idempotency-Key must be 1 to 255 printable ASCII characters",
			Fields: []failure.FieldError{{Field: "Idempotency-Key", Message: msg}}}
	}
	if key == "" {
		if _, present := r.Header["Idempotency-Key"]; present {
			return "", "", bad("must not be empty")
		}
		return "", "", nil
	}
	if len(key) > 255 {
		return "", "", bad("must be at most 255 characters")
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return "", "", bad("must be printable ASCII")
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
