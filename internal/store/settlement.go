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

// SettlementTerms are what a merchant's points are worth to the alliance
// and what it pays. PointValueFen empty: 100 / points_per_yuan, whatever
// that is at the time.
type SettlementTerms struct {
	MerchantID    string
	PointValueFen null.String // decimal string
	FeePercent    string      // decimal string
	Breakage      string      // issuer | program
	UpdatedAt     time.Time
}

// PutSettlementTerms sets a merchant's terms.
func (tx *Tx) PutSettlementTerms(ctx context.Context, programID string, t SettlementTerms) error {
	_, err := tx.exec(ctx, `INSERT INTO settlement_terms (program_id, merchant_id, point_value_fen, fee_percent, breakage, updated_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (program_id, merchant_id) DO UPDATE SET
		point_value_fen = excluded.point_value_fen, fee_percent = excluded.fee_percent,
		breakage = excluded.breakage, updated_at = excluded.updated_at`,
		programID, t.MerchantID, t.PointValueFen, t.FeePercent, t.Breakage, ms(t.UpdatedAt))
	if err != nil {
		return fmt.Errorf("put settlement terms: %w", err)
	}
	return nil
}

// AllSettlementTerms reads the terms of every merchant that has some.
func (c *Conn) AllSettlementTerms(ctx context.Context, programID string) ([]SettlementTerms, error) {
	rows, err := c.query(ctx, `SELECT merchant_id, point_value_fen, fee_percent, breakage, updated_at
		FROM settlement_terms WHERE program_id = ? ORDER BY merchant_id`, programID)
	if err != nil {
		return nil, fmt.Errorf("settlement terms: %w", err)
	}
	defer rows.Close()
	var out []SettlementTerms
	for rows.Next() {
		var t SettlementTerms
		var at int64
		if err := rows.Scan(&t.MerchantID, &t.PointValueFen, &t.FeePercent, &t.Breakage, &at); err != nil {
			return nil, err
		}
		t.UpdatedAt = fromMS(at)
		out = append(out, t)
	}
	return out, classify(rows.Err())
}

// Statement statuses.
const (
	StatementDraft  = "draft"
	StatementClosed = "closed"
)

// Statement is a settlement statement of one currency for [From, To).
// Lines and Pairs are JSON, set when it closes.
type Statement struct {
	ID        string
	Currency  string
	Status    string
	From, To  time.Time
	Lines     null.String
	Pairs     null.String
	CreatedAt time.Time
	ClosedAt  *time.Time
}

const statementColumns = `id, currency, status, from_at, to_at, lines, pairs, created_at, closed_at`

func scanStatement(row interface{ Scan(...any) error }) (Statement, error) {
	var s Statement
	var from, to, created int64
	var closed sql.NullInt64
	err := row.Scan(&s.ID, &s.Currency, &s.Status, &from, &to, &s.Lines, &s.Pairs, &created, &closed)
	s.From, s.To, s.CreatedAt, s.ClosedAt = fromMS(from), fromMS(to), fromMS(created), fromOptMS(closed)
	return s, err
}

// InsertStatement stores a new draft. A second draft of the currency is a
// conflict.
func (tx *Tx) InsertStatement(ctx context.Context, programID string, s Statement) error {
	// The partial unique index statements_one_draft allows one draft per
	// currency; a second is not inserted, on either backend and under any
	// concurrency.
	res, err := tx.exec(ctx, `INSERT INTO statements (program_id, `+statementColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`,
		programID, s.ID, s.Currency, s.Status, ms(s.From), ms(s.To), s.Lines, s.Pairs, ms(s.CreatedAt), optMS(s.ClosedAt))
	if err != nil {
		return fmt.Errorf("insert statement: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("insert statement: %w", err)
	} else if n == 0 {
		return failure.New(failure.Conflict, "a draft statement of %s is open: close or delete it first", s.Currency)
	}
	return nil
}

// Statement reads one statement of the program.
func (c *Conn) Statement(ctx context.Context, programID, id string) (Statement, error) {
	s, err := scanStatement(c.queryRow(ctx, `SELECT `+statementColumns+` FROM statements WHERE id = ? AND program_id = ?`, id, programID))
	if errors.Is(err, sql.ErrNoRows) {
		return Statement{}, failure.New(failure.NotFound, "statement %s not found", id)
	}
	if err != nil {
		return Statement{}, classify(fmt.Errorf("statement %s: %w", id, err))
	}
	return s, nil
}

// Statements lists a program's statements, newest first.
func (c *Conn) Statements(ctx context.Context, programID string, p Page) ([]Statement, string, error) {
	q := `SELECT ` + statementColumns + ` FROM statements WHERE program_id = ?`
	args := []any{programID}
	if p.Cursor != "" {
		q += ` AND id < ?`
		args = append(args, p.Cursor)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, p.Limit+1)
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("statements: %w", err)
	}
	defer rows.Close()
	var out []Statement
	for rows.Next() {
		s, err := scanStatement(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, "", classify(err)
	}
	out, cur := next(out, p.Limit, func(s Statement) string { return s.ID })
	return out, cur, nil
}

// LastClosedTo is the end of the program's latest closed statement of the
// currency; false when none has closed.
func (c *Conn) LastClosedTo(ctx context.Context, programID, currency string) (time.Time, bool, error) {
	var to sql.NullInt64
	err := c.queryRow(ctx, `SELECT MAX(to_at) FROM statements WHERE program_id = ? AND currency = ? AND status = 'closed'`,
		programID, currency).Scan(&to)
	if err != nil {
		return time.Time{}, false, classify(fmt.Errorf("last statement: %w", err))
	}
	return fromMS(to.Int64), to.Valid, nil
}

// DeleteDraft deletes a draft statement: a closed one is a conflict.
func (tx *Tx) DeleteDraft(ctx context.Context, programID, id string) error {
	s, err := tx.Statement(ctx, programID, id)
	if err != nil {
		return err
	}
	res, err := tx.exec(ctx, `DELETE FROM statements WHERE id = ? AND program_id = ? AND status = 'draft'`, id, programID)
	if err != nil {
		return fmt.Errorf("delete statement %s: %w", id, err)
	}
	if affected(res) == 0 {
		return failure.New(failure.Conflict, "statement %s is %s", id, s.Status)
	}
	return nil
}

// BeginClose marks a draft closed at now, so that no other close or delete
// takes it; the caller then settles its moves and stores its figures in the
// same transaction. A statement no longer draft is a conflict.
func (tx *Tx) BeginClose(ctx context.Context, programID, id string, now time.Time) (Statement, error) {
	res, err := tx.exec(ctx, `UPDATE statements SET status = 'closed', closed_at = ? WHERE id = ? AND program_id = ? AND status = 'draft'`,
		ms(now), id, programID)
	if err != nil {
		return Statement{}, fmt.Errorf("close statement %s: %w", id, err)
	}
	s, err := tx.Statement(ctx, programID, id)
	if err != nil {
		return Statement{}, err
	}
	if affected(res) == 0 {
		return Statement{}, failure.New(failure.Conflict, "statement %s is %s", id, s.Status)
	}
	return s, nil
}

// SetStatementFigures stores a closed statement's lines and pairs (JSON).
func (tx *Tx) SetStatementFigures(ctx context.Context, programID, id, lines, pairs string) error {
	_, err := tx.exec(ctx, `UPDATE statements SET lines = ?, pairs = ? WHERE id = ? AND program_id = ?`, lines, pairs, id, programID)
	if err != nil {
		return fmt.Errorf("statement %s figures: %w", id, err)
	}
	return nil
}

// MoveSum is the sum of one kind of lot move between one issuer and one
// place.
type MoveSum struct {
	IssuerMerchantID null.String
	AtMerchantID     null.String
	Kind             string
	Points           int64
}

const moveSumSelect = `SELECT issuer_merchant_id, at_merchant_id, kind, SUM(points) FROM lot_moves `
const moveSumGroup = ` GROUP BY issuer_merchant_id, at_merchant_id, kind`
const unsettledWhere = `WHERE program_id = ? AND currency = ? AND statement_id IS NULL AND created_at < ?`

// UnsettledSums sums the unsettled moves of the currency recorded before
// to, by issuer, place and kind: a draft's figures. The partial index
// lot_moves_unsettled holds exactly these moves.
func (c *Conn) UnsettledSums(ctx context.Context, programID, currency string, to time.Time) ([]MoveSum, error) {
	return c.moveSums(ctx, moveSumSelect+unsettledWhere+moveSumGroup, programID, currency, ms(to))
}

// SettleMoves marks every unsettled move of the currency recorded before
// to as settled by statement id, and returns the sums of exactly the moves
// it marked, by issuer, place and kind. On PostgreSQL one statement marks
// and sums (UPDATE … RETURNING in a CTE): a move committed by another
// transaction meanwhile is either marked and counted or neither. SQLite's
// one writer makes sum-then-mark just as exact.
func (tx *Tx) SettleMoves(ctx context.Context, programID, currency string, to time.Time, id string) ([]MoveSum, error) {
	if tx.d.postgres {
		return tx.moveSums(ctx, `WITH m AS (UPDATE lot_moves SET statement_id = ? `+unsettledWhere+`
			RETURNING issuer_merchant_id, at_merchant_id, kind, points)
			SELECT issuer_merchant_id, at_merchant_id, kind, SUM(points) FROM m`+moveSumGroup,
			id, programID, currency, ms(to))
	}
	sums, err := tx.UnsettledSums(ctx, programID, currency, to)
	if err != nil {
		return nil, err
	}
	if _, err := tx.exec(ctx, `UPDATE lot_moves SET statement_id = ? `+unsettledWhere, id, programID, currency, ms(to)); err != nil {
		return nil, fmt.Errorf("settle moves: %w", err)
	}
	return sums, nil
}

func (c *Conn) moveSums(ctx context.Context, q string, args ...any) ([]MoveSum, error) {
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("move sums: %w", err)
	}
	defer rows.Close()
	var out []MoveSum
	for rows.Next() {
		var s MoveSum
		if err := rows.Scan(&s.IssuerMerchantID, &s.AtMerchantID, &s.Kind, &s.Points); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, classify(rows.Err())
}

// ExplainUnsettledSums returns the plan of UnsettledSums, for the tests
// that check lot_moves_unsettled serves it. With force (PostgreSQL), the
// plan is asked with sequential scans off: whether the partial index can
// serve the query at all, which the planner then takes whenever the
// unsettled moves are a small part of the table (a live programme's case;
// a first statement, or a small table, is rightly scanned whole).
func (c *Conn) ExplainUnsettledSums(ctx context.Context, programID, currency string, to time.Time, force bool) (string, error) {
	q := moveSumSelect + unsettledWhere + moveSumGroup
	prefix := "EXPLAIN QUERY PLAN "
	if c.d.postgres {
		prefix = "EXPLAIN "
	}
	pool, ok := c.q.(*sql.DB)
	if !ok {
		return "", fmt.Errorf("explain: not on a pool")
	}
	tx, err := pool.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return "", classify(err)
	}
	defer tx.Rollback()
	if force && c.d.postgres {
		if _, err := tx.ExecContext(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
			return "", classify(err)
		}
	}
	rows, err := tx.QueryContext(ctx, c.d.render(prefix+q), programID, currency, ms(to))
	if err != nil {
		return "", classify(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var plan string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		plan += fmt.Sprintln(vals...)
	}
	return plan, classify(rows.Err())
}
