package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations
var migrations embed.FS

// goSteps are what a migration does beyond its SQL, in Go, in the same
// transaction after it: work that needs what SQL cannot do on both
// backends (a programme's timezone, say).
var goSteps = map[int]func(ctx context.Context, c *Conn) error{
	11: activityBackfill,
	12: identityBackfill,
}

type migration struct {
	version int
	name    string
	sql     string
}

func (d *dialect) migrations() ([]migration, error) {
	dir := path.Join("migrations", d.name())
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		v, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("migration %s: no version number", name)
		}
		b, err := migrations.ReadFile(path.Join(dir, name))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// Migrate applies the embedded migrations that have not been applied, each
// in a transaction of its own. On PostgreSQL an advisory lock makes nodes
// that start together take turns. It returns the versions it applied.
func (db *DB) Migrate(ctx context.Context) ([]int, error) {
	ms, err := db.d.migrations()
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return nil, classify(fmt.Errorf("migrate: %w", err))
	}
	defer conn.Close()
	if db.d.postgres {
		// A session lock, held across the per-migration transactions.
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(7412001)"); err != nil {
			return nil, classify(fmt.Errorf("migrate: lock: %w", err))
		}
		defer conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock(7412001)")
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return nil, classify(fmt.Errorf("migrate: %w", err))
	}
	var applied []int
	for _, m := range ms {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return applied, classify(fmt.Errorf("migrate %s: %w", m.name, err))
		}
		var n int
		if err := tx.QueryRowContext(ctx, db.d.render("SELECT COUNT(*) FROM schema_migrations WHERE version = ?"), m.version).Scan(&n); err != nil {
			tx.Rollback()
			return applied, fmt.Errorf("migrate %s: %w", m.name, err)
		}
		if n > 0 {
			tx.Rollback()
			continue
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			tx.Rollback()
			return applied, fmt.Errorf("migrate %s: %w", m.name, err)
		}
		if step := goSteps[m.version]; step != nil {
			if err := step(ctx, &Conn{q: tx, d: db.d, tx: tx, keys: db.keys}); err != nil {
				tx.Rollback()
				return applied, fmt.Errorf("migrate %s: %w", m.name, err)
			}
		}
		if _, err := tx.ExecContext(ctx, db.d.render("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"),
			m.version, m.name, time.Now().UnixMilli()); err != nil {
			tx.Rollback()
			return applied, fmt.Errorf("migrate %s: %w", m.name, err)
		}
		if err := tx.Commit(); err != nil {
			return applied, classify(fmt.Errorf("migrate %s: commit: %w", m.name, err))
		}
		applied = append(applied, m.version)
	}
	return applied, nil
}

// MigrationsCurrent reports whether every embedded migration has been
// applied, for /readyz.
func (db *DB) MigrationsCurrent(ctx context.Context) (bool, error) {
	ms, err := db.d.migrations()
	if err != nil {
		return false, err
	}
	var n int
	err = db.read.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&n)
	if err != nil {
		return false, classify(err)
	}
	return n >= len(ms), nil
}
