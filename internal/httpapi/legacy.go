package httpapi

import (
	"context"
	"net/http"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/identity"
	"github.com/jifen/jifen/internal/store"
)

// What remains of the handlers that answer their own errors, until each
// has moved to an operation of its domain package.

// writeLegacy is write for handlers that answer their own errors.
func (s *Server) writeLegacy(w http.ResponseWriter, r *http.Request, _ []byte, status int, lane string, fn op) {
	if err := s.write(w, r, status, lane, fn); err != nil {
		s.problem(w, r, err)
	}
}

// decodeBody is decode that also returns the raw body (for handlers not
// yet moved to write).
func decodeBody[T any](s *Server, w http.ResponseWriter, r *http.Request) (T, []byte, error) {
	in, err := decode[T](s, w, r)
	if err != nil {
		return in, nil, err
	}
	body, _ := s.readBody(w, r)
	return in, body, nil
}

// legacy adapts a handler that answers its own errors.
func legacy(h http.HandlerFunc) handler {
	return func(w http.ResponseWriter, r *http.Request) error { h(w, r); return nil }
}

type param struct {
	name, desc string
	array      bool
}

func (s *Server) handle(rt route) {
	s.routes = append(s.routes, rt)
	s.mux.Handle(rt.method+" "+rt.path, s.guard(rt))
}

func merchantFor(ctx context.Context, tx *store.Tx, programID, merchantID string) error {
	if merchantID == "" {
		return nil
	}
	if _, err := tx.Merchant(ctx, programID, merchantID); err != nil {
		if failure.KindOf(err) == failure.NotFound {
			return failure.Field("merchant_id", "no such merchant")
		}
		return err
	}
	return nil
}

// resolve finds the member a path or body names, in the request's program.
func (s *Server) resolve(r *http.Request, ref string) (store.Member, error) {
	return identity.Resolve(r.Context(), s.db.Read(), actor(r).ProgramID, ref)
}
