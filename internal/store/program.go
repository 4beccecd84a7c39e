package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jifen/jifen/internal/failure"
)

// Program is a stored program. Expiry and Settings are JSON that the
// program package gives meaning to.
type Program struct {
	ID               string
	Name             string
	Timezone         string
	Currency         string
	PointsPerYuan    int64
	MaxOffsetPercent int64
	Expiry           json.RawMessage
	NegativeBalance  string
	Settings         json.RawMessage
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

const programColumns = `id, name, timezone, currency, points_per_yuan, max_offset_percent, expiry, negative_balance, settings, created_at, updated_at`

func scanProgram(row interface{ Scan(...any) error }) (Program, error) {
	var p Program
	var expiry, settings string
	var created, updated int64
	err := row.Scan(&p.ID, &p.Name, &p.Timezone, &p.Currency, &p.PointsPerYuan, &p.MaxOffsetPercent,
		&expiry, &p.NegativeBalance, &settings, &created, &updated)
	p.Expiry, p.Settings = json.RawMessage(expiry), json.RawMessage(settings)
	p.CreatedAt, p.UpdatedAt = fromMS(created), fromMS(updated)
	return p, err
}

// InsertProgram creates a program unless one with its ID exists; it
// reports whether it created one.
func (tx *Tx) InsertProgram(ctx context.Context, p Program) (bool, error) {
	res, err := tx.exec(ctx, `INSERT INTO programs (`+programColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		p.ID, p.Name, p.Timezone, p.Currency, p.PointsPerYuan, p.MaxOffsetPercent,
		string(p.Expiry), p.NegativeBalance, string(p.Settings), ms(p.CreatedAt), ms(p.UpdatedAt))
	if err != nil {
		return false, fmt.Errorf("insert program: %w", err)
	}
	return affected(res) == 1, nil
}

// Program reads one program.
func (c *Conn) Program(ctx context.Context, id string) (Program, error) {
	p, err := scanProgram(c.queryRow(ctx, `SELECT `+programColumns+` FROM programs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Program{}, failure.New(failure.NotFound, "program %s not found", id)
	}
	if err != nil {
		return Program{}, classify(fmt.Errorf("program %s: %w", id, err))
	}
	return p, nil
}

// LockProgram reads a program for update.
func (tx *Tx) LockProgram(ctx context.Context, id string) (Program, error) {
	p, err := scanProgram(tx.queryRow(ctx, `SELECT `+programColumns+` FROM programs WHERE id = ? /*lock*/`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Program{}, failure.New(failure.NotFound, "program %s not found", id)
	}
	if err != nil {
		return Program{}, classify(fmt.Errorf("program %s: %w", id, err))
	}
	return p, nil
}

// ProgramIDs lists every program, for jobs that run across all of them.
func (c *Conn) ProgramIDs(ctx context.Context) ([]string, error) {
	rows, err := c.query(ctx, `SELECT id FROM programs ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("programs: %w", err)
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

// UpdateProgram writes every settable field of p.
func (tx *Tx) UpdateProgram(ctx context.Context, p Program) error {
	_, err := tx.exec(ctx, `UPDATE programs SET name = ?, timezone = ?, currency = ?, points_per_yuan = ?,
		max_offset_percent = ?, expiry = ?, negative_balance = ?, settings = ?, updated_at = ? WHERE id = ?`,
		p.Name, p.Timezone, p.Currency, p.PointsPerYuan, p.MaxOffsetPercent, string(p.Expiry),
		p.NegativeBalance, string(p.Settings), ms(p.UpdatedAt), p.ID)
	if err != nil {
		return fmt.Errorf("update program %s: %w", p.ID, err)
	}
	return nil
}

// Currency is a point currency of a program. Expiry is JSON, or nil for
// the program's policy.
type Currency struct {
	Code      string
	Name      string
	Spendable bool
	Expiry    json.RawMessage
	CreatedAt time.Time
}

// InsertCurrency adds a currency; it reports false when the code is taken.
func (tx *Tx) InsertCurrency(ctx context.Context, programID string, c Currency) (bool, error) {
	res, err := tx.exec(ctx, `INSERT INTO currencies (program_id, code, name, spendable, expiry, created_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		programID, c.Code, c.Name, c.Spendable, optJSON(c.Expiry), ms(c.CreatedAt))
	if err != nil {
		return false, fmt.Errorf("insert currency %s: %w", c.Code, err)
	}
	return affected(res) == 1, nil
}

// UpdateCurrency changes a currency's name, spendability and expiry
// policy (lots opened before keep their expires_at).
func (tx *Tx) UpdateCurrency(ctx context.Context, programID string, c Currency) error {
	res, err := tx.exec(ctx, `UPDATE currencies SET name = ?, spendable = ?, expiry = ? WHERE program_id = ? AND code = ?`,
		c.Name, c.Spendable, optJSON(c.Expiry), programID, c.Code)
	if err != nil {
		return classify(fmt.Errorf("update currency %s: %w", c.Code, err))
	}
	if affected(res) == 0 {
		return failure.New(failure.NotFound, "currency %s not found", c.Code)
	}
	return nil
}

// Currencies lists a program's currencies by code.
func (c *Conn) Currencies(ctx context.Context, programID string) ([]Currency, error) {
	rows, err := c.query(ctx, `SELECT code, name, spendable, expiry, created_at FROM currencies
		WHERE program_id = ? ORDER BY code`, programID)
	if err != nil {
		return nil, fmt.Errorf("currencies: %w", err)
	}
	defer rows.Close()
	var out []Currency
	for rows.Next() {
		var cur Currency
		var expiry sql.NullString
		var created int64
		if err := rows.Scan(&cur.Code, &cur.Name, &cur.Spendable, &expiry, &created); err != nil {
			return nil, err
		}
		cur.Expiry, cur.CreatedAt = rawJSON(expiry), fromMS(created)
		out = append(out, cur)
	}
	return out, classify(rows.Err())
}

// Merchant is a shop or brand inside a program.
type Merchant struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

// InsertMerchant adds a merchant.
func (tx *Tx) InsertMerchant(ctx context.Context, programID string, m Merchant) error {
	_, err := tx.exec(ctx, `INSERT INTO merchants (id, program_id, name, created_at) VALUES (?, ?, ?, ?)`,
		m.ID, programID, m.Name, ms(m.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert merchant: %w", err)
	}
	return nil
}

// Merchant reads one merchant of the program.
func (c *Conn) Merchant(ctx context.Context, programID, id string) (Merchant, error) {
	var m Merchant
	var created int64
	err := c.queryRow(ctx, `SELECT id, name, created_at FROM merchants WHERE program_id = ? AND id = ?`,
		programID, id).Scan(&m.ID, &m.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Merchant{}, failure.New(failure.NotFound, "merchant %s not found", id)
	}
	if err != nil {
		return Merchant{}, classify(fmt.Errorf("merchant %s: %w", id, err))
	}
	m.CreatedAt = fromMS(created)
	return m, nil
}

// Merchants lists a program's merchants, newest first.
func (c *Conn) Merchants(ctx context.Context, programID string, p Page) ([]Merchant, string, error) {
	q := `SELECT id, name, created_at FROM merchants WHERE program_id = ?`
	args := []any{programID}
	if p.Cursor != "" {
		q += ` AND id < ?`
		args = append(args, p.Cursor)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, p.Limit+1)
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("merchants: %w", err)
	}
	defer rows.Close()
	var out []Merchant
	for rows.Next() {
		var m Merchant
		var created int64
		if err := rows.Scan(&m.ID, &m.Name, &created); err != nil {
			return nil, "", err
		}
		m.CreatedAt = fromMS(created)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, "", classify(err)
	}
	out, cur := next(out, p.Limit, func(m Merchant) string { return m.ID })
	return out, cur, nil
}
