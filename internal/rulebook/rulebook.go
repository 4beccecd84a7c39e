// Package rulebook keeps a program's earning rules: creating them,
// recording every change as a new version, deleting them, and a per-node
// cache of the compiled active rules that the event path reads. Compiled
// versions are cached by (rule, version), so a reload only compiles what
// changed.
package rulebook

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/rules"
	"github.com/jifen/jifen/internal/store"
)

// Rule is a rule as the API shows it: its current version's definition,
// and how much of its budget is used.
type Rule struct {
	ID      string `json:"id"`
	Version int    `json:"version"`
	rules.Def
	BudgetUsed int64     `json:"budget_used"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

func ruleOf(r store.Rule) (Rule, error) {
	var d rules.Def
	if err := json.Unmarshal(r.Definition, &d); err != nil {
		return Rule{}, fmt.Errorf("rule %s: %w", r.ID, err)
	}
	d.Status = r.Status
	return Rule{ID: r.ID, Version: r.Version, Def: d, BudgetUsed: r.BudgetUsed, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}, nil
}

func record(programID string, r Rule) store.Rule {
	def, _ := json.Marshal(r.Def)
	var budget *int64
	if r.Limits != nil {
		budget = r.Limits.Budget
	}
	return store.Rule{ID: r.ID, ProgramID: programID, Version: r.Version, Status: r.Status, EventType: r.EventType,
		MerchantID: null.String(r.MerchantID), Definition: def, Budget: budget, BudgetUsed: r.BudgetUsed,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// Book reads and writes rules and caches the compiled active ones.
type Book struct {
	db    *store.DB
	clock clock.Clock
	ttl   time.Duration

	mu       sync.Mutex
	sets     map[string]cachedSet // by program
	compiled map[string]*rules.Rule
}

type cachedSet struct {
	set *rules.Ruleset
	at  time.Time
}

// New returns a rule book whose cache trusts its copy for ttl (changes
// made on this node apply at once).
func New(db *store.DB, clk clock.Clock, ttl time.Duration) *Book {
	return &Book{db: db, clock: clk, ttl: ttl, sets: map[string]cachedSet{}, compiled: map[string]*rules.Rule{}}
}

// create validates and stores a new rule (version 1).
func (b *Book) create(ctx context.Context, tx *store.Tx, programID string, d rules.Def, now time.Time) (Rule, error) {
	if d.Status == "" {
		d.Status = rules.Active
	}
	r := Rule{ID: id.New("rule"), Version: 1, Def: d, CreatedAt: now, UpdatedAt: now}
	compiled, err := rules.Compile(r.ID, r.Version, d)
	if err != nil {
		return Rule{}, err
	}
	r.Def = compiled.Def
	if err := checkMerchant(ctx, tx, programID, r.MerchantID); err != nil {
		return Rule{}, err
	}
	if err := checkCurrency(ctx, tx, programID, r.Reward.Currency); err != nil {
		return Rule{}, err
	}
	if err := tx.SaveRule(ctx, record(programID, r)); err != nil {
		return Rule{}, err
	}
	tx.After(func() { b.Forget(programID) })
	return r, nil
}

// checkCurrency checks that a rule's reward currency is one of the
// programme's, read in the transaction, so a currency created a moment ago
// is there.
func checkCurrency(ctx context.Context, tx *store.Tx, programID, code string) error {
	if code == "" {
		return nil // points
	}
	curs, err := tx.Currencies(ctx, programID)
	if err != nil {
		return err
	}
	for _, c := range curs {
		if c.Code == code {
			return nil
		}
	}
	return failure.Field("reward.currency", "unknown currency %q", code)
}

func checkMerchant(ctx context.Context, tx *store.Tx, programID, merchantID string) error {
	if merchantID == "" {
		return nil
	}
	if _, err := tx.Merchant(ctx, programID, merchantID); err != nil {
		if failure.KindOf(err) == failure.NotFound {
			return failure.Field("merchant_id", "no such merchant")
		}
		return err
	}
	return nil
}

// get reads a rule that is not deleted.
func (b *Book) get(ctx context.Context, c *store.Conn, programID, ruleID string) (Rule, error) {
	r, err := c.Rule(ctx, programID, ruleID)
	if err != nil {
		return Rule{}, err
	}
	if r.Status == rules.Deleted {
		return Rule{}, failure.New(failure.NotFound, "rule %s not found", ruleID)
	}
	return ruleOf(r)
}

// update replaces a rule's definition with the changed one as a new
// version; the budget used so far carries over.
func (b *Book) update(ctx context.Context, tx *store.Tx, programID string, r Rule, now time.Time) (Rule, error) {
	r.Version++
	r.UpdatedAt = now
	compiled, err := rules.Compile(r.ID, r.Version, r.Def)
	if err != nil {
		return Rule{}, err
	}
	r.Def = compiled.Def
	if err := checkMerchant(ctx, tx, programID, r.MerchantID); err != nil {
		return Rule{}, err
	}
	if err := checkCurrency(ctx, tx, programID, r.Reward.Currency); err != nil {
		return Rule{}, err
	}
	if err := tx.SaveRule(ctx, record(programID, r)); err != nil {
		return Rule{}, err
	}
	tx.After(func() { b.Forget(programID) })
	return r, nil
}

// remove marks a locked rule deleted (a new version); its awards keep
// naming it.
func (b *Book) remove(ctx context.Context, tx *store.Tx, programID string, cur store.Rule, now time.Time) error {
	cur.Status, cur.Version, cur.UpdatedAt = rules.Deleted, cur.Version+1, now
	if err := tx.SaveRule(ctx, cur); err != nil {
		return err
	}
	tx.After(func() { b.Forget(programID) })
	return nil
}

// list returns a program's rules, newest first.
func (b *Book) list(ctx context.Context, programID, status, eventType string, p store.Page) ([]Rule, string, error) {
	rows, next, err := b.db.Read().Rules(ctx, programID, status, eventType, p)
	if err != nil {
		return nil, "", err
	}
	out := make([]Rule, 0, len(rows))
	for _, r := range rows {
		v, err := ruleOf(r)
		if err != nil {
			return nil, "", err
		}
		out = append(out, v)
	}
	return out, next, nil
}

// Version is one recorded version of a rule.
type Version struct {
	Version   int       `json:"version"`
	Rule      rules.Def `json:"rule"`
	CreatedAt time.Time `json:"created_at"`
}

// versions lists a rule's versions, newest first.
func (b *Book) versions(ctx context.Context, programID, ruleID string) ([]Version, error) {
	if _, err := b.db.Read().Rule(ctx, programID, ruleID); err != nil {
		return nil, err
	}
	vs, err := b.db.Read().RuleVersions(ctx, programID, ruleID)
	if err != nil {
		return nil, err
	}
	out := make([]Version, 0, len(vs))
	for _, v := range vs {
		var d rules.Def
		if err := json.Unmarshal(v.Definition, &d); err != nil {
			return nil, err
		}
		out = append(out, Version{Version: v.Version, Rule: d, CreatedAt: v.CreatedAt})
	}
	return out, nil
}

// Forget drops a program's cached rule set.
func (b *Book) Forget(programID string) {
	b.mu.Lock()
	delete(b.sets, programID)
	b.mu.Unlock()
}

// Active returns the compiled active rules of a program, from the cache
// when it is fresh.
func (b *Book) Active(ctx context.Context, programID string) (*rules.Ruleset, error) {
	b.mu.Lock()
	c, ok := b.sets[programID]
	b.mu.Unlock()
	if ok && time.Since(c.at) < b.ttl {
		return c.set, nil
	}
	rows, err := b.db.Read().ActiveRules(ctx, programID)
	if err != nil {
		return nil, err
	}
	list := make([]*rules.Rule, 0, len(rows))
	for _, r := range rows {
		key := fmt.Sprintf("%s@%d", r.ID, r.Version)
		b.mu.Lock()
		cr, ok := b.compiled[key]
		b.mu.Unlock()
		if !ok {
			var d rules.Def
			if err := json.Unmarshal(r.Definition, &d); err != nil {
				return nil, fmt.Errorf("rule %s: %w", r.ID, err)
			}
			d.Status = r.Status
			if cr, err = rules.Compile(r.ID, r.Version, d); err != nil {
				return nil, fmt.Errorf("rule %s version %d no longer compiles: %w", r.ID, r.Version, err)
			}
			b.mu.Lock()
			if len(b.compiled) > 10_000 {
				clear(b.compiled)
			}
			b.compiled[key] = cr
			b.mu.Unlock()
		}
		list = append(list, cr)
	}
	set := rules.NewRuleset(list)
	b.mu.Lock()
	b.sets[programID] = cachedSet{set: set, at: time.Now()}
	b.mu.Unlock()
	return set, nil
}
