package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/null"
)

// Reward is a stored reward of the points mall.
type Reward struct {
	ID               string
	ProgramID        string
	Name             string
	Description      null.String
	Type             string
	PointsPrice      int64
	CashPrice        int64
	Stock            *int64
	Sold             int64
	PerMemberLimit   *int64
	StartsAt         *time.Time
	EndsAt           *time.Time
	Tiers            []string
	CouponTemplateID null.String
	MerchantID       null.String
	Categories       []string
	Status           string
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

const rewardColumns = `id, program_id, name, description, type, points_price, cash_price, stock, sold, per_member_limit,
	starts_at, ends_at, tiers, coupon_template_id, merchant_id, categories, status, created_at, updated_at`

func scanReward(row interface{ Scan(...any) error }) (Reward, error) {
	var r Reward
	var stock, limit, starts, ends sql.NullInt64
	var tiers, cats sql.NullString
	var created, updated int64
	err := row.Scan(&r.ID, &r.ProgramID, &r.Name, &r.Description, &r.Type, &r.PointsPrice, &r.CashPrice, &stock, &r.Sold,
		&limit, &starts, &ends, &tiers, &r.CouponTemplateID, &r.MerchantID, &cats, &r.Status, &created, &updated)
	r.Stock, r.PerMemberLimit = optInt64(stock), optInt64(limit)
	r.StartsAt, r.EndsAt = fromOptMS(starts), fromOptMS(ends)
	r.Tiers, r.Categories = jsonList(tiers), jsonList(cats)
	r.CreatedAt, r.UpdatedAt = fromMS(created), fromMS(updated)
	return r, err
}

func optInt64(v sql.NullInt64) *int64 {
	if !v.Valid {
		return nil
	}
	return &v.Int64
}

func jsonList(v sql.NullString) []string {
	if !v.Valid {
		return nil
	}
	var out []string
	json.Unmarshal([]byte(v.String), &out)
	return out
}

func listJSON(l []string) any {
	if l == nil {
		return nil
	}
	b, _ := json.Marshal(l)
	return string(b)
}

// SaveReward inserts or updates a reward. Stock and sold are left alone on
// update unless stock is given: they change only through TakeStock and
// ReturnStock, or a deliberate restock.
func (tx *Tx) SaveReward(ctx context.Context, r Reward, restock bool) error {
	_, err := tx.exec(ctx, `INSERT INTO rewards (`+rewardColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, description = excluded.description, type = excluded.type,
		points_price = excluded.points_price, cash_price = excluded.cash_price, per_member_limit = excluded.per_member_limit,
		starts_at = excluded.starts_at, ends_at = excluded.ends_at, tiers = excluded.tiers,
		coupon_template_id = excluded.coupon_template_id, merchant_id = excluded.merchant_id, categories = excluded.categories,
		status = excluded.status, updated_at = excluded.updated_at`,
		r.ID, r.ProgramID, r.Name, r.Description, r.Type, r.PointsPrice, r.CashPrice, optInt(r.Stock), r.Sold,
		optInt(r.PerMemberLimit), optMS(r.StartsAt), optMS(r.EndsAt), listJSON(r.Tiers), r.CouponTemplateID, r.MerchantID,
		listJSON(r.Categories), r.Status, ms(r.CreatedAt), ms(r.UpdatedAt))
	if err != nil {
		return fmt.Errorf("save reward: %w", err)
	}
	if restock {
		if _, err := tx.exec(ctx, `UPDATE rewards SET stock = ? WHERE id = ? AND program_id = ?`, optInt(r.Stock), r.ID, r.ProgramID); err != nil {
			return fmt.Errorf("restock reward: %w", err)
		}
	}
	return nil
}

// Reward reads a reward of the program.
func (c *Conn) Reward(ctx context.Context, programID, id string) (Reward, error) {
	r, err := scanReward(c.queryRow(ctx, `SELECT `+rewardColumns+` FROM rewards WHERE id = ? AND program_id = ?`, id, programID))
	if errors.Is(err, sql.ErrNoRows) {
		return Reward{}, failure.New(failure.NotFound, "reward %s not found", id)
	}
	if err != nil {
		return Reward{}, classify(fmt.Errorf("reward %s: %w", id, err))
	}
	return r, nil
}

// Rewards lists a program's rewards (not deleted), newest first.
func (c *Conn) Rewards(ctx context.Context, programID string, p Page) ([]Reward, string, error) {
	q := `SELECT ` + rewardColumns + ` FROM rewards WHERE program_id = ? AND status <> 'deleted'`
	args := []any{programID}
	if p.Cursor != "" {
		q += ` AND id < ?`
		args = append(args, p.Cursor)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, p.Limit+1)
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("rewards: %w", err)
	}
	defer rows.Close()
	var out []Reward
	for rows.Next() {
		r, err := scanReward(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, "", classify(err)
	}
	out, cur := next(out, p.Limit, func(r Reward) string { return r.ID })
	return out, cur, nil
}

// TakeStock takes n units of a reward. The conditional update decides: it
// reports false, changing nothing, when fewer than n are left. Unlimited
// rewards (no stock) always have enough; sold counts either way.
func (tx *Tx) TakeStock(ctx context.Context, programID, rewardID string, n int64) (bool, error) {
	res, err := tx.exec(ctx, `UPDATE rewards SET stock = CASE WHEN stock IS NULL THEN NULL ELSE stock - ? END, sold = sold + ?
		WHERE id = ? AND program_id = ? AND (stock IS NULL OR stock >= ?)`, n, n, rewardID, programID, n)
	if err != nil {
		return false, fmt.Errorf("take stock %s: %w", rewardID, err)
	}
	return affected(res) == 1, nil
}

// ReturnStock puts n units back (a cancelled redemption).
func (tx *Tx) ReturnStock(ctx context.Context, programID, rewardID string, n int64) error {
	_, err := tx.exec(ctx, `UPDATE rewards SET stock = CASE WHEN stock IS NULL THEN NULL ELSE stock + ? END, sold = sold - ?
		WHERE id = ? AND program_id = ?`, n, n, rewardID, programID)
	if err != nil {
		return fmt.Errorf("return stock %s: %w", rewardID, err)
	}
	return nil
}

// Redemption is a stored redemption.
type Redemption struct {
	ID            string
	ProgramID     string
	MemberID      string
	RewardID      string
	Quantity      int64
	Points        int64
	CashPrice     int64
	Status        string
	TransactionID null.String
	ReverseTxnID  null.String
	CouponCode    null.String
	MerchantID    null.String
	Source        string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

const redemptionColumns = `id, program_id, member_id, reward_id, quantity, points, cash_price, status, transaction_id,
	reverse_txn_id, coupon_code, merchant_id, source, created_at, updated_at`

func scanRedemption(row interface{ Scan(...any) error }) (Redemption, error) {
	var r Redemption
	var created, updated int64
	err := row.Scan(&r.ID, &r.ProgramID, &r.MemberID, &r.RewardID, &r.Quantity, &r.Points, &r.CashPrice, &r.Status,
		&r.TransactionID, &r.ReverseTxnID, &r.CouponCode, &r.MerchantID, &r.Source, &created, &updated)
	r.CreatedAt, r.UpdatedAt = fromMS(created), fromMS(updated)
	return r, err
}

// SaveRedemption inserts or updates a redemption.
func (tx *Tx) SaveRedemption(ctx context.Context, r Redemption) error {
	_, err := tx.exec(ctx, `INSERT INTO redemptions (`+redemptionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET status = excluded.status, reverse_txn_id = excluded.reverse_txn_id,
		coupon_code = excluded.coupon_code, updated_at = excluded.updated_at`,
		r.ID, r.ProgramID, r.MemberID, r.RewardID, r.Quantity, r.Points, r.CashPrice, r.Status, r.TransactionID,
		r.ReverseTxnID, r.CouponCode, r.MerchantID, r.Source, ms(r.CreatedAt), ms(r.UpdatedAt))
	if err != nil {
		return fmt.Errorf("save redemption: %w", err)
	}
	return nil
}

// Redemption reads a redemption of the program.
func (c *Conn) Redemption(ctx context.Context, programID, id string) (Redemption, error) {
	r, err := scanRedemption(c.queryRow(ctx, `SELECT `+redemptionColumns+` FROM redemptions WHERE id = ? AND program_id = ?`, id, programID))
	if errors.Is(err, sql.ErrNoRows) {
		return Redemption{}, failure.New(failure.NotFound, "redemption %s not found", id)
	}
	if err != nil {
		return Redemption{}, classify(fmt.Errorf("redemption %s: %w", id, err))
	}
	return r, nil
}

// RedeemedQuantity is how many units of a reward a member holds in
// redemptions that are not cancelled.
func (c *Conn) RedeemedQuantity(ctx context.Context, programID, memberID, rewardID string) (int64, error) {
	var n int64
	err := c.queryRow(ctx, `SELECT COALESCE(SUM(quantity), 0) FROM redemptions WHERE member_id = ? AND reward_id = ?
		AND program_id = ? AND status <> 'cancelled'`, memberID, rewardID, programID).Scan(&n)
	return n, classify(err)
}

// RedemptionFilter selects redemptions.
type RedemptionFilter struct {
	MemberID   string
	RewardID   string
	Status     string
	MerchantID string // a merchant key's own
}

// Redemptions lists redemptions, newest first.
func (c *Conn) Redemptions(ctx context.Context, programID string, f RedemptionFilter, p Page) ([]Redemption, string, error) {
	q := `SELECT ` + redemptionColumns + ` FROM redemptions WHERE program_id = ?`
	args := []any{programID}
	for _, kv := range []struct{ col, v string }{{"member_id", f.MemberID}, {"reward_id", f.RewardID}, {"status", f.Status}, {"merchant_id", f.MerchantID}} {
		if kv.v != "" {
			q += ` AND ` + kv.col + ` = ?`
			args = append(args, kv.v)
		}
	}
	if p.Cursor != "" {
		q += ` AND id < ?`
		args = append(args, p.Cursor)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, p.Limit+1)
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("redemptions: %w", err)
	}
	defer rows.Close()
	var out []Redemption
	for rows.Next() {
		r, err := scanRedemption(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, "", classify(err)
	}
	out, cur := next(out, p.Limit, func(r Redemption) string { return r.ID })
	return out, cur, nil
}
