package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// programZones lists every programme with its timezone.
func (c *Conn) programZones(ctx context.Context) (map[string]*time.Location, error) {
	rows, err := c.query(ctx, `SELECT id, timezone FROM programs`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]*time.Location{}
	for rows.Next() {
		var id, tz string
		if err := rows.Scan(&id, &tz); err != nil {
			return nil, err
		}
		loc, err := time.LoadLocation(tz)
		if err != nil {
			return nil, fmt.Errorf("program %s: timezone %q: %w", id, tz, err)
		}
		out[id] = loc
	}
	return out, rows.Err()
}

// activityBackfill is migration 11's Go step: the activity of the ledger
// written before it, worked out from the ledger's rows.
func activityBackfill(ctx context.Context, c *Conn) error {
	zones, err := c.programZones(ctx)
	if err != nil {
		return err
	}
	for id, loc := range zones {
		bm, err := c.ledgerActivity(ctx, id, loc)
		if err != nil {
			return err
		}
		keys := slices.SortedFunc(maps.Keys(bm), func(a, b activityKey) int {
			return cmp.Or(strings.Compare(a.merchant, b.merchant), cmp.Compare(a.year, b.year), strings.Compare(a.member, b.member))
		})
		const chunk = 500
		for start := 0; start < len(keys); start += chunk {
			part := keys[start:min(start+chunk, len(keys))]
			args := make([]any, 0, 10*len(part))
			for _, k := range part {
				w := bm[k]
				args = append(args, id, k.merchant, k.year, k.member, w[0], w[1], w[2], w[3], w[4], w[5])
			}
			if _, err := c.exec(ctx, `INSERT INTO member_activity (program_id, merchant_id, year, member_id, w0, w1, w2, w3, w4, w5)
				VALUES `+placeholders(len(part), 10), args...); err != nil {
				return fmt.Errorf("member activity: %w", err)
			}
		}
		counts := dayCounts(bm)
		days := slices.SortedFunc(maps.Keys(counts), func(a, b dayKey) int {
			return cmp.Or(strings.Compare(a.merchant, b.merchant), cmp.Compare(a.year, b.year), cmp.Compare(a.yday, b.yday))
		})
		for start := 0; start < len(days); start += chunk {
			part := days[start:min(start+chunk, len(days))]
			args := make([]any, 0, 6*len(part))
			for _, d := range part {
				args = append(args, id, d.merchant, d.year, d.yday, 0, counts[d])
			}
			if _, err := c.exec(ctx, `INSERT INTO activity_days (program_id, merchant_id, year, yday, shard, active)
				VALUES `+placeholders(len(part), 6), args...); err != nil {
				return fmt.Errorf("activity days: %w", err)
			}
		}
	}
	return nil
}

// verifyActivity checks the activity bitmaps and day counters against the
// ledger's own rows, read in the programme's timezone now (a programme
// that changed its timezone keeps the days its activity was recorded in,
// and this check then names them).
func (c *Conn) verifyActivity(ctx context.Context, programID string) (Check, error) {
	ch := Check{Name: "member_activity_match", OK: true,
		Detail: "each member's active days and each day's active members match the ledger's transactions and events"}
	var tz string
	switch err := c.queryRow(ctx, `SELECT timezone FROM programs WHERE id = ?`, programID).Scan(&tz); {
	case errors.Is(err, sql.ErrNoRows):
		return ch, nil
	case err != nil:
		return ch, err
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return ch, fmt.Errorf("program %s: timezone %q: %w", programID, tz, err)
	}
	want, err := c.ledgerActivity(ctx, programID, loc)
	if err != nil {
		return ch, err
	}
	var bad []string
	rows, err := c.query(ctx, `SELECT merchant_id, year, member_id, w0, w1, w2, w3, w4, w5 FROM member_activity
		WHERE program_id = ?`, programID)
	if err != nil {
		return ch, classify(err)
	}
	got := map[activityKey]*[6]int64{}
	for rows.Next() {
		var k activityKey
		var w [6]int64
		if err := rows.Scan(&k.merchant, &k.year, &k.member, &w[0], &w[1], &w[2], &w[3], &w[4], &w[5]); err != nil {
			rows.Close()
			return ch, err
		}
		if w != ([6]int64{}) {
			got[k] = &w
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return ch, classify(err)
	}
	for k, w := range want {
		if g := got[k]; g == nil || *g != *w {
			bad = append(bad, fmt.Sprintf("member %s at %s in %d", k.member, k.merchant, k.year))
		}
	}
	for k := range got {
		if want[k] == nil {
			bad = append(bad, fmt.Sprintf("member %s at %s in %d (no activity in the ledger)", k.member, k.merchant, k.year))
		}
	}
	rows, err = c.query(ctx, `SELECT merchant_id, year, yday, SUM(active) FROM activity_days WHERE program_id = ?
		GROUP BY merchant_id, year, yday`, programID)
	if err != nil {
		return ch, classify(err)
	}
	days := map[dayKey]int64{}
	for rows.Next() {
		var k dayKey
		var n int64
		if err := rows.Scan(&k.merchant, &k.year, &k.yday, &n); err != nil {
			rows.Close()
			return ch, err
		}
		if n != 0 {
			days[k] = n
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return ch, classify(err)
	}
	wantDays := dayCounts(want)
	for k, n := range wantDays {
		if days[k] != n {
			bad = append(bad, fmt.Sprintf("day %d+%d at %s: %d active, the ledger says %d", k.year, k.yday, k.merchant, days[k], n))
		}
	}
	for k, n := range days {
		if _, ok := wantDays[k]; !ok {
			bad = append(bad, fmt.Sprintf("day %d+%d at %s: %d active, the ledger says none", k.year, k.yday, k.merchant, n))
		}
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		more := ""
		if len(bad) > 5 {
			bad, more = bad[:5], " …"
		}
		ch.OK = false
		ch.Detail += ": violated by " + strings.Join(bad, "; ") + more
	}
	return ch, nil
}
