package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

type healthBody struct {
	Status  string `json:"status"`
	Version string `json:"version,omitempty"`
	Reason  string `json:"reason,omitempty"`
	// Replica is "up" or "down" when a replica is configured. A replica
	// that is down does not make the node unready: its reads go to the
	// primary.
	Replica string `json:"replica,omitempty"`
}

type pingBody struct {
	OK        bool   `json:"ok"`
	ProgramID string `json:"program_id"`
	KeyID     string `json:"key_id"`
	Role      string `json:"role"`
}

func (s *Server) registerHealth() {
	s.handle(route{method: "GET", path: "/healthz", access: public, tag: "health", summary: "Process is up",
		out: healthBody{}, status: 200, handler: func(w http.ResponseWriter, r *http.Request) error {
			return encode(w, 200, healthBody{Status: "ok", Version: s.version})
		}})
	s.handle(route{method: "GET", path: "/readyz", access: public, tag: "health",
		summary: "Database reachable and migrations current", out: healthBody{}, status: 200, handler: s.ready})
	metrics := promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{})
	s.handle(route{method: "GET", path: "/metrics", access: public, tag: "health", summary: "Prometheus metrics",
		status: 200, handler: func(w http.ResponseWriter, r *http.Request) error {
			metrics.ServeHTTP(w, r)
			return nil
		}})
	s.handle(route{method: "GET", path: "/openapi.json", access: public, tag: "health", summary: "This API's OpenAPI document",
		status: 200, handler: func(w http.ResponseWriter, r *http.Request) error {
			writeRaw(w, 200, jsonType, s.openapi)
			return nil
		}})
	// The floor of the stack: routing, middleware, authentication and JSON,
	// without the database. jifen bench measures everything against it.
	s.handle(route{method: "GET", path: "/v1/ping", access: anyRole, tag: "health",
		summary: "Check a key (touches no database)", out: pingBody{}, status: 200,
		handler: func(w http.ResponseWriter, r *http.Request) error {
			a := actor(r)
			return encode(w, 200, pingBody{OK: true, ProgramID: a.ProgramID, KeyID: a.ID, Role: a.Role})
		}})
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.db.Ping(ctx); err != nil {
		w.Header().Set("Retry-After", "1")
		return encode(w, http.StatusServiceUnavailable, healthBody{Status: "not_ready", Reason: "database unreachable"})
	}
	ok, err := s.db.MigrationsCurrent(ctx)
	if err != nil || !ok {
		w.Header().Set("Retry-After", "1")
		return encode(w, http.StatusServiceUnavailable, healthBody{Status: "not_ready", Reason: "migrations not current"})
	}
	body := healthBody{Status: "ready", Version: s.version}
	if configured, up, _ := s.db.ReplicaStatus(); configured {
		body.Replica = "down"
		if up {
			body.Replica = "up"
		}
	}
	return encode(w, 200, body)
}
