package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/jifen/jifen/internal/failure"
)

// classify turns a driver error that means "the database cannot be
// reached" into failure.Unavailable, so the API answers 503 and the client
// retries. Other errors pass through unchanged. The decision looks at error
// types and SQLSTATE classes, never at message text.
func classify(err error) error {
	if err == nil || errors.Is(err, sql.ErrNoRows) || errors.Is(err, context.Canceled) {
		return err
	}
	if failure.As(err) != nil {
		return err
	}
	if unreachable(err) {
		return failure.Wrap(failure.Unavailable, err, "the database cannot be reached")
	}
	return err
}

func unreachable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 08: connection exception; 57P01–57P03: the server is
		// shutting down or not yet accepting connections; 53300: too many
		// connections.
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" ||
			pgErr.Code == "57P02" || pgErr.Code == "57P03" || pgErr.Code == "53300"
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	var opErr *net.OpError
	switch {
	case errors.As(err, &connectErr), errors.As(err, &opErr), errors.As(err, &netErr):
		return true
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF),
		errors.Is(err, pgconn.ErrConnClosed): // the server closed the connection under an operation
		return true
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	case errors.Is(err, context.DeadlineExceeded):
		return true
	}
	return pgconn.SafeToRetry(err)
}

// retryable reports whether a whole transaction failed for a reason that a
// second try may not meet: a deadlock or a serialization failure on
// PostgreSQL, or SQLITE_BUSY.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// 40001 serialization failure, 40P01 deadlock, 55P03 lock_timeout.
		return pgErr.Code == "40001" || pgErr.Code == "40P01" || pgErr.Code == "55P03"
	}
	type coder interface{ Code() int }
	var c coder
	if errors.As(err, &c) {
		code := c.Code() & 0xff
		return code == 5 || code == 6 // SQLITE_BUSY, SQLITE_LOCKED
	}
	return false
}
