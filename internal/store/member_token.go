package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// EnsureMemberTokenSecret reads a programme's member-token secret, making
// it (with fresh, the value to store) the first time.
func (tx *Tx) EnsureMemberTokenSecret(ctx context.Context, programID, fresh string, now time.Time) (string, error) {
	if _, err := tx.exec(ctx, `INSERT INTO member_token_keys (program_id, secret, created_at) VALUES (?, ?, ?)
		ON CONFLICT DO NOTHING`, programID, fresh, ms(now)); err != nil {
		return "", fmt.Errorf("member token secret: %w", err)
	}
	return tx.Conn.MemberTokenSecret(ctx, programID)
}

// MemberTokenSecret reads a programme's member-token secret ("" when it
// has none yet).
func (c *Conn) MemberTokenSecret(ctx context.Context, programID string) (string, error) {
	var s string
	err := c.queryRow(ctx, `SELECT secret FROM member_token_keys WHERE program_id = ?`, programID).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return s, classify(err)
}
