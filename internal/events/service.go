package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jifen/jifen/internal/audience"
	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/engage"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/identity"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/member"
	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/rulebook"
	"github.com/jifen/jifen/internal/rules"
	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/tier"
)

// Result is the response to an event.
type Result struct {
	EventID       string              `json:"event_id"`
	MemberID      string              `json:"member_id"`
	Awards        []Award             `json:"awards"`
	TierChange    *tier.Change        `json:"tier_change,omitempty"`
	Tasks         []engage.Completion `json:"tasks_completed,omitempty"`
	Skipped       []Skipped           `json:"skipped,omitempty"`
	MemberCreated bool                `json:"member_created,omitempty"`
	Simulated     bool                `json:"simulated,omitempty"`
}

// Award is what an event gave (or, on a refund, took back: negative
// points), with its source: a rule, the referral its order qualified (to
// the invitee and to the inviter, whose member_id it names) or a task it
// completed. Capped says a per-member cap or the rule's budget cut a
// rule's award.
type Award struct {
	Source        string  `json:"source" api:"enum=rule|referral|task|checkout"`
	RuleID        string  `json:"rule_id,omitempty"`
	RuleVersion   int     `json:"rule_version,omitempty"`
	TaskID        string  `json:"task_id,omitempty"`
	MemberID      string  `json:"member_id"`
	Currency      string  `json:"currency"`
	Points        int64   `json:"points"`
	TransactionID *string `json:"transaction_id"`
	Capped        bool    `json:"capped,omitempty"`
	CappedBy      string  `json:"capped_by,omitempty"` // per_member.day|week|month|total, budget
}

// Award sources.
const (
	SourceRule     = "rule"
	SourceReferral = "referral"
	SourceTask     = "task"
	SourceCheckout = "checkout" // points paid at checkout, returned by a refund
)

// Skipped is a rule whose condition or expression failed to evaluate.
type Skipped struct {
	RuleID string `json:"rule_id"`
	Reason string `json:"reason"`
}

// Service processes events.
type Service struct {
	db       *store.DB
	programs *program.Service
	members  *member.Service
	tasks    *engage.Service
	rules    *rulebook.Book
	clock    clock.Clock
}

// NewService returns the event service.
func NewService(db *store.DB, programs *program.Service, members *member.Service, tasks *engage.Service,
	book *rulebook.Book, clk clock.Clock) *Service {
	return &Service{db: db, programs: programs, members: members, tasks: tasks, rules: book, clock: clk}
}

// Posted is the answer to an event: its result, or, when its id was
// processed before, the first result unchanged (a replay, answered 200).
type Posted struct {
	Body   json.RawMessage
	Replay bool
}

// MarshalJSON writes the result as it was recorded.
func (p Posted) MarshalJSON() ([]byte, error) { return p.Body, nil }

// StatusCode is 201 for a new event and 200 for a replay.
func (p Posted) StatusCode() int {
	if p.Replay {
		return 200
	}
	return 201
}

// Post processes an event once: it records it (idempotent on its id),
// runs the programme's rules, applies caps and budgets, awards through the
// ledger, advances tasks, pays a referral on a first order, raises the
// tier, or claws a refunded order back — all in tx. A merchant key posts
// as its own merchant. A duplicate of the id that committed concurrently
// is store.ErrRace: run again, and it replays.
func (s *Service) Post(ctx context.Context, tx *store.Tx, a auth.Actor, in Input) (Posted, error) {
	pr, err := s.Prepare(ctx, a, in)
	if err != nil {
		return Posted{}, err
	}
	return s.PostPrepared(ctx, tx, a, pr)
}

// Prepared is an event checked and parsed, outside any transaction.
type Prepared struct {
	p program.Program
	e *event
}

// Prepare checks and parses an event: work that needs nothing of the
// member's state, done before the write so the writer's serialized section
// does not hold it (issue 19). The event's time of receipt is now.
func (s *Service) Prepare(ctx context.Context, a auth.Actor, in Input) (*Prepared, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return nil, err
	}
	if _, err := a.ActingMerchant(in.MerchantID); err != nil {
		return nil, err
	}
	e, err := parse(in, p.Currency, s.clock.Now())
	if err != nil {
		return nil, err
	}
	return &Prepared{p: p, e: e}, nil
}

// PostPrepared is Post of a prepared event: the acting merchant is checked
// in tx, then the event is processed. A prepared event can be posted again
// (a write that runs again after a failed batch).
func (s *Service) PostPrepared(ctx context.Context, tx *store.Tx, a auth.Actor, pr *Prepared) (Posted, error) {
	p, e, err := s.acting(ctx, tx, a, pr)
	if err != nil {
		return Posted{}, err
	}
	if stored, ok, err := tx.EventResult(ctx, p.ID, e.ID); err != nil || ok {
		return Posted{Body: stored, Replay: ok}, err
	}
	r, err := s.process(ctx, tx, a, p, e, false)
	if err != nil {
		return Posted{}, err
	}
	out, err := json.Marshal(r)
	if err != nil {
		return Posted{}, err
	}
	inserted, err := tx.InsertEvent(ctx, store.Event{
		ProgramID: p.ID, ID: e.ID, Type: e.Type, MemberID: r.MemberID, MerchantID: null.String(e.MerchantID),
		OccurredAt: e.at, Data: dataJSON(e.Data), Result: out, CreatedAt: e.received,
	})
	if err != nil {
		return Posted{}, err
	}
	if !inserted {
		return Posted{}, store.ErrRace
	}
	// An event makes its member active that day, awards or not. A rule's
	// award has done it already: its transaction (this member, the
	// event's merchant, this time) was marked by the ledger's write.
	if !(e.refund == nil && r.ruleCredited()) {
		if err := tx.MarkActive(ctx, p.ID, p.Location, e.received, store.Active{MemberID: r.MemberID, MerchantID: e.MerchantID}); err != nil {
			return Posted{}, err
		}
	}
	// The member's statistics, in the event's transaction.
	act := audience.Activity{Type: e.Type, At: e.at, Received: e.received}
	switch {
	case e.order != nil:
		act.Amount, act.Items = e.order.Amount, map[string]int64{}
		for _, it := range e.order.Items {
			if it.Category != "" {
				act.Items[it.Category] += it.Amount
			}
		}
	case e.refund != nil:
		act.Amount = e.refunded
	}
	if err := audience.Record(ctx, tx, p.ID, r.MemberID, act); err != nil {
		return Posted{}, err
	}
	return Posted{Body: out}, nil
}

// ruleCredited says a rule's award of the event was credited.
func (r Result) ruleCredited() bool {
	for _, a := range r.Awards {
		if a.Source == SourceRule && a.TransactionID != nil {
			return true
		}
	}
	return false
}

// errSimulated rolls a simulation back.
var errSimulated = errors.New("simulated: roll back")

// Simulate runs an event exactly as Post would, in a transaction of its
// own that is then rolled back: it says what the event would earn (caps,
// budgets, tier change included) and writes nothing. The event's id is
// not checked against earlier ones.
func (s *Service) Simulate(ctx context.Context, a auth.Actor, in Input) (Result, error) {
	var r Result
	pr, err := s.Prepare(ctx, a, in)
	if err != nil {
		return Result{}, err
	}
	err = s.db.Write(ctx, in.Member, func(ctx context.Context, tx *store.Tx) error {
		p, e, err := s.acting(ctx, tx, a, pr)
		if err != nil {
			return err
		}
		if r, err = s.process(ctx, tx, a, p, e, true); err != nil {
			return err
		}
		return errSimulated
	})
	if !errors.Is(err, errSimulated) {
		if err == nil {
			err = failure.New(failure.Internal, "simulation was not rolled back")
		}
		return Result{}, err
	}
	// The transaction was rolled back: there are no transactions to
	// point at.
	r.Simulated = true
	for i := range r.Awards {
		r.Awards[i].TransactionID = nil
	}
	for i := range r.Tasks {
		r.Tasks[i].TransactionID = ""
	}
	return r, nil
}

// acting is a copy of the prepared event with its acting merchant, checked
// in tx (a merchant that is not there is refused).
func (s *Service) acting(ctx context.Context, tx *store.Tx, a auth.Actor, pr *Prepared) (program.Program, *event, error) {
	e := new(event)
	*e = *pr.e
	var err error
	e.MerchantID, err = program.ActingMerchant(ctx, tx, a, e.MerchantID)
	return pr.p, e, err
}

func dataJSON(d json.RawMessage) []byte {
	if len(d) == 0 {
		return []byte("{}")
	}
	return d
}

func (s *Service) process(ctx context.Context, tx *store.Tx, a auth.Actor, p program.Program, e *event, simulate bool) (Result, error) {
	r := Result{EventID: e.ID, Awards: []Award{}}
	lp := p.Ledger()
	now := e.received
	var m store.Member
	var err error
	if e.CreateMember {
		m, r.MemberCreated, err = s.members.CreateOnEvent(ctx, tx, a, e.Member, e.MerchantID)
	} else {
		// The ID only (no query for a member ID): the lock below reads
		// the member, and answers not_found for one that is not there.
		m.ID, err = identity.ID(ctx, &tx.Conn, a, e.Member)
	}
	var lk *ledger.Locked
	if err == nil {
		// The member's lock serializes its events: caps, tasks and tiers
		// are read and written under it.
		if lk, err = ledger.Lock(ctx, tx, lp, m.ID, now); err == nil {
			m = lk.Member
		}
	}
	if err != nil {
		if failure.KindOf(err) == failure.NotFound {
			return r, failure.New(failure.NotFound, "member %s not found (send \"create_member\": true to create an ext: member)", e.Member)
		}
		return r, err
	}
	if !simulate && tx.Postgres() {
		// A duplicate of this event may have committed on another node
		// while we waited for the lock: then it is a replay. (On SQLite
		// the transaction holds the one write lock from its start, so
		// nothing can have committed since Post looked.)
		if _, ok, err := tx.EventResult(ctx, p.ID, e.ID); err != nil {
			return r, err
		} else if ok {
			return r, store.ErrRace
		}
	}
	if err := ledger.Active(m); err != nil {
		return r, err
	}
	r.MemberID = m.ID

	if e.refund != nil {
		return r, s.refund(ctx, tx, p, e, m, &r, now)
	}
	if e.order != nil && !simulate {
		ok, err := tx.InsertOrder(ctx, store.Order{ProgramID: p.ID, OrderID: e.order.ID, MemberID: m.ID, EventID: e.ID,
			Amount: e.order.Amount, CreatedAt: now})
		if err != nil {
			return r, err
		}
		if !ok {
			return r, failure.New(failure.Conflict, "order %s was already paid by another event", e.order.ID)
		}
	}

	set, err := s.rules.Active(ctx, p.ID)
	if err != nil {
		return r, err
	}
	in := rulesInput(p, e, m)
	var earns []ledger.EarnInput
	var paid []int // the awards that earn, in the order of earns
	var caps []capped
	for _, match := range set.Evaluate(ctx, in) {
		if match.Err != nil {
			r.Skipped = append(r.Skipped, Skipped{RuleID: match.Rule.ID, Reason: match.Err.Error()})
			continue
		}
		a, periods, err := s.limit(ctx, tx, p, e, m, match)
		if err != nil {
			return r, err
		}
		if a == nil {
			continue
		}
		r.Awards = append(r.Awards, *a)
		if a.Points == 0 {
			continue
		}
		rule := match.Rule
		meta, _ := json.Marshal(map[string]any{"event_id": e.ID, "rule_id": rule.ID, "rule_version": rule.Version})
		earns = append(earns, ledger.EarnInput{
			MemberID: m.ID, Points: a.Points, Currency: a.Currency, Reason: "rule: " + rule.Name, Reference: e.ID,
			MerchantID: e.MerchantID, Expiry: rule.Reward.Expires, EarnedAt: e.at, Metadata: meta, Now: now,
		})
		paid = append(paid, len(r.Awards)-1)
		if len(periods) > 0 {
			caps = append(caps, capped{rule.ID, periods, a.Points})
		}
	}
	if err := s.credit(ctx, tx, p, e, lk, r.Awards, earns, paid, caps, now); err != nil {
		return r, err
	}

	if s.tasks.HasTasks(ctx, p.ID, e.Type) {
		done, err := engage.Advance(ctx, tx, p, m.ID, e.Type, e.MerchantID, e.at, now)
		if err != nil {
			return r, err
		}
		r.Tasks = done
		for _, c := range done {
			tid := c.TransactionID
			r.Awards = append(r.Awards, Award{Source: SourceTask, TaskID: c.TaskID, MemberID: m.ID, Currency: c.Currency,
				Points: c.Points, TransactionID: &tid})
		}
	}
	if e.order != nil && m.ReferredBy != "" {
		paid, err := engage.FirstOrder(ctx, tx, p, m.ID, e.order.ID, e.ID, e.order.Amount, now)
		if err != nil {
			return r, err
		}
		r.Awards = append(r.Awards, referralAwards(paid)...)
	}
	if r.TierChange, err = tier.Raise(ctx, tx, p, m, now); err != nil {
		return r, err
	}
	return r, nil
}

func rulesInput(p program.Program, e *event, m store.Member) *rules.Input {
	var attrs map[string]any
	json.Unmarshal(m.Attributes, &attrs)
	return &rules.Input{
		EventID: e.ID, Type: e.Type, OccurredAt: e.at, MerchantID: e.MerchantID, Data: e.data,
		Member: rules.Member{ID: m.ID, ExternalID: string(m.ExternalID), Tier: string(m.Tier), Tags: m.Tags,
			Attributes: attrs, Gender: m.Gender, Birthday: string(m.Birthday), Region: string(m.Region),
			Status: m.Status, ReferredBy: string(m.ReferredBy), CreatedAt: m.CreatedAt},
		Order: e.order, Location: p.Location, TierMultiplier: p.Multiplier(string(m.Tier)),
	}
}

// capped is a rule's award counted against per-member caps.
type capped struct {
	ruleID  string
	periods []string
	points  int64
}

// limit applies a match's per-member caps and budget; it returns the award
// (nil for none) and the cap periods to count it in.
func (s *Service) limit(ctx context.Context, tx *store.Tx, p program.Program, e *event, m store.Member, match rules.Match) (*Award, []string, error) {
	rule := match.Rule
	a := &Award{Source: SourceRule, MemberID: m.ID, RuleID: rule.ID, RuleVersion: rule.Version, Currency: rule.Currency(), Points: match.Points}
	if a.Points <= 0 {
		return nil, nil, nil
	}
	var periods []string
	if rule.Limits != nil && rule.Limits.PerMember != nil {
		pm := rule.Limits.PerMember
		day, week, month := rules.Periods(e.at, p.Location)
		var caps []int64
		var names []string
		for _, c := range []struct {
			name, period string
			cap          *int64
		}{{"day", day, pm.Day}, {"week", week, pm.Week}, {"month", month, pm.Month}, {"total", "total", pm.Total}} {
			if c.cap != nil {
				periods, caps, names = append(periods, c.period), append(caps, *c.cap), append(names, c.name)
			}
		}
		used, err := tx.Usage(ctx, p.ID, rule.ID, m.ID, periods)
		if err != nil {
			return nil, nil, err
		}
		for i, per := range periods {
			if left := max(caps[i]-used[per], 0); a.Points > left {
				a.Points, a.Capped, a.CappedBy = left, true, "per_member."+names[i]
			}
		}
	}
	if a.Points > 0 && rule.Budget() > 0 {
		took, err := tx.TakeBudget(ctx, p.ID, rule.ID, a.Points)
		if err != nil {
			return nil, nil, err
		}
		if took < a.Points {
			a.Points, a.Capped, a.CappedBy = took, true, "budget"
		}
	}
	if a.Points < 0 {
		a.Points = 0
	}
	return a, periods, nil
}

// credit writes an event's awards: one ledger write for all of them (each
// keeps its transaction and lot), their cap usage, and one statement of
// award rows.
func (s *Service) credit(ctx context.Context, tx *store.Tx, p program.Program, e *event, lk *ledger.Locked, awards []Award,
	earns []ledger.EarnInput, paid []int, caps []capped, now time.Time) error {
	if len(earns) == 0 {
		return nil
	}
	m := lk.Member
	// In the operation that took the member's lock: its points row is not
	// read again (nothing has changed the member's balances since).
	txns, err := lk.EarnMany(ctx, earns)
	if err != nil {
		return fmt.Errorf("award: %w", err)
	}
	for _, c := range caps {
		if err := tx.AddUsage(ctx, p.ID, c.ruleID, m.ID, c.periods, c.points); err != nil {
			return err
		}
	}
	orderID := ""
	if e.order != nil {
		orderID = e.order.ID
	}
	rows := make([]store.Award, len(txns))
	for i, t := range txns {
		a := &awards[paid[i]]
		tid := t.ID
		a.TransactionID = &tid
		rows[i] = store.Award{ID: id.New("awd"), ProgramID: p.ID, EventID: e.ID, RuleID: a.RuleID,
			RuleVersion: a.RuleVersion, MemberID: m.ID, Currency: a.Currency, Points: a.Points, TransactionID: t.ID,
			OrderID: null.String(orderID), Capped: a.Capped, CreatedAt: now}
	}
	return tx.InsertAwards(ctx, rows)
}

// refund claws back a refunded order's awards in proportion: after refunds
// totalling R of an order of amount A, each award P of the order has lost
// floor(P × R / A) in all, so refunds that add up to the whole order claw
// back the whole award. An order of amount 0 loses everything at its first
// refund.
func (s *Service) refund(ctx context.Context, tx *store.Tx, p program.Program, e *event, m store.Member, r *Result, now time.Time) error {
	o, err := tx.LockOrder(ctx, p.ID, e.refund.OrderID)
	if failure.KindOf(err) == failure.NotFound {
		o, err = s.heldOrder(ctx, tx, p, e, m, now)
	}
	if err != nil {
		return err
	}
	if o.MemberID != m.ID {
		return failure.Field("data.order_id", "order %q belongs to another member", o.OrderID)
	}
	left := o.Amount - o.Refunded
	amount := left
	if e.refund.Amount != nil {
		amount = *e.refund.Amount
	}
	if amount > left || (o.Amount == 0 && o.Refunds > 0) || (o.Amount > 0 && left == 0) {
		return failure.New(failure.LimitExceeded, "order %s has %d of %d fen left to refund", o.OrderID, left, o.Amount)
	}
	before, after := o.Refunded, o.Refunded+amount
	awards, err := tx.OrderAwards(ctx, p.ID, o.OrderID)
	if err != nil {
		return err
	}
	lp := p.Ledger()
	for _, a := range awards {
		var lost int64
		if o.Amount == 0 {
			lost = a.Points
		} else {
			lost = lostAfter(a.Points, after, o.Amount) - lostAfter(a.Points, before, o.Amount)
		}
		orig, err := tx.Txn(ctx, p.ID, a.TransactionID)
		if err != nil {
			return err
		}
		// An operator may have reversed part of the award by hand already.
		lost = min(lost, orig.Points-orig.Reversed)
		if lost <= 0 {
			continue
		}
		rev, err := ledger.Reverse(ctx, tx, lp, ledger.ReverseInput{
			TransactionID: a.TransactionID, Points: lost, Reason: "refund of order " + o.OrderID, Now: now,
		})
		if err != nil {
			return fmt.Errorf("claw back award %s: %w", a.ID, err)
		}
		r.Awards = append(r.Awards, Award{Source: SourceRule, RuleID: a.RuleID, RuleVersion: a.RuleVersion, MemberID: m.ID,
			Currency: a.Currency, Points: -lost, TransactionID: &rev.ID})
	}
	if err := returnCheckout(ctx, tx, p, o, m, before, after, r, now); err != nil {
		return err
	}
	if after == o.Amount {
		back, err := engage.ClawBack(ctx, tx, p, m.ID, o.OrderID, now)
		if err != nil {
			return err
		}
		r.Awards = append(r.Awards, referralAwards(back)...)
	}
	e.refunded = amount
	return tx.AddRefund(ctx, p.ID, o.OrderID, amount)
}

// heldOrder is the order of a refund that no order.paid event recorded but
// holds named (an order paid partly with points at a till that posts no
// events): it is recorded from the holds' order_amount.
func (s *Service) heldOrder(ctx context.Context, tx *store.Tx, p program.Program, e *event, m store.Member, now time.Time) (store.Order, error) {
	holds, err := tx.OrderHolds(ctx, p.ID, e.refund.OrderID)
	if err != nil {
		return store.Order{}, err
	}
	for _, h := range holds {
		if h.MemberID != m.ID || h.OrderAmount == nil {
			continue
		}
		if _, err := tx.InsertOrder(ctx, store.Order{ProgramID: p.ID, OrderID: e.refund.OrderID, MemberID: m.ID,
			EventID: e.ID, Amount: *h.OrderAmount, CreatedAt: now}); err != nil {
			return store.Order{}, err
		}
		return tx.LockOrder(ctx, p.ID, e.refund.OrderID)
	}
	return store.Order{}, failure.Field("data.order_id", "no paid order %q", e.refund.OrderID)
}

// returnCheckout gives back, in proportion to the refund, the points
// captured by holds that named the order: after refunds totalling R of an
// order of amount A, a capture of C points has returned floor(C × R / A)
// in all, so a full refund returns all of it.
func returnCheckout(ctx context.Context, tx *store.Tx, p program.Program, o store.Order, m store.Member, before, after int64, r *Result, now time.Time) error {
	holds, err := tx.OrderHolds(ctx, p.ID, o.OrderID)
	if err != nil {
		return err
	}
	for _, h := range holds {
		if h.Status != store.HoldCaptured || h.TransactionID == "" || h.MemberID != m.ID {
			continue
		}
		back := h.Captured
		if o.Amount > 0 {
			back = lostAfter(h.Captured, after, o.Amount) - lostAfter(h.Captured, before, o.Amount)
		}
		orig, err := tx.Txn(ctx, p.ID, string(h.TransactionID))
		if err != nil {
			return err
		}
		if back = min(back, orig.Points-orig.Reversed); back <= 0 {
			continue
		}
		rev, err := ledger.Reverse(ctx, tx, p.Ledger(), ledger.ReverseInput{
			TransactionID: orig.ID, Points: back, Reason: "refund of order " + o.OrderID + ": points paid at checkout", Now: now,
		})
		if err != nil {
			return fmt.Errorf("return checkout points of hold %s: %w", h.ID, err)
		}
		r.Awards = append(r.Awards, Award{Source: SourceCheckout, MemberID: m.ID, Currency: orig.Currency, Points: back,
			TransactionID: &rev.ID})
	}
	return nil
}

// referralAwards are a referral's credits as awards.
func referralAwards(cs []engage.Credit) []Award {
	out := make([]Award, len(cs))
	for i, c := range cs {
		tid := c.TransactionID
		out[i] = Award{Source: SourceReferral, MemberID: c.MemberID, Currency: ledger.Points, Points: c.Points, TransactionID: &tid}
	}
	return out
}

// lostAfter is floor(p × refunded / amount), without overflow for any
// realistic order.
func lostAfter(p, refunded, amount int64) int64 {
	if refunded >= amount {
		return p
	}
	hi, lo := mul64(p, refunded)
	return div128(hi, lo, amount)
}
