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

// Rule is a stored rule: its current version's definition (JSON) and
// its budget pool.
type Rule struct {
	ID         string
	ProgramID  string
	Version    int
	Status     string
	EventType  string
	MerchantID null.String
	Definition []byte
	Budget     *int64
	BudgetUsed int64
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

const ruleColumns = `id, program_id, version, status, event_type, merchant_id, definition, budget, budget_used, created_at, updated_at`

func scanRule(row interface{ Scan(...any) error }) (Rule, error) {
	var r Rule
	var def string
	var budget sql.NullInt64
	var created, updated int64
	err := row.Scan(&r.ID, &r.ProgramID, &r.Version, &r.Status, &r.EventType, &r.MerchantID, &def, &budget,
		&r.BudgetUsed, &created, &updated)
	r.Definition = []byte(def)
	if budget.Valid {
		r.Budget = &budget.Int64
	}
	r.CreatedAt, r.UpdatedAt = fromMS(created), fromMS(updated)
	return r, err
}

func optInt(v *int64) any {
	if v == nil {
		return nil
	}
	return *v
}

// SaveRule inserts or updates a rule and records the version.
func (tx *Tx) SaveRule(ctx context.Context, r Rule) error {
	_, err := tx.exec(ctx, `INSERT INTO rules (`+ruleColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET version = excluded.version, status = excluded.status, event_type = excluded.event_type,
		merchant_id = excluded.merchant_id, definition = excluded.definition, budget = excluded.budget,
		updated_at = excluded.updated_at`,
		r.ID, r.ProgramID, r.Version, r.Status, r.EventType, r.MerchantID, string(r.Definition), optInt(r.Budget),
		r.BudgetUsed, ms(r.CreatedAt), ms(r.UpdatedAt))
	if err != nil {
		return fmt.Errorf("save rule %s: %w", r.ID, err)
	}
	_, err = tx.exec(ctx, `INSERT INTO rule_versions (rule_id, version, program_id, definition, created_at)
		VALUES (?, ?, ?, ?, ?)`, r.ID, r.Version, r.ProgramID, string(r.Definition), ms(r.UpdatedAt))
	if err != nil {
		return fmt.Errorf("save rule version %s/%d: %w", r.ID, r.Version, err)
	}
	return nil
}

// Rule reads a rule of the program (deleted ones too).
func (c *Conn) Rule(ctx context.Context, programID, id string) (Rule, error) {
	r, err := scanRule(c.queryRow(ctx, `SELECT `+ruleColumns+` FROM rules WHERE id = ? AND program_id = ?`, id, programID))
	if errors.Is(err, sql.ErrNoRows) {
		return Rule{}, failure.New(failure.NotFound, "rule %s not found", id)
	}
	if err != nil {
		return Rule{}, classify(fmt.Errorf("rule %s: %w", id, err))
	}
	return r, nil
}

// LockRule reads a rule for update.
func (tx *Tx) LockRule(ctx context.Context, programID, id string) (Rule, error) {
	r, err := scanRule(tx.queryRow(ctx, `SELECT `+ruleColumns+` FROM rules WHERE id = ? AND program_id = ? /*lock*/`, id, programID))
	if errors.Is(err, sql.ErrNoRows) {
		return Rule{}, failure.New(failure.NotFound, "rule %s not found", id)
	}
	if err != nil {
		return Rule{}, classify(fmt.Errorf("rule %s: %w", id, err))
	}
	return r, nil
}

// Rules lists a program's rules that are not deleted, newest first; with
// status set, only those.
func (c *Conn) Rules(ctx context.Context, programID, status, eventType string, p Page) ([]Rule, string, error) {
	q := `SELECT ` + ruleColumns + ` FROM rules WHERE program_id = ? AND status <> 'deleted'`
	args := []any{programID}
	if status != "" {
		q += ` AND status = ?`
		args = append(args, status)
	}
	if eventType != "" {
		q += ` AND event_type = ?`
		args = append(args, eventType)
	}
	if p.Cursor != "" {
		q += ` AND id < ?`
		args = append(args, p.Cursor)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, p.Limit+1)
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("rules: %w", err)
	}
	defer rows.Close()
	var out []Rule
	for rows.Next() {
		r, err := scanRule(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, "", classify(err)
	}
	out, cur := next(out, p.Limit, func(r Rule) string { return r.ID })
	return out, cur, nil
}

// ActiveRules lists every active rule of a program, for the rule cache.
func (c *Conn) ActiveRules(ctx context.Context, programID string) ([]Rule, error) {
	rows, err := c.query(ctx, `SELECT `+ruleColumns+` FROM rules WHERE program_id = ? AND status = 'active' ORDER BY id`, programID)
	if err != nil {
		return nil, fmt.Errorf("active rules: %w", err)
	}
	defer rows.Close()
	var out []Rule
	for rows.Next() {
		r, err := scanRule(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, classify(rows.Err())
}

// RuleVersion is one stored version of a rule.
type RuleVersion struct {
	Version    int
	Definition []byte
	CreatedAt  time.Time
}

// RuleVersions lists a rule's versions, newest first.
func (c *Conn) RuleVersions(ctx context.Context, programID, id string) ([]RuleVersion, error) {
	rows, err := c.query(ctx, `SELECT version, definition, created_at FROM rule_versions WHERE rule_id = ? AND program_id = ?
		ORDER BY version DESC`, id, programID)
	if err != nil {
		return nil, fmt.Errorf("rule versions: %w", err)
	}
	defer rows.Close()
	var out []RuleVersion
	for rows.Next() {
		var v RuleVersion
		var def string
		var at int64
		if err := rows.Scan(&v.Version, &def, &at); err != nil {
			return nil, err
		}
		v.Definition, v.CreatedAt = []byte(def), fromMS(at)
		out = append(out, v)
	}
	return out, classify(rows.Err())
}

// TakeBudget takes up to want points from a rule's pool and returns how
// many it got: all of them, the rest of the pool, or none. The conditional
// update decides, so concurrent events never overspend it.
func (tx *Tx) TakeBudget(ctx context.Context, programID, ruleID string, want int64) (int64, error) {
	res, err := tx.exec(ctx, `UPDATE rules SET budget_used = budget_used + ?
		WHERE id = ? AND program_id = ? AND budget_used + ? <= budget`, want, ruleID, programID, want)
	if err != nil {
		return 0, fmt.Errorf("take budget %s: %w", ruleID, err)
	}
	if affected(res) == 1 {
		return want, nil
	}
	var left int64
	err = tx.queryRow(ctx, `SELECT budget - budget_used FROM rules WHERE id = ? AND program_id = ? /*lock*/`,
		ruleID, programID).Scan(&left)
	if err != nil {
		return 0, classify(fmt.Errorf("take budget %s: %w", ruleID, err))
	}
	if left <= 0 {
		return 0, nil
	}
	take := min(left, want)
	res, err = tx.exec(ctx, `UPDATE rules SET budget_used = budget_used + ?
		WHERE id = ? AND program_id = ? AND budget_used + ? <= budget`, take, ruleID, programID, take)
	if err != nil {
		return 0, fmt.Errorf("take budget %s: %w", ruleID, err)
	}
	if affected(res) == 0 {
		return 0, nil
	}
	return take, nil
}

// Usage reads a member's points from a rule in the given periods.
func (tx *Tx) Usage(ctx context.Context, programID, ruleID, memberID string, periods []string) (map[string]int64, error) {
	out := make(map[string]int64, len(periods))
	if len(periods) == 0 {
		return out, nil
	}
	args := []any{programID, ruleID, memberID}
	for _, p := range periods {
		args = append(args, p)
	}
	rows, err := tx.query(ctx, `SELECT period, points FROM rule_usage WHERE program_id = ? AND rule_id = ? AND member_id = ? AND period IN (`+
		placeholderList(len(periods))+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("rule usage: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p string
		var n int64
		if err := rows.Scan(&p, &n); err != nil {
			return nil, err
		}
		out[p] = n
	}
	return out, classify(rows.Err())
}

// AddUsage adds points to a member's usage of a rule in each period.
func (tx *Tx) AddUsage(ctx context.Context, programID, ruleID, memberID string, periods []string, points int64) error {
	for _, p := range periods {
		_, err := tx.exec(ctx, `INSERT INTO rule_usage (rule_id, member_id, period, program_id, points) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (program_id, rule_id, member_id, period) DO UPDATE SET points = rule_usage.points + excluded.points`,
			ruleID, memberID, p, programID, points)
		if err != nil {
			return fmt.Errorf("rule usage: %w", err)
		}
	}
	return nil
}

func placeholderList(n int) string {
	if n == 0 {
		return ""
	}
	b := make([]byte, 0, 3*n)
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, '?')
	}
	return string(b)
}
