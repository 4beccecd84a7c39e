package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jifen/jifen/internal/failure"
)

// AudienceSettings are a programme's audience thresholds.
type AudienceSettings struct {
	ProgramID            string
	RFMWindowDays        int64
	NewDays              int64
	AtRiskDays           int64
	DormantDays          int64
	CategoryHalfLifeDays int64
	RFMComputedAt        *time.Time
	UpdatedAt            time.Time
}

// AudienceSettingsOf reads a programme's settings; found is false when
// none were saved (the caller applies the defaults).
func (c *Conn) AudienceSettingsOf(ctx context.Context, programID string) (s AudienceSettings, found bool, err error) {
	var rfm sql.NullInt64
	var upd int64
	err = c.queryRow(ctx, `SELECT rfm_window_days, new_days, at_risk_days, dormant_days, category_half_life_days,
		rfm_computed_at, updated_at FROM audience_settings WHERE program_id = ?`, programID).Scan(
		&s.RFMWindowDays, &s.NewDays, &s.AtRiskDays, &s.DormantDays, &s.CategoryHalfLifeDays, &rfm, &upd)
	if errors.Is(err, sql.ErrNoRows) {
		return s, false, nil
	}
	if err != nil {
		return s, false, classify(fmt.Errorf("audience settings: %w", err))
	}
	s.ProgramID, s.UpdatedAt = programID, fromMS(upd)
	if rfm.Valid {
		t := fromMS(rfm.Int64)
		s.RFMComputedAt = &t
	}
	return s, true, nil
}

// SaveAudienceSettings writes a programme's thresholds (not the RFM time).
func (tx *Tx) SaveAudienceSettings(ctx context.Context, s AudienceSettings) error {
	_, err := tx.exec(ctx, `INSERT INTO audience_settings (program_id, rfm_window_days, new_days, at_risk_days, dormant_days,
		category_half_life_days, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (program_id) DO UPDATE SET rfm_window_days = excluded.rfm_window_days, new_days = excluded.new_days,
		at_risk_days = excluded.at_risk_days, dormant_days = excluded.dormant_days,
		category_half_life_days = excluded.category_half_life_days, updated_at = excluded.updated_at`,
		s.ProgramID, s.RFMWindowDays, s.NewDays, s.AtRiskDays, s.DormantDays, s.CategoryHalfLifeDays, ms(s.UpdatedAt))
	return classify(err)
}

// MemberStats are a member's order statistics and RFM scores.
type MemberStats struct {
	Orders, Spend, Refunds, Refunded          int64
	FirstOrderAt, LastOrderAt, LastActivityAt *time.Time
	RFMR, RFMF, RFMM                          int64 // 0: no score
	RFMCell                                   string
	RFMAt                                     *time.Time
}

// StatsDelta is what one event adds to a member's statistics.
type StatsDelta struct {
	Orders, Spend, Refunds, Refunded int64
	OrderAt                          *time.Time // an order's time: first and last order
	ActivityAt                       time.Time
}

// the CASE that keeps the later of a column and the excluded row's value.
func later(col string) string {
	return col + ` = CASE WHEN member_stats.` + col + ` IS NULL OR member_stats.` + col + ` < excluded.` + col +
		` THEN excluded.` + col + ` ELSE member_stats.` + col + ` END`
}

// AddStats adds an event's figures to a member's statistics, with the
// batch's other deferred rows (deferred.go).
func (tx *Tx) AddStats(ctx context.Context, programID, memberID string, d StatsDelta) error {
	tx.pend.cur.stats = append(tx.pend.cur.stats, statsAdd{programID, memberID, d})
	return nil
}

// statsActivity marks members' last activity: the ledger's transactions
// (Apply).
func (tx *Tx) statsActivity(programID string, c Changes) {
	for i, a := range activityOf(c) {
		if a.MemberID != "" {
			tx.pend.cur.stats = append(tx.pend.cur.stats, statsAdd{programID, a.MemberID, StatsDelta{ActivityAt: c.Txns[i].CreatedAt}})
		}
	}
}

const statsColumns = `orders, spend, refunds, refunded, first_order_at, last_order_at, last_activity_at,
	rfm_r, rfm_f, rfm_m, rfm_cell, rfm_at`

type statsScan struct {
	first, last, act, rfm sql.NullInt64
}

func (s *MemberStats) dest(st *statsScan) []any {
	return []any{&s.Orders, &s.Spend, &s.Refunds, &s.Refunded, &st.first, &st.last, &st.act, &s.RFMR, &s.RFMF, &s.RFMM, &s.RFMCell, &st.rfm}
}

func optTime(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

func (s *MemberStats) finish(st *statsScan) {
	s.FirstOrderAt, s.LastOrderAt, s.LastActivityAt, s.RFMAt = optTime(st.first), optTime(st.last), optTime(st.act), optTime(st.rfm)
}

// StatsOf reads a member's statistics (zero when it has none).
func (c *Conn) StatsOf(ctx context.Context, programID, memberID string) (MemberStats, error) {
	var s MemberStats
	var st statsScan
	err := c.queryRow(ctx, `SELECT `+statsColumns+` FROM member_stats WHERE program_id = ? AND member_id = ?`,
		programID, memberID).Scan(s.dest(&st)...)
	if errors.Is(err, sql.ErrNoRows) {
		return MemberStats{}, nil
	}
	if err != nil {
		return s, classify(fmt.Errorf("member stats: %w", err))
	}
	s.finish(&st)
	return s, nil
}

// CategoryScore is a member's decayed amount in one category, as of At.
type CategoryScore struct {
	Category string
	Score    float64
	At       time.Time
}

// Categories reads a member's category scores.
func (c *Conn) Categories(ctx context.Context, programID, memberID string) ([]CategoryScore, error) {
	rows, err := c.query(ctx, `SELECT category, score, decayed_at FROM member_categories
		WHERE program_id = ? AND member_id = ? ORDER BY category`, programID, memberID)
	if err != nil {
		return nil, classify(fmt.Errorf("member categories: %w", err))
	}
	defer rows.Close()
	var out []CategoryScore
	for rows.Next() {
		var cs CategoryScore
		var at int64
		if err := rows.Scan(&cs.Category, &cs.Score, &at); err != nil {
			return nil, err
		}
		cs.At = fromMS(at)
		out = append(out, cs)
	}
	return out, classify(rows.Err())
}

// SetCategories replaces a member's category scores.
func (tx *Tx) SetCategories(ctx context.Context, programID, memberID string, cs []CategoryScore) error {
	if _, err := tx.exec(ctx, `DELETE FROM member_categories WHERE program_id = ? AND member_id = ?`, programID, memberID); err != nil {
		return classify(err)
	}
	if len(cs) == 0 {
		return nil
	}
	args := make([]any, 0, 5*len(cs))
	for _, c := range cs {
		args = append(args, programID, memberID, c.Category, c.Score, ms(c.At))
	}
	_, err := tx.exec(ctx, `INSERT INTO member_categories (program_id, member_id, category, score, decayed_at) VALUES `+
		placeholders(len(cs), 5), args...)
	return classify(err)
}

// AddCategoryAmounts adds an order's item amounts (fen by category) to a
// member's category scores at at, in two statements on an event's path:
// the scores are read with the programme's half-life in one, decayed and
// added (AddCategories), and written back in one upsert. A category pushed
// out of the top MaxCategories is deleted (a third, rarely).
func (tx *Tx) AddCategoryAmounts(ctx context.Context, programID, memberID string, amounts map[string]float64, at time.Time) error {
	rows, err := tx.query(ctx, `SELECT COALESCE((SELECT category_half_life_days FROM audience_settings WHERE program_id = ?), ?),
		c.category, c.score, c.decayed_at FROM (SELECT 1) AS one
		LEFT JOIN member_categories c ON c.program_id = ? AND c.member_id = ? ORDER BY c.category`,
		programID, DefaultHalfLifeDays, programID, memberID)
	if err != nil {
		return classify(fmt.Errorf("member categories: %w", err))
	}
	var hl int64
	var old []CategoryScore
	for rows.Next() {
		var cat sql.NullString
		var score sql.NullFloat64
		var decayed sql.NullInt64
		if err := rows.Scan(&hl, &cat, &score, &decayed); err != nil {
			rows.Close()
			return err
		}
		if cat.Valid {
			old = append(old, CategoryScore{Category: cat.String, Score: score.Float64, At: fromMS(decayed.Int64)})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return classify(fmt.Errorf("member categories: %w", err))
	}
	cs := AddCategories(old, amounts, at, hl)
	kept := map[string]bool{}
	args := make([]any, 0, 5*len(cs))
	for _, c := range cs {
		kept[c.Category] = true
		args = append(args, programID, memberID, c.Category, c.Score, ms(c.At))
	}
	if len(cs) > 0 {
		if _, err := tx.exec(ctx, `INSERT INTO member_categories (program_id, member_id, category, score, decayed_at) VALUES `+
			placeholders(len(cs), 5)+` ON CONFLICT (program_id, member_id, category) DO UPDATE SET score = excluded.score,
			decayed_at = excluded.decayed_at`, args...); err != nil {
			return classify(fmt.Errorf("member categories: %w", err))
		}
	}
	var gone []any
	for _, c := range old {
		if !kept[c.Category] {
			gone = append(gone, c.Category)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	_, err = tx.exec(ctx, `DELETE FROM member_categories WHERE program_id = ? AND member_id = ? AND category IN (`+
		placeholderList(len(gone))+`)`, append([]any{programID, memberID}, gone...)...)
	return classify(err)
}

// DefaultHalfLifeDays is category_half_life_days when none was saved.
const DefaultHalfLifeDays = 90

// Decay is a category score as of from, decayed to to with a half-life
// in days (a score is never decayed backwards).
func Decay(score float64, from, to time.Time, halfLifeDays int64) float64 {
	if !to.After(from) || halfLifeDays <= 0 {
		return score
	}
	return score * math.Exp2(-to.Sub(from).Hours()/24/float64(halfLifeDays))
}

// AddCategories decays cs to at and adds amounts to them.
func AddCategories(cs []CategoryScore, amounts map[string]float64, at time.Time, halfLifeDays int64) []CategoryScore {
	out := make([]CategoryScore, 0, len(cs)+len(amounts))
	seen := map[string]int{}
	for _, c := range cs {
		t := at
		if c.At.After(t) {
			t = c.At
		}
		seen[c.Category] = len(out)
		out = append(out, CategoryScore{Category: c.Category, Score: Decay(c.Score, c.At, t, halfLifeDays), At: t})
	}
	for cat, amt := range amounts {
		i, ok := seen[cat]
		if !ok {
			seen[cat] = len(out)
			out = append(out, CategoryScore{Category: cat, At: at})
			i = len(out) - 1
		}
		// An amount older than the score is decayed to the score's time.
		out[i].Score += Decay(amt, at, out[i].At, halfLifeDays)
	}
	slices.SortFunc(out, func(a, b CategoryScore) int {
		if a.Score != b.Score {
			if a.Score > b.Score {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Category, b.Category)
	})
	if len(out) > MaxCategories {
		out = out[:MaxCategories]
	}
	return out
}

// MaxCategories is how many category scores a member keeps.
const MaxCategories = 20

// HalfLifeDays reads the programme's category half-life.
func (c *Conn) HalfLifeDays(ctx context.Context, programID string) (int64, error) {
	s, found, err := c.AudienceSettingsOf(ctx, programID)
	if err != nil || !found {
		return DefaultHalfLifeDays, err
	}
	return s.CategoryHalfLifeDays, nil
}

// MergeStats adds member from's statistics and category scores to member
// to's and removes from's.
func (tx *Tx) MergeStats(ctx context.Context, programID, from, to string, now time.Time) error {
	s, err := tx.StatsOf(ctx, programID, from)
	if err != nil {
		return err
	}
	srcCats, err := tx.Categories(ctx, programID, from)
	if err != nil {
		return err
	}
	if len(srcCats) > 0 {
		hl, err := tx.HalfLifeDays(ctx, programID)
		if err != nil {
			return err
		}
		dstCats, err := tx.Categories(ctx, programID, to)
		if err != nil {
			return err
		}
		amounts := map[string]float64{}
		for _, c := range srcCats {
			amounts[c.Category] += Decay(c.Score, c.At, now, hl)
		}
		if err := tx.SetCategories(ctx, programID, to, AddCategories(dstCats, amounts, now, hl)); err != nil {
			return err
		}
		if err := tx.SetCategories(ctx, programID, from, nil); err != nil {
			return err
		}
	}
	d := StatsDelta{Orders: s.Orders, Spend: s.Spend, Refunds: s.Refunds, Refunded: s.Refunded}
	if _, err := tx.exec(ctx, `INSERT INTO member_stats (program_id, member_id, orders, spend, refunds, refunded,
		first_order_at, last_order_at, last_activity_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (program_id, member_id) DO UPDATE SET orders = member_stats.orders + excluded.orders,
		spend = member_stats.spend + excluded.spend, refunds = member_stats.refunds + excluded.refunds,
		refunded = member_stats.refunded + excluded.refunded,
		first_order_at = CASE WHEN member_stats.first_order_at IS NULL OR member_stats.first_order_at > excluded.first_order_at
			THEN COALESCE(excluded.first_order_at, member_stats.first_order_at) ELSE member_stats.first_order_at END,
		`+later("last_order_at")+`, `+later("last_activity_at"),
		programID, to, d.Orders, d.Spend, d.Refunds, d.Refunded, optMS(s.FirstOrderAt), optMS(s.LastOrderAt),
		optMS(s.LastActivityAt)); err != nil {
		return classify(err)
	}
	_, err = tx.exec(ctx, `DELETE FROM member_stats WHERE program_id = ? AND member_id = ?`, programID, from)
	return classify(err)
}

// rfmCell is the first-match rule of the named cells, in SQL.
const rfmCell = `CASE WHEN r >= 4 AND f >= 4 AND m >= 4 THEN 'champions'
	WHEN r >= 3 AND f >= 4 THEN 'loyal'
	WHEN r >= 4 AND f = 1 THEN 'new_customers'
	WHEN r >= 4 THEN 'promising'
	WHEN r <= 2 AND f >= 4 THEN 'cant_lose'
	WHEN r <= 2 AND f >= 2 THEN 'slipping'
	WHEN r <= 2 THEN 'hibernating'
	ELSE 'needs_attention' END`

// ComputeRFM scores, in SQL, every member with an order in (from, asOf]:
// R by the last order's time, F by the orders, M by their amount less
// refunds, each NTILE(5) ascending with ties by member ID; a merged
// member's orders count for the member it was merged into. Every other
// member's score is cleared. It returns how many were scored.
func (tx *Tx) ComputeRFM(ctx context.Context, programID string, from, asOf time.Time) (int64, error) {
	if _, err := tx.exec(ctx, `UPDATE member_stats SET rfm_r = 0, rfm_f = 0, rfm_m = 0, rfm_cell = '', rfm_at = NULL
		WHERE program_id = ? AND rfm_r <> 0`, programID); err != nil {
		return 0, classify(fmt.Errorf("rfm: %w", err))
	}
	res, err := tx.exec(ctx, `INSERT INTO member_stats (program_id, member_id, rfm_r, rfm_f, rfm_m, rfm_cell, rfm_at)
		SELECT ?, member_id, r, f, m, `+rfmCell+`, ? FROM (
			SELECT member_id,
				NTILE(5) OVER (ORDER BY last_at, member_id) AS r,
				NTILE(5) OVER (ORDER BY n, member_id) AS f,
				NTILE(5) OVER (ORDER BY amount, member_id) AS m
			FROM (
				SELECT CASE WHEN mem.status = 'merged' THEN mem.merged_into ELSE o.member_id END AS member_id,
					MAX(o.created_at) AS last_at, COUNT(*) AS n, SUM(o.amount - o.refunded) AS amount
				FROM orders o JOIN members mem ON mem.program_id = o.program_id AND mem.id = o.member_id
				WHERE o.program_id = ? AND o.created_at > ? AND o.created_at <= ?
				GROUP BY CASE WHEN mem.status = 'merged' THEN mem.merged_into ELSE o.member_id END
			) AS w
			WHERE member_id IN (SELECT id FROM members WHERE program_id = ? AND status NOT IN ('merged', 'erased'))
		) AS q WHERE true
		ON CONFLICT (program_id, member_id) DO UPDATE SET rfm_r = excluded.rfm_r, rfm_f = excluded.rfm_f,
			rfm_m = excluded.rfm_m, rfm_cell = excluded.rfm_cell, rfm_at = excluded.rfm_at`,
		programID, ms(asOf), programID, ms(from), ms(asOf), programID)
	if err != nil {
		return 0, classify(fmt.Errorf("rfm: %w", err))
	}
	n := affected(res)
	if _, err := tx.exec(ctx, `INSERT INTO audience_settings (program_id, rfm_computed_at, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (program_id) DO UPDATE SET rfm_computed_at = excluded.rfm_computed_at`,
		programID, ms(asOf), ms(asOf)); err != nil {
		return 0, classify(fmt.Errorf("rfm: %w", err))
	}
	return n, nil
}

// RFMCount is the members of one (r, f) square or one cell.
type RFMCount struct {
	R, F    int64
	Cell    string
	Members int64
}

// RFMGrid counts the scored members by (r, f) and by cell.
func (c *Conn) RFMGrid(ctx context.Context, programID string) (grid, cells []RFMCount, err error) {
	rows, err := c.query(ctx, `SELECT rfm_r, rfm_f, COUNT(*) FROM member_stats WHERE program_id = ? AND rfm_r > 0
		GROUP BY rfm_r, rfm_f ORDER BY rfm_r, rfm_f`, programID)
	if err != nil {
		return nil, nil, classify(fmt.Errorf("rfm grid: %w", err))
	}
	for rows.Next() {
		var g RFMCount
		if err := rows.Scan(&g.R, &g.F, &g.Members); err != nil {
			rows.Close()
			return nil, nil, err
		}
		grid = append(grid, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, classify(err)
	}
	rows, err = c.query(ctx, `SELECT rfm_cell, COUNT(*) FROM member_stats WHERE program_id = ? AND rfm_r > 0
		GROUP BY rfm_cell ORDER BY rfm_cell`, programID)
	if err != nil {
		return nil, nil, classify(fmt.Errorf("rfm cells: %w", err))
	}
	defer rows.Close()
	for rows.Next() {
		var g RFMCount
		if err := rows.Scan(&g.Cell, &g.Members); err != nil {
			return nil, nil, err
		}
		cells = append(cells, g)
	}
	return grid, cells, classify(rows.Err())
}

// LifecycleBounds are the times that split the lifecycle stages: joined
// at or after NewSince is new; else no order is zombie; else a last
// order at or after ActiveSince is active, at or after AtRiskSince
// at_risk, and older dormant.
type LifecycleBounds struct {
	NewSince, ActiveSince, AtRiskSince time.Time
}

// Lifecycle counts the programme's members (not merged or erased) by stage.
func (c *Conn) Lifecycle(ctx context.Context, programID string, b LifecycleBounds) (map[string]int64, error) {
	rows, err := c.query(ctx, `SELECT stage, COUNT(*) FROM (SELECT CASE
			WHEN m.created_at >= ? THEN 'new'
			WHEN s.last_order_at IS NULL THEN 'zombie'
			WHEN s.last_order_at >= ? THEN 'active'
			WHEN s.last_order_at >= ? THEN 'at_risk'
			ELSE 'dormant' END AS stage
		FROM members m LEFT JOIN member_stats s ON s.program_id = m.program_id AND s.member_id = m.id
		WHERE m.program_id = ? AND m.status NOT IN ('merged', 'erased')) AS x GROUP BY stage`,
		ms(b.NewSince), ms(b.ActiveSince), ms(b.AtRiskSince), programID)
	if err != nil {
		return nil, classify(fmt.Errorf("lifecycle: %w", err))
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[st] = n
	}
	return out, classify(rows.Err())
}

// Segment is a saved audience condition.
type Segment struct {
	ProgramID, ID, Name, Description, Condition string
	CreatedAt, UpdatedAt                        time.Time
}

// InsertSegment stores a new segment.
func (tx *Tx) InsertSegment(ctx context.Context, s Segment) error {
	_, err := tx.exec(ctx, `INSERT INTO segments (program_id, id, name, description, condition, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, s.ProgramID, s.ID, s.Name, s.Description, s.Condition, ms(s.CreatedAt), ms(s.UpdatedAt))
	return classify(err)
}

// UpdateSegment saves a segment's fields.
func (tx *Tx) UpdateSegment(ctx context.Context, s Segment) error {
	_, err := tx.exec(ctx, `UPDATE segments SET name = ?, description = ?, condition = ?, updated_at = ?
		WHERE program_id = ? AND id = ?`, s.Name, s.Description, s.Condition, ms(s.UpdatedAt), s.ProgramID, s.ID)
	return classify(err)
}

// DeleteSegment deletes a segment; not found when there is none.
func (tx *Tx) DeleteSegment(ctx context.Context, programID, id string) error {
	res, err := tx.exec(ctx, `DELETE FROM segments WHERE program_id = ? AND id = ?`, programID, id)
	if err != nil {
		return classify(err)
	}
	if affected(res) == 0 {
		return failure.New(failure.NotFound, "segment %s not found", id)
	}
	return nil
}

const segmentColumns = `program_id, id, name, description, condition, created_at, updated_at`

func scanSegment(row interface{ Scan(...any) error }) (Segment, error) {
	var s Segment
	var c, u int64
	err := row.Scan(&s.ProgramID, &s.ID, &s.Name, &s.Description, &s.Condition, &c, &u)
	s.CreatedAt, s.UpdatedAt = fromMS(c), fromMS(u)
	return s, err
}

// SegmentByID reads a segment.
func (c *Conn) SegmentByID(ctx context.Context, programID, id string) (Segment, error) {
	s, err := scanSegment(c.queryRow(ctx, `SELECT `+segmentColumns+` FROM segments WHERE program_id = ? AND id = ?`, programID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return s, failure.New(failure.NotFound, "segment %s not found", id)
	}
	return s, classify(err)
}

// Segments lists a programme's segments, newest first.
func (c *Conn) Segments(ctx context.Context, programID string, p Page) ([]Segment, string, error) {
	q := `SELECT ` + segmentColumns + ` FROM segments WHERE program_id = ?`
	args := []any{programID}
	if p.Cursor != "" {
		q += ` AND id < ?`
		args = append(args, p.Cursor)
	}
	args = append(args, p.Limit+1)
	rows, err := c.query(ctx, q+` ORDER BY id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, "", classify(fmt.Errorf("segments: %w", err))
	}
	defer rows.Close()
	var out []Segment
	for rows.Next() {
		s, err := scanSegment(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, "", classify(err)
	}
	out, nextCursor := next(out, p.Limit, func(s Segment) string { return s.ID })
	return out, nextCursor, nil
}

// A Cond is a segment condition, or a part of one, in terms the store
// renders as SQL over a member (its row, statistics and points balance).
// Fields are the names in AudienceFields; values are int64 (times in Unix
// milliseconds), string or bool.
type Cond struct {
	Op     string // and, or, not, cmp, in, tag, tags, attr, true, false
	Args   []Cond
	Field  string // attr: the attribute's key
	Other  string // cmp against another field instead of Value
	Cmp    string // = <> < <= > >=
	Value  any
	Values []any
}

// AudienceFields are the fields a Cond may name, and their SQL: absent
// text is "", absent numbers and times 0 (the epoch).
var AudienceFields = map[string]string{
	"member.id":              mcol("id"),
	"member.external_id":     opt("m.external_id", "''"),
	"member.phone":           opt("m.phone", "''"),
	"member.name":            opt("m.name", "''"),
	"member.gender":          mcol("gender"),
	"member.birthday":        opt("m.birthday", "''"),
	"member.region":          opt("m.region", "''"),
	"member.tier":            opt("m.tier", "''"),
	"member.status":          mcol("status"),
	"member.referral_code":   mcol("referral_code"),
	"member.referred_by":     opt("m.referred_by", "''"),
	"member.merchant_id":     opt("m.merchant_id", "''"),
	"member.created_at":      mcol("created_at"),
	"member.updated_at":      mcol("updated_at"),
	"stats.orders":           opt("s.orders", "0"),
	"stats.spend":            opt("s.spend", "0"),
	"stats.refunds":          opt("s.refunds", "0"),
	"stats.refunded":         opt("s.refunded", "0"),
	"stats.first_order_at":   opt("s.first_order_at", "0"),
	"stats.last_order_at":    opt("s.last_order_at", "0"),
	"stats.last_activity_at": opt("s.last_activity_at", "0"),
	"stats.rfm_r":            opt("s.rfm_r", "0"),
	"stats.rfm_f":            opt("s.rfm_f", "0"),
	"stats.rfm_m":            opt("s.rfm_m", "0"),
	"stats.rfm_cell":         opt("s.rfm_cell", "''"),
	"stats.points":           opt("b.available", "0"),
}

func mcol(col string) string   { return "m." + col }
func opt(col, z string) string { return "COALESCE(" + col + ", " + z + ")" }

var cmpOps = map[string]bool{"=": true, "<>": true, "<": true, "<=": true, ">": true, ">=": true}

// sqlOf renders a condition for dialect d, appending its arguments.
func (c Cond) sqlOf(d *dialect, args *[]any) (string, error) {
	switch c.Op {
	case "true":
		return "1 = 1", nil
	case "false":
		return "1 = 0", nil
	case "and", "or":
		if len(c.Args) == 0 {
			return "", fmt.Errorf("segment: empty %s", c.Op)
		}
		parts := make([]string, len(c.Args))
		for i, a := range c.Args {
			s, err := a.sqlOf(d, args)
			if err != nil {
				return "", err
			}
			parts[i] = "(" + s + ")"
		}
		return strings.Join(parts, " "+strings.ToUpper(c.Op)+" "), nil
	case "not":
		if len(c.Args) != 1 {
			return "", fmt.Errorf("segment: not takes one condition")
		}
		s, err := c.Args[0].sqlOf(d, args)
		return "NOT (" + s + ")", err
	case "tag":
		*args = append(*args, c.Value)
		return `EXISTS (SELECT 1 FROM member_tags t WHERE t.program_id = m.program_id AND t.member_id = m.id AND t.tag = ?)`, nil
	case "tags":
		if !cmpOps[c.Cmp] {
			return "", fmt.Errorf("segment: unknown comparison %q", c.Cmp)
		}
		*args = append(*args, c.Value)
		return `(SELECT COUNT(*) FROM member_tags t WHERE t.program_id = m.program_id AND t.member_id = m.id) ` + c.Cmp + ` ?`, nil
	case "attr":
		return c.attrSQL(d, args)
	case "text":
		return c.textSQL(d, args)
	}
	col, ok := AudienceFields[c.Field]
	if !ok {
		return "", fmt.Errorf("segment: unknown field %q", c.Field)
	}
	switch c.Op {
	case "cmp":
		if !cmpOps[c.Cmp] {
			return "", fmt.Errorf("segment: unknown comparison %q", c.Cmp)
		}
		if c.Other != "" {
			other, ok := AudienceFields[c.Other]
			if !ok {
				return "", fmt.Errorf("segment: unknown field %q", c.Other)
			}
			return col + collate(d, c.Cmp, c.Field) + " " + c.Cmp + " " + other, nil
		}
		*args = append(*args, c.Value)
		if _, ok := c.Value.(string); ok {
			col += collate(d, c.Cmp, "")
		}
		return col + " " + c.Cmp + " ?", nil
	case "in":
		if len(c.Values) == 0 {
			return "1 = 0", nil
		}
		*args = append(*args, c.Values...)
		return col + " IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(c.Values)), ", ") + ")", nil
	}
	return "", fmt.Errorf("segment: unknown operation %q", c.Op)
}

// audienceFrom is a member with its statistics and points balance; only
// members neither merged nor erased. A count joins only the tables its
// condition reads.
const audienceFrom = ` FROM members m
	LEFT JOIN member_stats s ON s.program_id = m.program_id AND s.member_id = m.id
	LEFT JOIN balances b ON b.program_id = m.program_id AND b.member_id = m.id AND b.currency = 'points'
	WHERE m.program_id = ? AND m.status NOT IN ('merged', 'erased')`

func countFrom(where string) string {
	q := ` FROM members m`
	if strings.Contains(where, "(s.") || strings.Contains(where, " s.") {
		q += ` LEFT JOIN member_stats s ON s.program_id = m.program_id AND s.member_id = m.id`
	}
	if strings.Contains(where, "(b.") || strings.Contains(where, " b.") {
		q += ` LEFT JOIN balances b ON b.program_id = m.program_id AND b.member_id = m.id AND b.currency = 'points'`
	}
	return q + ` WHERE m.program_id = ? AND m.status NOT IN ('merged', 'erased')`
}

// CountAudience counts the members that meet c.
func (c *Conn) CountAudience(ctx context.Context, programID string, cond Cond) (int64, error) {
	args := []any{programID}
	w, err := cond.sqlOf(c.d, &args)
	if err != nil {
		return 0, err
	}
	var n int64
	err = c.queryRow(ctx, `SELECT COUNT(*)`+countFrom(w)+` AND (`+w+`)`, args...).Scan(&n)
	return n, classify(err)
}

// AudienceRow is one member as a segment sees it.
type AudienceRow struct {
	Member Member
	Stats  MemberStats
	Points int64
}

// ScanAudience calls fn with each member that meets c, in ID order after
// afterID, until fn returns false or limit rows (0: no limit) were read.
func (c *Conn) ScanAudience(ctx context.Context, programID string, cond Cond, afterID string, limit int, fn func(AudienceRow) bool) error {
	args := []any{programID}
	w, err := cond.sqlOf(c.d, &args)
	if err != nil {
		return err
	}
	q := `SELECT ` + memberColumnsOf("m") + `, ` + "s." + strings.Join(strings.Fields(statsColumns), " s.") +
		`, COALESCE(b.available, 0)` + audienceFrom + ` AND (` + w + `)`
	if afterID != "" {
		q += ` AND m.id > ?`
		args = append(args, afterID)
	}
	q += ` ORDER BY m.id`
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return classify(fmt.Errorf("audience: %w", err))
	}
	defer rows.Close()
	for rows.Next() {
		var r AudienceRow
		var dest []any
		r.Member.scanInto(&dest)
		var st statsScan
		var orders, spend, refunds, refunded, rr, rf, rm sql.NullInt64
		var cell sql.NullString
		dest = append(dest, &orders, &spend, &refunds, &refunded, &st.first, &st.last, &st.act, &rr, &rf, &rm, &cell, &st.rfm, &r.Points)
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		if err := c.finishMember(&r.Member); err != nil {
			return err
		}
		r.Stats = MemberStats{Orders: orders.Int64, Spend: spend.Int64, Refunds: refunds.Int64, Refunded: refunded.Int64,
			RFMR: rr.Int64, RFMF: rf.Int64, RFMM: rm.Int64, RFMCell: cell.String}
		r.Stats.finish(&st)
		if !fn(r) {
			break
		}
	}
	return classify(rows.Err())
}

// AllCategories calls fn with the category scores of each member of the
// programme that has any, in member ID order.
func (c *Conn) AllCategories(ctx context.Context, programID string, fn func(memberID string, cs []CategoryScore)) error {
	rows, err := c.query(ctx, `SELECT member_id, category, score, decayed_at FROM member_categories
		WHERE program_id = ? ORDER BY member_id, category`, programID)
	if err != nil {
		return classify(fmt.Errorf("categories: %w", err))
	}
	defer rows.Close()
	var cur string
	var cs []CategoryScore
	for rows.Next() {
		var id string
		var x CategoryScore
		var at int64
		if err := rows.Scan(&id, &x.Category, &x.Score, &at); err != nil {
			return err
		}
		x.At = fromMS(at)
		if id != cur && cur != "" {
			fn(cur, cs)
			cs = nil
		}
		cur = id
		cs = append(cs, x)
	}
	if cur != "" {
		fn(cur, cs)
	}
	return classify(rows.Err())
}

// Popularity counts, per reward and per coupon template, the members of
// one tier and RFM cell ("" for none) who redeemed or claimed it.
func (c *Conn) Popularity(ctx context.Context, programID, tier, cell string) (rewards, templates map[string]int64, err error) {
	rewards, templates = map[string]int64{}, map[string]int64{}
	for _, q := range []struct {
		sql string
		out map[string]int64
	}{
		{`SELECT x.reward_id, COUNT(DISTINCT x.member_id) FROM redemptions x`, rewards},
		{`SELECT x.template_id, COUNT(DISTINCT x.member_id) FROM coupons x`, templates},
	} {
		rows, err := c.query(ctx, q.sql+` JOIN members m ON m.program_id = x.program_id AND m.id = x.member_id
			LEFT JOIN member_stats s ON s.program_id = m.program_id AND s.member_id = m.id
			WHERE x.program_id = ? AND COALESCE(m.tier, '') = ? AND COALESCE(s.rfm_cell, '') = ? GROUP BY 1`, programID, tier, cell)
		if err != nil {
			return nil, nil, classify(fmt.Errorf("popularity: %w", err))
		}
		for rows.Next() {
			var id string
			var n int64
			if err := rows.Scan(&id, &n); err != nil {
				rows.Close()
				return nil, nil, err
			}
			q.out[id] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, nil, classify(err)
		}
	}
	return rewards, templates, nil
}

// SeedAudience inserts members with their statistics, tags and points
// balance in bulk (benchmarks and tests; no identities, no ledger).
func (tx *Tx) SeedAudience(ctx context.Context, programID string, rows []AudienceRow) error {
	const chunk = 100
	for start := 0; start < len(rows); start += chunk {
		part := rows[start:min(start+chunk, len(rows))]
		var margs, sargs, bargs, targs []any
		nt := 0
		for _, r := range part {
			m := tx.sealedMember(r.Member)
			margs = append(margs, m.ID, programID, m.ExternalID, m.Name, m.Gender, m.Region, string(m.Attributes), m.Tier,
				m.Status, m.ReferralCode, ms(m.CreatedAt), ms(m.UpdatedAt), tagsText(m.Tags))
			s := r.Stats
			sargs = append(sargs, programID, m.ID, s.Orders, s.Spend, s.Refunds, s.Refunded, optMS(s.FirstOrderAt),
				optMS(s.LastOrderAt), optMS(s.LastActivityAt), s.RFMR, s.RFMF, s.RFMM, s.RFMCell)
			bargs = append(bargs, programID, m.ID, "points", r.Points, ms(m.CreatedAt))
			for _, t := range m.Tags {
				targs = append(targs, programID, m.ID, t)
				nt++
			}
		}
		for _, q := range []struct {
			sql  string
			cols int
			args []any
		}{
			{`INSERT INTO members (id, program_id, external_id, name, gender, region, attributes, tier, status, referral_code,
				created_at, updated_at, tags) VALUES `, 13, margs},
			{`INSERT INTO member_stats (program_id, member_id, orders, spend, refunds, refunded, first_order_at, last_order_at,
				last_activity_at, rfm_r, rfm_f, rfm_m, rfm_cell) VALUES `, 13, sargs},
			{`INSERT INTO balances (program_id, member_id, currency, available, updated_at) VALUES `, 5, bargs},
			{`INSERT INTO member_tags (program_id, member_id, tag) VALUES `, 3, targs},
		} {
			if len(q.args) == 0 {
				continue
			}
			if _, err := tx.exec(ctx, q.sql+placeholders(len(q.args)/q.cols, q.cols), q.args...); err != nil {
				return classify(fmt.Errorf("seed audience: %w", err))
			}
		}
	}
	return nil
}
