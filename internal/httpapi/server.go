// Package httpapi is Jifen's HTTP JSON API: routing on the standard
// ServeMux, authentication and roles, problem+json errors, idempotency
// keys, and handlers that decode a request, call one service, and encode
// the answer. It holds no business rule and writes no SQL. The route
// table is also the source of the OpenAPI document at /openapi.json.
package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jifen/jifen/internal/app"
	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/events"
	"github.com/jifen/jifen/internal/mall"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/rulebook"
	"github.com/jifen/jifen/internal/store"
)

// Config is what the API needs: the App whose operations it serves.
type Config struct {
	App    *app.App
	Logger *slog.Logger
	// Registry receives the API's metrics and is what /metrics serves.
	Registry *prometheus.Registry
	// MaxBody is the largest request body accepted (default 1 MiB).
	MaxBody int64
	// RateLimit is the token bucket of an API key without one of its own
	// (JIFEN_RATE_LIMIT); the zero value is no limit.
	RateLimit auth.RateLimit
	Version   string
	// Pages are the web pages the binary serves beside the API, by the
	// path they are mounted at: "/docs" (internal/apidocs), "/console" and
	// "/m" (internal/webui). Each gets its path and everything under it.
	Pages map[string]http.Handler
}

// Server is the API's http.Handler.
type Server struct {
	app      *app.App
	db       *store.DB
	programs *program.Service
	auth     *auth.Service
	rules    *rulebook.Book
	events   *events.Service
	mall     *mall.Service
	clock    clock.Clock
	log      *slog.Logger
	reg      *prometheus.Registry
	maxBody  int64
	version  string

	rateLimit auth.RateLimit
	limiters  *Limiters
	pages     map[string]http.Handler

	mux     *http.ServeMux
	routes  []route
	metrics *metrics
	openapi []byte
}

// New builds the server and its routes.
func New(cfg Config) *Server {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 1 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	a := cfg.App
	s := &Server{
		app: a, db: a.DB, programs: a.Programs, auth: a.Auth, rules: a.Rules, events: a.Events, mall: a.Mall,
		clock: a.Clock, log: cfg.Logger,
		reg: cfg.Registry, maxBody: cfg.MaxBody, version: cfg.Version, mux: http.NewServeMux(),
	}
	s.pages = cfg.Pages
	s.rateLimit, s.limiters = cfg.RateLimit, NewLimiters()
	s.metrics = newMetrics(cfg.Registry, a.DB)
	s.register()
	s.openapi = buildOpenAPI(s.routes, cfg.Version)
	return s
}

// access is who may call a route.
type access int

const (
	public   access = iota // no key
	anyRole                // any key: reads
	operates               // admin and merchant keys
	admin                  // admin keys
)

// memberRoutes are the routes a member token may use, for its own member
// ("me" in a path or a body, or its ID) and the programme's catalogues.
var memberRoutes = map[string]memberAccess{
	"GET /v1/program":                          memberRead,
	"GET /v1/tiers":                            memberRead,
	"GET /v1/rewards":                          memberRead,
	"GET /v1/rewards/{id}":                     memberRead,
	"GET /v1/coupon-templates":                 memberRead,
	"GET /v1/lotteries/{id}":                   memberRead,
	"GET /v1/members/{member}":                 memberRead,
	"GET /v1/members/{member}/balance":         memberRead,
	"GET /v1/members/{member}/transactions":    memberRead,
	"GET /v1/members/{member}/lots":            memberRead,
	"GET /v1/members/{member}/identities":      memberRead,
	"GET /v1/members/{member}/coupons":         memberRead,
	"GET /v1/members/{member}/tasks":           memberRead,
	"GET /v1/members/{member}/checkins":        memberRead,
	"POST /v1/members/{member}/checkins":       memberAct,
	"POST /v1/members/{member}/tier/upgrade":   memberAct,
	"PATCH /v1/members/{member}":               memberAct,
	"POST /v1/redemptions":                     memberAct,
	"POST /v1/lotteries/{id}/draws":            memberAct,
	"POST /v1/coupon-templates/{id}/claim":     memberAct,
	"POST /v1/coupons/{code}/transfer":         memberAct,
	"GET /v1/currencies":                       memberRead,
	"GET /v1/exchange-rates":                   memberRead,
	"GET /v1/members/{member}/exchanges":       memberRead,
	"POST /v1/members/{member}/exchanges":      memberAct,
	"GET /v1/members/{member}/recommendations": memberRead,
}

// memberAccess is what a member token may do on a route: nothing (the
// default), read, or act (a token of scope member).
type memberAccess int

const (
	memberNone memberAccess = iota
	memberRead
	memberAct
)

func (a access) allows(role string) bool {
	switch a {
	case public, anyRole:
		return true
	case operates:
		return role == auth.Admin || role == auth.Merchant
	case admin:
		return role == auth.Admin
	}
	return false
}

// route is one entry of the route table: the handler and what the OpenAPI
// document says of it.
type route struct {
	method  string
	path    string
	access  access
	member  memberAccess // what a member token may do here
	summary string
	tag     string
	in      any     // request body type, nil for none
	out     any     // response body type, nil for none
	status  int     // success status
	query   []param // query parameters
	handler handler
}

// handler serves one route. It decodes the request, calls one operation
// and encodes its answer; an error it returns is answered as problem+json
// by guard.
type handler func(w http.ResponseWriter, r *http.Request) error

// Route is a registered route, for tests. Public routes take no key.
type Route struct {
	Method, Path string
	Public       bool
}

// Routes lists the registered routes.
func (s *Server) Routes() []Route {
	out := make([]Route, len(s.routes))
	for i, rt := range s.routes {
		out[i] = Route{rt.method, rt.path, rt.access == public}
	}
	return out
}

func (s *Server) register() {
	s.registerHealth()
	s.registerProgram()
	s.registerMembers()
	s.registerIdentities()
	s.registerPoints()
	s.registerExchange()
	s.registerJobs()
	s.registerRules()
	s.registerEvents()
	s.registerTiers()
	s.registerEngage()
	s.registerSpending()
	s.registerOperators()
	s.registerReports()
	s.registerAudience()
	s.registerSettlement()
	s.registerMessages()
	s.registerWebhooks()
	s.registerAudit()
	s.registerPrivacy()
	s.registerCampaigns()
	s.registerJoin()
	for prefix, h := range s.pages { // pages, not API routes: not in the route table or openapi.json
		s.mux.Handle("GET "+prefix, h)
		s.mux.Handle("GET "+prefix+"/", h)
	}
	s.mux.HandleFunc("/v1/", s.notFound)
}

type param struct {
	name, desc string
	array      bool
}

// handle adds a route to the router and to the table the OpenAPI document
// is built from.
func (s *Server) handle(rt route) {
	rt.member = memberRoutes[rt.method+" "+rt.path]
	s.routes = append(s.routes, rt)
	s.mux.Handle(rt.method+" "+rt.path, s.guard(rt))
}
