package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jifen/jifen/internal/seal"
)

// CheckDataKeys makes sure every key that has sealed a value is in the
// keyring, then records the current key as used before anything is sealed
// with it. serve calls it at start: a store whose values name a key it
// was not given would answer errors for every member it read, so it
// refuses to start instead.
func (db *DB) CheckDataKeys(ctx context.Context) error {
	used, err := db.UsedDataKeys(ctx)
	if err != nil {
		return err
	}
	var missing []string
	for _, kid := range used {
		if !db.keys.Has(kid) {
			missing = append(missing, kid)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("stored values are sealed under data key(s) %s, which %s does not list: add them (rotate-data-key retires a key once no value is left under it)",
			strings.Join(missing, ", "), seal.Env)
	}
	if !db.keys.Enabled() {
		return nil
	}
	return db.Write(ctx, "data-keys", func(ctx context.Context, tx *Tx) error {
		_, err := tx.exec(ctx, `INSERT INTO data_keys (kid, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING`,
			db.keys.Current(), ms(time.Now()))
		return err
	})
}

// UsedDataKeys lists the keys that have sealed values, by ID.
func (db *DB) UsedDataKeys(ctx context.Context) ([]string, error) {
	rows, err := db.Read().query(ctx, `SELECT kid FROM data_keys ORDER BY kid`)
	if err != nil {
		return nil, classify(fmt.Errorf("data keys: %w", err))
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var kid string
		if err := rows.Scan(&kid); err != nil {
			return nil, err
		}
		out = append(out, kid)
	}
	return out, classify(rows.Err())
}

// SealedCount is how many values of a column are under each key ("" for
// the ones stored clear).
type SealedCount struct {
	Table, Column string
	ByKey         map[string]int64
}

// CountSealed counts the stored values of every sealed column by key.
func (db *DB) CountSealed(ctx context.Context) ([]SealedCount, error) {
	var out []SealedCount
	for _, sc := range sealedColumns {
		n := SealedCount{Table: sc.table, Column: sc.column, ByKey: map[string]int64{}}
		err := db.scanColumn(ctx, sc, func(_ []string, v string) error {
			kid, _, _ := seal.Split(v)
			n.ByKey[kid]++
			return nil
		})
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// scanColumn reads every non-empty value of a sealed column with its
// row's key, a page at a time in key order.
func (db *DB) scanColumn(ctx context.Context, sc sealedColumn, fn func(key []string, v string) error) error {
	var after []string
	for {
		page, err := db.columnPage(ctx, db.Read(), sc, after, 1000)
		if err != nil {
			return err
		}
		for _, r := range page {
			if r.v == "" {
				continue // nothing to seal
			}
			if err := fn(r.key, r.v); err != nil {
				return err
			}
		}
		if len(page) < 1000 {
			return nil
		}
		after = page[len(page)-1].key
	}
}

type columnRow struct {
	key []string
	v   string
}

// columnPage reads up to limit rows of a sealed column after the row key
// after (nil: from the start), in key order.
func (db *DB) columnPage(ctx context.Context, c *Conn, sc sealedColumn, after []string, limit int) ([]columnRow, error) {
	keys := strings.Join(sc.key, ", ")
	q := `SELECT ` + keys + `, ` + sc.column + ` FROM ` + sc.table + ` WHERE ` + sc.column + ` IS NOT NULL`
	var args []any
	if after != nil {
		q += ` AND (` + keys + `) > (` + placeholderList(len(after)) + `)`
		args = anys(after)
	}
	q += ` ORDER BY ` + keys + ` LIMIT ?`
	rows, err := c.query(ctx, q, append(args, limit)...)
	if err != nil {
		return nil, classify(fmt.Errorf("%s.%s: %w", sc.table, sc.column, err))
	}
	defer rows.Close()
	var out []columnRow
	for rows.Next() {
		r := columnRow{key: make([]string, len(sc.key))}
		dest := make([]any, 0, len(sc.key)+1)
		for i := range r.key {
			dest = append(dest, &r.key[i])
		}
		var v []byte
		if err := rows.Scan(append(dest, &v)...); err != nil {
			return nil, err
		}
		r.v = string(v)
		out = append(out, r)
	}
	return out, classify(rows.Err())
}

// RotateDataKeys re-seals, a batch per transaction, every value that is
// not under the current key — clear ones included — and re-hashes the
// lookups of the identities it re-seals. Nodes serve meanwhile, with both
// keys listed: a row a node changed since it was read is left alone (a
// node writes under the current key). It is resumable: a second run finds
// only what the first left. When nothing is left under a key, that key's
// record goes, and serve no longer asks for it. progress hears of each
// batch written.
func (db *DB) RotateDataKeys(ctx context.Context, batch int, progress func(table, column string, n int)) (int64, error) {
	if !db.keys.Enabled() {
		return 0, fmt.Errorf("rotate: %s is not set", seal.Env)
	}
	if err := db.CheckDataKeys(ctx); err != nil {
		return 0, err
	}
	var total int64
	for _, sc := range sealedColumns {
		var after []string
		for {
			page, err := db.columnPage(ctx, db.Read(), sc, after, batch)
			if err != nil {
				return total, err
			}
			var stale []columnRow
			for _, r := range page {
				if !db.keys.Under(r.v) {
					stale = append(stale, r)
				}
			}
			if len(stale) > 0 {
				n, err := db.reseal(ctx, sc, stale)
				if err != nil {
					return total, err
				}
				total += n
				if progress != nil {
					progress(sc.table, sc.column, int(n))
				}
			}
			if len(page) < batch {
				break
			}
			after = page[len(page)-1].key
		}
	}
	// What is left under the other keys: none, unless a node still seals
	// with one of them.
	counts, err := db.CountSealed(ctx)
	if err != nil {
		return total, err
	}
	used, err := db.UsedDataKeys(ctx)
	if err != nil {
		return total, err
	}
	for _, kid := range used {
		if kid == db.keys.Current() || slices.ContainsFunc(counts, func(c SealedCount) bool { return c.ByKey[kid] > 0 }) {
			continue
		}
		err := db.Write(ctx, "data-keys", func(ctx context.Context, tx *Tx) error {
			_, err := tx.exec(ctx, `DELETE FROM data_keys WHERE kid = ?`, kid)
			return err
		})
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// reseal writes the rows under the current key in one transaction, each
// only if its value is still the one read.
func (db *DB) reseal(ctx context.Context, sc sealedColumn, rows []columnRow) (int64, error) {
	var n int64
	err := db.Write(ctx, "rotate", func(ctx context.Context, tx *Tx) error {
		n = 0
		where := strings.Join(sc.key, " = ? AND ") + ` = ? AND ` + sc.column + ` = ?`
		kinds, err := tx.identityKinds(ctx, sc, rows)
		if err != nil {
			return err
		}
		for _, r := range rows {
			at := ad(sc.table, sc.column, r.key...)
			plain, err := db.keys.Open(at, r.v)
			if err != nil {
				return err
			}
			sealed := db.keys.Seal(at, plain)
			set, args := sc.column+` = ?`, []any{sealed}
			if sc.table == "messages" && sc.column == "recipient" {
				// A text to a phone not yet a member's is found by the
				// phone's lookup when that member is erased.
				set += `, to_lookup = CASE WHEN to_lookup IS NULL THEN NULL ELSE ? END`
				args = append(args, db.keys.Lookup("phone", plain))
			}
			if sc.table == "identities" {
				// The lookup follows the value's key.
				kind, ok := kinds[r.key[0]]
				if !ok {
					continue // deleted since the page was read
				}
				set += `, lookup = ?`
				args = append(args, db.keys.Lookup(kind, plain))
			}
			args = append(append(args, anys(r.key)...), storedAs(sc, r.v))
			res, err := tx.exec(ctx, `UPDATE `+sc.table+` SET `+set+` WHERE `+where, args...)
			if err != nil {
				return fmt.Errorf("rotate %s.%s: %w", sc.table, sc.column, err)
			}
			n += affected(res)
		}
		return nil
	})
	return n, err
}

// identityKinds reads, in one query, the kinds of the identities a batch
// of identities' values re-seals (their lookups are re-hashed with them);
// nil for another column.
func (tx *Tx) identityKinds(ctx context.Context, sc sealedColumn, rows []columnRow) (map[string]string, error) {
	if sc.table != "identities" || len(rows) == 0 {
		return nil, nil
	}
	ids := make([]any, len(rows))
	for i, r := range rows {
		ids[i] = r.key[0]
	}
	q, err := tx.query(ctx, `SELECT id, kind FROM identities WHERE id IN (`+placeholderList(len(ids))+`)`, ids...)
	if err != nil {
		return nil, fmt.Errorf("rotate identities: %w", err)
	}
	defer q.Close()
	kinds := make(map[string]string, len(rows))
	for q.Next() {
		var id, kind string
		if err := q.Scan(&id, &kind); err != nil {
			return nil, err
		}
		kinds[id] = kind
	}
	return kinds, classify(q.Err())
}

// storedAs is a value as its column compares: bytes for the columns that
// hold bodies (BLOB, bytea), text for the rest.
func storedAs(sc sealedColumn, v string) any {
	if bytesColumns[sc.table+"."+sc.column] {
		return []byte(v)
	}
	return v
}

var bytesColumns = map[string]bool{"events.result": true, "idempotency.body": true}

// EachSealed calls fn with every stored value of every sealed column,
// opened: a search for a person through sealed data (the erase test looks
// for an erased member's values this way, as a regulator's request would).
func (db *DB) EachSealed(ctx context.Context, fn func(table, column, value string) error) error {
	c := db.Read()
	for _, sc := range sealedColumns {
		err := db.scanColumn(ctx, sc, func(key []string, v string) error {
			if err := c.open(sc.table, sc.column, &v, key...); err != nil {
				return err
			}
			return fn(sc.table, sc.column, v)
		})
		if err != nil {
			return err
		}
	}
	return nil
}
