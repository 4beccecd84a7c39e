package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/member"
	"github.com/jifen/jifen/internal/program"
)

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyActor
	keyLogger
	keyState
)

// state is what one request keeps while it is served: its body, once
// read (for the idempotency hash).
type state struct {
	body []byte
	read bool
}

func stateOf(r *http.Request) *state {
	st, _ := r.Context().Value(keyState).(*state)
	return st
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// ServeHTTP is the outer middleware: request ID, security headers, panic
// recovery, metrics and the access log, around the route table.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rid := r.Header.Get("X-Request-Id")
	if !validRequestID(rid) {
		rid = id.New("req")
	}
	h := w.Header()
	h.Set("X-Request-Id", rid)
	if strings.HasPrefix(r.URL.Path, "/v1/") {
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
	}
	ctx := context.WithValue(r.Context(), keyRequestID, rid)
	ctx = context.WithValue(ctx, keyLogger, s.log.With("request_id", rid))
	ctx = context.WithValue(ctx, keyState, &state{})
	r = r.WithContext(ctx)
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			requestLogger(r, s.log).Error("panic", "panic", p)
			if sw.status == 0 {
				s.problem(sw, r, errors.New("panic"))
			}
		}
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		s.metrics.observe(route, sw.status, time.Since(start))
		requestLogger(r, s.log).Debug("request", "method", r.Method, "route", route, "status", sw.status,
			"duration_ms", time.Since(start).Milliseconds())
	}()
	s.mux.ServeHTTP(sw, r)
}

func validRequestID(s string) bool {
	if len(s) < 1 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func requestLogger(r *http.Request, fallback *slog.Logger) *slog.Logger {
	if l, ok := r.Context().Value(keyLogger).(*slog.Logger); ok {
		return l
	}
	return fallback
}

// guard authenticates /v1 requests, checks the route's role, runs the
// handler and answers the error it returns as problem+json.
func (s *Server) guard(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rt.access != public {
			a, err := s.authenticate(w, r)
			if err != nil {
				s.problem(w, r, err)
				return
			}
			if a.IsMember() {
				if err := memberMay(rt, a); err != nil {
					s.problem(w, r, err)
					return
				}
			} else if !rt.access.allows(a.Role) {
				s.problem(w, r, errForbidden(rt.method+" "+rt.path+" needs "+strings.Join(rolesOf(rt.access), " or ")+
					" key; this is a "+a.Role+" key"))
				return
			}
			if err := s.limit(w, a); err != nil {
				s.problem(w, r, err)
				return
			}
			ctx := context.WithValue(r.Context(), keyActor, a)
			ctx = context.WithValue(ctx, keyLogger, requestLogger(r, s.log).With("program", a.ProgramID, "key", a.ID))
			r = r.WithContext(ctx)
		}
		if err := rt.handler(w, r); err != nil {
			s.problem(w, r, err)
		}
	})
}

// authenticate finds who a request acts for: an API key (Authorization:
// Bearer, or Jifen-Ed25519 for a signed request) or, without one, a
// console session (its cookie; a write must also carry the session's
// X-CSRF-Token).
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (auth.Actor, error) {
	h := r.Header.Get("Authorization")
	scheme, secret, ok := strings.Cut(h, " ")
	if strings.EqualFold(scheme, auth.SignatureScheme) {
		return s.authenticateSigned(w, r, secret)
	}
	if h == "" {
		if tok := sessionToken(r); tok != "" {
			return s.app.Operators.Authenticate(r.Context(), tok, r.Method, r.Header.Get("X-CSRF-Token"))
		}
		return auth.Actor{}, errUnauthenticated("an API key is required: Authorization: Bearer <key> (or a console session)")
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
		return auth.Actor{}, errUnauthenticated("the Authorization header must be: Bearer <key>")
	}
	if secret = strings.TrimSpace(secret); member.IsToken(secret) {
		return s.app.Members.Authenticate(r.Context(), secret)
	}
	a, err := s.auth.Authenticate(r.Context(), secret)
	if failure.KindOf(err) == failure.NotFound {
		return auth.Actor{}, errUnauthenticated("the API key is not valid")
	}
	return a, err
}

// memberMay says whether a member token may use a route: the member's own
// reads, and (scope member) its own acts; anything else is forbidden.
func memberMay(rt route, a auth.Actor) error {
	switch {
	case rt.member == memberNone:
		return failure.New(failure.Forbidden, "a member token may not use %s %s", rt.method, rt.path)
	case rt.member == memberAct && a.Scope != auth.ScopeMember:
		return failure.New(failure.Forbidden, "a member token of scope %s only reads", a.Scope)
	}
	return nil
}

// actor is who the request acts for.
func actor(r *http.Request) auth.Actor {
	a, _ := r.Context().Value(keyActor).(auth.Actor)
	return a
}

// program returns the settings of the request's program.
func (s *Server) program(r *http.Request) (program.Program, error) {
	return s.programs.Get(r.Context(), actor(r).ProgramID)
}

// notFound answers every /v1 path that no route matches: 405 when the path
// exists with other methods, else 404; without a key, 401 first.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	if _, err := s.authenticate(w, r); err != nil {
		s.problem(w, r, err)
		return
	}
	var allowed []string
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pat := s.mux.Handler(probe); pat != "" && pat != "/v1/" {
			allowed = append(allowed, m)
		}
	}
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		s.problem(w, r, failure.New(failure.MethodNotAllowed, "%s is not allowed here; allowed: %s", r.Method, strings.Join(allowed, ", ")))
		return
	}
	s.problem(w, r, failure.New(failure.NotFound, "no route %s %s", r.Method, r.URL.Path))
}

// clientIP is the address a request came from: the peer's, or, when the
// peer is a proxy on this host or a private network (deploy/nginx sets
// it), its X-Real-IP.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if ip := net.ParseIP(host); ip != nil && (ip.IsLoopback() || ip.IsPrivate()) {
		if real := net.ParseIP(r.Header.Get("X-Real-IP")); real != nil {
			return real.String()
		}
	}
	return host
}
