package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/jifen/jifen/internal/failure"
)

// The errors a lost database gives: each must become Unavailable (503),
// and nothing else may.
func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want failure.Kind
	}{
		// pgx answers "conn closed" on a connection the server dropped
		// under an operation (a PostgreSQL shutdown): it was a 500.
		{"conn closed", fmt.Errorf("begin: %w", pgconn.ErrConnClosed), failure.Unavailable},
		{"eof", fmt.Errorf("lock balance: %w", io.ErrUnexpectedEOF), failure.Unavailable},
		{"admin shutdown", &pgconn.PgError{Code: "57P01"}, failure.Unavailable},
		{"starting up", &pgconn.PgError{Code: "57P03"}, failure.Unavailable},
		{"connection failure", &pgconn.PgError{Code: "08006"}, failure.Unavailable},
		{"unique violation", &pgconn.PgError{Code: "23505"}, failure.Internal},
		{"other", errors.New("boom"), failure.Internal},
	}
	for _, tt := range tests {
		if got := failure.KindOf(classify(tt.err)); got != tt.want {
			t.Errorf("%s: classify(%v) is %s, want %s", tt.name, tt.err, got, tt.want)
		}
	}
	for _, err := range []error{nil, sql.ErrNoRows, context.Canceled} {
		if got := classify(err); got != err {
			t.Errorf("classify(%v) = %v, want it unchanged", err, got)
		}
	}
}
