package store

import (
	"context"
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"time"
)

// Anywhere is the merchant of a member's activity anywhere in the
// programme (member_activity, activity_days).
const Anywhere = "*"

// Active says a member was active, at a merchant or ("") the programme.
type Active struct {
	MemberID, MerchantID string
}

// activityDay is a programme-local day as member_activity keys it.
type activityDay struct{ year, yday int }

func dayOf(t time.Time, loc *time.Location) activityDay {
	l := t.In(loc)
	return activityDay{l.Year(), l.YearDay() - 1}
}

// word and bit place a day in a year's bitmap.
func (d activityDay) word() int  { return d.yday / 64 }
func (d activityDay) bit() int64 { return int64(uint64(1) << (d.yday % 64)) }

// activityOf is who a ledger operation's transactions show active: the
// member of each, except expiries and activations that the jobs write on
// their own.
func activityOf(c Changes) []Active {
	var out []Active
	for _, t := range c.Txns {
		if t.Type != "expire" && t.Type != "activate" && t.Type != "merge" {
			out = append(out, Active{t.MemberID, string(t.MerchantID)})
		}
	}
	return out
}

// activityUpsert sets members' bits for one day where they were clear,
// returning the merchant of each row that changed: SQLite's half of
// marking members active (markActiveSQLite adds those rows to the day's
// counters; on PostgreSQL writeDeferredPostgres does both in one
// statement).
func activityUpsert(programID string, d activityDay, acts []Active) (applyPart, bool) {
	keys := bitmapRows(acts)
	if len(keys) == 0 {
		return applyPart{}, false
	}
	w := fmt.Sprintf("w%d", d.word())
	args := make([]any, 0, 5*len(keys))
	for _, k := range keys {
		args = append(args, programID, k.merchant, d.year, k.member, d.bit())
	}
	return applyPart{sql: `INSERT INTO member_activity (program_id, merchant_id, year, member_id, ` + w + `) VALUES ` +
		placeholders(len(keys), 5) + ` ON CONFLICT (program_id, merchant_id, year, member_id) DO UPDATE SET ` +
		w + ` = member_activity.` + w + ` | excluded.` + w + ` WHERE (member_activity.` + w + ` & excluded.` + w + `) = 0
		RETURNING merchant_id`, args: args}, true
}

// bitmapRow is a member's bitmap row at a merchant (or Anywhere).
type bitmapRow struct{ member, merchant string }

// bitmapRows are the rows a day's activity sets a bit in: each member's
// Anywhere row and its merchant's, once each, in one order for every
// writer, so that two transactions lock shared rows in the same order.
func bitmapRows(acts []Active) []bitmapRow {
	seen := map[bitmapRow]bool{}
	var keys []bitmapRow
	for _, a := range acts {
		for _, mer := range []string{Anywhere, a.MerchantID} {
			k := bitmapRow{a.MemberID, mer}
			if mer == "" || a.MemberID == "" || seen[k] {
				continue
			}
			seen[k] = true
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b bitmapRow) int {
		if c := strings.Compare(a.merchant, b.merchant); c != 0 {
			return c
		}
		return strings.Compare(a.member, b.member)
	})
	return keys
}

// daysPart adds counts of newly active members per merchant to a day's
// counters.
func daysPart(programID string, d activityDay, shard int, counts map[string]int64) applyPart {
	mers := make([]string, 0, len(counts))
	for m := range counts {
		mers = append(mers, m)
	}
	slices.Sort(mers)
	args := make([]any, 0, 6*len(mers))
	for _, m := range mers {
		args = append(args, programID, m, d.year, d.yday, shard, counts[m])
	}
	return applyPart{sql: `INSERT INTO activity_days (program_id, merchant_id, year, yday, shard, active) VALUES ` +
		placeholders(len(mers), 6) + ` ON CONFLICT (program_id, merchant_id, year, yday, shard) DO UPDATE SET
		active = activity_days.active + excluded.active`, args: args}
}

// MarkActive records members active at at: an event, or anything else of
// theirs that is not a ledger transaction (those Apply marks itself). The
// bits are set with the batch's other deferred rows (deferred.go).
func (tx *Tx) MarkActive(ctx context.Context, programID string, loc *time.Location, at time.Time, acts ...Active) error {
	d := dayOf(at, loc)
	for _, a := range acts {
		tx.pend.cur.acts = append(tx.pend.cur.acts, actAdd{programID, d, a})
	}
	return nil
}

// markActiveSQLite runs the bitmap upsert, counts the rows it changed per
// merchant, and adds them to the day's counters.
func (c *Conn) markActiveSQLite(ctx context.Context, programID string, d activityDay, shard int, upsert applyPart) error {
	rows, err := c.query(ctx, upsert.sql, upsert.args...)
	if err != nil {
		return fmt.Errorf("member activity: %w", err)
	}
	counts := map[string]int64{}
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			rows.Close()
			return err
		}
		counts[m]++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return classify(err)
	}
	if len(counts) == 0 {
		return nil
	}
	p := daysPart(programID, d, shard, counts)
	_, err = c.exec(ctx, p.sql, p.args...)
	return err
}

// ActiveMembers counts the members active on any programme-local day of
// [from, to) (local midnights in loc), at a merchant or ("") anywhere.
func (c *Conn) ActiveMembers(ctx context.Context, programID, merchantID string, loc *time.Location, from, to time.Time) (int64, error) {
	masks := map[int]*[6]int64{}
	for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
		ad := dayOf(d, loc)
		if masks[ad.year] == nil {
			masks[ad.year] = &[6]int64{}
		}
		masks[ad.year][ad.word()] |= ad.bit()
	}
	if merchantID == "" {
		merchantID = Anywhere
	}
	var cond []string
	args := []any{programID, merchantID}
	years := make([]int, 0, len(masks))
	for y := range masks {
		years = append(years, y)
	}
	slices.Sort(years)
	for _, y := range years {
		var ws []string
		for i, m := range masks[y] {
			if m != 0 {
				ws = append(ws, fmt.Sprintf("(w%d & ?) <> 0", i))
				args = append(args, m)
			}
		}
		cond = append(cond, fmt.Sprintf("(year = %d AND (%s))", y, strings.Join(ws, " OR ")))
	}
	if len(cond) == 0 {
		return 0, nil
	}
	distinct := "COUNT(*)"
	if len(years) > 1 {
		distinct = "COUNT(DISTINCT member_id)"
	}
	var n int64
	err := c.queryRow(ctx, `SELECT `+distinct+` FROM member_activity WHERE program_id = ? AND merchant_id = ? AND (`+
		strings.Join(cond, " OR ")+`)`, args...).Scan(&n)
	return n, classify(err)
}

// ActiveByDay counts the members active on each programme-local day of
// [from, to), from the days' counters.
func (c *Conn) ActiveByDay(ctx context.Context, programID, merchantID string, loc *time.Location, from, to time.Time) (map[string]int64, error) {
	if merchantID == "" {
		merchantID = Anywhere
	}
	first, last := dayOf(from, loc), dayOf(to.Add(-time.Nanosecond), loc)
	rows, err := c.query(ctx, `SELECT year, yday, SUM(active) FROM activity_days
		WHERE program_id = ? AND merchant_id = ? AND (year > ? OR (year = ? AND yday >= ?)) AND (year < ? OR (year = ? AND yday <= ?))
		GROUP BY year, yday`, programID, merchantID, first.year, first.year, first.yday, last.year, last.year, last.yday)
	if err != nil {
		return nil, classify(fmt.Errorf("active by day: %w", err))
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var y, yd int
		var n int64
		if err := rows.Scan(&y, &yd, &n); err != nil {
			return nil, err
		}
		out[time.Date(y, 1, 1+yd, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)] = n
	}
	return out, classify(rows.Err())
}

// activityKey names one bitmap row.
type activityKey struct {
	merchant string
	year     int
	member   string
}

// ledgerActivity works out every member's activity bitmaps from the
// ledger's own rows (transactions other than expiries, activations and
// merges, and events), in the programme's timezone: what the migration fills in
// and what verify compares with.
func (c *Conn) ledgerActivity(ctx context.Context, programID string, loc *time.Location) (map[activityKey]*[6]int64, error) {
	rows, err := c.query(ctx, `SELECT member_id, COALESCE(merchant_id, ''), created_at FROM transactions
			WHERE program_id = ? AND type NOT IN ('expire', 'activate', 'merge')
		UNION ALL
		SELECT COALESCE(member_id, ''), COALESCE(merchant_id, ''), created_at FROM events WHERE program_id = ?`, programID, programID)
	if err != nil {
		return nil, classify(fmt.Errorf("ledger activity: %w", err))
	}
	defer rows.Close()
	out := map[activityKey]*[6]int64{}
	set := func(k activityKey, d activityDay) {
		if out[k] == nil {
			out[k] = &[6]int64{}
		}
		out[k][d.word()] |= d.bit()
	}
	for rows.Next() {
		var member, merchant string
		var at int64
		if err := rows.Scan(&member, &merchant, &at); err != nil {
			return nil, err
		}
		if member == "" {
			continue
		}
		d := dayOf(fromMS(at), loc)
		set(activityKey{Anywhere, d.year, member}, d)
		if merchant != "" {
			set(activityKey{merchant, d.year, member}, d)
		}
	}
	return out, classify(rows.Err())
}

// dayKey names one day's counter.
type dayKey struct {
	merchant   string
	year, yday int
}

// dayCounts are the day counters that bitmaps imply.
func dayCounts(bm map[activityKey]*[6]int64) map[dayKey]int64 {
	out := map[dayKey]int64{}
	for k, ws := range bm {
		for w, v := range ws {
			for u := uint64(v); u != 0; u &= u - 1 {
				out[dayKey{k.merchant, k.year, w*64 + bits.TrailingZeros64(u)}]++
			}
		}
	}
	return out
}
