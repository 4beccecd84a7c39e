package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/null"
)

// Lot statuses.
const (
	LotPending   = "pending"
	LotAvailable = "available"
	LotSpent     = "spent"
	LotExpired   = "expired"
	LotReversed  = "reversed"
)

// Lot holds the points of one earn. Spends draw on lots soonest-expiring
// first; 0 <= Remaining <= Amount.
type Lot struct {
	ID            string
	MemberID      string
	Currency      string
	Amount        int64
	Remaining     int64
	Status        string
	AvailableAt   time.Time
	ExpiresAt     *time.Time
	MerchantID    null.String
	TransactionID string
	CreatedAt     time.Time
}

const lotColumns = `id, member_id, currency, amount, remaining, status, available_at, expires_at, merchant_id, transaction_id, created_at`

func scanLot(row interface{ Scan(...any) error }) (Lot, error) {
	var l Lot
	var avail, created int64
	var exp sql.NullInt64
	err := row.Scan(&l.ID, &l.MemberID, &l.Currency, &l.Amount, &l.Remaining, &l.Status, &avail, &exp,
		&l.MerchantID, &l.TransactionID, &created)
	l.AvailableAt, l.ExpiresAt, l.CreatedAt = fromMS(avail), fromOptMS(exp), fromMS(created)
	return l, err
}

func scanLots(rows *sql.Rows, err error) ([]Lot, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Lot
	for rows.Next() {
		l, err := scanLot(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, classify(rows.Err())
}

// InsertLot stores a new lot.
func (tx *Tx) InsertLot(ctx context.Context, programID string, l Lot) error {
	_, err := tx.exec(ctx, `INSERT INTO lots (program_id, `+lotColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		programID, l.ID, l.MemberID, l.Currency, l.Amount, l.Remaining, l.Status, ms(l.AvailableAt),
		optMS(l.ExpiresAt), l.MerchantID, l.TransactionID, ms(l.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert lot: %w", err)
	}
	return nil
}

// UpdateLot writes a lot's remaining points and status.
func (tx *Tx) UpdateLot(ctx context.Context, programID, id string, remaining int64, status string) error {
	_, err := tx.exec(ctx, `UPDATE lots SET remaining = ?, status = ? WHERE id = ? AND program_id = ?`,
		remaining, status, id, programID)
	if err != nil {
		return fmt.Errorf("update lot %s: %w", id, err)
	}
	return nil
}

// fifo is the order spends take lots in: soonest expiry first, lots that
// never expire last, then oldest first.
const fifo = ` ORDER BY CASE WHEN expires_at IS NULL THEN 1 ELSE 0 END, expires_at, created_at, id`

// SpendableLots lists a member's available lots with points left, in the
// order spends take them. The caller holds the balance lock.
func (tx *Tx) SpendableLots(ctx context.Context, programID, memberID, currency string) ([]Lot, error) {
	lots, err := scanLots(tx.query(ctx, `SELECT `+lotColumns+` FROM lots
		WHERE member_id = ? AND currency = ? AND status = 'available' AND remaining > 0 AND program_id = ?`+fifo,
		memberID, currency, programID))
	if err != nil {
		return nil, fmt.Errorf("spendable lots: %w", err)
	}
	return lots, nil
}

// LotsByID reads lots of the program by ID.
func (c *Conn) LotsByID(ctx context.Context, programID string, ids []string) (map[string]Lot, error) {
	out := make(map[string]Lot, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	args := []any{programID}
	for _, id := range ids {
		args = append(args, id)
	}
	lots, err := scanLots(c.query(ctx, `SELECT `+lotColumns+` FROM lots WHERE program_id = ? AND id IN (`+
		strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ")+`)`, args...))
	if err != nil {
		return nil, fmt.Errorf("lots: %w", err)
	}
	for _, l := range lots {
		out[l.ID] = l
	}
	return out, nil
}

// LotOfTransaction reads the lot an earn opened.
func (c *Conn) LotOfTransaction(ctx context.Context, programID, txnID string) (Lot, error) {
	l, err := scanLot(c.queryRow(ctx, `SELECT `+lotColumns+` FROM lots WHERE transaction_id = ? AND program_id = ?`, txnID, programID))
	if errors.Is(err, sql.ErrNoRows) {
		return Lot{}, failure.New(failure.NotFound, "transaction %s opened no lot", txnID)
	}
	if err != nil {
		return Lot{}, classify(fmt.Errorf("lot of %s: %w", txnID, err))
	}
	return l, nil
}

// MemberLots lists a member's lots, newest first.
func (c *Conn) MemberLots(ctx context.Context, programID, memberID string, f LotFilter, p Page) ([]Lot, string, error) {
	q := `SELECT ` + lotColumns + ` FROM lots WHERE member_id = ? AND program_id = ?`
	args := []any{memberID, programID}
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, f.Status)
	}
	if f.Currency != "" {
		q += ` AND currency = ?`
		args = append(args, f.Currency)
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
	lots, err := scanLots(c.query(ctx, q, args...))
	if err != nil {
		return nil, "", fmt.Errorf("member lots: %w", err)
	}
	lots, cur := next(lots, p.Limit, func(l Lot) string { return l.ID })
	return lots, cur, nil
}

// LotFilter selects a member's lots.
type LotFilter struct {
	Status     string
	Currency   string
	MerchantID string // only lots this merchant issued
}

// MemberCurrency names one member's balance in one currency.
type MemberCurrency struct {
	MemberID string
	Currency string
}

// LotsDue lists (member, currency) pairs with lots due to expire at asOf
// (available or pending lots whose expires_at <= asOf), at most limit.
func (c *Conn) LotsDue(ctx context.Context, programID string, asOf time.Time, limit int) ([]MemberCurrency, error) {
	return c.pairs(ctx, `SELECT DISTINCT member_id, currency FROM lots WHERE program_id = ?
		AND status IN ('available', 'pending') AND expires_at <= ? ORDER BY member_id, currency LIMIT ?`,
		programID, ms(asOf), limit)
}

// PendingDue lists (member, currency) pairs with pending lots that become
// available at asOf.
func (c *Conn) PendingDue(ctx context.Context, programID string, asOf time.Time, limit int) ([]MemberCurrency, error) {
	return c.pairs(ctx, `SELECT DISTINCT member_id, currency FROM lots WHERE program_id = ?
		AND status = 'pending' AND available_at <= ? ORDER BY member_id, currency LIMIT ?`,
		programID, ms(asOf), limit)
}

func (c *Conn) pairs(ctx context.Context, q string, args ...any) ([]MemberCurrency, error) {
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []MemberCurrency
	for rows.Next() {
		var p MemberCurrency
		if err := rows.Scan(&p.MemberID, &p.Currency); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, classify(rows.Err())
}

// MemberLotsDue lists one member's lots due to expire at asOf. The caller
// holds the balance lock.
func (tx *Tx) MemberLotsDue(ctx context.Context, programID, memberID, currency string, asOf time.Time) ([]Lot, error) {
	return scanLots(tx.query(ctx, `SELECT `+lotColumns+` FROM lots WHERE member_id = ? AND currency = ?
		AND program_id = ? AND status IN ('available', 'pending') AND expires_at <= ?`+fifo,
		memberID, currency, programID, ms(asOf)))
}

// MemberPendingDue lists one member's pending lots that become available
// at asOf. The caller holds the balance lock.
func (tx *Tx) MemberPendingDue(ctx context.Context, programID, memberID, currency string, asOf time.Time) ([]Lot, error) {
	return scanLots(tx.query(ctx, `SELECT `+lotColumns+` FROM lots WHERE member_id = ? AND currency = ?
		AND program_id = ? AND status = 'pending' AND available_at <= ?`+fifo,
		memberID, currency, programID, ms(asOf)))
}

// MemberLiveLots lists a member's lots with points in them (available or
// pending), for erasure.
func (tx *Tx) MemberLiveLots(ctx context.Context, programID, memberID, currency string) ([]Lot, error) {
	return scanLots(tx.query(ctx, `SELECT `+lotColumns+` FROM lots WHERE member_id = ? AND currency = ?
		AND program_id = ? AND status IN ('available', 'pending') AND remaining > 0`+fifo,
		memberID, currency, programID))
}

// Lot move kinds.
const (
	MoveIssue  = "issue"  // + an earn opens the lot
	MoveClaw   = "claw"   // − an earn's reversal
	MoveRedeem = "redeem" // − spend, hold (captured later), debt repayment
	MoveReturn = "return" // + a spend's reversal, a release
	MoveExpire = "expire" // −
)

// LotMove is one change of a lot's remaining points.
type LotMove struct {
	LotID            string
	TransactionID    string
	Kind             string
	Points           int64
	IssuerMerchantID null.String
	AtMerchantID     null.String
	CreatedAt        time.Time
	Currency         string // the lot's
}

// InsertMoves stores lot moves.
func (tx *Tx) InsertMoves(ctx context.Context, programID string, moves []LotMove) error {
	if len(moves) == 0 {
		return nil
	}
	args := make([]any, 0, 9*len(moves))
	for _, m := range moves {
		args = append(args, programID, m.LotID, m.TransactionID, m.Kind, m.Points, m.IssuerMerchantID, m.AtMerchantID, ms(m.CreatedAt), m.Currency)
	}
	_, err := tx.exec(ctx, `INSERT INTO lot_moves (program_id, lot_id, transaction_id, kind, points,
		issuer_merchant_id, at_merchant_id, created_at, currency) VALUES `+placeholders(len(moves), 9), args...)
	if err != nil {
		return fmt.Errorf("insert lot moves: %w", err)
	}
	return nil
}

// MovesOf lists the lot moves of the given transactions in the order they
// were written.
func (c *Conn) MovesOf(ctx context.Context, programID string, txnIDs ...string) ([]LotMove, error) {
	if len(txnIDs) == 0 {
		return nil, nil
	}
	args := []any{programID}
	for _, id := range txnIDs {
		args = append(args, id)
	}
	rows, err := c.query(ctx, `SELECT lot_id, transaction_id, kind, points, issuer_merchant_id, at_merchant_id, created_at, currency
		FROM lot_moves WHERE program_id = ? AND transaction_id IN (`+
		strings.TrimSuffix(strings.Repeat("?, ", len(txnIDs)), ", ")+`) ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("lot moves: %w", err)
	}
	defer rows.Close()
	var out []LotMove
	for rows.Next() {
		var m LotMove
		var at int64
		if err := rows.Scan(&m.LotID, &m.TransactionID, &m.Kind, &m.Points, &m.IssuerMerchantID, &m.AtMerchantID, &at, &m.Currency); err != nil {
			return nil, err
		}
		m.CreatedAt = fromMS(at)
		out = append(out, m)
	}
	return out, classify(rows.Err())
}
