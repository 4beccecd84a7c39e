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

// Operator is a stored console operator. Only the Argon2id hash of its
// password is kept.
type Operator struct {
	ID           string
	ProgramID    string
	Email        string
	Name         null.String
	Role         string
	MerchantID   null.String
	PasswordHash string
	Status       string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

const operatorColumns = `id, program_id, email, name, role, merchant_id, password_hash, status, created_at, updated_at`

func scanOperator(row interface{ Scan(...any) error }) (Operator, error) {
	var o Operator
	var created, updated int64
	err := row.Scan(&o.ID, &o.ProgramID, &o.Email, &o.Name, &o.Role, &o.MerchantID, &o.PasswordHash, &o.Status, &created, &updated)
	o.CreatedAt, o.UpdatedAt = fromMS(created), fromMS(updated)
	return o, err
}

// InsertOperator stores a new operator; an email already taken (in any
// programme) is a conflict.
func (tx *Tx) InsertOperator(ctx context.Context, o Operator) error {
	res, err := tx.exec(ctx, `INSERT INTO operators (`+operatorColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`, o.ID, o.ProgramID, o.Email, o.Name, o.Role, o.MerchantID, o.PasswordHash, o.Status,
		ms(o.CreatedAt), ms(o.UpdatedAt))
	if err != nil {
		return fmt.Errorf("insert operator: %w", err)
	}
	if affected(res) == 0 {
		return failure.Field("email", "an operator with this email exists").WithKind(failure.Conflict)
	}
	return nil
}

// UpdateOperator writes an operator's name, role, password hash and status.
func (tx *Tx) UpdateOperator(ctx context.Context, o Operator) error {
	_, err := tx.exec(ctx, `UPDATE operators SET name = ?, role = ?, merchant_id = ?, password_hash = ?, status = ?, updated_at = ?
		WHERE id = ? AND program_id = ?`, o.Name, o.Role, o.MerchantID, o.PasswordHash, o.Status, ms(o.UpdatedAt), o.ID, o.ProgramID)
	if err != nil {
		return fmt.Errorf("update operator: %w", err)
	}
	return nil
}

// Operator reads an operator of a programme.
func (c *Conn) Operator(ctx context.Context, programID, id string) (Operator, error) {
	o, err := scanOperator(c.queryRow(ctx, `SELECT `+operatorColumns+` FROM operators WHERE id = ? AND program_id = ?`, id, programID))
	if errors.Is(err, sql.ErrNoRows) {
		return Operator{}, failure.New(failure.NotFound, "operator %s not found", id)
	}
	return o, classify(err)
}

// OperatorByEmail finds an operator by its email, in any programme (a
// login names none).
func (c *Conn) OperatorByEmail(ctx context.Context, email string) (Operator, error) {
	o, err := scanOperator(c.queryRow(ctx, `SELECT `+operatorColumns+` FROM operators WHERE email = ?`, email))
	if errors.Is(err, sql.ErrNoRows) {
		return Operator{}, failure.New(failure.NotFound, "no such operator")
	}
	return o, classify(err)
}

// Operators lists a programme's operators, newest first.
func (c *Conn) Operators(ctx context.Context, programID string, p Page) ([]Operator, string, error) {
	q := `SELECT ` + operatorColumns + ` FROM operators WHERE program_id = ?`
	args := []any{programID}
	if p.Cursor != "" {
		q += ` AND id < ?`
		args = append(args, p.Cursor)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, p.Limit+1)
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("operators: %w", err)
	}
	defer rows.Close()
	var out []Operator
	for rows.Next() {
		o, err := scanOperator(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, "", classify(err)
	}
	out, cur := next(out, p.Limit, func(o Operator) string { return o.ID })
	return out, cur, nil
}

// CountOperators counts the operators of every programme.
func (c *Conn) CountOperators(ctx context.Context) (int, error) {
	var n int
	err := c.queryRow(ctx, `SELECT COUNT(*) FROM operators`).Scan(&n)
	return n, classify(err)
}

// Session is a stored console session: the hash of its cookie's secret.
type Session struct {
	TokenHash  string
	ProgramID  string
	OperatorID string
	CSRFToken  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
}

// InsertSession stores a new session.
func (tx *Tx) InsertSession(ctx context.Context, s Session) error {
	_, err := tx.exec(ctx, `INSERT INTO operator_sessions (token_hash, program_id, operator_id, csrf_token, created_at,
		last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`, s.TokenHash, s.ProgramID, s.OperatorID, s.CSRFToken,
		ms(s.CreatedAt), ms(s.LastSeenAt), ms(s.ExpiresAt))
	if err != nil {
		return fmt.Errorf("insert session: %w", err)
	}
	return nil
}

// SessionByHash reads a session by the hash of its secret.
func (c *Conn) SessionByHash(ctx context.Context, hash string) (Session, error) {
	var s Session
	var created, seen, exp int64
	err := c.queryRow(ctx, `SELECT token_hash, program_id, operator_id, csrf_token, created_at, last_seen_at, expires_at
		FROM operator_sessions WHERE token_hash = ?`, hash).Scan(&s.TokenHash, &s.ProgramID, &s.OperatorID, &s.CSRFToken,
		&created, &seen, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, failure.New(failure.NotFound, "no such session")
	}
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = fromMS(created), fromMS(seen), fromMS(exp)
	return s, classify(err)
}

// TouchSession records a session's use.
func (tx *Tx) TouchSession(ctx context.Context, hash string, at time.Time) error {
	_, err := tx.exec(ctx, `UPDATE operator_sessions SET last_seen_at = ? WHERE token_hash = ?`, ms(at), hash)
	return classify(err)
}

// DeleteSession ends one session.
func (tx *Tx) DeleteSession(ctx context.Context, hash string) error {
	_, err := tx.exec(ctx, `DELETE FROM operator_sessions WHERE token_hash = ?`, hash)
	return classify(err)
}

// DeleteOperatorSessions ends every session of an operator.
func (tx *Tx) DeleteOperatorSessions(ctx context.Context, programID, operatorID string) error {
	_, err := tx.exec(ctx, `DELETE FROM operator_sessions WHERE operator_id = ? AND program_id = ?`, operatorID, programID)
	return classify(err)
}

// AddLoginFailure records a failed login for an email.
func (tx *Tx) AddLoginFailure(ctx context.Context, email string, at time.Time) error {
	_, err := tx.exec(ctx, `INSERT INTO login_failures (email, at) VALUES (?, ?)`, email, ms(at))
	return classify(err)
}

// LoginFailures lists the times of an email's failed logins since since,
// newest first.
func (c *Conn) LoginFailures(ctx context.Context, email string, since time.Time) ([]time.Time, error) {
	rows, err := c.query(ctx, `SELECT at FROM login_failures WHERE email = ? AND at > ? ORDER BY at DESC`, email, ms(since))
	if err != nil {
		return nil, fmt.Errorf("login failures: %w", err)
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var at int64
		if err := rows.Scan(&at); err != nil {
			return nil, err
		}
		out = append(out, fromMS(at))
	}
	return out, classify(rows.Err())
}

// ClearLoginFailures forgets an email's failed logins (it logged in), and
// everyone's older than before.
func (tx *Tx) ClearLoginFailures(ctx context.Context, email string, before time.Time) error {
	_, err := tx.exec(ctx, `DELETE FROM login_failures WHERE email = ? OR at < ?`, email, ms(before))
	return classify(err)
}
