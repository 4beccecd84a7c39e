package httpapi

import (
	"context"
	"net/http"

	"github.com/jifen/jifen/internal/store"
)

// listOf answers a page of the caller's program's objects, read by fetch
// on the primary (configuration lists: what an operator just saved).
func listOf[T any](s *Server, fetch func(ctx context.Context, c *store.Conn, programID string, pg store.Page) ([]T, string, error)) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		pg, err := page(r)
		if err != nil {
			return err
		}
		data, next, err := fetch(r.Context(), s.db.Read(), actor(r).ProgramID, pg)
		if err != nil {
			return err
		}
		return list(w, data, next)
	}
}

// getOf answers one of the caller's program's objects, named by the {id}
// path value.
func getOf[T any](s *Server, fetch func(ctx context.Context, c *store.Conn, programID, id string) (T, error)) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		v, err := fetch(r.Context(), s.db.Read(), actor(r).ProgramID, r.PathValue("id"))
		if err != nil {
			return err
		}
		return encode(w, http.StatusOK, v)
	}
}
