// Package settlement settles an alliance: what each merchant's points are
// worth (its terms), and statements that turn the lot moves of a period
// into what each merchant owes another and the program. A statement's
// figures are sums over lot moves computed in SQL; closing it marks those
// moves settled (lot_moves.statement_id), so consecutive statements
// neither miss nor repeat a move.
package settlement

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/jifen/jifen/internal/outbox"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/input"
	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

// Breakage: who bears a merchant's expired points.
const (
	BreakageIssuer  = "issuer"  // they just end
	BreakageProgram = "program" // the issuer pays the program their value
)

// Service is the settlement operations.
type Service struct {
	db       *store.DB
	programs *program.Service
	clock    clock.Clock
}

// NewService returns the settlement service.
func NewService(db *store.DB, programs *program.Service, clk clock.Clock) *Service {
	return &Service{db: db, programs: programs, clock: clk}
}

// Terms are a merchant's settlement terms.
type Terms struct {
	MerchantID    string `json:"merchant_id"`
	PointValueFen string `json:"point_value_fen" doc:"decimal string: what one point this merchant issued is worth, in fen"`
	FeePercent    string `json:"fee_percent" doc:"decimal string: the program's fee on what the merchant receives"`
	Breakage      string `json:"breakage" doc:"issuer | program"`
}

// TermsInput sets a merchant's terms; an absent field takes its default.
type TermsInput struct {
	PointValueFen *string `json:"point_value_fen,omitempty" doc:"decimal string, at most 6 decimals (default 100 / points_per_yuan, following it)"`
	FeePercent    *string `json:"fee_percent,omitempty" doc:"decimal string from 0 to 100, at most 6 decimals (default \"0\")"`
	Breakage      string  `json:"breakage,omitempty" doc:"issuer (default) | program"`
}

// Validate checks the input on its own.
func (in TermsInput) Validate() error {
	var fs failure.Fields
	if in.PointValueFen != nil {
		if _, err := parseMicro(*in.PointValueFen); err != nil {
			fs.Add("point_value_fen", "%v", err)
		}
	}
	if in.FeePercent != nil {
		if f, err := parseMicro(*in.FeePercent); err != nil {
			fs.Add("fee_percent", "%v", err)
		} else if f > 100*microUnit {
			fs.Add("fee_percent", "must be between 0 and 100")
		}
	}
	if in.Breakage != "" {
		input.OneOf(&fs, "breakage", in.Breakage, BreakageIssuer, BreakageProgram)
	}
	return fs.Err()
}

// PutTerms sets a merchant's terms (admin). They apply to every statement
// closed from now on, and to the drafts read.
func (s *Service) PutTerms(ctx context.Context, tx *store.Tx, a auth.Actor, merchantID string, in TermsInput) (Terms, error) {
	if err := in.Validate(); err != nil {
		return Terms{}, err
	}
	if a.IsMerchant() {
		return Terms{}, failure.New(failure.Forbidden, "only an admin sets settlement terms")
	}
	if _, err := tx.Merchant(ctx, a.ProgramID, merchantID); err != nil {
		return Terms{}, err
	}
	rec := store.SettlementTerms{MerchantID: merchantID, FeePercent: "0", Breakage: BreakageIssuer, UpdatedAt: s.clock.Now()}
	if in.PointValueFen != nil {
		v, _ := parseMicro(*in.PointValueFen)
		rec.PointValueFen = null.String(v.String())
	}
	if in.FeePercent != nil {
		f, _ := parseMicro(*in.FeePercent)
		rec.FeePercent = f.String()
	}
	if in.Breakage != "" {
		rec.Breakage = in.Breakage
	}
	if err := tx.PutSettlementTerms(ctx, a.ProgramID, rec); err != nil {
		return Terms{}, err
	}
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return Terms{}, err
	}
	return termsOf(rec, p), nil
}

// GetTerms reads a merchant's terms, the defaults where none are set. A
// merchant key reads only its own.
func (s *Service) GetTerms(ctx context.Context, a auth.Actor, merchantID string) (Terms, error) {
	if !a.Sees(merchantID) {
		return Terms{}, failure.New(failure.NotFound, "merchant %s not found", merchantID)
	}
	c := s.db.Read()
	if _, err := c.Merchant(ctx, a.ProgramID, merchantID); err != nil {
		return Terms{}, err
	}
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return Terms{}, err
	}
	all, err := c.AllSettlementTerms(ctx, a.ProgramID)
	if err != nil {
		return Terms{}, err
	}
	rec := store.SettlementTerms{MerchantID: merchantID, FeePercent: "0", Breakage: BreakageIssuer}
	for _, t := range all {
		if t.MerchantID == merchantID {
			rec = t
		}
	}
	return termsOf(rec, p), nil
}

func termsOf(r store.SettlementTerms, p program.Program) Terms {
	v := string(r.PointValueFen)
	if v == "" {
		v = defaultPointValue(p.PointsPerYuan).String()
	}
	return Terms{MerchantID: r.MerchantID, PointValueFen: v, FeePercent: r.FeePercent, Breakage: r.Breakage}
}

// loadBook reads every merchant's terms as numbers.
func loadBook(ctx context.Context, c *store.Conn, p program.Program) (book, error) {
	all, err := c.AllSettlementTerms(ctx, p.ID)
	if err != nil {
		return book{}, err
	}
	def := terms{value: defaultPointValue(p.PointsPerYuan), breakage: BreakageIssuer}
	b := book{set: make(map[string]terms, len(all)), def: def}
	for _, r := range all {
		t := def
		if r.PointValueFen != "" {
			if t.value, err = parseMicro(string(r.PointValueFen)); err != nil {
				return book{}, fmt.Errorf("terms of %s: %w", r.MerchantID, err)
			}
		}
		if t.fee, err = parseMicro(r.FeePercent); err != nil {
			return book{}, fmt.Errorf("terms of %s: %w", r.MerchantID, err)
		}
		t.breakage = r.Breakage
		b.set[r.MerchantID] = t
	}
	return b, nil
}

// Statement settles the moves of one currency recorded before To and not
// settled by an earlier statement.
type Statement struct {
	ID        string     `json:"id"`
	Status    string     `json:"status"` // draft | closed
	Currency  string     `json:"currency"`
	From      time.Time  `json:"from" doc:"the previous closed statement's to (the program's creation at first)"`
	To        time.Time  `json:"to" doc:"excluded"`
	Lines     []Line     `json:"lines"`
	Pairs     []Pair     `json:"pairs"`
	CreatedAt time.Time  `json:"created_at"`
	ClosedAt  *time.Time `json:"closed_at"`
}

// StatementInput opens a draft statement.
type StatementInput struct {
	To       *string `json:"to" doc:"RFC 3339 instant, excluded: after the previous statement's to, not in the future"`
	Currency string  `json:"currency,omitempty" doc:"a point currency of the program (default points)"`
}

// Validate checks the input on its own.
func (in StatementInput) Validate() error {
	var fs failure.Fields
	input.Required(&fs, "to", in.To != nil && *in.To != "", "an RFC 3339 instant")
	if in.To != nil && *in.To != "" {
		if _, err := input.Time("to", in.To); err != nil {
			fs.Merge(err)
		}
	}
	input.Text(&fs, "currency", in.Currency, 32)
	return fs.Err()
}

// Create opens a draft statement (admin): from the end of the last closed
// one of the currency to in.To. One draft per currency at a time.
func (s *Service) Create(ctx context.Context, tx *store.Tx, a auth.Actor, in StatementInput) (Statement, error) {
	if err := in.Validate(); err != nil {
		return Statement{}, err
	}
	if a.IsMerchant() {
		return Statement{}, failure.New(failure.Forbidden, "only an admin opens a statement")
	}
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return Statement{}, err
	}
	cur := in.Currency
	if cur == "" {
		cur = "points"
	}
	if _, ok := p.Currencies[cur]; !ok {
		return Statement{}, failure.Field("currency", "%q is not a currency of the program", cur)
	}
	to, _ := input.Time("to", in.To)
	from, closed, err := tx.LastClosedTo(ctx, p.ID, cur)
	if err != nil {
		return Statement{}, err
	}
	if !closed {
		from = p.CreatedAt.UTC().Truncate(time.Millisecond)
	}
	now := s.clock.Now()
	switch {
	case !to.After(from):
		return Statement{}, failure.Field("to", "must be after the statement's from, %s", from.Format(time.RFC3339Nano))
	case to.After(now):
		return Statement{}, failure.Field("to", "must not be in the future")
	}
	rec := store.Statement{ID: id.New("stm"), Currency: cur, Status: store.StatementDraft, From: from, To: *to, CreatedAt: now}
	if err := tx.InsertStatement(ctx, p.ID, rec); err != nil {
		return Statement{}, err
	}
	return s.view(ctx, &tx.Conn, a, p, rec)
}

// Get reads a statement; a draft's figures are computed now. A merchant
// key sees only its own line and pairs.
func (s *Service) Get(ctx context.Context, a auth.Actor, statementID string) (Statement, error) {
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return Statement{}, err
	}
	c := s.db.Read()
	rec, err := c.Statement(ctx, p.ID, statementID)
	if err != nil {
		return Statement{}, err
	}
	return s.view(ctx, c, a, p, rec)
}

// List lists statements, newest first.
func (s *Service) List(ctx context.Context, a auth.Actor, pg store.Page) ([]Statement, string, error) {
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return nil, "", err
	}
	c := s.db.Read()
	recs, next, err := c.Statements(ctx, p.ID, pg)
	if err != nil {
		return nil, "", err
	}
	out := make([]Statement, len(recs))
	for i, r := range recs {
		if out[i], err = s.view(ctx, c, a, p, r); err != nil {
			return nil, "", err
		}
	}
	return out, next, nil
}

// Delete deletes a draft (admin); a closed statement is a conflict.
func (s *Service) Delete(ctx context.Context, tx *store.Tx, a auth.Actor, statementID string) error {
	if a.IsMerchant() {
		return failure.New(failure.Forbidden, "only an admin deletes a statement")
	}
	return tx.DeleteDraft(ctx, a.ProgramID, statementID)
}

// Close closes a draft (admin), in one transaction: it marks the moves it
// settles (every unsettled move of its currency before its to) and sums
// exactly those, computes its figures with the terms in force now, and
// freezes them. A move committed after the close, a late reversal too, is
// left for the next statement.
func (s *Service) Close(ctx context.Context, tx *store.Tx, a auth.Actor, statementID string) (Statement, error) {
	if a.IsMerchant() {
		return Statement{}, failure.New(failure.Forbidden, "only an admin closes a statement")
	}
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return Statement{}, err
	}
	rec, err := tx.BeginClose(ctx, p.ID, statementID, s.clock.Now())
	if err != nil {
		return Statement{}, err
	}
	sums, err := tx.SettleMoves(ctx, p.ID, rec.Currency, rec.To, rec.ID)
	if err != nil {
		return Statement{}, err
	}
	b, err := loadBook(ctx, &tx.Conn, p)
	if err != nil {
		return Statement{}, err
	}
	lines, pairs, err := compute(sums, b)
	if err != nil {
		return Statement{}, err
	}
	lj, _ := json.Marshal(lines)
	pj, _ := json.Marshal(pairs)
	if err := tx.SetStatementFigures(ctx, p.ID, rec.ID, string(lj), string(pj)); err != nil {
		return Statement{}, err
	}
	st := statementOf(rec, lines, pairs)
	ev := Closed{StatementID: st.ID, Currency: st.Currency, From: st.From, To: st.To}
	if err := outbox.Emit(ctx, tx, p.ID, p.Webhooks, outbox.StatementClosed, "", ev, s.clock.Now()); err != nil {
		return Statement{}, err
	}
	return scoped(st, a), nil
}

// view is a statement as the actor sees it: a draft computed now from the
// unsettled moves and the terms in force, a closed one as it froze.
func (s *Service) view(ctx context.Context, c *store.Conn, a auth.Actor, p program.Program, rec store.Statement) (Statement, error) {
	var lines []Line
	var pairs []Pair
	if rec.Status == store.StatementClosed {
		if err := json.Unmarshal([]byte(rec.Lines), &lines); err != nil {
			return Statement{}, fmt.Errorf("statement %s lines: %w", rec.ID, err)
		}
		if err := json.Unmarshal([]byte(rec.Pairs), &pairs); err != nil {
			return Statement{}, fmt.Errorf("statement %s pairs: %w", rec.ID, err)
		}
	} else {
		sums, err := c.UnsettledSums(ctx, p.ID, rec.Currency, rec.To)
		if err != nil {
			return Statement{}, err
		}
		b, err := loadBook(ctx, c, p)
		if err != nil {
			return Statement{}, err
		}
		if lines, pairs, err = compute(sums, b); err != nil {
			return Statement{}, err
		}
	}
	return scoped(statementOf(rec, lines, pairs), a), nil
}

func statementOf(r store.Statement, lines []Line, pairs []Pair) Statement {
	if lines == nil {
		lines = []Line{}
	}
	if pairs == nil {
		pairs = []Pair{}
	}
	return Statement{ID: r.ID, Status: r.Status, Currency: r.Currency, From: r.From, To: r.To,
		Lines: lines, Pairs: pairs, CreatedAt: r.CreatedAt, ClosedAt: r.ClosedAt}
}

// scoped keeps a merchant key's own line and the pairs it pays or receives.
func scoped(st Statement, a auth.Actor) Statement {
	if !a.IsMerchant() {
		return st
	}
	me := null.String(a.MerchantID)
	lines := []Line{}
	for _, l := range st.Lines {
		if l.MerchantID == me {
			lines = append(lines, l)
		}
	}
	pairs := []Pair{}
	for _, p := range st.Pairs {
		if p.PayerMerchantID == me || p.PayeeMerchantID == me {
			pairs = append(pairs, p)
		}
	}
	st.Lines, st.Pairs = lines, pairs
	return st
}

// Closed is the data of a statement.closed webhook event.
type Closed struct {
	StatementID string    `json:"statement_id"`
	Currency    string    `json:"currency"`
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
}
