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

// Txn is a ledger transaction: one operation on one member's points in one
// currency, with postings that sum to zero.
type Txn struct {
	ID         string
	Type       string
	MemberID   string
	Currency   string
	Points     int64
	MerchantID null.String
	Reference  null.String
	Reason     null.String
	Metadata   json.RawMessage
	Status     string
	CreatedAt  time.Time
	Reverses   null.String
	HoldID     null.String
	Reversed   int64
}

// Posting is one leg of a transaction: an amount into (+) or out of (−) an
// account. Member accounts carry the member ID.
type Posting struct {
	Account  string
	MemberID string
	Currency string
	Amount   int64
}

const txnColumns = `id, type, member_id, currency, points, merchant_id, reference, reason, metadata, status, created_at, reverses, hold_id, reversed`

func scanTxn(row interface{ Scan(...any) error }) (Txn, error) {
	var t Txn
	var meta sql.NullString
	var created int64
	err := row.Scan(&t.ID, &t.Type, &t.MemberID, &t.Currency, &t.Points, &t.MerchantID, &t.Reference, &t.Reason,
		&meta, &t.Status, &created, &t.Reverses, &t.HoldID, &t.Reversed)
	t.Metadata, t.CreatedAt = rawJSON(meta), fromMS(created)
	return t, err
}

// InsertTxn stores a transaction and its postings.
func (tx *Tx) InsertTxn(ctx context.Context, programID string, t Txn, postings []Posting) error {
	_, err := tx.exec(ctx, `INSERT INTO transactions (program_id, `+txnColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		programID, t.ID, t.Type, t.MemberID, t.Currency, t.Points, t.MerchantID, t.Reference, t.Reason,
		optJSON(t.Metadata), t.Status, ms(t.CreatedAt), t.Reverses, t.HoldID, t.Reversed)
	if err != nil {
		return fmt.Errorf("insert transaction: %w", err)
	}
	if len(postings) == 0 {
		return nil
	}
	args := make([]any, 0, 7*len(postings))
	for i, p := range postings {
		args = append(args, t.ID, i, programID, p.Account, null.String(p.MemberID), p.Currency, p.Amount)
	}
	_, err = tx.exec(ctx, `INSERT INTO postings (transaction_id, seq, program_id, account, member_id, currency, amount)
		VALUES `+placeholders(len(postings), 7), args...)
	if err != nil {
		return fmt.Errorf("insert postings: %w", err)
	}
	return nil
}

// Txn reads a transaction of the program.
func (c *Conn) Txn(ctx context.Context, programID, id string) (Txn, error) {
	t, err := scanTxn(c.queryRow(ctx, `SELECT `+txnColumns+` FROM transactions WHERE id = ? AND program_id = ?`, id, programID))
	if errors.Is(err, sql.ErrNoRows) {
		return Txn{}, failure.New(failure.NotFound, "transaction %s not found", id)
	}
	if err != nil {
		return Txn{}, classify(fmt.Errorf("transaction %s: %w", id, err))
	}
	return t, nil
}

// AddReversed records that x more points of transaction id were reversed.
func (tx *Tx) AddReversed(ctx context.Context, programID, id string, x int64) error {
	_, err := tx.exec(ctx, `UPDATE transactions SET reversed = reversed + ? WHERE id = ? AND program_id = ?`, x, id, programID)
	if err != nil {
		return fmt.Errorf("mark reversed %s: %w", id, err)
	}
	return nil
}

// SetTxnStatus changes a transaction's status (a pending earn becoming
// completed).
func (tx *Tx) SetTxnStatus(ctx context.Context, programID, id, status string) error {
	_, err := tx.exec(ctx, `UPDATE transactions SET status = ? WHERE id = ? AND program_id = ?`, status, id, programID)
	if err != nil {
		return fmt.Errorf("set status %s: %w", id, err)
	}
	return nil
}

// TxnFilter selects a member's transactions.
type TxnFilter struct {
	Type       string
	Currency   string
	MerchantID string // only transactions of this merchant
}

// MemberTxns lists a member's transactions, newest first.
func (c *Conn) MemberTxns(ctx context.Context, programID, memberID string, f TxnFilter, p Page) ([]Txn, string, error) {
	q := `SELECT ` + txnColumns + ` FROM transactions WHERE member_id = ? AND program_id = ?`
	args := []any{memberID, programID}
	if f.Type != "" {
		q += ` AND type = ?`
		args = append(args, f.Type)
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
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("transactions: %w", err)
	}
	defer rows.Close()
	var out []Txn
	for rows.Next() {
		t, err := scanTxn(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, "", classify(err)
	}
	out, cur := next(out, p.Limit, func(t Txn) string { return t.ID })
	return out, cur, nil
}

// Reversals lists the reversals of a transaction, oldest first.
func (c *Conn) Reversals(ctx context.Context, programID, id string) ([]Txn, error) {
	rows, err := c.query(ctx, `SELECT `+txnColumns+` FROM transactions WHERE reverses = ? AND program_id = ? ORDER BY id`, id, programID)
	if err != nil {
		return nil, fmt.Errorf("reversals: %w", err)
	}
	defer rows.Close()
	var out []Txn
	for rows.Next() {
		t, err := scanTxn(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, classify(rows.Err())
}

// HoldTxnIDs lists the IDs of a hold's transactions of one type.
func (c *Conn) HoldTxnIDs(ctx context.Context, programID, holdID, typ string) ([]string, error) {
	rows, err := c.query(ctx, `SELECT id FROM transactions WHERE hold_id = ? AND type = ? AND program_id = ? ORDER BY id`,
		holdID, typ, programID)
	if err != nil {
		return nil, fmt.Errorf("hold transactions: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, classify(rows.Err())
}
