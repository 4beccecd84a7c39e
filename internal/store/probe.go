package store

import (
	"context"
	"fmt"
	"time"
)

// CommitProbe measures the floor of a write on this database with these
// driver settings: it returns a function that inserts one row in a
// transaction of its own, outside the group-commit writer. The probe's
// table is made here and dropped by drop.
func (db *DB) CommitProbe(ctx context.Context) (insert func(ctx context.Context) error, drop func(), err error) {
	const ddl = `CREATE TABLE IF NOT EXISTS bench_commit (id BIGINT NOT NULL, at BIGINT NOT NULL)`
	if _, err := db.write.ExecContext(ctx, ddl); err != nil {
		return nil, nil, fmt.Errorf("commit probe: %w", err)
	}
	q := db.d.render(`INSERT INTO bench_commit (id, at) VALUES (?, ?)`)
	var n int64
	insert = func(ctx context.Context) error {
		tx, err := db.write.BeginTx(ctx, nil)
		if err != nil {
			return classify(err)
		}
		defer tx.Rollback()
		n++
		if _, err := tx.ExecContext(ctx, q, n, time.Now().UnixMilli()); err != nil {
			return classify(err)
		}
		return classify(tx.Commit())
	}
	drop = func() { db.write.ExecContext(context.Background(), `DROP TABLE IF EXISTS bench_commit`) }
	return insert, drop, nil
}
