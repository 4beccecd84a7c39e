package points

import (
	"context"
	"encoding/json"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/input"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

// SpendInput takes points from a member.
type SpendInput struct {
	Points     int64           `json:"points" api:"min=1,max=MaxPoints"`
	Currency   string          `json:"currency,omitempty" doc:"a spendable point currency of the program (default points)"`
	Reason     string          `json:"reason,omitempty" api:"maxlen=256"`
	Reference  string          `json:"reference,omitempty" api:"maxlen=128"`
	MerchantID string          `json:"merchant_id,omitempty" doc:"where the points are spent; a merchant key is always its own"`
	Metadata   json.RawMessage `json:"metadata,omitempty" doc:"a JSON object of at most 4 KiB"`
}

// Validate checks the input on its own.
func (in SpendInput) Validate() error {
	var fs failure.Fields
	input.Points(&fs, "points", in.Points)
	input.Text(&fs, "reason", in.Reason, 256)
	input.Text(&fs, "reference", in.Reference, 128)
	input.Metadata(&fs, "metadata", in.Metadata)
	return fs.Err()
}

// Spend takes points from the member's lots, soonest-expiring first;
// insufficient_points when fewer are available.
func (s *Service) Spend(ctx context.Context, tx *store.Tx, a auth.Actor, ref string, in SpendInput) (ledger.Txn, error) {
	if err := in.Validate(); err != nil {
		return ledger.Txn{}, err
	}
	p, memberID, now, err := s.begin(ctx, tx, a, ref)
	if err != nil {
		return ledger.Txn{}, err
	}
	mer, err := program.ActingMerchant(ctx, tx, a, in.MerchantID)
	if err != nil {
		return ledger.Txn{}, err
	}
	return ledger.Spend(ctx, tx, p.Ledger(), ledger.SpendInput{
		MemberID: memberID, Points: in.Points, Currency: in.Currency, Reason: in.Reason, Reference: in.Reference,
		MerchantID: mer, Metadata: in.Metadata, Now: now,
	})
}
