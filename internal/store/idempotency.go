package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jifen/jifen/internal/null"
)

// IdemRecord is a stored response to an idempotent request.
type IdemRecord struct {
	RequestHash string
	Status      int
	Body        []byte
	MemberID    null.String // the member the write was about, so erasing it finds this record
}

// Idempotent looks a key up; ok is false when the key is new.
func (c *Conn) Idempotent(ctx context.Context, programID, key string) (rec IdemRecord, ok bool, err error) {
	err = c.queryRow(ctx, `SELECT request_hash, status, body FROM idempotency WHERE program_id = ? AND key = ?`,
		programID, key).Scan(&rec.RequestHash, &rec.Status, &rec.Body)
	if errors.Is(err, sql.ErrNoRows) {
		return IdemRecord{}, false, nil
	}
	if err != nil {
		return IdemRecord{}, false, classify(fmt.Errorf("idempotency key: %w", err))
	}
	return rec, true, c.openBytes("idempotency", "body", &rec.Body, programID, key)
}

// ErrRace means a concurrent duplicate — another request with the same
// idempotency key, the same event id — committed first. The caller runs
// the request again, and this time it finds and replays what the first
// one stored.
var ErrRace = errors.New("store: a concurrent duplicate committed first")

// ClaimIdempotent takes a key for this transaction before its effect. If
// another transaction holds it, PostgreSQL makes this one wait until that
// one ends; if the key is taken (by a commit, or earlier in this batch) it
// returns ErrRace, so a concurrent duplicate never runs its effect and
// is answered with the first response instead.
func (tx *Tx) ClaimIdempotent(ctx context.Context, programID, key, hash string, now time.Time) error {
	res, err := tx.exec(ctx, `INSERT INTO idempotency (program_id, key, request_hash, status, body, created_at)
		VALUES (?, ?, ?, 0, ?, ?) ON CONFLICT DO NOTHING`, programID, key, hash, []byte{}, ms(now))
	if err != nil {
		return fmt.Errorf("claim idempotency key: %w", err)
	}
	if affected(res) == 0 {
		return ErrRace
	}
	return nil
}

// PutIdempotent stores the response to a key claimed in this transaction.
func (tx *Tx) PutIdempotent(ctx context.Context, programID, key string, rec IdemRecord, now time.Time) error {
	if rec.Body == nil {
		rec.Body = []byte{} // a 204 has no body; the column is NOT NULL
	}
	_, err := tx.exec(ctx, `UPDATE idempotency SET request_hash = ?, status = ?, body = ?, member_id = ?
		WHERE program_id = ? AND key = ?`, rec.RequestHash, rec.Status, tx.sealBytes("idempotency", "body", rec.Body, programID, key),
		rec.MemberID, programID, key)
	if err != nil {
		return fmt.Errorf("store idempotency key: %w", err)
	}
	return nil
}

// PurgeIdempotent deletes keys stored before cutoff, at most limit of them.
func (tx *Tx) PurgeIdempotent(ctx context.Context, cutoff time.Time, limit int) (int64, error) {
	res, err := tx.exec(ctx, `DELETE FROM idempotency WHERE key IN (SELECT key FROM idempotency WHERE created_at < ? LIMIT ?)
		AND created_at < ?`, ms(cutoff), limit, ms(cutoff))
	if err != nil {
		return 0, fmt.Errorf("purge idempotency keys: %w", err)
	}
	return affected(res), nil
}
