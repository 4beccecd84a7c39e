// Package coupon issues, validates and redeems coupons (礼券): templates
// with an amount or percent off, a validity window or a number of days
// from the claim, total and per-member quantities, a points price
// (积分换券) and a daily release at a program-local time. The total and the
// daily release are taken with conditional updates, so no node hands out
// more than there is.
package coupon

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

// Kinds.
const (
	AmountOff  = "amount_off"  // value fen off (满减 with min_order, 无门槛 without)
	PercentOff = "percent_off" // value percent off, up to max_discount
)

// DefaultValidDays is how long a coupon lasts when its template gives no
// validity.
const DefaultValidDays = 30

// Template is a kind of coupon.
type Template struct {
	ID             string        `json:"id"`
	Name           string        `json:"name"`
	Kind           string        `json:"kind"`
	Value          int64         `json:"value"`
	MinOrder       int64         `json:"min_order"`
	MaxDiscount    *int64        `json:"max_discount"`
	Total          *int64        `json:"total"`
	Issued         int64         `json:"issued"`
	PerMemberLimit *int64        `json:"per_member_limit"`
	DailyRelease   *DailyRelease `json:"daily_release"`
	ValidDays      *int64        `json:"valid_days"`
	ValidFrom      *time.Time    `json:"valid_from"`
	ValidUntil     *time.Time    `json:"valid_until"`
	PointsPrice    int64         `json:"points_price"`
	Transferable   bool          `json:"transferable"`
	MerchantID     *string       `json:"merchant_id"`
	Categories     []string      `json:"categories"`
	Status         string        `json:"status"`
	CreatedAt      time.Time     `json:"created_at"`
	UpdatedAt      time.Time     `json:"updated_at"`
}

// DailyRelease lets quantity coupons be claimed each program-local day,
// from time ("HH:MM") on.
type DailyRelease struct {
	Time     string `json:"time"`
	Quantity int64  `json:"quantity"`
}

// TemplateInput creates a template or changes the fields it names.
type TemplateInput struct {
	Name           *string       `json:"name,omitempty" api:"minlen=1,maxlen=100"`
	Kind           *string       `json:"kind,omitempty" api:"enum=amount_off|percent_off"`
	Value          *int64        `json:"value,omitempty" api:"min=1" doc:"fen off (amount_off) or percent off, 1–99 (percent_off)"`
	MinOrder       *int64        `json:"min_order,omitempty" api:"min=0" doc:"fen"`
	MaxDiscount    *int64        `json:"max_discount,omitempty" api:"min=1" doc:"fen; percent_off only"`
	Total          *int64        `json:"total,omitempty" api:"min=1"`
	PerMemberLimit *int64        `json:"per_member_limit,omitempty" api:"min=1"`
	DailyRelease   *DailyRelease `json:"daily_release,omitempty"`
	ValidDays      *int64        `json:"valid_days,omitempty" api:"min=1,max=3650"`
	ValidFrom      *string       `json:"valid_from,omitempty" api:"format=date-time"`
	ValidUntil     *string       `json:"valid_until,omitempty" api:"format=date-time"`
	PointsPrice    *int64        `json:"points_price,omitempty" api:"min=0,max=10000000000"`
	Transferable   *bool         `json:"transferable,omitempty"`
	MerchantID     *string       `json:"merchant_id,omitempty"`
	Categories     []string      `json:"categories,omitempty" api:"maxitems=20"`
	Status         *string       `json:"status,omitempty" api:"enum=active|paused"`
}

var hhmm = regexp.MustCompile(`^([01]\d|2[0-3]):[0-5]\d$`)

func templateOf(r store.CouponTemplate) Template {
	t := Template{ID: r.ID, Name: r.Name, Kind: r.Kind, Value: r.Value, MinOrder: r.MinOrder, MaxDiscount: r.MaxDiscount,
		Total: r.Total, Issued: r.Issued, PerMemberLimit: r.PerMemberLimit, ValidDays: r.ValidDays, ValidFrom: r.ValidFrom,
		ValidUntil: r.ValidUntil, PointsPrice: r.PointsPrice, Transferable: r.Transferable, Categories: r.Categories,
		Status: r.Status, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if r.DailyTime != "" && r.DailyQuantity != nil {
		t.DailyRelease = &DailyRelease{Time: string(r.DailyTime), Quantity: *r.DailyQuantity}
	}
	if r.MerchantID != "" {
		m := string(r.MerchantID)
		t.MerchantID = &m
	}
	if t.Categories == nil {
		t.Categories = []string{}
	}
	return t
}

func (t Template) record(programID string) store.CouponTemplate {
	r := store.CouponTemplate{ID: t.ID, ProgramID: programID, Name: t.Name, Kind: t.Kind, Value: t.Value, MinOrder: t.MinOrder,
		MaxDiscount: t.MaxDiscount, Total: t.Total, Issued: t.Issued, PerMemberLimit: t.PerMemberLimit, ValidDays: t.ValidDays,
		ValidFrom: t.ValidFrom, ValidUntil: t.ValidUntil, PointsPrice: t.PointsPrice, Transferable: t.Transferable,
		Categories: t.Categories, Status: t.Status, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
	if t.DailyRelease != nil {
		r.DailyTime, r.DailyQuantity = null.String(t.DailyRelease.Time), &t.DailyRelease.Quantity
	}
	if t.MerchantID != nil {
		r.MerchantID = null.String(*t.MerchantID)
	}
	return r
}

func (in TemplateInput) apply(t *Template) error {
	var fs failure.Fields
	set := func(dst *int64, v *int64) {
		if v != nil {
			*dst = *v
		}
	}
	if in.Name != nil {
		t.Name = strings.TrimSpace(*in.Name)
	}
	if in.Kind != nil {
		t.Kind = *in.Kind
	}
	set(&t.Value, in.Value)
	set(&t.MinOrder, in.MinOrder)
	set(&t.PointsPrice, in.PointsPrice)
	if in.MaxDiscount != nil {
		t.MaxDiscount = in.MaxDiscount
	}
	if in.Total != nil {
		t.Total = in.Total
	}
	if in.PerMemberLimit != nil {
		t.PerMemberLimit = in.PerMemberLimit
	}
	if in.DailyRelease != nil {
		t.DailyRelease = in.DailyRelease
		if in.DailyRelease.Time == "" && in.DailyRelease.Quantity == 0 {
			t.DailyRelease = nil
		}
	}
	if in.ValidDays != nil {
		t.ValidDays = in.ValidDays
	}
	from, err := clock.Parse("valid_from", in.ValidFrom)
	if err != nil {
		fs = append(fs, failure.As(err).Fields...)
	} else if in.ValidFrom != nil {
		t.ValidFrom = from
	}
	until, err := clock.Parse("valid_until", in.ValidUntil)
	if err != nil {
		fs = append(fs, failure.As(err).Fields...)
	} else if in.ValidUntil != nil {
		t.ValidUntil = until
	}
	if in.Transferable != nil {
		t.Transferable = *in.Transferable
	}
	if in.MerchantID != nil {
		t.MerchantID = in.MerchantID
		if *in.MerchantID == "" {
			t.MerchantID = nil
		}
	}
	if in.Categories != nil {
		t.Categories = in.Categories
	}
	if in.Status != nil {
		t.Status = *in.Status
	}
	if n := len([]rune(t.Name)); n < 1 || n > 100 {
		fs.Add("name", "must be 1 to 100 characters")
	}
	switch t.Kind {
	case AmountOff:
		if t.Value < 1 {
			fs.Add("value", "an amount_off coupon takes at least 1 fen off")
		}
		if t.MaxDiscount != nil {
			fs.Add("max_discount", "only percent_off coupons have a max_discount")
		}
	case PercentOff:
		if t.Value < 1 || t.Value > 99 {
			fs.Add("value", "a percent_off coupon takes 1 to 99 percent off")
		}
		if t.MaxDiscount != nil && *t.MaxDiscount < 1 {
			fs.Add("max_discount", "must be at least 1 fen")
		}
	default:
		fs.Add("kind", "must be amount_off or percent_off")
	}
	if t.MinOrder < 0 {
		fs.Add("min_order", "must not be negative")
	}
	if t.Total != nil && (*t.Total < 1 || *t.Total < t.Issued) {
		fs.Add("total", "must be at least 1 and not below the %d already issued", t.Issued)
	}
	if t.PerMemberLimit != nil && *t.PerMemberLimit < 1 {
		fs.Add("per_member_limit", "must be at least 1")
	}
	if d := t.DailyRelease; d != nil {
		if !hhmm.MatchString(d.Time) {
			fs.Add("daily_release.time", `must be a local time "HH:MM"`)
		}
		if d.Quantity < 1 {
			fs.Add("daily_release.quantity", "must be at least 1")
		}
	}
	if t.ValidDays != nil && (t.ValidFrom != nil || t.ValidUntil != nil) {
		fs.Add("valid_days", "give valid_days or valid_from/valid_until, not both")
	}
	if t.ValidDays != nil && (*t.ValidDays < 1 || *t.ValidDays > 3650) {
		fs.Add("valid_days", "must be 1 to 3650")
	}
	if t.ValidFrom != nil && t.ValidUntil == nil {
		fs.Add("valid_until", "is required with valid_from")
	}
	if t.ValidFrom != nil && t.ValidUntil != nil && !t.ValidUntil.After(*t.ValidFrom) {
		fs.Add("valid_until", "must be after valid_from")
	}
	if t.PointsPrice < 0 || t.PointsPrice > 10_000_000_000 {
		fs.Add("points_price", "must be between 0 and 10000000000")
	}
	if t.Value > 10_000_000_000 || t.MinOrder > 1_000_000_000_000 {
		fs.Add("value", "is too large")
	}
	if len(t.Categories) > 20 {
		fs.Add("categories", "at most 20")
	}
	if t.Status != "active" && t.Status != "paused" {
		fs.Add("status", "must be active or paused")
	}
	if t.ValidDays == nil && t.ValidUntil == nil {
		d := int64(DefaultValidDays)
		t.ValidDays = &d
	}
	return fs.Err()
}

func checkMerchant(ctx context.Context, tx *store.Tx, programID string, m *string) error {
	if m == nil {
		return nil
	}
	if _, err := tx.Merchant(ctx, programID, *m); err != nil {
		if failure.KindOf(err) == failure.NotFound {
			return failure.Field("merchant_id", "no such merchant")
		}
		return err
	}
	return nil
}

// createTemplate adds a template.
func createTemplate(ctx context.Context, tx *store.Tx, p program.Program, in TemplateInput, now time.Time) (Template, error) {
	t := Template{ID: id.New("cpt"), Status: "active", CreatedAt: now, UpdatedAt: now}
	if err := in.apply(&t); err != nil {
		return Template{}, err
	}
	if err := checkMerchant(ctx, tx, p.ID, t.MerchantID); err != nil {
		return Template{}, err
	}
	return t, tx.SaveCouponTemplate(ctx, t.record(p.ID))
}

// updateTemplate changes a template; coupons already issued keep their terms.
func updateTemplate(ctx context.Context, tx *store.Tx, p program.Program, r store.CouponTemplate, in TemplateInput, now time.Time) (Template, error) {
	t := templateOf(r)
	if in.ValidDays != nil {
		t.ValidFrom, t.ValidUntil = nil, nil
	} else if in.ValidFrom != nil || in.ValidUntil != nil {
		t.ValidDays = nil
	}
	if err := in.apply(&t); err != nil {
		return Template{}, err
	}
	if err := checkMerchant(ctx, tx, p.ID, t.MerchantID); err != nil {
		return Template{}, err
	}
	t.UpdatedAt = now
	return t, tx.SaveCouponTemplate(ctx, t.record(p.ID))
}

// getTemplate reads a template.
func getTemplate(ctx context.Context, c *store.Conn, programID, templateID string) (Template, error) {
	r, err := c.CouponTemplate(ctx, programID, templateID)
	if err != nil {
		return Template{}, err
	}
	return templateOf(r), nil
}

// listTemplates lists templates, newest first.
func listTemplates(ctx context.Context, c *store.Conn, programID string, p store.Page) ([]Template, string, error) {
	rows, next, err := c.CouponTemplates(ctx, programID, p)
	if err != nil {
		return nil, "", err
	}
	out := make([]Template, len(rows))
	for i, r := range rows {
		out[i] = templateOf(r)
	}
	return out, next, nil
}
