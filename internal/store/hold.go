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

// Hold statuses.
const (
	HoldHeld     = "held"
	HoldCaptured = "captured"
	HoldReleased = "released"
)

// Hold reserves points for an order until it is captured or released.
type Hold struct {
	ID            string
	MemberID      string
	Currency      string
	Points        int64
	Captured      int64
	Status        string
	Reference     null.String
	MerchantID    null.String
	ExpiresAt     time.Time
	HoldTxnID     string
	TransactionID null.String
	OrderID       null.String
	OrderAmount   *int64
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

const holdColumns = `id, member_id, currency, points, captured, status, reference, merchant_id, expires_at, hold_txn_id, transaction_id, order_id, order_amount, created_at, updated_at`

func scanHold(row interface{ Scan(...any) error }) (Hold, error) {
	var h Hold
	var exp, created, updated int64
	err := row.Scan(&h.ID, &h.MemberID, &h.Currency, &h.Points, &h.Captured, &h.Status, &h.Reference, &h.MerchantID,
		&exp, &h.HoldTxnID, &h.TransactionID, &h.OrderID, &h.OrderAmount, &created, &updated)
	h.ExpiresAt, h.CreatedAt, h.UpdatedAt = fromMS(exp), fromMS(created), fromMS(updated)
	return h, err
}

// scanHolds reads every hold of a query, as scanLots does lots.
func scanHolds(rows *sql.Rows, err error) ([]Hold, error) {
	if err != nil {
		return nil, fmt.Errorf("holds: %w", err)
	}
	defer rows.Close()
	var out []Hold
	for rows.Next() {
		h, err := scanHold(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, classify(rows.Err())
}

// OrderHolds lists the holds that name an order, oldest first.
func (c *Conn) OrderHolds(ctx context.Context, programID, orderID string) ([]Hold, error) {
	return scanHolds(c.query(ctx, `SELECT `+holdColumns+` FROM holds WHERE program_id = ? AND order_id = ? ORDER BY id`, programID, orderID))
}

// InsertHold stores a new hold.
func (tx *Tx) InsertHold(ctx context.Context, programID string, h Hold) error {
	_, err := tx.exec(ctx, `INSERT INTO holds (program_id, `+holdColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		programID, h.ID, h.MemberID, h.Currency, h.Points, h.Captured, h.Status, h.Reference, h.MerchantID,
		ms(h.ExpiresAt), h.HoldTxnID, h.TransactionID, h.OrderID, h.OrderAmount, ms(h.CreatedAt), ms(h.UpdatedAt))
	if err != nil {
		return fmt.Errorf("insert hold: %w", err)
	}
	return nil
}

// Hold reads a hold of the program.
func (c *Conn) Hold(ctx context.Context, programID, id string) (Hold, error) {
	h, err := scanHold(c.queryRow(ctx, `SELECT `+holdColumns+` FROM holds WHERE id = ? AND program_id = ?`, id, programID))
	if errors.Is(err, sql.ErrNoRows) {
		return Hold{}, failure.New(failure.NotFound, "hold %s not found", id)
	}
	if err != nil {
		return Hold{}, classify(fmt.Errorf("hold %s: %w", id, err))
	}
	return h, nil
}

// UpdateHold writes a hold's outcome.
func (tx *Tx) UpdateHold(ctx context.Context, programID string, h Hold) error {
	_, err := tx.exec(ctx, `UPDATE holds SET captured = ?, status = ?, transaction_id = ?, updated_at = ?
		WHERE id = ? AND program_id = ?`, h.Captured, h.Status, h.TransactionID, ms(h.UpdatedAt), h.ID, programID)
	if err != nil {
		return fmt.Errorf("update hold %s: %w", h.ID, err)
	}
	return nil
}

// HoldFilter selects a member's holds.
type HoldFilter struct {
	Status     string
	MerchantID string // only holds placed by this merchant
}

// MemberHolds lists a member's holds, newest first.
func (c *Conn) MemberHolds(ctx context.Context, programID, memberID string, f HoldFilter, p Page) ([]Hold, string, error) {
	q := `SELECT ` + holdColumns + ` FROM holds WHERE member_id = ? AND program_id = ?`
	args := []any{memberID, programID}
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, f.Status)
	}
	if f.MerchantID != "" {
		q += ` AND merchant_id = ?`
		args = append(args, f.MerchantID)
	}
	if p.Cursor != "" {
		q += ` AND id < ?`
		args = append(args, p.Cursor)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, p.Limit+1)
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("holds: %w", err)
	}
	defer rows.Close()
	var out []Hold
	for rows.Next() {
		h, err := scanHold(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, "", classify(err)
	}
	out, cur := next(out, p.Limit, func(h Hold) string { return h.ID })
	return out, cur, nil
}

// HoldsDue lists the IDs and members of held holds past their expiry.
func (c *Conn) HoldsDue(ctx context.Context, programID string, asOf time.Time, limit int) ([]Hold, error) {
	return scanHolds(c.query(ctx, `SELECT `+holdColumns+` FROM holds WHERE program_id = ? AND status = 'held'
		AND expires_at <= ? ORDER BY expires_at, id LIMIT ?`, programID, ms(asOf), limit))
}

// MemberHeldHolds lists a member's holds still held in a currency.
func (tx *Tx) MemberHeldHolds(ctx context.Context, programID, memberID, currency string) ([]Hold, error) {
	return scanHolds(tx.query(ctx, `SELECT `+holdColumns+` FROM holds WHERE member_id = ? AND currency = ? AND program_id = ?
		AND status = 'held' ORDER BY id`, memberID, currency, programID))
}
