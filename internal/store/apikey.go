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
	CreatedAt  time.Time
}

const keyColumns = `id, program_id, name, role, merchant_id, secret_hash, created_at`

func scanKey(row interface{ Scan(...any) error }) (APIKey, error) {
	var k APIKey
	var created int64
	err := row.Scan(&k.ID, &k.ProgramID, &k.Name, &k.Role, &k.MerchantID, &k.SecretHash, &created)
	k.CreatedAt = fromMS(created)
	return k, err
}

// InsertAPIKey stores a key.
func (tx *Tx) InsertAPIKey(ctx context.Context, k APIKey) error {
	_, err := tx.exec(ctx, `INSERT INTO api_keys (`+keyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.ProgramID, k.Name, k.Role, k.MerchantID, k.SecretHash, ms(k.CreatedAt))
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
