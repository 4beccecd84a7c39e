package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/program"
)

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyPrincipal
	keyLogger
)

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
	r = r.WithContext(ctx)
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			requestLogger(r, s.log).Error("panic", "panic", p)
			if sw.status == 0 {
				s.problem(sw, r, errInternal)
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

var errInternal = &apiError{500, "internal", "Internal error", "an internal error occurred; it has been logged", nil}

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

func requestID(r *http.Request) string {
	v, _ := r.Context().Value(keyRequestID).(string)
	return v
}

func requestLogger(r *http.Request, fallback *slog.Logger) *slog.Logger {
	if l, ok := r.Context().Value(keyLogger).(*slog.Logger); ok {
		return l
	}
	return fallback
}

// guard authenticates /v1 requests and checks the route's role.
func (s *Server) guard(rt route) http.Handler {
	if rt.access == public {
		return rt.handler
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.authenticate(r)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		if !rt.access.allows(p.Role) {
			s.problem(w, r, errForbidden(rt.method+" "+rt.path+" needs "+strings.Join(rolesOf(rt.access), " or ")+
				" key; this is a "+p.Role+" key"))
			return
		}
		ctx := context.WithValue(r.Context(), keyPrincipal, p)
		ctx = context.WithValue(ctx, keyLogger, requestLogger(r, s.log).With("program", p.ProgramID, "key", p.KeyID))
		rt.handler(w, r.WithContext(ctx))
	})
}

func (s *Server) authenticate(r *http.Request) (auth.Principal, error) {
	h := r.Header.Get("Authorization")
	scheme, secret, ok := strings.Cut(h, " ")
	if h == "" {
		return auth.Principal{}, errUnauthenticated("an API key is required: Authorization: Bearer <key>")
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
		return auth.Principal{}, errUnauthenticated("the Authorization header must be: Bearer <key>")
	}
	p, err := s.auth.Authenticate(r.Context(), strings.TrimSpace(secret))
	if failure.KindOf(err) == failure.NotFound {
		return auth.Principal{}, errUnauthenticated("the API key is not valid")
	}
	return p, err
}

func principal(r *http.Request) auth.Principal {
	p, _ := r.Context().Value(keyPrincipal).(auth.Principal)
	return p
}

// program returns the settings of the request's program.
func (s *Server) program(r *http.Request) (program.Program, error) {
	return s.programs.Get(r.Context(), principal(r).ProgramID)
}

// actingMerchant is the merchant a request acts as: a merchant key always
// acts as its own merchant (naming another is forbidden); other keys act
// as the merchant they name, if any.
func actingMerchant(r *http.Request, named string) (string, error) {
	p := principal(r)
	if p.Role == auth.Merchant {
		if named != "" && named != p.MerchantID {
			return "", errForbidden("a merchant key acts only as its own merchant " + p.MerchantID)
		}
		return p.MerchantID, nil
	}
	return named, nil
}

// notFound answers every /v1 path that no route matches: 405 when the path
// exists with other methods, else 404; without a key, 401 first.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	if _, err := s.authenticate(r); err != nil {
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
		s.problem(w, r, &apiError{405, "method_not_allowed", "Method not allowed",
			r.Method + " is not allowed here; allowed: " + strings.Join(allowed, ", "), nil})
		return
	}
	s.problem(w, r, &apiError{404, "not_found", "Not found", "no route " + r.Method + " " + r.URL.Path, nil})
}

// actAsMerchant applies actingMerchant to an optional merchant field of a
// create request: a merchant key fills in (or must name) its own merchant.
func actAsMerchant(r *http.Request, field **string) error {
	named := ""
	if *field != nil {
		named = **field
	}
	mer, err := actingMerchant(r, named)
	if err == nil && mer != "" {
		*field = &mer
	}
	return err
}
