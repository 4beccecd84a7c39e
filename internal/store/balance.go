package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Balance is a member's running totals in one currency. Available never
// goes below zero; a clawback past zero is Debt, repaid first by later
// earnings.
type Balance struct {
	MemberID        string
	Currency        string
	Available       int64
	Pending         int64
	Held            int64
	Debt            int64
	LifetimeEarned  int64
	LifetimeSpent   int64
	LifetimeExpired int64
}

const balanceColumns = `member_id, currency, available, pending, held, debt, lifetime_earned, lifetime_spent, lifetime_expired`

func scanBalance(row interface{ Scan(...any) error }) (Balance, error) {
	var b Balance
	err := row.Scan(&b.MemberID, &b.Currency, &b.Available, &b.Pending, &b.Held, &b.Debt,
		&b.LifetimeEarned, &b.LifetimeSpent, &b.LifetimeExpired)
	return b, err
}

// LockBalance reads a member's balance row for update; found is false
// when the member has none yet in that currency. Every change to a
// member's lots, holds and balance in a currency happens under this lock:
// on PostgreSQL it is the row lock, on SQLite the single writer.
func (tx *Tx) LockBalance(ctx context.Context, programID, memberID, currency string) (b Balance, found bool, err error) {
	b, err = scanBalance(tx.queryRow(ctx, lockBalance, memberID, currency, programID))
	if errors.Is(err, sql.ErrNoRows) {
		return Balance{MemberID: memberID, Currency: currency}, false, nil
	}
	if err != nil {
		return Balance{}, false, classify(fmt.Errorf("lock balance: %w", err))
	}
	return b, true, nil
}

const lockBalance = `SELECT ` + balanceColumns + ` FROM balances WHERE member_id = ? AND currency = ? AND program_id = ? /*lock*/`

// lockBalanceMember locks a balance row and reads its member in one
// statement: the first thing nearly every write does.
var lockBalanceMember = `SELECT b.member_id, b.currency, b.available, b.pending, b.held, b.debt, b.lifetime_earned,
	b.lifetime_spent, b.lifetime_expired, ` + memberColumnsOf("m") + `
	FROM balances b JOIN members m ON m.id = b.member_id
	WHERE b.member_id = ? AND b.currency = ? AND b.program_id = ? AND m.program_id = ? /*lock b*/`

// LockBalanceMember locks a member's balance row in a currency and reads
// the member; found is false (and nothing is locked) when the member has
// no row in that currency yet, or does not exist.
func (tx *Tx) LockBalanceMember(ctx context.Context, programID, memberID, currency string) (Balance, Member, bool, error) {
	var b Balance
	var m Member
	dest := []any{&b.MemberID, &b.Currency, &b.Available, &b.Pending, &b.Held, &b.Debt, &b.LifetimeEarned,
		&b.LifetimeSpent, &b.LifetimeExpired}
	m.scanInto(&dest)
	err := tx.queryRow(ctx, lockBalanceMember, memberID, currency, programID, programID).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return Balance{MemberID: memberID, Currency: currency}, Member{}, false, nil
	}
	if err != nil {
		return Balance{}, Member{}, false, classify(fmt.Errorf("lock balance: %w", err))
	}
	if err := tx.finishMember(&m); err != nil {
		return Balance{}, Member{}, false, err
	}
	return b, m, true, nil
}

// lockChunk is how many members one bulk lock names: a fixed list length
// (padded with the last ID) keeps one statement text, prepared once.
const lockChunk = 200

// LockBalancesMembers locks the balance rows of several members in one
// currency, in the order of their IDs, and reads the members, a chunk of
// them per statement: a bulk write's first step. Members with no row in
// that currency yet are left out (the caller creates theirs one by one).
func (tx *Tx) LockBalancesMembers(ctx context.Context, programID, currency string, memberIDs []string) (map[string]Balance, map[string]Member, error) {
	ids := slices.Clone(memberIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	bs, ms := make(map[string]Balance, len(ids)), make(map[string]Member, len(ids))
	q := `SELECT b.member_id, b.currency, b.available, b.pending, b.held, b.debt, b.lifetime_earned,
		b.lifetime_spent, b.lifetime_expired, ` + memberColumnsOf("m") + `
		FROM balances b JOIN members m ON m.id = b.member_id
		WHERE b.member_id IN (` + strings.TrimSuffix(strings.Repeat("?, ", lockChunk), ", ") + `)
		AND b.currency = ? AND b.program_id = ? AND m.program_id = ? ORDER BY b.member_id /*lock b*/`
	for start := 0; start < len(ids); start += lockChunk {
		chunk := ids[start:min(start+lockChunk, len(ids))]
		args := make([]any, 0, lockChunk+3)
		for i := range lockChunk {
			args = append(args, chunk[min(i, len(chunk)-1)])
		}
		rows, err := tx.query(ctx, q, append(args, currency, programID, programID)...)
		if err != nil {
			return nil, nil, fmt.Errorf("lock balances: %w", err)
		}
		for rows.Next() {
			var b Balance
			var m Member
			dest := []any{&b.MemberID, &b.Currency, &b.Available, &b.Pending, &b.Held, &b.Debt, &b.LifetimeEarned,
				&b.LifetimeSpent, &b.LifetimeExpired}
			m.scanInto(&dest)
			if err := rows.Scan(dest...); err != nil {
				rows.Close()
				return nil, nil, err
			}
			if err := tx.finishMember(&m); err != nil {
				rows.Close()
				return nil, nil, err
			}
			bs[b.MemberID], ms[b.MemberID] = b, m
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, nil, classify(fmt.Errorf("lock balances: %w", err))
		}
	}
	return bs, ms, nil
}

// CreateBalance makes a member's zero balance row in a currency (if a
// concurrent transaction has not) and locks it. The caller has checked
// that the member exists.
func (tx *Tx) CreateBalance(ctx context.Context, programID, memberID, currency string, now time.Time) (Balance, error) {
	if _, err := tx.exec(ctx, `INSERT INTO balances (program_id, member_id, currency, updated_at)
		VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`, programID, memberID, currency, ms(now)); err != nil {
		return Balance{}, fmt.Errorf("create balance: %w", err)
	}
	b, err := scanBalance(tx.queryRow(ctx, lockBalance, memberID, currency, programID))
	if err != nil {
		return Balance{}, classify(fmt.Errorf("lock balance: %w", err))
	}
	return b, nil
}

// SaveBalance writes b, which the caller has locked with LockBalance.
func (tx *Tx) SaveBalance(ctx context.Context, programID string, b Balance, now time.Time) error {
	_, err := tx.exec(ctx, `UPDATE balances SET available = ?, pending = ?, held = ?, debt = ?, lifetime_earned = ?,
		lifetime_spent = ?, lifetime_expired = ?, updated_at = ? WHERE member_id = ? AND currency = ? AND program_id = ?`,
		b.Available, b.Pending, b.Held, b.Debt, b.LifetimeEarned, b.LifetimeSpent, b.LifetimeExpired, ms(now),
		b.MemberID, b.Currency, programID)
	if err != nil {
		return fmt.Errorf("save balance: %w", err)
	}
	return nil
}

// saveBalances writes locked balance rows in one statement (an earn of
// points and growth value changes two).
func (tx *Tx) saveBalances(ctx context.Context, programID string, bs []Balance, now time.Time) error {
	switch len(bs) {
	case 0:
		return nil
	case 1:
		return tx.SaveBalance(ctx, programID, bs[0], now)
	}
	args := make([]any, 0, 9*len(bs)+2)
	args = append(args, ms(now)) // updated_at, the first placeholder
	for _, b := range bs {
		args = append(args, b.MemberID, b.Currency, b.Available, b.Pending, b.Held, b.Debt, b.LifetimeEarned,
			b.LifetimeSpent, b.LifetimeExpired)
	}
	args = append(args, programID)
	_, err := tx.exec(ctx, `UPDATE balances SET available = v.column3, pending = v.column4, held = v.column5, debt = v.column6,
		lifetime_earned = v.column7, lifetime_spent = v.column8, lifetime_expired = v.column9, updated_at = ?
		FROM (VALUES `+placeholders(len(bs), 9)+`) AS v
		WHERE balances.member_id = v.column1 AND balances.currency = v.column2 AND balances.program_id = ?`, args...)
	if err != nil {
		return fmt.Errorf("save balances: %w", err)
	}
	return nil
}

// MemberBalances reads a member's status and every balance row in one
// query; found is false when the program has no such member.
func (c *Conn) MemberBalances(ctx context.Context, programID, memberID string) (status string, out []Balance, found bool, err error) {
	rows, err := c.query(ctx, `SELECT m.status, b.member_id, b.currency, b.available, b.pending, b.held, b.debt,
		b.lifetime_earned, b.lifetime_spent, b.lifetime_expired
		FROM members m LEFT JOIN balances b ON b.member_id = m.id AND b.program_id = m.program_id
		WHERE m.id = ? AND m.program_id = ? ORDER BY b.currency`, memberID, programID)
	if err != nil {
		return "", nil, false, fmt.Errorf("member balances: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		found = true
		var mid, cur sql.NullString
		var v [7]sql.NullInt64
		if err := rows.Scan(&status, &mid, &cur, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]); err != nil {
			return "", nil, false, err
		}
		if cur.Valid {
			out = append(out, Balance{MemberID: mid.String, Currency: cur.String, Available: v[0].Int64, Pending: v[1].Int64,
				Held: v[2].Int64, Debt: v[3].Int64, LifetimeEarned: v[4].Int64, LifetimeSpent: v[5].Int64, LifetimeExpired: v[6].Int64})
		}
	}
	return status, out, found, classify(rows.Err())
}

// Balances reads every balance row of a member.
func (c *Conn) Balances(ctx context.Context, programID, memberID string) ([]Balance, error) {
	rows, err := c.query(ctx, `SELECT `+balanceColumns+` FROM balances WHERE member_id = ? AND program_id = ?
		ORDER BY currency`, memberID, programID)
	if err != nil {
		return nil, fmt.Errorf("balances: %w", err)
	}
	defer rows.Close()
	var out []Balance
	for rows.Next() {
		b, err := scanBalance(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, classify(rows.Err())
}

// Expiring is an amount of available points that expires at one instant.
type Expiring struct {
	Currency  string
	ExpiresAt time.Time
	Points    int64
}

// ExpiringPoints lists a member's available points with an expiry, soonest
// first, at most limit instants.
func (c *Conn) ExpiringPoints(ctx context.Context, programID, memberID string, limit int) ([]Expiring, error) {
	rows, err := c.query(ctx, `SELECT currency, expires_at, SUM(remaining) FROM lots
		WHERE member_id = ? AND program_id = ? AND status = 'available' AND remaining > 0 AND expires_at IS NOT NULL
		GROUP BY currency, expires_at ORDER BY expires_at LIMIT ?`, memberID, programID, limit)
	if err != nil {
		return nil, fmt.Errorf("expiring points: %w", err)
	}
	defer rows.Close()
	var out []Expiring
	for rows.Next() {
		var e Expiring
		var at int64
		if err := rows.Scan(&e.Currency, &at, &e.Points); err != nil {
			return nil, err
		}
		e.ExpiresAt = fromMS(at)
		out = append(out, e)
	}
	return out, classify(rows.Err())
}

// DuePoints sums, per currency, the points of a member's available lots
// whose expiry is at or before now: points the expiry job has yet to take.
func (c *Conn) DuePoints(ctx context.Context, programID, memberID string, now time.Time) (map[string]int64, error) {
	rows, err := c.query(ctx, `SELECT currency, SUM(remaining) FROM lots
		WHERE member_id = ? AND program_id = ? AND status = 'available' AND remaining > 0 AND expires_at <= ?
		GROUP BY currency`, memberID, programID, ms(now))
	if err != nil {
		return nil, fmt.Errorf("due points: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var cur string
		var n int64
		if err := rows.Scan(&cur, &n); err != nil {
			return nil, err
		}
		out[cur] = n
	}
	return out, classify(rows.Err())
}

// LockMemberBalances locks every balance row of a member: points first
// (the member's lock, which multi-currency operations take first too),
// then the others in currency order, so no two operations wait on each
// other in opposite order. Freezing, erasing and merging take these locks
// before they change the member, so a ledger operation that locked a
// balance first sees the member's new status when it reads it.
func (tx *Tx) LockMemberBalances(ctx context.Context, programID, memberID string) ([]Balance, error) {
	rows, err := tx.query(ctx, `SELECT `+balanceColumns+` FROM balances WHERE member_id = ? AND program_id = ?
		ORDER BY CASE WHEN currency = 'points' THEN 0 ELSE 1 END, currency /*lock*/`, memberID, programID)
	if err != nil {
		return nil, fmt.Errorf("lock balances: %w", err)
	}
	defer rows.Close()
	var out []Balance
	for rows.Next() {
		b, err := scanBalance(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, classify(rows.Err())
}

// Balance reads a member's balance in one currency without locking it (a
// zero balance when there is no row).
func (c *Conn) Balance(ctx context.Context, programID, memberID, currency string) (Balance, error) {
	b, err := scanBalance(c.queryRow(ctx, `SELECT `+balanceColumns+` FROM balances WHERE member_id = ? AND currency = ? AND program_id = ?`,
		memberID, currency, programID))
	if errors.Is(err, sql.ErrNoRows) {
		return Balance{MemberID: memberID, Currency: currency}, nil
	}
	return b, classify(err)
}
