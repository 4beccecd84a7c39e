package store_test

import (
	"context"
	"database/sql"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/store/storetest"
)

// The SQLite and PostgreSQL migrations are written twice; after all of them
// both databases must have the same tables with the same column names.
// (Types differ by design: INTEGER against BIGINT, TEXT against JSONB.)
func TestSchemaParity(t *testing.T) {
	dsn := os.Getenv(storetest.EnvPostgres)
	if dsn == "" {
		t.Skip("schema parity needs PostgreSQL: set JIFEN_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run it (.ci/run sets it)")
	}
	lite := storetest.Open(t, storetest.SQLite, store.Options{})
	pg := storetest.Open(t, storetest.Postgres(dsn), store.Options{})

	_, w := lite.SQL()
	liteCols := columns(t, w, `SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'`)
	_, w = pg.SQL()
	pgCols := columns(t, w, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema()`)
	if len(liteCols) == 0 || len(pgCols) == 0 {
		t.Fatalf("no tables found: sqlite %d, postgres %d", len(liteCols), len(pgCols))
	}

	var diffs []string
	for _, table := range union(keys(liteCols), keys(pgCols)) {
		l, lok := liteCols[table]
		p, pok := pgCols[table]
		switch {
		case !pok:
			diffs = append(diffs, "table "+table+": only in SQLite")
		case !lok:
			diffs = append(diffs, "table "+table+": only in PostgreSQL")
		default:
			for _, c := range union(keys(l), keys(p)) {
				switch {
				case !p[c]:
					diffs = append(diffs, "column "+table+"."+c+": only in SQLite")
				case !l[c]:
					diffs = append(diffs, "column "+table+"."+c+": only in PostgreSQL")
				}
			}
		}
	}
	if len(diffs) > 0 {
		t.Errorf("the SQLite and PostgreSQL schemas differ after migrating:\n  %s", strings.Join(diffs, "\n  "))
	}
}

// columns runs q, which yields (table, column) rows, into sets.
func columns(t *testing.T, db *sql.DB, q string) map[string]map[string]bool {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]map[string]bool{}
	for rows.Next() {
		var table, col string
		if err := rows.Scan(&table, &col); err != nil {
			t.Fatal(err)
		}
		if out[table] == nil {
			out[table] = map[string]bool{}
		}
		out[table][strings.ToLower(col)] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// union returns the sorted union of a and b.
func union(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range append(a, b...) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}
