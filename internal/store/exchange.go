package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/null"
)

// AccountExchange is the program's account that an exchange between two
// currencies passes through: it takes the source points in one currency
// and gives the received points in the other, so each currency's postings
// sum to zero.
const AccountExchange = "exchange"

// ExchangeRate is the rate of one ordered pair of a programme's
// currencies. Rate is a decimal string (target points per source point);
// DailyLimit, when set, bounds the source points one member exchanges per
// programme-local day.
type ExchangeRate struct {
	From, To   string
	Rate       string
	DailyLimit *int64
	Active     bool
	UpdatedAt  time.Time
}

// PutExchangeRate creates or replaces the rate of a pair.
func (tx *Tx) PutExchangeRate(ctx context.Context, programID string, r ExchangeRate) error {
	var limit any
	if r.DailyLimit != nil {
		limit = *r.DailyLimit
	}
	_, err := tx.exec(ctx, `INSERT INTO exchange_rates (program_id, from_currency, to_currency, rate, daily_limit, active, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (program_id, from_currency, to_currency) DO UPDATE SET rate = excluded.rate,
		daily_limit = excluded.daily_limit, active = excluded.active, updated_at = excluded.updated_at`,
		programID, r.From, r.To, r.Rate, limit, r.Active, ms(r.UpdatedAt))
	if err != nil {
		return classify(fmt.Errorf("put exchange rate: %w", err))
	}
	return nil
}

// DeleteExchangeRate removes a pair's rate; NotFound when there is none.
func (tx *Tx) DeleteExchangeRate(ctx context.Context, programID, from, to string) error {
	res, err := tx.exec(ctx, `DELETE FROM exchange_rates WHERE program_id = ? AND from_currency = ? AND to_currency = ?`,
		programID, from, to)
	if err != nil {
		return classify(fmt.Errorf("delete exchange rate: %w", err))
	}
	if affected(res) == 0 {
		return failure.New(failure.NotFound, "no exchange rate from %s to %s", from, to)
	}
	return nil
}

const rateColumns = `from_currency, to_currency, rate, daily_limit, active, updated_at`

func scanRate(sc interface{ Scan(...any) error }) (ExchangeRate, error) {
	var r ExchangeRate
	var limit sql.NullInt64
	var updated int64
	if err := sc.Scan(&r.From, &r.To, &r.Rate, &limit, &r.Active, &updated); err != nil {
		return r, err
	}
	if limit.Valid {
		v := limit.Int64
		r.DailyLimit = &v
	}
	r.UpdatedAt = fromMS(updated)
	return r, nil
}

// ExchangeRate reads a pair's rate; NotFound when there is none.
func (c *Conn) ExchangeRate(ctx context.Context, programID, from, to string) (ExchangeRate, error) {
	r, err := scanRate(c.queryRow(ctx, `SELECT `+rateColumns+` FROM exchange_rates
		WHERE program_id = ? AND from_currency = ? AND to_currency = ?`, programID, from, to))
	if errors.Is(err, sql.ErrNoRows) {
		return r, failure.New(failure.NotFound, "no exchange rate from %s to %s", from, to)
	}
	if err != nil {
		return r, classify(fmt.Errorf("exchange rate: %w", err))
	}
	return r, nil
}

// ExchangeRates lists the programme's rates by pair.
func (c *Conn) ExchangeRates(ctx context.Context, programID string) ([]ExchangeRate, error) {
	rows, err := c.query(ctx, `SELECT `+rateColumns+` FROM exchange_rates WHERE program_id = ?
		ORDER BY from_currency, to_currency`, programID)
	if err != nil {
		return nil, fmt.Errorf("exchange rates: %w", err)
	}
	defer rows.Close()
	var out []ExchangeRate
	for rows.Next() {
		r, err := scanRate(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, classify(rows.Err())
}

// Exchange is one exchange of a member's points from one currency into
// another. Reversed says its transaction has been reversed (an exchange
// is reversed whole).
type Exchange struct {
	ID            string
	MemberID      string
	From, To      string
	Points        int64
	Received      int64
	Rate          string
	TransactionID string
	Reference     null.String
	MerchantID    null.String
	CreatedAt     time.Time
	Reversed      bool
}

// InsertExchange records an exchange (its ledger transaction is written
// by Apply).
func (tx *Tx) InsertExchange(ctx context.Context, programID string, x Exchange) error {
	_, err := tx.exec(ctx, `INSERT INTO exchanges (id, program_id, member_id, from_currency, to_currency, points, received,
		rate, transaction_id, reference, merchant_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		x.ID, programID, x.MemberID, x.From, x.To, x.Points, x.Received, x.Rate, x.TransactionID, x.Reference,
		x.MerchantID, ms(x.CreatedAt))
	if err != nil {
		return classify(fmt.Errorf("insert exchange: %w", err))
	}
	return nil
}

const exchangeColumns = `x.id, x.member_id, x.from_currency, x.to_currency, x.points, x.received, x.rate,
	x.transaction_id, x.reference, x.merchant_id, x.created_at, t.reversed`

func scanExchange(sc interface{ Scan(...any) error }) (Exchange, error) {
	var x Exchange
	var created, reversed int64
	err := sc.Scan(&x.ID, &x.MemberID, &x.From, &x.To, &x.Points, &x.Received, &x.Rate, &x.TransactionID,
		&x.Reference, &x.MerchantID, &created, &reversed)
	x.CreatedAt, x.Reversed = fromMS(created), reversed > 0
	return x, err
}

// ExchangeFilter narrows a member's exchanges.
type ExchangeFilter struct {
	MerchantID string // only those made at this merchant
}

// MemberExchanges lists a member's exchanges, newest first.
func (c *Conn) MemberExchanges(ctx context.Context, programID, memberID string, f ExchangeFilter, p Page) ([]Exchange, string, error) {
	q := `SELECT ` + exchangeColumns + ` FROM exchanges x JOIN transactions t ON t.id = x.transaction_id
		WHERE x.member_id = ? AND x.program_id = ?`
	args := []any{memberID, programID}
	if f.MerchantID != "" {
		q += ` AND x.merchant_id = ?`
		args = append(args, f.MerchantID)
	}
	if p.Cursor != "" {
		q += ` AND x.id < ?`
		args = append(args, p.Cursor)
	}
	q += ` ORDER BY x.id DESC LIMIT ?`
	args = append(args, p.Limit+1)
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("exchanges: %w", err)
	}
	defer rows.Close()
	var out []Exchange
	for rows.Next() {
		x, err := scanExchange(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, x)
	}
	if err := rows.Err(); err != nil {
		return nil, "", classify(err)
	}
	out, cur := next(out, p.Limit, func(x Exchange) string { return x.ID })
	return out, cur, nil
}

// ExchangedBetween sums the source points of a member's exchanges from one
// currency into another made in [from, to) and not reversed: what counts
// against the pair's daily limit. Read it under the member's lock.
func (c *Conn) ExchangedBetween(ctx context.Context, programID, memberID, fromCur, toCur string, from, to time.Time) (int64, error) {
	var n int64
	err := c.queryRow(ctx, `SELECT COALESCE(SUM(x.points), 0) FROM exchanges x JOIN transactions t ON t.id = x.transaction_id
		WHERE x.member_id = ? AND x.from_currency = ? AND x.created_at >= ? AND x.created_at < ? AND x.to_currency = ?
		AND x.program_id = ? AND t.reversed = 0`,
		memberID, fromCur, ms(from), ms(to), toCur, programID).Scan(&n)
	if err != nil {
		return 0, classify(fmt.Errorf("exchanged today: %w", err))
	}
	return n, nil
}
