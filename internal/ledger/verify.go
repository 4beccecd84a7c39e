package ledger

import (
	"context"

	"github.com/jifen/jifen/internal/store"
)

// Check is the outcome of one invariant of the books.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// Report is every check of a programme's books; OK when all pass.
type Report struct {
	OK     bool    `json:"ok"`
	Checks []Check `json:"checks"`
}

// Verify checks a programme's books: every transaction balances to zero
// across its postings, each balance equals the sum of its lots and
// postings, no lot's remaining is below zero or above its amount (the SQL
// is store's).
func Verify(ctx context.Context, c *store.Conn, programID string) (Report, error) {
	checks, err := c.Verify(ctx, programID)
	if err != nil {
		return Report{}, err
	}
	r := Report{OK: true, Checks: make([]Check, len(checks))}
	for i, ch := range checks {
		r.Checks[i] = Check(ch)
		r.OK = r.OK && ch.OK
	}
	return r, nil
}
