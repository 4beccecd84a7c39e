package ledger

import (
	"encoding/json"
	"time"

	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/store"
)

// The ledger's types are the API's: each has the fields of its store
// record, in the same order, and converts from it field by field (a Go
// conversion, so a field added to one and not the other does not compile).

// Txn is a ledger transaction: one operation on one member's points in
// one currency, with postings that sum to zero.
type Txn struct {
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	MemberID   string          `json:"member_id"`
	Currency   string          `json:"currency"`
	Points     int64           `json:"points"`
	MerchantID null.String     `json:"merchant_id"`
	Reference  null.String     `json:"reference"`
	Reason     null.String     `json:"reason"`
	Metadata   json.RawMessage `json:"metadata"`
	Status     string          `json:"status"`
	CreatedAt  time.Time       `json:"created_at"`
	Reverses   null.String     `json:"reverses,omitempty"`
	HoldID     null.String     `json:"hold_id,omitempty"`
	Reversed   int64           `json:"reversed"` // points reversed so far
}

func txnOf(r store.Txn) Txn       { return Txn(r) }
func (t Txn) record() store.Txn   { return store.Txn(t) }
func txnsOf(rs []store.Txn) []Txn { return mapAll(rs, txnOf) }

// TxnWithMoves is a transaction with the lot moves it made, as
// GET /v1/transactions/{id} shows it.
type TxnWithMoves struct {
	Txn
	LotMoves []LotMove `json:"lot_moves"`
}

// LotMove is one change of a lot's remaining points: who issued the lot,
// and where the change happened.
type LotMove struct {
	LotID            string      `json:"lot_id"`
	TransactionID    string      `json:"transaction_id"`
	Kind             string      `json:"kind"` // issue, claw, redeem, return, expire
	Points           int64       `json:"points"`
	IssuerMerchantID null.String `json:"issuer_merchant_id"`
	AtMerchantID     null.String `json:"at_merchant_id"`
	CreatedAt        time.Time   `json:"created_at"`
	Currency         string      `json:"currency"` // the lot's
}

func moveOf(r store.LotMove) LotMove       { return LotMove(r) }
func (m LotMove) record() store.LotMove    { return store.LotMove(m) }
func movesOf(rs []store.LotMove) []LotMove { return mapAll(rs, moveOf) }

// Lot holds the points of one earn. Spends draw on lots soonest-expiring
// first; 0 <= Remaining <= Amount.
type Lot struct {
	ID            string      `json:"id"`
	MemberID      string      `json:"member_id"`
	Currency      string      `json:"currency"`
	Amount        int64       `json:"amount"`
	Remaining     int64       `json:"remaining"`
	Status        string      `json:"status"` // pending, available, spent, expired, reversed
	AvailableAt   time.Time   `json:"available_at"`
	ExpiresAt     *time.Time  `json:"expires_at"`
	MerchantID    null.String `json:"merchant_id"` // the issuer
	TransactionID string      `json:"transaction_id"`
	CreatedAt     time.Time   `json:"created_at"`
}

func lotOf(r store.Lot) Lot       { return Lot(r) }
func (l Lot) record() store.Lot   { return store.Lot(l) }
func lotsOf(rs []store.Lot) []Lot { return mapAll(rs, lotOf) }

// Hold reserves points for an order until it is captured or released.
type Hold struct {
	ID            string      `json:"id"`
	MemberID      string      `json:"member_id"`
	Currency      string      `json:"currency"`
	Points        int64       `json:"points"`
	Captured      int64       `json:"captured"`
	Status        string      `json:"status"` // held, captured, released
	Reference     null.String `json:"reference"`
	MerchantID    null.String `json:"merchant_id"` // where it was placed
	ExpiresAt     time.Time   `json:"expires_at"`
	HoldTxnID     string      `json:"hold_transaction_id"`
	TransactionID null.String `json:"transaction_id,omitempty"` // the capture
	OrderID       null.String `json:"order_id,omitempty"`       // the order it pays part of
	OrderAmount   *int64      `json:"order_amount,omitempty"`   // that order's amount, fen
	CreatedAt     time.Time   `json:"created_at"`
	UpdatedAt     time.Time   `json:"updated_at"`
}

func holdOf(r store.Hold) Hold       { return Hold(r) }
func (h Hold) record() store.Hold    { return store.Hold(h) }
func holdsOf(rs []store.Hold) []Hold { return mapAll(rs, holdOf) }

// Balance is a member's running totals in one currency. Available never
// goes below zero; a clawback past zero is Debt, repaid first by later
// earnings.
type Balance struct {
	MemberID        string `json:"-"`
	Currency        string `json:"-"`
	Available       int64  `json:"available"`
	Pending         int64  `json:"pending"`
	Held            int64  `json:"held"`
	Debt            int64  `json:"debt"`
	LifetimeEarned  int64  `json:"lifetime_earned"`
	LifetimeSpent   int64  `json:"lifetime_spent"`
	LifetimeExpired int64  `json:"lifetime_expired"`
}

func balanceOf(r store.Balance) Balance { return Balance(r) }

func mapAll[R, T any](rs []R, f func(R) T) []T {
	out := make([]T, len(rs))
	for i, r := range rs {
		out[i] = f(r)
	}
	return out
}
