package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/null"
)

// CouponTemplate is a stored coupon template.
type CouponTemplate struct {
	ID             string
	ProgramID      string
	Name           string
	Kind           string
	Value          int64
	MinOrder       int64
	MaxDiscount    *int64
	Total          *int64
	Issued         int64
	PerMemberLimit *int64
	DailyTime      null.String
	DailyQuantity  *int64
	ValidDays      *int64
	ValidFrom      *time.Time
	ValidUntil     *time.Time
	PointsPrice    int64
	Transferable   bool
	MerchantID     null.String
	Categories     []string
	Status         string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

const templateColumns = `id, program_id, name, kind, value, min_order, max_discount, total, issued, per_member_limit,
	daily_time, daily_quantity, valid_days, valid_from, valid_until, points_price, transferable, merchant_id, categories,
	status, created_at, updated_at`

func scanTemplate(row interface{ Scan(...any) error }) (CouponTemplate, error) {
	var t CouponTemplate
	var maxDiscount, total, limit, dailyQty, validDays, from, until sql.NullInt64
	var cats sql.NullString
	var created, updated int64
	err := row.Scan(&t.ID, &t.ProgramID, &t.Name, &t.Kind, &t.Value, &t.MinOrder, &maxDiscount, &total, &t.Issued, &limit,
		&t.DailyTime, &dailyQty, &validDays, &from, &until, &t.PointsPrice, &t.Transferable, &t.MerchantID, &cats,
		&t.Status, &created, &updated)
	t.MaxDiscount, t.Total, t.PerMemberLimit = optInt64(maxDiscount), optInt64(total), optInt64(limit)
	t.DailyQuantity, t.ValidDays = optInt64(dailyQty), optInt64(validDays)
	t.ValidFrom, t.ValidUntil = fromOptMS(from), fromOptMS(until)
	t.Categories = jsonList(cats)
	t.CreatedAt, t.UpdatedAt = fromMS(created), fromMS(updated)
	return t, err
}

// SaveCouponTemplate inserts or updates a template; issued changes only
// through TakeCoupon.
func (tx *Tx) SaveCouponTemplate(ctx context.Context, t CouponTemplate) error {
	_, err := tx.exec(ctx, `INSERT INTO coupon_templates (`+templateColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind, value = excluded.value,
		min_order = excluded.min_order, max_discount = excluded.max_discount, total = excluded.total,
		per_member_limit = excluded.per_member_limit, daily_time = excluded.daily_time, daily_quantity = excluded.daily_quantity,
		valid_days = excluded.valid_days, valid_from = excluded.valid_from, valid_until = excluded.valid_until,
		points_price = excluded.points_price, transferable = excluded.transferable, merchant_id = excluded.merchant_id,
		categories = excluded.categories, status = excluded.status, updated_at = excluded.updated_at`,
		t.ID, t.ProgramID, t.Name, t.Kind, t.Value, t.MinOrder, optInt(t.MaxDiscount), optInt(t.Total), t.Issued,
		optInt(t.PerMemberLimit), t.DailyTime, optInt(t.DailyQuantity), optInt(t.ValidDays), optMS(t.ValidFrom),
		optMS(t.ValidUntil), t.PointsPrice, t.Transferable, t.MerchantID, listJSON(t.Categories), t.Status,
		ms(t.CreatedAt), ms(t.UpdatedAt))
	if err != nil {
		return fmt.Errorf("save coupon template: %w", err)
	}
	return nil
}

// CouponTemplate reads a template of the program.
func (c *Conn) CouponTemplate(ctx context.Context, programID, id string) (CouponTemplate, error) {
	t, err := scanTemplate(c.queryRow(ctx, `SELECT `+templateColumns+` FROM coupon_templates WHERE id = ? AND program_id = ?`, id, programID))
	if errors.Is(err, sql.ErrNoRows) {
		return CouponTemplate{}, failure.New(failure.NotFound, "coupon template %s not found", id)
	}
	if err != nil {
		return CouponTemplate{}, classify(fmt.Errorf("coupon template %s: %w", id, err))
	}
	return t, nil
}

// CouponTemplates lists a program's templates, newest first.
func (c *Conn) CouponTemplates(ctx context.Context, programID string, p Page) ([]CouponTemplate, string, error) {
	q := `SELECT ` + templateColumns + ` FROM coupon_templates WHERE program_id = ? AND status <> 'deleted'`
	args := []any{programID}
	if p.Cursor != "" {
		q += ` AND id < ?`
		args = append(args, p.Cursor)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, p.Limit+1)
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("coupon templates: %w", err)
	}
	defer rows.Close()
	var out []CouponTemplate
	for rows.Next() {
		t, err := scanTemplate(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, "", classify(err)
	}
	out, cur := next(out, p.Limit, func(t CouponTemplate) string { return t.ID })
	return out, cur, nil
}

// TakeCoupon counts one more coupon issued from a template; false when its
// total is reached. The conditional update decides.
func (tx *Tx) TakeCoupon(ctx context.Context, programID, templateID string) (bool, error) {
	res, err := tx.exec(ctx, `UPDATE coupon_templates SET issued = issued + 1
		WHERE id = ? AND program_id = ? AND (total IS NULL OR issued < total)`, templateID, programID)
	if err != nil {
		return false, fmt.Errorf("take coupon %s: %w", templateID, err)
	}
	return affected(res) == 1, nil
}

// TakeDaily counts one more claim of a template's daily release on date;
// false when quantity have been claimed that day.
func (tx *Tx) TakeDaily(ctx context.Context, programID, templateID, date string, quantity int64) (bool, error) {
	if _, err := tx.exec(ctx, `INSERT INTO coupon_daily (program_id, template_id, date, claimed) VALUES (?, ?, ?, 0)
		ON CONFLICT DO NOTHING`, programID, templateID, date); err != nil {
		return false, fmt.Errorf("daily release %s: %w", templateID, err)
	}
	res, err := tx.exec(ctx, `UPDATE coupon_daily SET claimed = claimed + 1
		WHERE program_id = ? AND template_id = ? AND date = ? AND claimed < ?`,
		programID, templateID, date, quantity)
	if err != nil {
		return false, fmt.Errorf("daily release %s: %w", templateID, err)
	}
	return affected(res) == 1, nil
}

// DailyClaimed is how many of a template's daily release were claimed on date.
func (c *Conn) DailyClaimed(ctx context.Context, programID, templateID, date string) (int64, error) {
	var n int64
	err := c.queryRow(ctx, `SELECT claimed FROM coupon_daily WHERE program_id = ? AND template_id = ? AND date = ?`,
		programID, templateID, date).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return n, classify(err)
}

// Coupon is a stored coupon.
type Coupon struct {
	Code              string
	ProgramID         string
	TemplateID        string
	MemberID          string
	Status            string
	Source            string
	ValidFrom         time.Time
	ValidUntil        time.Time
	TransactionID     null.String
	RedeemedReference null.String
	RedeemedAt        *time.Time
	OrderAmount       *int64
	Discount          *int64
	TransferredFrom   null.String
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

const couponColumns = `code, program_id, template_id, member_id, status, source, valid_from, valid_until, transaction_id,
	redeemed_reference, redeemed_at, order_amount, discount, transferred_from, created_at, updated_at`

func scanCoupon(row interface{ Scan(...any) error }) (Coupon, error) {
	var c Coupon
	var from, until, created, updated int64
	var redeemedAt, orderAmount, discount sql.NullInt64
	err := row.Scan(&c.Code, &c.ProgramID, &c.TemplateID, &c.MemberID, &c.Status, &c.Source, &from, &until, &c.TransactionID,
		&c.RedeemedReference, &redeemedAt, &orderAmount, &discount, &c.TransferredFrom, &created, &updated)
	c.ValidFrom, c.ValidUntil = fromMS(from), fromMS(until)
	c.RedeemedAt, c.OrderAmount, c.Discount = fromOptMS(redeemedAt), optInt64(orderAmount), optInt64(discount)
	c.CreatedAt, c.UpdatedAt = fromMS(created), fromMS(updated)
	return c, err
}

// InsertCoupon stores a new coupon; false when the code is taken.
func (tx *Tx) InsertCoupon(ctx context.Context, c Coupon) (bool, error) {
	res, err := tx.exec(ctx, `INSERT INTO coupons (`+couponColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`,
		c.Code, c.ProgramID, c.TemplateID, c.MemberID, c.Status, c.Source, ms(c.ValidFrom), ms(c.ValidUntil), c.TransactionID,
		c.RedeemedReference, optMS(c.RedeemedAt), optInt(c.OrderAmount), optInt(c.Discount), c.TransferredFrom,
		ms(c.CreatedAt), ms(c.UpdatedAt))
	if err != nil {
		return false, fmt.Errorf("insert coupon: %w", err)
	}
	return affected(res) == 1, nil
}

// UpdateCoupon writes a coupon's state.
func (tx *Tx) UpdateCoupon(ctx context.Context, c Coupon) error {
	_, err := tx.exec(ctx, `UPDATE coupons SET member_id = ?, status = ?, redeemed_reference = ?, redeemed_at = ?,
		order_amount = ?, discount = ?, transferred_from = ?, updated_at = ? WHERE program_id = ? AND code = ?`,
		c.MemberID, c.Status, c.RedeemedReference, optMS(c.RedeemedAt), optInt(c.OrderAmount), optInt(c.Discount),
		c.TransferredFrom, ms(c.UpdatedAt), c.ProgramID, c.Code)
	if err != nil {
		return fmt.Errorf("update coupon %s: %w", c.Code, err)
	}
	return nil
}

// Coupon reads a coupon of the program by code; lock takes it for update.
func (c *Conn) Coupon(ctx context.Context, programID, code string) (Coupon, error) {
	return c.coupon(ctx, `SELECT `+couponColumns+` FROM coupons WHERE program_id = ? AND code = ?`, programID, code)
}

// LockCoupon reads a coupon for update.
func (tx *Tx) LockCoupon(ctx context.Context, programID, code string) (Coupon, error) {
	return tx.coupon(ctx, `SELECT `+couponColumns+` FROM coupons WHERE program_id = ? AND code = ? /*lock*/`, programID, code)
}

func (c *Conn) coupon(ctx context.Context, q, programID, code string) (Coupon, error) {
	cp, err := scanCoupon(c.queryRow(ctx, q, programID, code))
	if errors.Is(err, sql.ErrNoRows) {
		return Coupon{}, failure.New(failure.NotFound, "coupon %s not found", code)
	}
	if err != nil {
		return Coupon{}, classify(fmt.Errorf("coupon %s: %w", code, err))
	}
	return cp, nil
}

// MemberCouponCount counts the coupons of a template a member received
// (claimed, bought or won; transfers in do not count).
func (c *Conn) MemberCouponCount(ctx context.Context, programID, templateID, memberID string) (int64, error) {
	var n int64
	err := c.queryRow(ctx, `SELECT COUNT(*) FROM coupons WHERE template_id = ? AND member_id = ? AND program_id = ?
		AND source <> 'transfer'`, templateID, memberID, programID).Scan(&n)
	return n, classify(err)
}

// MemberCoupons lists a member's coupons, newest first.
func (c *Conn) MemberCoupons(ctx context.Context, programID, memberID, status string, p Page) ([]Coupon, string, error) {
	q := `SELECT ` + couponColumns + ` FROM coupons WHERE member_id = ? AND program_id = ?`
	args := []any{memberID, programID}
	if status != "" {
		q += ` AND status = ?`
		args = append(args, status)
	}
	if p.Cursor != "" {
		q += ` AND (created_at, code) < (SELECT created_at, code FROM coupons WHERE program_id = ? AND code = ?)`
		args = append(args, programID, p.Cursor)
	}
	q += ` ORDER BY created_at DESC, code DESC LIMIT ?`
	args = append(args, p.Limit+1)
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("member coupons: %w", err)
	}
	defer rows.Close()
	var out []Coupon
	for rows.Next() {
		cp, err := scanCoupon(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, cp)
	}
	if err := rows.Err(); err != nil {
		return nil, "", classify(err)
	}
	out, cur := next(out, p.Limit, func(cp Coupon) string { return cp.Code })
	return out, cur, nil
}

// ExpireCoupons marks active coupons past valid_until expired, at most
// limit of them; it returns how many.
func (tx *Tx) ExpireCoupons(ctx context.Context, programID string, asOf time.Time, limit int) (int64, error) {
	res, err := tx.exec(ctx, `UPDATE coupons SET status = 'expired', updated_at = ? WHERE program_id = ? AND code IN (
		SELECT code FROM coupons WHERE program_id = ? AND status = 'active' AND valid_until <= ? LIMIT ?)`,
		ms(asOf), programID, programID, ms(asOf), limit)
	if err != nil {
		return 0, fmt.Errorf("expire coupons: %w", err)
	}
	return affected(res), nil
}

// ExpireCouponsListed is ExpireCoupons answering the coupons it expired
// (for their webhook events).
func (tx *Tx) ExpireCouponsListed(ctx context.Context, programID string, asOf time.Time, limit int) ([]Coupon, error) {
	rows, err := tx.query(ctx, `UPDATE coupons SET status = 'expired', updated_at = ? WHERE program_id = ? AND code IN (
		SELECT code FROM coupons WHERE program_id = ? AND status = 'active' AND valid_until <= ? LIMIT ?)
		RETURNING `+couponColumns, ms(asOf), programID, programID, ms(asOf), limit)
	if err != nil {
		return nil, fmt.Errorf("expire coupons: %w", err)
	}
	defer rows.Close()
	var out []Coupon
	for rows.Next() {
		c, err := scanCoupon(rows)
		if err != nil {
			return nil, classify(err)
		}
		out = append(out, c)
	}
	return out, classify(rows.Err())
}

// VoidMemberCoupons voids a member's unused coupons (status active) as of
// now; used and expired ones keep their status. It answers how many.
func (tx *Tx) VoidMemberCoupons(ctx context.Context, programID, memberID string, now time.Time) (int64, error) {
	res, err := tx.exec(ctx, `UPDATE coupons SET status = 'void', updated_at = ?
		WHERE program_id = ? AND member_id = ? AND status = 'active'`, ms(now), programID, memberID)
	if err != nil {
		return 0, fmt.Errorf("void member coupons: %w", err)
	}
	return affected(res), nil
}
