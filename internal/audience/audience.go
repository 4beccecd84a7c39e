// Package audience is who the members are: their order statistics (kept
// in each event's transaction), lifecycle stages, RFM scores (a job in
// SQL), segments (CEL conditions, sized in SQL where they translate) and
// personal recommendations.
package audience

import (
	"context"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/identity"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

// Service is the audience operations.
type Service struct {
	db       *store.DB
	programs *program.Service
	clock    clock.Clock
}

// NewService returns the audience service.
func NewService(db *store.DB, programs *program.Service, clk clock.Clock) *Service {
	return &Service{db: db, programs: programs, clock: clk}
}

// Settings are a programme's audience thresholds, in days.
type Settings struct {
	RFMWindowDays        int64 `json:"rfm_window_days" api:"min=1,max=3650" doc:"orders in this many days before as_of are scored"`
	NewDays              int64 `json:"new_days" api:"min=1,max=3650"`
	AtRiskDays           int64 `json:"at_risk_days" api:"min=1,max=3650"`
	DormantDays          int64 `json:"dormant_days" api:"min=1,max=3650"`
	CategoryHalfLifeDays int64 `json:"category_half_life_days" api:"min=1,max=3650"`
}

// DefaultSettings are the settings of a programme that saved none.
var DefaultSettings = Settings{RFMWindowDays: 365, NewDays: 30, AtRiskDays: 90, DormantDays: 180, CategoryHalfLifeDays: 90}

// Validate checks the settings on their own.
func (s Settings) Validate() error {
	var fs failure.Fields
	for _, f := range []struct {
		name string
		v    int64
	}{{"rfm_window_days", s.RFMWindowDays}, {"new_days", s.NewDays}, {"at_risk_days", s.AtRiskDays},
		{"dormant_days", s.DormantDays}, {"category_half_life_days", s.CategoryHalfLifeDays}} {
		if f.v < 1 || f.v > 3650 {
			fs.Add(f.name, "must be between 1 and 3650")
		}
	}
	if s.AtRiskDays >= 1 && s.DormantDays >= 1 && s.DormantDays <= s.AtRiskDays {
		fs.Add("dormant_days", "must be more than at_risk_days")
	}
	return fs.Err()
}

func settingsOf(r store.AudienceSettings) Settings {
	return Settings{RFMWindowDays: r.RFMWindowDays, NewDays: r.NewDays, AtRiskDays: r.AtRiskDays, DormantDays: r.DormantDays,
		CategoryHalfLifeDays: r.CategoryHalfLifeDays}
}

func (s *Service) settings(ctx context.Context, c *store.Conn, programID string) (Settings, *time.Time, error) {
	r, found, err := c.AudienceSettingsOf(ctx, programID)
	if err != nil || !found {
		return DefaultSettings, nil, err
	}
	return settingsOf(r), r.RFMComputedAt, nil
}

// Settings reads the programme's audience settings.
func (s *Service) Settings(ctx context.Context, a auth.Actor) (Settings, error) {
	st, _, err := s.settings(ctx, s.db.Read(), a.ProgramID)
	return st, err
}

// SaveSettings replaces the programme's audience settings (admin).
func (s *Service) SaveSettings(ctx context.Context, tx *store.Tx, a auth.Actor, in Settings) (Settings, error) {
	if err := in.Validate(); err != nil {
		return Settings{}, err
	}
	if a.Role != auth.Admin {
		return Settings{}, failure.New(failure.Forbidden, "audience settings are an admin's")
	}
	err := tx.SaveAudienceSettings(ctx, store.AudienceSettings{ProgramID: a.ProgramID, RFMWindowDays: in.RFMWindowDays,
		NewDays: in.NewDays, AtRiskDays: in.AtRiskDays, DormantDays: in.DormantDays,
		CategoryHalfLifeDays: in.CategoryHalfLifeDays, UpdatedAt: s.clock.Now()})
	return in, err
}

// Activity is what one event adds to its member's statistics.
type Activity struct {
	Type     string // order.paid, order.refunded, or any other
	Amount   int64  // the order's amount, or the amount refunded
	Items    map[string]int64
	At       time.Time // when it happened
	Received time.Time
}

// Record adds an event to its member's statistics, in the event's
// transaction: an order adds 1 order and its amount to spend and its
// items' amounts to the decayed category scores; a refund 1 refund and
// its amount; every event is activity.
func Record(ctx context.Context, tx *store.Tx, programID, memberID string, ev Activity) error {
	d := store.StatsDelta{ActivityAt: ev.Received}
	switch ev.Type {
	case "order.paid":
		at := ev.At
		d.Orders, d.Spend, d.OrderAt = 1, ev.Amount, &at
	case "order.refunded":
		d.Refunds, d.Refunded = 1, ev.Amount
	}
	if err := tx.AddStats(ctx, programID, memberID, d); err != nil {
		return err
	}
	if ev.Type != "order.paid" || len(ev.Items) == 0 {
		return nil
	}
	amounts := map[string]float64{}
	for c, a := range ev.Items {
		if a > 0 {
			amounts[c] = float64(a)
		}
	}
	if len(amounts) == 0 {
		return nil
	}
	return tx.AddCategoryAmounts(ctx, programID, memberID, amounts, ev.At)
}

// Category is one of a member's top categories: its item amount in fen,
// decayed to now.
type Category struct {
	Category string `json:"category"`
	Score    int64  `json:"score" doc:"fen, decayed with category_half_life_days"`
}

// RFM is a member's scores (5 = best).
type RFM struct {
	R          int64     `json:"r"`
	F          int64     `json:"f"`
	M          int64     `json:"m"`
	Cell       string    `json:"cell" api:"enum=champions|loyal|new_customers|promising|cant_lose|slipping|hibernating|needs_attention"`
	ComputedAt time.Time `json:"computed_at"`
}

// Stats are a member's statistics.
type Stats struct {
	Orders         int64      `json:"orders"`
	Spend          int64      `json:"spend" doc:"fen"`
	Refunds        int64      `json:"refunds"`
	Refunded       int64      `json:"refunded" doc:"fen"`
	FirstOrderAt   *time.Time `json:"first_order_at"`
	LastOrderAt    *time.Time `json:"last_order_at"`
	LastActivityAt *time.Time `json:"last_activity_at" doc:"the last event, transaction or check-in"`
	TopCategories  []Category `json:"top_categories" doc:"up to 5, by decayed item amount"`
	RFM            *RFM       `json:"rfm"`
	Lifecycle      string     `json:"lifecycle" api:"enum=new|active|at_risk|dormant|zombie"`
}

// Lifecycle stages.
const (
	New     = "new"
	Active  = "active"
	AtRisk  = "at_risk"
	Dormant = "dormant"
	Zombie  = "zombie"
)

// localDays is the number of programme-local calendar days from a to b.
func localDays(a, b time.Time, loc *time.Location) int64 {
	ya, ma, da := a.In(loc).Date()
	yb, mb, db := b.In(loc).Date()
	return int64(time.Date(yb, mb, db, 0, 0, 0, 0, time.UTC).Sub(time.Date(ya, ma, da, 0, 0, 0, 0, time.UTC)).Hours() / 24)
}

// dayStart is the local midnight k days before now's local day.
func dayStart(now time.Time, loc *time.Location, k int64) time.Time {
	y, m, d := now.In(loc).Date()
	return time.Date(y, m, d-int(k), 0, 0, 0, 0, loc)
}

// stage is the lifecycle stage of a member joined at joined whose last
// order (nil: none) was at last.
func stage(st Settings, joined time.Time, last *time.Time, now time.Time, loc *time.Location) string {
	switch {
	case localDays(joined, now, loc) < st.NewDays:
		return New
	case last == nil:
		return Zombie
	}
	do := localDays(*last, now, loc)
	switch {
	case do < st.AtRiskDays:
		return Active
	case do < st.DormantDays:
		return AtRisk
	}
	return Dormant
}

// bounds are the stages' times for SQL: dj < new_days ⇔ joined at or
// after the start of the local day new_days−1 days ago, and so on.
func bounds(st Settings, now time.Time, loc *time.Location) store.LifecycleBounds {
	return store.LifecycleBounds{NewSince: dayStart(now, loc, st.NewDays-1), ActiveSince: dayStart(now, loc, st.AtRiskDays-1),
		AtRiskSince: dayStart(now, loc, st.DormantDays-1)}
}

// topCategories decays scores to now and keeps the best five.
func topCategories(cs []store.CategoryScore, now time.Time, hl int64) []Category {
	out := make([]Category, 0, len(cs))
	for _, c := range cs {
		out = append(out, Category{Category: c.Category, Score: int64(math.Round(store.Decay(c.Score, c.At, now, hl)))})
	}
	slices.SortFunc(out, func(a, b Category) int {
		if a.Score != b.Score {
			if a.Score > b.Score {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Category, b.Category)
	})
	if len(out) > 5 {
		out = out[:5]
	}
	return out
}

// MemberStats reads a member's statistics, RFM and lifecycle stage.
func (s *Service) MemberStats(ctx context.Context, a auth.Actor, ref string) (Stats, error) {
	c := s.db.Read()
	m, err := identity.Resolve(ctx, c, a, ref)
	if err != nil {
		return Stats{}, err
	}
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return Stats{}, err
	}
	st, _, err := s.settings(ctx, c, p.ID)
	if err != nil {
		return Stats{}, err
	}
	r, err := c.StatsOf(ctx, p.ID, m.ID)
	if err != nil {
		return Stats{}, err
	}
	cs, err := c.Categories(ctx, p.ID, m.ID)
	if err != nil {
		return Stats{}, err
	}
	now := s.clock.Now()
	out := Stats{Orders: r.Orders, Spend: r.Spend, Refunds: r.Refunds, Refunded: r.Refunded, FirstOrderAt: r.FirstOrderAt,
		LastOrderAt: r.LastOrderAt, LastActivityAt: r.LastActivityAt, TopCategories: topCategories(cs, now, st.CategoryHalfLifeDays),
		Lifecycle: stage(st, m.CreatedAt, r.LastOrderAt, now, p.Location)}
	if r.RFMR > 0 && r.RFMAt != nil {
		out.RFM = &RFM{R: r.RFMR, F: r.RFMF, M: r.RFMM, Cell: r.RFMCell, ComputedAt: *r.RFMAt}
	}
	return out, nil
}

// LifecycleCounts are the members in each stage.
type LifecycleCounts struct {
	New     int64 `json:"new"`
	Active  int64 `json:"active"`
	AtRisk  int64 `json:"at_risk"`
	Dormant int64 `json:"dormant"`
	Zombie  int64 `json:"zombie"`
}

// Lifecycle counts the programme's members by stage, in SQL.
func (s *Service) Lifecycle(ctx context.Context, a auth.Actor) (LifecycleCounts, error) {
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return LifecycleCounts{}, err
	}
	c := s.db.Replica()
	st, _, err := s.settings(ctx, c, p.ID)
	if err != nil {
		return LifecycleCounts{}, err
	}
	n, err := c.Lifecycle(ctx, p.ID, bounds(st, s.clock.Now(), p.Location))
	return LifecycleCounts{New: n[New], Active: n[Active], AtRisk: n[AtRisk], Dormant: n[Dormant], Zombie: n[Zombie]}, err
}

// RFMRun is the answer of the RFM job.
type RFMRun struct {
	Members    int64     `json:"members" doc:"how many members received a score"`
	ComputedAt time.Time `json:"computed_at"`
}

// ComputeRFM scores the programme's members as of asOf (the job).
func (s *Service) ComputeRFM(ctx context.Context, p program.Program, asOf time.Time) (RFMRun, error) {
	var n int64
	err := s.db.Write(ctx, "job:rfm", func(ctx context.Context, tx *store.Tx) error {
		st, _, err := s.settings(ctx, &tx.Conn, p.ID)
		if err != nil {
			return err
		}
		n, err = tx.ComputeRFM(ctx, p.ID, asOf.AddDate(0, 0, -int(st.RFMWindowDays)), asOf)
		return err
	})
	return RFMRun{Members: n, ComputedAt: asOf.UTC().Truncate(time.Millisecond)}, err
}

// GridSquare is the members with one R and F score.
type GridSquare struct {
	R       int64 `json:"r"`
	F       int64 `json:"f"`
	Members int64 `json:"members"`
}

// CellCount is the members of one named cell.
type CellCount struct {
	Cell    string `json:"cell"`
	Members int64  `json:"members"`
}

// RFMGrid is the RFM distribution.
type RFMGrid struct {
	ComputedAt *time.Time   `json:"computed_at" doc:"null: the job has not run"`
	Grid       []GridSquare `json:"grid" doc:"every (r, f) of 1–5, zeros included"`
	Cells      []CellCount  `json:"cells" doc:"every named cell, zeros included"`
}

// Cells are the named cells in the order of their rules.
var Cells = []string{"champions", "loyal", "new_customers", "promising", "cant_lose", "slipping", "hibernating", "needs_attention"}

// RFM reads the distribution of the last RFM run.
func (s *Service) RFM(ctx context.Context, a auth.Actor) (RFMGrid, error) {
	c := s.db.Replica()
	_, at, err := s.settings(ctx, c, a.ProgramID)
	if err != nil {
		return RFMGrid{}, err
	}
	grid, cells, err := c.RFMGrid(ctx, a.ProgramID)
	if err != nil {
		return RFMGrid{}, err
	}
	out := RFMGrid{ComputedAt: at, Grid: make([]GridSquare, 0, 25), Cells: make([]CellCount, 0, len(Cells))}
	sq := map[[2]int64]int64{}
	for _, g := range grid {
		sq[[2]int64{g.R, g.F}] = g.Members
	}
	for r := int64(1); r <= 5; r++ {
		for f := int64(1); f <= 5; f++ {
			out.Grid = append(out.Grid, GridSquare{R: r, F: f, Members: sq[[2]int64{r, f}]})
		}
	}
	cc := map[string]int64{}
	for _, g := range cells {
		cc[g.Cell] = g.Members
	}
	for _, name := range Cells {
		out.Cells = append(out.Cells, CellCount{Cell: name, Members: cc[name]})
	}
	return out, nil
}
