// Package app wires Jifen's domain services together, once per process.
// The HTTP API, the NATS ingest, the scheduled jobs and the benchmarks
// all call the operations of one App, so none of them repeats a rule.
package app

import (
	"io"
	"time"

	"github.com/jifen/jifen/internal/audience"
	"github.com/jifen/jifen/internal/audit"
	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/campaign"
	"github.com/jifen/jifen/internal/checkin"
	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/coupon"
	"github.com/jifen/jifen/internal/engage"
	"github.com/jifen/jifen/internal/events"
	"github.com/jifen/jifen/internal/exchange"
	"github.com/jifen/jifen/internal/identity"
	"github.com/jifen/jifen/internal/join"
	"github.com/jifen/jifen/internal/lottery"
	"github.com/jifen/jifen/internal/mall"
	"github.com/jifen/jifen/internal/member"
	"github.com/jifen/jifen/internal/message"
	"github.com/jifen/jifen/internal/operator"
	"github.com/jifen/jifen/internal/points"
	"github.com/jifen/jifen/internal/privacy"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/report"
	"github.com/jifen/jifen/internal/rulebook"
	"github.com/jifen/jifen/internal/settlement"
	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/tier"
	"github.com/jifen/jifen/internal/webhook"
)

// Config is what the services need.
type Config struct {
	DB    *store.DB
	Clock clock.Clock // default the system clock
	// CacheTTL is how long a node trusts its copy of keys, programme
	// settings and rules changed on another node (default 2 s).
	CacheTTL time.Duration
	// Random is the lottery's and the campaigns' control draws' source of
	// randomness (crypto/rand when nil; a demo seeds one).
	Random io.Reader
	// PublicURL is where shoppers reach this installation (join links'
	// url); JIFEN_PUBLIC_URL.
	PublicURL string
}

// App is the domain services of one process.
type App struct {
	DB        *store.DB
	Clock     clock.Clock
	Random    io.Reader
	Programs  *program.Service
	Auth      *auth.Service
	Rules     *rulebook.Book
	Members   *member.Service
	Identity  *identity.Service
	Points    *points.Service
	Events    *events.Service
	Engage    *engage.Service
	Checkins  *checkin.Service
	Tiers     *tier.Service
	Mall      *mall.Service
	Coupons   *coupon.Service
	Lotteries *lottery.Service
	Operators *operator.Service
	Reports   *report.Service
	Exchange  *exchange.Service
	// Settlement is the alliance: merchants' terms and statements.
	Settlement *settlement.Service
	// Audience is member statistics, lifecycle, RFM, segments and
	// recommendations.
	Audience *audience.Service
	// Messages is channels, message templates, messages and their sender.
	Messages *message.Service
	// Webhooks: subscriptions, the delivery log, the expiry notices.
	Webhooks *webhook.Service
	// Audit reads the audit log (the write path records it).
	Audit *audit.Service
	// Privacy exports a member's data.
	Privacy *privacy.Service
	// Campaigns: segment → actions with a control group, and their reports.
	Campaigns *campaign.Service
	// Join is one-step join: join links, one-time codes, confirmation.
	Join *join.Service
}

// New builds the services.
func New(cfg Config) *App {
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = 2 * time.Second
	}
	a := &App{DB: cfg.DB, Clock: cfg.Clock, Random: cfg.Random}
	a.Programs = program.NewService(cfg.DB, cfg.Clock, cfg.CacheTTL)
	a.Auth = auth.NewService(cfg.DB, cfg.Clock, cfg.CacheTTL)
	a.Rules = rulebook.New(cfg.DB, cfg.Clock, cfg.CacheTTL)
	a.Members = member.NewService(cfg.DB, a.Programs, cfg.Clock)
	a.Identity = identity.NewService(cfg.DB, cfg.Clock)
	a.Points = points.NewService(cfg.DB, a.Programs, cfg.Clock)
	a.Exchange = exchange.NewService(cfg.DB, a.Programs, cfg.Clock)
	a.Engage = engage.NewService(cfg.DB, a.Programs, cfg.Clock, cfg.CacheTTL)
	a.Events = events.NewService(cfg.DB, a.Programs, a.Members, a.Engage, a.Rules, cfg.Clock)
	a.Checkins = checkin.NewService(cfg.DB, a.Programs, a.Events, cfg.Clock)
	a.Tiers = tier.NewService(cfg.DB, a.Programs, cfg.Clock)
	a.Coupons = coupon.NewService(cfg.DB, a.Programs, cfg.Clock)
	a.Mall = mall.NewService(cfg.DB, a.Programs, cfg.Clock, 500*time.Millisecond)
	a.Lotteries = lottery.NewService(cfg.DB, a.Programs, a.Mall, cfg.Clock, cfg.Random)
	a.Operators = operator.NewService(cfg.DB, cfg.Clock)
	a.Reports = report.NewService(cfg.DB, a.Programs, cfg.Clock)
	a.Settlement = settlement.NewService(cfg.DB, a.Programs, cfg.Clock)
	a.Audience = audience.NewService(cfg.DB, a.Programs, cfg.Clock)
	a.Messages = message.NewService(cfg.DB, a.Programs, cfg.Clock)
	a.Webhooks = webhook.NewService(cfg.DB, a.Programs, cfg.Clock)
	a.Audit = audit.NewService(cfg.DB)
	a.Campaigns = campaign.NewService(cfg.DB, a.Programs, a.Audience, a.Messages, cfg.Clock, cfg.Random)
	// Joins and tier changes fire their campaigns right after the commit.
	cfg.DB.Subscribe(store.SignalJoined, a.Campaigns.Joined)
	cfg.DB.Subscribe(store.SignalTierChanged, a.Campaigns.TierChanged)
	a.Join = join.NewService(cfg.DB, a.Programs, a.Members, a.Points, a.Messages, cfg.Clock)
	a.Join.PublicURL = cfg.PublicURL
	a.Privacy = privacy.NewService(privacy.Services{Members: a.Members, Identity: a.Identity, Points: a.Points,
		Coupons: a.Coupons, Mall: a.Mall, Checkins: a.Checkins, Engage: a.Engage, Exchange: a.Exchange,
		Audience: a.Audience, Campaigns: a.Campaigns, Messages: a.Messages, Audit: a.Audit}, cfg.Clock)
	return a
}
