// Package storetest opens fresh databases for tests: a SQLite file in a
// temporary directory, and, when JIFEN_TEST_POSTGRES holds a DSN, a new
// PostgreSQL schema that is dropped when the test ends. Each test gets its
// own database, so tests never see each other's rows.
package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/store"
)

// EnvPostgres names the variable that holds the PostgreSQL DSN for tests.
const EnvPostgres = "JIFEN_TEST_POSTGRES"

// Backend opens fresh stores of one kind.
type Backend struct {
	Name string
	// DSN returns the DSN of a fresh, migrated-later database.
	DSN func(t testing.TB) string
}

// SQLite is the embedded backend.
var SQLite = Backend{Name: "sqlite", DSN: func(t testing.TB) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "jifen.db")
}}

// Postgres returns the PostgreSQL backend for the server at dsn.
func Postgres(dsn string) Backend {
	return Backend{Name: "postgres", DSN: func(t testing.TB) string { return FreshSchema(t, dsn) }}
}

// Backends lists SQLite and, when JIFEN_TEST_POSTGRES is set, PostgreSQL.
// Without it the PostgreSQL half is skipped with a message saying how to
// run it.
func Backends() []Backend {
	out := []Backend{SQLite}
	if dsn := os.Getenv(EnvPostgres); dsn != "" {
		out = append(out, Postgres(dsn))
	}
	return out
}

// Each runs fn as a subtest per backend. The PostgreSQL subtest skips when
// JIFEN_TEST_POSTGRES is unset, and fails when it is set but the server
// cannot be reached.
func Each(t *testing.T, fn func(t *testing.T, b Backend)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite) })
	t.Run("postgres", func(t *testing.T) {
		dsn := os.Getenv(EnvPostgres)
		if dsn == "" {
			t.Skip("PostgreSQL half skipped: set JIFEN_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run it")
		}
		fn(t, Postgres(dsn))
	})
}

var schemaSeq atomic.Int64

// FreshSchema creates a new schema on the PostgreSQL server at dsn and
// returns a DSN whose search_path is that schema. The schema is dropped
// when the test ends.
func FreshSchema(t testing.TB, dsn string) string {
	t.Helper()
	name := fmt.Sprintf("t_%d_%d_%s", os.Getpid(), schemaSeq.Add(1), strings.ToLower(id.Secret(6)))
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatalf("postgres %s: %v", store.Redact(dsn), err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+name); err != nil {
		admin.Close()
		t.Fatalf("postgres %s: create schema: %v (is PostgreSQL running? see README)", store.Redact(dsn), err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+name+" CASCADE"); err != nil {
			t.Logf("drop schema %s: %v", name, err)
		}
		admin.Close()
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("postgres dsn: %v", err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// Open opens and migrates a fresh store of backend b, closed when the test
// ends.
func Open(t testing.TB, b Backend, opt store.Options) *store.DB {
	t.Helper()
	return OpenDSN(t, b.DSN(t), opt)
}

// OpenDSN opens and migrates the store at dsn, closed when the test ends.
func OpenDSN(t testing.TB, dsn string, opt store.Options) *store.DB {
	t.Helper()
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	ctx := context.Background()
	db, err := store.Open(ctx, dsn, opt)
	if err != nil {
		t.Fatalf("open %s: %v", store.Redact(dsn), err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate %s: %v", store.Redact(dsn), err)
	}
	return db
}

// InOneBatch runs ops as one group-commit batch: a first operation holds
// the writer's lane for the key "" while the others queue behind it, in
// the order given as a rule (each is started 10 ms after the one before;
// a test that depends on the order records the order they ran in). It
// returns each operation's error, and fails the test when they did not
// share a batch.
func InOneBatch(t *testing.T, db *store.DB, ops ...store.Op) []error {
	t.Helper()
	ctx := context.Background()
	hold, held := make(chan struct{}), make(chan struct{})
	go db.Write(ctx, "", func(ctx context.Context, tx *store.Tx) error {
		close(held)
		<-hold
		return nil
	})
	<-held
	batches, _ := db.WriterStats()
	errs := make([]error, len(ops))
	var wg sync.WaitGroup
	for i, op := range ops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.Write(ctx, "", op)
		}()
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // every operation queued behind the first
	close(hold)
	wg.Wait()
	if after, _ := db.WriterStats(); after != batches+2 {
		t.Fatalf("%d transactions for the operations, want 1 (they did not share a batch)", after-batches-1)
	}
	return errs
}
