package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/tier"
)

type earnRequest struct {
	Points      int64           `json:"points"`
	Currency    string          `json:"currency,omitempty"`
	Reason      string          `json:"reason,omitempty"`
	Reference   string          `json:"reference,omitempty"`
	MerchantID  string          `json:"merchant_id,omitempty"`
	AvailableAt *string         `json:"available_at,omitempty"`
	ExpiresAt   *string         `json:"expires_at,omitempty"`
	Metadata    json.RawMessage `json:"metadata,omitempty"`
}

type spendRequest struct {
	Points     int64           `json:"points"`
	Currency   string          `json:"currency,omitempty"`
	Reason     string          `json:"reason,omitempty"`
	Reference  string          `json:"reference,omitempty"`
	MerchantID string          `json:"merchant_id,omitempty"`
	Metadata   json.RawMessage `json:"metadata,omitempty"`
}

type adjustRequest struct {
	Points   int64           `json:"points"`
	Currency string          `json:"currency,omitempty"`
	Reason   string          `json:"reason"`
	Metadata json.RawMessage `json:"metadata,omitempty"`
}

type holdRequest struct {
	Points           int64  `json:"points"`
	Currency         string `json:"currency,omitempty"`
	Reference        string `json:"reference,omitempty"`
	MerchantID       string `json:"merchant_id,omitempty"`
	ExpiresInSeconds int64  `json:"expires_in_seconds,omitempty"`
}

type captureRequest struct {
	Points int64 `json:"points,omitempty"`
}

type reverseRequest struct {
	Points int64  `json:"points,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// maxHoldSeconds bounds a hold's life: 30 days.
const maxHoldSeconds = 30 * 24 * 3600

var txnTypes = []string{ledger.TypeEarn, ledger.TypeSpend, ledger.TypeAdjust, ledger.TypeExpire, ledger.TypeReverse,
	ledger.TypeHold, ledger.TypeCapture, ledger.TypeRelease, ledger.TypeActivate}

func (s *Server) registerPoints() {
	m := "/v1/members/{member}"
	s.handle(route{method: "POST", path: m + "/points/earn", access: operator, tag: "points", summary: "Earn points",
		in: earnRequest{}, out: ledger.Txn{}, status: 201, handler: legacy(s.earn)})
	s.handle(route{method: "POST", path: m + "/points/spend", access: operator, tag: "points", summary: "Spend points",
		in: spendRequest{}, out: ledger.Txn{}, status: 201, handler: legacy(s.spend)})
	s.handle(route{method: "POST", path: m + "/points/adjust", access: admin, tag: "points", summary: "Adjust points",
		in: adjustRequest{}, out: ledger.Txn{}, status: 201, handler: legacy(s.adjust)})
	s.handle(route{method: "GET", path: m + "/transactions", access: anyRole, tag: "points",
		summary: "List a member's transactions", out: listBody[ledger.Txn]{}, status: 200, handler: legacy(s.listTxns),
		query: append([]param{{name: "type"}, {name: "currency"}}, pageParams...)})
	s.handle(route{method: "GET", path: m + "/lots", access: anyRole, tag: "points", summary: "List a member's lots",
		out: listBody[store.Lot]{}, status: 200, handler: legacy(s.listLots),
		query: append([]param{{name: "status"}, {name: "currency"}}, pageParams...)})
	s.handle(route{method: "POST", path: m + "/holds", access: operator, tag: "holds", summary: "Hold points",
		in: holdRequest{}, out: ledger.Hold{}, status: 201, handler: legacy(s.placeHold)})
	s.handle(route{method: "GET", path: m + "/holds", access: anyRole, tag: "holds", summary: "List a member's holds",
		out: listBody[ledger.Hold]{}, status: 200, handler: legacy(s.listHolds),
		query: append([]param{{name: "status"}}, pageParams...)})
	s.handle(route{method: "GET", path: "/v1/holds/{id}", access: anyRole, tag: "holds", summary: "Read a hold",
		out: ledger.Hold{}, status: 200, handler: legacy(s.getHold)})
	s.handle(route{method: "POST", path: "/v1/holds/{id}/capture", access: operator, tag: "holds", summary: "Capture a hold",
		in: captureRequest{}, out: ledger.Hold{}, status: 200, handler: legacy(s.captureHold)})
	s.handle(route{method: "POST", path: "/v1/holds/{id}/release", access: operator, tag: "holds", summary: "Release a hold",
		out: ledger.Hold{}, status: 200, handler: legacy(s.releaseHold)})
	s.handle(route{method: "GET", path: "/v1/transactions/{id}", access: anyRole, tag: "points",
		summary: "Read a transaction", out: ledger.Txn{}, status: 200, handler: legacy(s.getTxn)})
	s.handle(route{method: "POST", path: "/v1/transactions/{id}/reverse", access: operator, tag: "points",
		summary: "Reverse a transaction", in: reverseRequest{}, out: ledger.Txn{}, status: 201, handler: legacy(s.reverse)})
}

// withTierRaise runs a ledger write and, when it changes the growth value
// of a program with tiers, raises the member's tier at once. The member's
// lock comes first, as in every operation on several of its rows.
func withTierRaise(ctx context.Context, tx *store.Tx, p program.Program, memberID, currency string, now time.Time, write func() (ledger.Txn, error)) (ledger.Txn, error) {
	if currency != ledger.Growth || len(p.Tiers) == 0 {
		return write()
	}
	if _, err := ledger.LockMember(ctx, tx, p.Ledger(), memberID, now); err != nil {
		return ledger.Txn{}, err
	}
	t, err := write()
	if err != nil {
		return t, err
	}
	m, err := tx.MemberByID(ctx, p.ID, memberID)
	if err != nil {
		return t, err
	}
	_, err = tier.Raise(ctx, tx, p, m, now)
	return t, err
}

// merchantFor checks the merchant a write names (or the merchant key's
// own) inside the transaction: it must exist in the program.
// memberWrite answers a ledger operation on the path's {member} with 201:
// it resolves the member and the acting merchant (a merchant key acts only
// as itself; named is the body's merchant_id) and checks that merchant in
// the operation's own transaction.
func (s *Server) memberWrite(w http.ResponseWriter, r *http.Request, body []byte, named string,
	op func(ctx context.Context, tx *store.Tx, p program.Program, memberID, merchantID string) (any, error)) {
	mer, err := actingMerchant(r, named)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	m, err := s.resolve(r, r.PathValue("member"))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	p, err := s.program(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	s.writeLegacy(w, r, body, 201, m.ID, func(ctx context.Context, tx *store.Tx) (any, error) {
		if err := merchantFor(ctx, tx, p.ID, mer); err != nil {
			return nil, err
		}
		return op(ctx, tx, p, m.ID, mer)
	})
}

func merchantFor(ctx context.Context, tx *store.Tx, programID, merchantID string) error {
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

func (s *Server) earn(w http.ResponseWriter, r *http.Request) {
	in, body, err := decodeBody[earnRequest](s, w, r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	var fs failure.Fields
	if in.Points <= 0 {
		fs.Add("points", "must be greater than zero")
	}
	checkText(&fs, "reason", in.Reason, 256)
	checkText(&fs, "reference", in.Reference, 128)
	checkMetadata(&fs, in.Metadata)
	availableAt, err := parseTime("available_at", in.AvailableAt)
	if err != nil {
		fs = append(fs, failure.As(err).Fields...)
	}
	expiresAt, err := parseTime("expires_at", in.ExpiresAt)
	if err != nil {
		fs = append(fs, failure.As(err).Fields...)
	}
	if err := fs.Err(); err != nil {
		s.problem(w, r, err)
		return
	}
	s.memberWrite(w, r, body, in.MerchantID, func(ctx context.Context, tx *store.Tx, p program.Program, memberID, mer string) (any, error) {
		return withTierRaise(ctx, tx, p, memberID, in.Currency, s.clock.Now(), func() (ledger.Txn, error) {
			return ledger.Earn(ctx, tx, p.Ledger(), ledger.EarnInput{
				MemberID: memberID, Points: in.Points, Currency: in.Currency, Reason: in.Reason, Reference: in.Reference,
				MerchantID: mer, AvailableAt: availableAt, ExpiresAt: expiresAt, Metadata: in.Metadata, Now: s.clock.Now(),
			})
		})
	})
}

func (s *Server) spend(w http.ResponseWriter, r *http.Request) {
	in, body, err := decodeBody[spendRequest](s, w, r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	var fs failure.Fields
	if in.Points <= 0 {
		fs.Add("points", "must be greater than zero")
	}
	checkText(&fs, "reason", in.Reason, 256)
	checkText(&fs, "reference", in.Reference, 128)
	checkMetadata(&fs, in.Metadata)
	if err := fs.Err(); err != nil {
		s.problem(w, r, err)
		return
	}
	s.memberWrite(w, r, body, in.MerchantID, func(ctx context.Context, tx *store.Tx, p program.Program, memberID, mer string) (any, error) {
		return ledger.Spend(ctx, tx, p.Ledger(), ledger.SpendInput{
			MemberID: memberID, Points: in.Points, Currency: in.Currency, Reason: in.Reason, Reference: in.Reference,
			MerchantID: mer, Metadata: in.Metadata, Now: s.clock.Now(),
		})
	})
}

func (s *Server) adjust(w http.ResponseWriter, r *http.Request) {
	in, body, err := decodeBody[adjustRequest](s, w, r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	var fs failure.Fields
	if in.Points == 0 {
		fs.Add("points", "must not be zero")
	}
	if in.Reason == "" {
		fs.Add("reason", "is required")
	}
	checkText(&fs, "reason", in.Reason, 256)
	checkMetadata(&fs, in.Metadata)
	if err := fs.Err(); err != nil {
		s.problem(w, r, err)
		return
	}
	s.memberWrite(w, r, body, "", func(ctx context.Context, tx *store.Tx, p program.Program, memberID, _ string) (any, error) {
		return withTierRaise(ctx, tx, p, memberID, in.Currency, s.clock.Now(), func() (ledger.Txn, error) {
			return ledger.Adjust(ctx, tx, p.Ledger(), ledger.AdjustInput{
				MemberID: memberID, Points: in.Points, Currency: in.Currency, Reason: in.Reason, Metadata: in.Metadata, Now: s.clock.Now(),
			})
		})
	})
}

func (s *Server) placeHold(w http.ResponseWriter, r *http.Request) {
	in, body, err := decodeBody[holdRequest](s, w, r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	var fs failure.Fields
	if in.Points <= 0 {
		fs.Add("points", "must be greater than zero")
	}
	if in.ExpiresInSeconds < 0 || in.ExpiresInSeconds > maxHoldSeconds {
		fs.Add("expires_in_seconds", "must be between 1 and %d", maxHoldSeconds)
	}
	checkText(&fs, "reference", in.Reference, 128)
	if err := fs.Err(); err != nil {
		s.problem(w, r, err)
		return
	}
	s.memberWrite(w, r, body, in.MerchantID, func(ctx context.Context, tx *store.Tx, p program.Program, memberID, mer string) (any, error) {
		return ledger.PlaceHold(ctx, tx, p.Ledger(), ledger.HoldInput{
			MemberID: memberID, Points: in.Points, Currency: in.Currency, Reference: in.Reference, MerchantID: mer,
			ExpiresIn: time.Duration(in.ExpiresInSeconds) * time.Second, Now: s.clock.Now(),
		})
	})
}

// holdFor reads a hold of the request's program; a merchant key sees only
// its own merchant's holds.
func (s *Server) holdFor(r *http.Request) (ledger.Hold, error) {
	h, err := s.db.Read().Hold(r.Context(), actor(r).ProgramID, r.PathValue("id"))
	if err != nil {
		return h, err
	}
	return h, nil
}

func (s *Server) getHold(w http.ResponseWriter, r *http.Request) {
	h, err := s.holdFor(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	encode(w, 200, h)
}

func (s *Server) captureHold(w http.ResponseWriter, r *http.Request) {
	in, body, err := decodeBody[captureRequest](s, w, r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	if in.Points < 0 {
		s.problem(w, r, failure.Field("points", "must be greater than zero"))
		return
	}
	h, err := s.holdFor(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	lp, err := s.ledgerProgram(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	s.writeLegacy(w, r, body, 200, h.MemberID, func(ctx context.Context, tx *store.Tx) (any, error) {
		return ledger.Capture(ctx, tx, lp, h.ID, in.Points, s.clock.Now())
	})
}

func (s *Server) releaseHold(w http.ResponseWriter, r *http.Request) {
	body, err := s.readBody(w, r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	h, err := s.holdFor(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	lp, err := s.ledgerProgram(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	s.writeLegacy(w, r, body, 200, h.MemberID, func(ctx context.Context, tx *store.Tx) (any, error) {
		return ledger.Release(ctx, tx, lp, h.ID, s.clock.Now())
	})
}

func (s *Server) getTxn(w http.ResponseWriter, r *http.Request) {
	pid := actor(r).ProgramID
	t, err := s.db.Read().Txn(r.Context(), pid, r.PathValue("id"))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	if t.LotMoves, err = s.db.Read().MovesOf(r.Context(), pid, t.ID); err != nil {
		s.problem(w, r, err)
		return
	}
	if t.LotMoves == nil {
		t.LotMoves = []store.LotMove{}
	}
	encode(w, 200, txnWithMoves(t))
}

// txnWithMoves always shows lot_moves, even when empty.
func txnWithMoves(t ledger.Txn) any {
	type alias ledger.Txn
	return struct {
		alias
		LotMoves []store.LotMove `json:"lot_moves"`
	}{alias(t), t.LotMoves}
}

func (s *Server) reverse(w http.ResponseWriter, r *http.Request) {
	in, body, err := decodeBody[reverseRequest](s, w, r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	var fs failure.Fields
	if in.Points < 0 {
		fs.Add("points", "must be greater than zero")
	}
	checkText(&fs, "reason", in.Reason, 256)
	if err := fs.Err(); err != nil {
		s.problem(w, r, err)
		return
	}
	pid := actor(r).ProgramID
	t, err := s.db.Read().Txn(r.Context(), pid, r.PathValue("id"))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	lp, err := s.ledgerProgram(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	s.writeLegacy(w, r, body, 201, t.MemberID, func(ctx context.Context, tx *store.Tx) (any, error) {
		return ledger.Reverse(ctx, tx, lp, ledger.ReverseInput{TransactionID: t.ID, Points: in.Points, Reason: in.Reason, Now: s.clock.Now()})
	})
}

func (s *Server) listTxns(w http.ResponseWriter, r *http.Request) {
	pg, err := page(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	f := store.TxnFilter{Type: r.URL.Query().Get("type"), Currency: r.URL.Query().Get("currency")}
	if f.Type != "" && !slices.Contains(txnTypes, f.Type) {
		s.problem(w, r, failure.Field("type", "must be one of %v", txnTypes))
		return
	}
	m, err := s.resolve(r, r.PathValue("member"))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	ts, next, err := s.db.Replica().MemberTxns(r.Context(), actor(r).ProgramID, m.ID, f, pg)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	list(w, ts, next)
}

var lotStatuses = []string{store.LotPending, store.LotAvailable, store.LotSpent, store.LotExpired, store.LotReversed}

func (s *Server) listLots(w http.ResponseWriter, r *http.Request) {
	pg, err := page(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	status := r.URL.Query().Get("status")
	if status != "" && !slices.Contains(lotStatuses, status) {
		s.problem(w, r, failure.Field("status", "must be one of %v", lotStatuses))
		return
	}
	m, err := s.resolve(r, r.PathValue("member"))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	lots, next, err := s.db.Replica().MemberLots(r.Context(), actor(r).ProgramID, m.ID, status, r.URL.Query().Get("currency"), pg)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	list(w, lots, next)
}

var holdStatuses = []string{store.HoldHeld, store.HoldCaptured, store.HoldReleased}

func (s *Server) listHolds(w http.ResponseWriter, r *http.Request) {
	pg, err := page(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	status := r.URL.Query().Get("status")
	if status != "" && !slices.Contains(holdStatuses, status) {
		s.problem(w, r, failure.Field("status", "must be one of %v", holdStatuses))
		return
	}
	m, err := s.resolve(r, r.PathValue("member"))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	hs, next, err := s.db.Replica().MemberHolds(r.Context(), actor(r).ProgramID, m.ID, status, pg)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	list(w, hs, next)
}
