package points

import (
	"context"
	"slices"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/identity"
	"github.com/jifen/jifen/internal/input"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/store"
)

// ReverseInput undoes all or part of a transaction.
type ReverseInput struct {
	Points int64  `json:"points,omitempty" api:"min=1,max=MaxPoints" doc:"default: all that is not yet reversed"` // default all that is left
	Reason string `json:"reason,omitempty" api:"maxlen=256"`
}

// Validate checks the input on its own.
func (in ReverseInput) Validate() error {
	var fs failure.Fields
	input.OptPoints(&fs, "points", in.Points)
	input.Text(&fs, "reason", in.Reason, 256)
	return fs.Err()
}

// Reverse undoes an earn (its points are clawed back), a spend or a
// capture (its points return to their lots). A merchant key reverses only
// what its merchant did.
func (s *Service) Reverse(ctx context.Context, tx *store.Tx, a auth.Actor, txnID string, in ReverseInput) (ledger.Txn, error) {
	if err := in.Validate(); err != nil {
		return ledger.Txn{}, err
	}
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return ledger.Txn{}, err
	}
	t, err := tx.Txn(ctx, p.ID, txnID)
	if err != nil {
		return ledger.Txn{}, err
	}
	if !a.Sees(string(t.MerchantID)) {
		return ledger.Txn{}, notFound("transaction", txnID)
	}
	return ledger.Reverse(ctx, tx, p.Ledger(), ledger.ReverseInput{TransactionID: t.ID, Points: in.Points, Reason: in.Reason, Now: s.clock.Now()})
}

// GetTxn reads a transaction with the lot moves it made.
func (s *Service) GetTxn(ctx context.Context, a auth.Actor, txnID string) (ledger.TxnWithMoves, error) {
	t, err := ledger.GetTxn(ctx, s.db.Read(), a.ProgramID, txnID)
	if err != nil {
		return t, err
	}
	if !a.Sees(string(t.MerchantID)) {
		return ledger.TxnWithMoves{}, notFound("transaction", txnID)
	}
	return t, nil
}

// TxnTypes are the transaction types a list filters on.
var TxnTypes = []string{ledger.TypeEarn, ledger.TypeSpend, ledger.TypeAdjust, ledger.TypeExpire, ledger.TypeReverse, ledger.TypeMerge,
	ledger.TypeHold, ledger.TypeCapture, ledger.TypeRelease, ledger.TypeActivate, ledger.TypeExchange}

// Txns lists a member's transactions, newest first; a merchant key sees
// only its merchant's.
func (s *Service) Txns(ctx context.Context, a auth.Actor, ref string, f store.TxnFilter, pg store.Page) ([]ledger.Txn, string, error) {
	if f.Type != "" && !slices.Contains(TxnTypes, f.Type) {
		return nil, "", failure.Field("type", "must be one of %v", TxnTypes)
	}
	if err := s.knownCurrency(ctx, a, f.Currency); err != nil {
		return nil, "", err
	}
	// The member is resolved on the primary, so one the replica has yet to
	// see is found; its list comes from the replica.
	m, err := identity.Resolve(ctx, s.db.Read(), a, ref)
	if err != nil {
		return nil, "", err
	}
	if a.IsMerchant() {
		f.MerchantID = a.MerchantID
	}
	return ledger.MemberTxns(ctx, s.db.Replica(), a.ProgramID, m.ID, f, pg)
}
