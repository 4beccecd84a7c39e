package store

import (
	"context"
	"fmt"
	"time"
)

// ClaimRun claims the scheduled run of job name that is due at now: it
// succeeds on exactly one node per run. The lease row says when the next
// run is due; the winner moves it to nextRun and holds the job until
// lockedUntil (so a run that outlasts its interval is not started twice).
func (tx *Tx) ClaimRun(ctx context.Context, name, holder string, now, nextRun, lockedUntil time.Time) (bool, error) {
	if _, err := tx.exec(ctx, `INSERT INTO job_leases (name, holder, locked_until, next_run_at) VALUES (?, '', 0, 0)
		ON CONFLICT DO NOTHING`, name); err != nil {
		return false, fmt.Errorf("lease %s: %w", name, err)
	}
	res, err := tx.exec(ctx, `UPDATE job_leases SET holder = ?, locked_until = ?, next_run_at = ?
		WHERE name = ? AND next_run_at <= ? AND locked_until <= ?`,
		holder, ms(lockedUntil), ms(nextRun), name, ms(now), ms(now))
	if err != nil {
		return false, fmt.Errorf("lease %s: %w", name, err)
	}
	return affected(res) == 1, nil
}

// ReleaseRun ends a claimed run early, so the next is not held back.
func (tx *Tx) ReleaseRun(ctx context.Context, name, holder string) error {
	_, err := tx.exec(ctx, `UPDATE job_leases SET locked_until = 0 WHERE name = ? AND holder = ?`, name, holder)
	if err != nil {
		return fmt.Errorf("release lease %s: %w", name, err)
	}
	return nil
}
