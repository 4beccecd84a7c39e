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

// APIKey is a stored key. Only the hash of its secret is kept.
type APIKey struct {
	ID         string
	ProgramID  string
	Name       string
	Role       string
	MerchantID null.String
	SecretHash string
	// PublicKey is the base64 Ed25519 public key of a key that signs its
	// requests; such a key has no secret.
	PublicKey null.String
	// Rate is the key's own rate limit; nil: the node's default.
	Rate      *Rate
	CreatedAt time.Time
}

// Rate is a token bucket: PerSecond tokens a second, at most Burst held.
// PerSecond 0 is no limit.
type Rate struct {
	PerSecond float64
	Burst     int
}

const keyColumns = `id, program_id, name, role, merchant_id, secret_hash, public_key, rate_per_second, rate_burst, created_at`

func scanKey(row interface{ Scan(...any) error }) (APIKey, error) {
	var k APIKey
	var created int64
	var perSecond sql.NullFloat64
	var burst sql.NullInt64
	err := row.Scan(&k.ID, &k.ProgramID, &k.Name, &k.Role, &k.MerchantID, &k.SecretHash, &k.PublicKey, &perSecond, &burst, &created)
	k.CreatedAt = fromMS(created)
	if perSecond.Valid {
		k.Rate = &Rate{PerSecond: perSecond.Float64, Burst: int(burst.Int64)}
	}
	return k, err
}

// rateArgs are the rate columns' values.
func rateArgs(r *Rate) (any, any) {
	if r == nil {
		return nil, nil
	}
	return r.PerSecond, int64(r.Burst)
}

// InsertAPIKey stores a key.
func (tx *Tx) InsertAPIKey(ctx context.Context, k APIKey) error {
	perSecond, burst := rateArgs(k.Rate)
	_, err := tx.exec(ctx, `INSERT INTO api_keys (`+keyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.ProgramID, k.Name, k.Role, k.MerchantID, k.SecretHash, k.PublicKey, perSecond, burst, ms(k.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert api key: %w", err)
	}
	return nil
}

// APIKeyByHash finds a live key by the hash of its secret.
func (c *Conn) APIKeyByHash(ctx context.Context, hash string) (APIKey, error) {
	k, err := scanKey(c.queryRow(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE secret_hash = ? AND deleted_at IS NULL`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return APIKey{}, failure.New(failure.NotFound, "no such key")
	}
	if err != nil {
		return APIKey{}, classify(fmt.Errorf("api key: %w", err))
	}
	return k, nil
}

// APIKeyByID finds a live key by its ID, in any programme (a signed
// request names its key).
func (c *Conn) APIKeyByID(ctx context.Context, id string) (APIKey, error) {
	k, err := scanKey(c.queryRow(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE id = ? AND deleted_at IS NULL`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return APIKey{}, failure.New(failure.NotFound, "no such key")
	}
	if err != nil {
		return APIKey{}, classify(fmt.Errorf("api key: %w", err))
	}
	return k, nil
}

// SetAPIKey changes a live key's name and rate limit; it returns the key
// as it now is.
func (tx *Tx) SetAPIKey(ctx context.Context, programID, id, name string, rate *Rate) (APIKey, error) {
	perSecond, burst := rateArgs(rate)
	res, err := tx.exec(ctx, `UPDATE api_keys SET name = ?, rate_per_second = ?, rate_burst = ?
		WHERE program_id = ? AND id = ? AND deleted_at IS NULL`, name, perSecond, burst, programID, id)
	if err != nil {
		return APIKey{}, fmt.Errorf("update api key %s: %w", id, err)
	}
	if affected(res) == 0 {
		return APIKey{}, failure.New(failure.NotFound, "api key %s not found", id)
	}
	return tx.APIKey(ctx, programID, id)
}

// APIKey reads a live key of a programme.
func (tx *Tx) APIKey(ctx context.Context, programID, id string) (APIKey, error) {
	k, err := scanKey(tx.queryRow(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE program_id = ? AND id = ? AND deleted_at IS NULL`, programID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return APIKey{}, failure.New(failure.NotFound, "api key %s not found", id)
	}
	if err != nil {
		return APIKey{}, classify(fmt.Errorf("api key %s: %w", id, err))
	}
	return k, nil
}

// APIKeys lists the live keys of a program, newest first.
func (c *Conn) APIKeys(ctx context.Context, programID string, p Page) ([]APIKey, string, error) {
	q := `SELECT ` + keyColumns + ` FROM api_keys WHERE program_id = ? AND deleted_at IS NULL`
	args := []any{programID}
	if p.Cursor != "" {
		q += ` AND id < ?`
		args = append(args, p.Cursor)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, p.Limit+1)
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("api keys: %w", err)
	}
	defer rows.Close()
	var out []APIKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, "", classify(err)
	}
	out, cur := next(out, p.Limit, func(k APIKey) string { return k.ID })
	return out, cur, nil
}

// CountAPIKeys counts a program's live keys.
func (c *Conn) CountAPIKeys(ctx context.Context, programID string) (int, error) {
	var n int
	err := c.queryRow(ctx, `SELECT COUNT(*) FROM api_keys WHERE program_id = ? AND deleted_at IS NULL`, programID).Scan(&n)
	return n, classify(err)
}

// DeleteAPIKey marks a key deleted; it returns the deleted key's hash.
func (tx *Tx) DeleteAPIKey(ctx context.Context, programID, id string, at time.Time) (string, error) {
	var hash string
	err := tx.queryRow(ctx, `SELECT secret_hash FROM api_keys WHERE program_id = ? AND id = ? AND deleted_at IS NULL`,
		programID, id).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return "", failure.New(failure.NotFound, "api key %s not found", id)
	}
	if err != nil {
		return "", classify(fmt.Errorf("api key %s: %w", id, err))
	}
	if _, err := tx.exec(ctx, `UPDATE api_keys SET deleted_at = ? WHERE program_id = ? AND id = ?`, ms(at), programID, id); err != nil {
		return "", fmt.Errorf("delete api key %s: %w", id, err)
	}
	return hash, nil
}
