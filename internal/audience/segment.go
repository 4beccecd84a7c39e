package audience

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/member"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/rules"
	"github.com/jifen/jifen/internal/store"
)

// Segment is a saved audience: a CEL condition over member, stats and now.
type Segment struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Condition   string    `json:"condition"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func segmentOf(r store.Segment) Segment {
	return Segment{ID: r.ID, Name: r.Name, Description: r.Description, Condition: r.Condition, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// SegmentInput creates a segment, or (nil fields unchanged) patches one.
type SegmentInput struct {
	Name        *string `json:"name,omitempty" api:"minlen=1,maxlen=100"`
	Condition   *string `json:"condition,omitempty" api:"minlen=1,maxlen=4096" doc:"CEL returning bool over member, stats and now"`
	Description *string `json:"description,omitempty" api:"maxlen=500"`
}

// Validate checks the input on its own; create says whether name and
// condition are required.
func (in SegmentInput) validate(create bool) error {
	var fs failure.Fields
	if in.Name != nil {
		if n := utf8.RuneCountInString(strings.TrimSpace(*in.Name)); n < 1 || n > 100 {
			fs.Add("name", "must be 1 to 100 characters")
		}
	} else if create {
		fs.Add("name", "is required")
	}
	if in.Description != nil && utf8.RuneCountInString(*in.Description) > 500 {
		fs.Add("description", "must be at most 500 characters")
	}
	if in.Condition == nil && create {
		fs.Add("condition", "is required")
	}
	if err := fs.Err(); err != nil {
		return err
	}
	if in.Condition != nil {
		if _, err := rules.CompileSegment("condition", *in.Condition); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks a new segment.
func (in SegmentInput) Validate() error { return in.validate(true) }

// CreateSegment saves a segment; its condition is compiled first.
func (s *Service) CreateSegment(ctx context.Context, tx *store.Tx, a auth.Actor, in SegmentInput) (Segment, error) {
	if err := in.validate(true); err != nil {
		return Segment{}, err
	}
	now := s.clock.Now()
	r := store.Segment{ProgramID: a.ProgramID, ID: id.New("seg"), Name: strings.TrimSpace(*in.Name), Condition: *in.Condition,
		CreatedAt: now, UpdatedAt: now}
	if in.Description != nil {
		r.Description = *in.Description
	}
	return segmentOf(r), tx.InsertSegment(ctx, r)
}

// UpdateSegment changes a segment's fields.
func (s *Service) UpdateSegment(ctx context.Context, tx *store.Tx, a auth.Actor, segID string, in SegmentInput) (Segment, error) {
	if err := in.validate(false); err != nil {
		return Segment{}, err
	}
	r, err := tx.SegmentByID(ctx, a.ProgramID, segID)
	if err != nil {
		return Segment{}, err
	}
	if in.Name != nil {
		r.Name = strings.TrimSpace(*in.Name)
	}
	if in.Condition != nil {
		r.Condition = *in.Condition
	}
	if in.Description != nil {
		r.Description = *in.Description
	}
	r.UpdatedAt = s.clock.Now()
	return segmentOf(r), tx.UpdateSegment(ctx, r)
}

// DeleteSegment deletes a segment.
func (s *Service) DeleteSegment(ctx context.Context, tx *store.Tx, a auth.Actor, segID string) error {
	return tx.DeleteSegment(ctx, a.ProgramID, segID)
}

// GetSegment reads a segment.
func (s *Service) GetSegment(ctx context.Context, a auth.Actor, segID string) (Segment, error) {
	r, err := s.db.Read().SegmentByID(ctx, a.ProgramID, segID)
	return segmentOf(r), err
}

// ListSegments lists the programme's segments, newest first.
func (s *Service) ListSegments(ctx context.Context, a auth.Actor, pg store.Page) ([]Segment, string, error) {
	rows, next, err := s.db.Replica().Segments(ctx, a.ProgramID, pg)
	out := make([]Segment, 0, len(rows))
	for _, r := range rows {
		out = append(out, segmentOf(r))
	}
	return out, next, err
}

// PreviewInput is a condition to size before it is saved.
type PreviewInput struct {
	Condition string `json:"condition" api:"minlen=1,maxlen=4096"`
}

// Validate checks the input on its own.
func (in PreviewInput) Validate() error {
	_, err := rules.CompileSegment("condition", in.Condition)
	return err
}

// Preview is a condition's size and its first members.
type Preview struct {
	Size   int64           `json:"size"`
	Sample []member.Member `json:"sample" doc:"at most 10, in ID order"`
}

// Size is a segment's size now.
type Size struct {
	Size       int64     `json:"size"`
	ComputedAt time.Time `json:"computed_at"`
}

// PreviewSegment sizes a condition and samples it.
func (s *Service) PreviewSegment(ctx context.Context, a auth.Actor, in PreviewInput) (Preview, error) {
	if err := in.Validate(); err != nil {
		return Preview{}, err
	}
	pl, err := s.plan(ctx, a, in.Condition)
	if err != nil {
		return Preview{}, err
	}
	c := s.db.Replica()
	n, err := pl.count(ctx, c)
	if err != nil {
		return Preview{}, err
	}
	rows, _, err := pl.page(ctx, c, "", 10)
	if err != nil {
		return Preview{}, err
	}
	out := Preview{Size: n, Sample: make([]member.Member, 0, len(rows))}
	for _, r := range rows {
		m, err := member.View(ctx, c, r)
		if err != nil {
			return Preview{}, err
		}
		out.Sample = append(out.Sample, m)
	}
	return out, nil
}

// SegmentSize counts a segment's members now.
func (s *Service) SegmentSize(ctx context.Context, a auth.Actor, segID string) (Size, error) {
	c := s.db.Replica()
	r, err := c.SegmentByID(ctx, a.ProgramID, segID)
	if err != nil {
		return Size{}, err
	}
	pl, err := s.plan(ctx, a, r.Condition)
	if err != nil {
		return Size{}, err
	}
	n, err := pl.count(ctx, c)
	return Size{Size: n, ComputedAt: pl.now}, err
}

// SegmentMembers lists a segment's members in ID order.
func (s *Service) SegmentMembers(ctx context.Context, a auth.Actor, segID string, pg store.Page) ([]member.Member, string, error) {
	c := s.db.Replica()
	r, err := c.SegmentByID(ctx, a.ProgramID, segID)
	if err != nil {
		return nil, "", err
	}
	pl, err := s.plan(ctx, a, r.Condition)
	if err != nil {
		return nil, "", err
	}
	rows, next, err := pl.page(ctx, c, pg.Cursor, pg.Limit)
	if err != nil {
		return nil, "", err
	}
	out := make([]member.Member, 0, len(rows))
	for _, r := range rows {
		m, err := member.View(ctx, c, r)
		if err != nil {
			return nil, "", err
		}
		out = append(out, m)
	}
	return out, next, nil
}

// InSegment reports whether a member is in a segment now (for campaigns).
func (s *Service) InSegment(ctx context.Context, c *store.Conn, a auth.Actor, segID, memberID string) (bool, error) {
	r, err := c.SegmentByID(ctx, a.ProgramID, segID)
	if err != nil {
		return false, err
	}
	pl, err := s.plan(ctx, a, r.Condition)
	if err != nil {
		return false, err
	}
	pl.where = store.Cond{Op: "and", Args: []store.Cond{pl.where, {Op: "cmp", Field: "member.id", Cmp: "=", Value: memberID}}}
	n, err := pl.count(ctx, c)
	return n > 0, err
}

// plan is a condition ready to run: the SQL part (a superset of the
// members, exact when the whole condition translated) and the compiled
// condition for the rest.
type plan struct {
	cond     *rules.SegmentCondition
	where    store.Cond
	exact    bool
	programs program.Program
	settings Settings
	now      time.Time
	cats     bool // the condition reads top_categories
	attrs    bool // the condition reads attributes
}

func (s *Service) plan(ctx context.Context, a auth.Actor, src string) (*plan, error) {
	cond, err := rules.CompileSegment("condition", src)
	if err != nil {
		return nil, err
	}
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return nil, err
	}
	st, _, err := s.settings(ctx, s.db.Read(), p.ID)
	if err != nil {
		return nil, err
	}
	pl := &plan{cond: cond, programs: p, settings: st, now: s.clock.Now().UTC().Truncate(time.Millisecond),
		cats: strings.Contains(src, "top_categories"), attrs: strings.Contains(src, "attributes")}
	t := translator{now: pl.now, loc: p.Location, settings: st, sealed: s.db.Read().Sealed()}
	pl.where, pl.exact = t.cond(cond.Expr())
	return pl, nil
}

func (pl *plan) count(ctx context.Context, c *store.Conn) (int64, error) {
	if pl.exact {
		return c.CountAudience(ctx, pl.programs.ID, pl.where)
	}
	var n int64
	err := pl.scan(ctx, c, "", 0, func(store.AudienceRow) bool { n++; return true })
	return n, err
}

// page reads up to limit members after afterID that meet the condition.
func (pl *plan) page(ctx context.Context, c *store.Conn, afterID string, limit int) ([]store.Member, string, error) {
	var out []store.Member
	err := pl.scan(ctx, c, afterID, limit+1, func(r store.AudienceRow) bool {
		out = append(out, r.Member)
		return len(out) <= limit
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

// scan calls fn with the members that meet the condition, in ID order,
// until fn returns false: in SQL alone when the condition translated,
// else the SQL part's members evaluated one by one.
func (pl *plan) scan(ctx context.Context, c *store.Conn, afterID string, want int, fn func(store.AudienceRow) bool) error {
	if pl.exact {
		return c.ScanAudience(ctx, pl.programs.ID, pl.where, afterID, want, fn)
	}
	var cats map[string][]string
	if pl.cats {
		cats = map[string][]string{}
		err := c.AllCategories(ctx, pl.programs.ID, func(memberID string, cs []store.CategoryScore) {
			for _, x := range topCategories(cs, pl.now, pl.settings.CategoryHalfLifeDays) {
				cats[memberID] = append(cats[memberID], x.Category)
			}
		})
		if err != nil {
			return err
		}
	}
	var sm rules.SegmentMember
	var ss rules.SegmentStats
	return c.ScanAudience(ctx, pl.programs.ID, pl.where, afterID, 0, func(r store.AudienceRow) bool {
		pl.fill(&sm, &ss, r, cats[r.Member.ID])
		if ok, err := pl.cond.Match(ctx, &sm, &ss, pl.now); err != nil || !ok {
			return ctx.Err() == nil
		}
		return fn(r)
	})
}

var epoch = time.Unix(0, 0).UTC()

func orEpoch(t *time.Time) time.Time {
	if t == nil {
		return epoch
	}
	return *t
}

// fill makes the CEL variables of one member.
func (pl *plan) fill(sm *rules.SegmentMember, ss *rules.SegmentStats, r store.AudienceRow, cats []string) {
	m := r.Member
	var attrs map[string]any
	if pl.attrs && len(m.Attributes) > 2 {
		attrs = decodeAttrs(m.Attributes)
	}
	*sm = rules.SegmentMember{ID: m.ID, ExternalID: string(m.ExternalID), Phone: string(m.Phone), Name: string(m.Name),
		Gender: m.Gender, Birthday: string(m.Birthday), Region: string(m.Region), Tier: string(m.Tier), Tags: m.Tags,
		Attributes: attrs, Status: m.Status, ReferralCode: m.ReferralCode, ReferredBy: string(m.ReferredBy),
		MerchantID: string(m.MerchantID), CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}
	if sm.Attributes == nil {
		sm.Attributes = map[string]any{}
	}
	st := r.Stats
	loc := pl.programs.Location
	*ss = rules.SegmentStats{Orders: st.Orders, Spend: st.Spend, Refunds: st.Refunds, Refunded: st.Refunded,
		FirstOrderAt: orEpoch(st.FirstOrderAt), LastOrderAt: orEpoch(st.LastOrderAt), LastActivityAt: orEpoch(st.LastActivityAt),
		TopCategories: cats, RFMR: st.RFMR, RFMF: st.RFMF, RFMM: st.RFMM, RFMCell: st.RFMCell,
		Lifecycle: stage(pl.settings, m.CreatedAt, st.LastOrderAt, pl.now, loc), Points: r.Points,
		DaysSinceOrder: -1, DaysSinceJoin: localDays(m.CreatedAt, pl.now, loc)}
	if ss.TopCategories == nil {
		ss.TopCategories = []string{}
	}
	if st.LastOrderAt != nil {
		ss.DaysSinceOrder = localDays(*st.LastOrderAt, pl.now, loc)
	}
}

// SegmentMemberIDs is the set of a segment's members now (for campaigns,
// which check many members at once).
func (s *Service) SegmentMemberIDs(ctx context.Context, c *store.Conn, a auth.Actor, segID string) (map[string]bool, error) {
	r, err := c.SegmentByID(ctx, a.ProgramID, segID)
	if err != nil {
		return nil, err
	}
	pl, err := s.plan(ctx, a, r.Condition)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	err = pl.scan(ctx, c, "", 0, func(r store.AudienceRow) bool { out[r.Member.ID] = true; return true })
	return out, err
}
