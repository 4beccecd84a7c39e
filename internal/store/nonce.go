package store

import (
	"context"
	"fmt"
	"time"
)

// InsertNonce records the nonce of a signed request. It reports false,
// changing nothing, when the key has used the nonce before (a replay).
func (tx *Tx) InsertNonce(ctx context.Context, keyID, nonce string, at time.Time) (bool, error) {
	res, err := tx.exec(ctx, `INSERT INTO request_nonces (key_id, nonce, at) VALUES (?, ?, ?)
		ON CONFLICT (key_id, nonce) DO NOTHING`, keyID, nonce, ms(at))
	if err != nil {
		return false, fmt.Errorf("insert nonce: %w", err)
	}
	return affected(res) == 1, nil
}

// PurgeNonces deletes up to limit nonces recorded before cutoff; it
// returns how many it deleted.
func (tx *Tx) PurgeNonces(ctx context.Context, cutoff time.Time, limit int) (int64, error) {
	res, err := tx.exec(ctx, `DELETE FROM request_nonces WHERE (key_id, nonce) IN
		(SELECT key_id, nonce FROM request_nonces WHERE at < ? LIMIT ?)`, ms(cutoff), limit)
	if err != nil {
		return 0, fmt.Errorf("purge nonces: %w", err)
	}
	return affected(res), nil
}
