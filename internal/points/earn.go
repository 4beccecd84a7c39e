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

// EarnInput credits points to a member.
type EarnInput struct {
	Points     int64  `json:"points" api:"min=1,max=MaxPoints"`
	Currency   string `json:"currency,omitempty" doc:"a point currency of the program (default points)"`
	Reason     string `json:"reason,omitempty" api:"maxlen=256"`
	Reference  string `json:"reference,omitempty" api:"maxlen=128"`
	MerchantID string `json:"merchant_id,omitempty" doc:"the issuing merchant; a merchant key is always its own"`
	// AvailableAt in the future makes the points pending until then.
	AvailableAt *string `json:"available_at,omitempty" api:"format=date-time" doc:"in the future: the points are pending until then"`
	// ExpiresAt overrides the programme's expiry policy.
	ExpiresAt *string         `json:"expires_at,omitempty" api:"format=date-time" doc:"overrides the program's expiry policy"`
	Metadata  json.RawMessage `json:"metadata,omitempty" doc:"a JSON object of at most 4 KiB, kept with the transaction"`
}

// Validate checks the input on its own.
func (in EarnInput) Validate() error {
	var fs failure.Fields
	input.Points(&fs, "points", in.Points)
	input.Text(&fs, "reason", in.Reason, 256)
	input.Text(&fs, "reference", in.Reference, 128)
	input.Metadata(&fs, "metadata", in.Metadata)
	fs.Merge(ignore(input.Time("available_at", in.AvailableAt)))
	fs.Merge(ignore(input.Time("expires_at", in.ExpiresAt)))
	return fs.Err()
}

// Earn credits points to a member: a lot of its own, pending until
// available_at, expiring by the programme's policy unless expires_at
// says. Growth raises the member's tier at once.
func (s *Service) Earn(ctx context.Context, tx *store.Tx, a auth.Actor, ref string, in EarnInput) (ledger.Txn, error) {
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
	availableAt, _ := input.Time("available_at", in.AvailableAt)
	expiresAt, _ := input.Time("expires_at", in.ExpiresAt)
	return withTierRaise(ctx, tx, p, memberID, in.Currency, now, func() (ledger.Txn, error) {
		return ledger.Earn(ctx, tx, p.Ledger(), ledger.EarnInput{
			MemberID: memberID, Points: in.Points, Currency: in.Currency, Reason: in.Reason, Reference: in.Reference,
			MerchantID: mer, AvailableAt: availableAt, ExpiresAt: expiresAt, Metadata: in.Metadata, Now: now,
		})
	})
}

// AdjustInput is an operator's correction: positive credits, negative
// debits.
type AdjustInput struct {
	Points   int64           `json:"points" api:"min=-MaxPoints,max=MaxPoints,nonzero" doc:"positive credits, negative debits"`
	Currency string          `json:"currency,omitempty" doc:"a point currency of the program (default points)"`
	Reason   string          `json:"reason" api:"minlen=1,maxlen=256"`
	Metadata json.RawMessage `json:"metadata,omitempty" doc:"a JSON object of at most 4 KiB"`
}

// Validate checks the input on its own.
func (in AdjustInput) Validate() error {
	var fs failure.Fields
	if in.Points == 0 || in.Points > input.MaxPoints || in.Points < -input.MaxPoints {
		fs.Add("points", "must be a non-zero number of points between -%d and %d", int64(input.MaxPoints), int64(input.MaxPoints))
	}
	input.Name(&fs, "reason", in.Reason, 256)
	input.Metadata(&fs, "metadata", in.Metadata)
	return fs.Err()
}

// Adjust corrects a member's balance (admins only). A positive adjustment
// opens a lot issued by the programme; a negative one draws on lots like
// a spend.
func (s *Service) Adjust(ctx context.Context, tx *store.Tx, a auth.Actor, ref string, in AdjustInput) (ledger.Txn, error) {
	if err := in.Validate(); err != nil {
		return ledger.Txn{}, err
	}
	p, memberID, now, err := s.begin(ctx, tx, a, ref)
	if err != nil {
		return ledger.Txn{}, err
	}
	return withTierRaise(ctx, tx, p, memberID, in.Currency, now, func() (ledger.Txn, error) {
		return ledger.Adjust(ctx, tx, p.Ledger(), ledger.AdjustInput{
			MemberID: memberID, Points: in.Points, Currency: in.Currency, Reason: in.Reason, Metadata: in.Metadata, Now: now,
		})
	})
}

// ignore keeps the error of a (value, error) pair.
func ignore[T any](_ T, err error) error { return err }
