package httpapi

import (
	"context"
	"net/http"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/operator"
	"github.com/jifen/jifen/internal/store"
)

// sessionCookie carries a console session's secret.
const sessionCookie = "jifen_session"

func (s *Server) registerOperators() {
	s.handle(route{method: "POST", path: "/v1/operators", access: admin, tag: "console", summary: "Create a console operator",
		in: operator.CreateInput{}, out: operator.Operator{}, status: 201, handler: s.createOperator})
	s.handle(route{method: "GET", path: "/v1/operators", access: admin, tag: "console", summary: "List the console operators",
		out: listBody[operator.Operator]{}, status: 200, query: pageParams, handler: s.listOperators})
	s.handle(route{method: "PATCH", path: "/v1/operators/{id}", access: admin, tag: "console",
		summary: "Change an operator's name, role or password (a new password ends its sessions)",
		in:      operator.UpdateInput{}, out: operator.Operator{}, status: 200, handler: s.patchOperator})
	s.handle(route{method: "POST", path: "/v1/operators/{id}/disable", access: admin, tag: "console",
		summary: "Disable an operator and end its sessions", out: operator.Operator{}, status: 200, handler: s.operatorStatus(operator.Disabled)})
	s.handle(route{method: "POST", path: "/v1/operators/{id}/enable", access: admin, tag: "console",
		summary: "Enable an operator", out: operator.Operator{}, status: 200, handler: s.operatorStatus(operator.Active)})
	s.handle(route{method: "POST", path: "/v1/console/login", access: public, tag: "console",
		summary: "Log in to the console: a session cookie and its CSRF token", in: operator.LoginInput{}, out: operator.Login{},
		status: 200, handler: s.login})
	s.handle(route{method: "GET", path: "/v1/console/session", access: anyRole, tag: "console",
		summary: "The console session of the cookie", out: operator.Login{}, status: 200, handler: s.session})
	s.handle(route{method: "POST", path: "/v1/console/logout", access: anyRole, tag: "console",
		summary: "End the console session of the cookie", status: 204, handler: s.logout})
}

func (s *Server) createOperator(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[operator.CreateInput](s, w, r)
	if err != nil {
		return err
	}
	return s.write(w, r, 201, "operators", func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Operators.Create(ctx, tx, actor(r), in)
	})
}

func (s *Server) listOperators(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	ops, next, err := s.app.Operators.List(r.Context(), actor(r), pg)
	if err != nil {
		return err
	}
	return list(w, ops, next)
}

func (s *Server) patchOperator(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[operator.UpdateInput](s, w, r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	return s.write(w, r, 200, id, func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Operators.Update(ctx, tx, actor(r), id, in)
	})
}

func (s *Server) operatorStatus(status string) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		id := r.PathValue("id")
		return s.write(w, r, 200, id, func(ctx context.Context, tx *store.Tx) (any, error) {
			return s.app.Operators.SetStatus(ctx, tx, actor(r), id, status)
		})
	}
}

// login opens a session: the cookie is HttpOnly and SameSite=Strict, and
// Secure when the request came over HTTPS (directly or through a proxy
// that says so).
func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[operator.LoginInput](s, w, r)
	if err != nil {
		return err
	}
	body, _ := s.readBody(w, r)
	l, err := s.app.Operators.Login(r.Context(), in, func(ctx context.Context, tx *store.Tx, op store.Operator, status int) error {
		return s.auditLogin(ctx, tx, r, body, op, status)
	})
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: l.Token, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https",
		Expires: l.ExpiresAt})
	return encode(w, 200, l)
}

// sessionToken is the request's console session cookie, if any.
func sessionToken(r *http.Request) string {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return ""
	}
	return c.Value
}

func (s *Server) session(w http.ResponseWriter, r *http.Request) error {
	if actor(r).Kind != operator.KindOperator {
		return failure.New(failure.NotFound, "this request has no console session (it was made with an API key)")
	}
	l, err := s.app.Operators.Session(r.Context(), sessionToken(r))
	if err != nil {
		return err
	}
	return encode(w, 200, l)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if actor(r).Kind != operator.KindOperator {
		return failure.New(failure.NotFound, "this request has no console session (it was made with an API key)")
	}
	err := s.db.Write(r.Context(), "session", func(ctx context.Context, tx *store.Tx) error {
		if err := s.app.Operators.Logout(ctx, tx, sessionToken(r)); err != nil {
			return err
		}
		_, err := s.auditRecord(ctx, tx, r, nil, http.StatusNoContent, nil)
		return err
	})
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
	return nil
}
