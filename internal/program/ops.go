package program

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/input"
	"github.com/jifen/jifen/internal/store"
)

// The operations on a programme's settings. Every one of them is an
// admin's (the routes say so); each locks the programme row, so two
// changes on two nodes cannot lose one another, and drops this node's
// cached copy when it commits.

// Update applies a patch to the programme's settings.
func (s *Service) Update(ctx context.Context, tx *store.Tx, a auth.Actor, pt Patch) (Program, error) {
	return s.change(ctx, tx, a, func(p *Program) error {
		if err := pt.Apply(p); err != nil {
			return err
		}
		if pt.Join != nil {
			return checkJoin(ctx, tx, a.ProgramID, p.Join)
		}
		return nil
	})
}

// checkJoin refuses a join setting that names a channel, message template
// or coupon template the programme does not have, or a channel that does
// not send SMS.
func checkJoin(ctx context.Context, tx *store.Tx, programID string, c JoinConfig) error {
	var fs failure.Fields
	exists := func(field string, err error) error {
		if failure.KindOf(err) == failure.NotFound {
			fs.Add(field, "does not exist")
			return nil
		}
		return err
	}
	if c.SMSChannelID != "" {
		ch, err := tx.Channel(ctx, programID, c.SMSChannelID)
		if err := exists("join.sms_channel_id", err); err != nil {
			return err
		}
		if err == nil && ch.Kind != "sms_http" && ch.Kind != "sms_aliyun" {
			fs.Add("join.sms_channel_id", "is a %s channel; want sms_http or sms_aliyun", ch.Kind)
		}
	}
	if c.SMSTemplateID != "" {
		_, err := tx.MessageTemplate(ctx, programID, c.SMSTemplateID)
		if err := exists("join.sms_template_id", err); err != nil {
			return err
		}
	}
	if c.GiftCouponTemplateID != "" {
		_, err := tx.CouponTemplate(ctx, programID, c.GiftCouponTemplateID)
		if err := exists("join.gift_coupon_template_id", err); err != nil {
			return err
		}
	}
	return fs.Err()
}

// SetTiers replaces the programme's tiers (low to high).
func (s *Service) SetTiers(ctx context.Context, tx *store.Tx, a auth.Actor, ts []Tier) ([]Tier, error) {
	if err := ValidateTiers(ts); err != nil {
		return nil, err
	}
	p, err := s.change(ctx, tx, a, func(p *Program) error { p.Tiers = ts; return nil })
	return tierList(p), err
}

// Tiers reads the tiers as stored (low to high).
func (s *Service) Tiers(ctx context.Context, a auth.Actor) ([]Tier, error) {
	p, err := s.Get(ctx, a.ProgramID)
	return tierList(p), err
}

func tierList(p Program) []Tier {
	if p.Tiers == nil {
		return []Tier{}
	}
	return p.Tiers
}

// SetCheckin replaces the check-in configuration.
func (s *Service) SetCheckin(ctx context.Context, tx *store.Tx, a auth.Actor, c CheckinConfig) (CheckinConfig, error) {
	if err := c.Validate(); err != nil {
		return c, err
	}
	if c.StreakBonuses == nil {
		c.StreakBonuses = []StreakBonus{}
	}
	_, err := s.change(ctx, tx, a, func(p *Program) error { p.Checkin = &c; return nil })
	return c, err
}

// Checkin reads the check-in configuration.
func (s *Service) Checkin(ctx context.Context, a auth.Actor) (CheckinConfig, error) {
	p, err := s.Get(ctx, a.ProgramID)
	if err != nil {
		return CheckinConfig{}, err
	}
	if p.Checkin == nil {
		return CheckinConfig{}, failure.New(failure.NotFound, "check-in is not configured")
	}
	return *p.Checkin, nil
}

// SetReferral replaces the referral configuration.
func (s *Service) SetReferral(ctx context.Context, tx *store.Tx, a auth.Actor, c ReferralConfig) (ReferralConfig, error) {
	if err := c.Validate(); err != nil {
		return c, err
	}
	_, err := s.change(ctx, tx, a, func(p *Program) error { p.Referral = &c; return nil })
	return c, err
}

// Referral reads the referral configuration.
func (s *Service) Referral(ctx context.Context, a auth.Actor) (ReferralConfig, error) {
	p, err := s.Get(ctx, a.ProgramID)
	if err != nil {
		return ReferralConfig{}, err
	}
	if p.Referral == nil {
		return ReferralConfig{}, failure.New(failure.NotFound, "referral rewards are not configured")
	}
	return *p.Referral, nil
}

// change loads the programme locked, lets fn change it, and saves it.
func (s *Service) change(ctx context.Context, tx *store.Tx, a auth.Actor, fn func(*Program) error) (Program, error) {
	p, err := loadForUpdate(ctx, tx, a.ProgramID)
	if err != nil {
		return Program{}, err
	}
	if err := fn(&p); err != nil {
		return Program{}, err
	}
	p.UpdatedAt = s.clock.Now()
	if err := tx.UpdateProgram(ctx, p.toStore()); err != nil {
		return Program{}, err
	}
	tx.After(func() { s.Forget(a.ProgramID) })
	return p, nil
}

// CurrencyInfo is a point currency as the API shows it.
type CurrencyInfo struct {
	Code      string          `json:"code"`
	Name      string          `json:"name"`
	Spendable bool            `json:"spendable"`
	Expiry    json.RawMessage `json:"expiry"`
}

// Currencies lists the programme's point currencies, each with the expiry
// policy its points get.
func (s *Service) Currencies(ctx context.Context, a auth.Actor) ([]CurrencyInfo, error) {
	p, err := s.Get(ctx, a.ProgramID)
	if err != nil {
		return nil, err
	}
	curs, err := s.db.Read().Currencies(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	out := make([]CurrencyInfo, len(curs))
	for i, c := range curs {
		out[i] = currencyInfo(p, c)
	}
	return out, nil
}

// Merchant is a shop or brand inside a programme.
type Merchant struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

func merchantOf(r store.Merchant) Merchant { return Merchant(r) }

// MerchantInput creates a merchant.
type MerchantInput struct {
	Name string `json:"name" api:"minlen=1,maxlen=100"`
}

// Validate checks the input on its own.
func (in MerchantInput) Validate() error {
	var fs failure.Fields
	input.Name(&fs, "name", in.Name, 100)
	return fs.Err()
}

// CreateMerchant adds a merchant to the programme.
func (s *Service) CreateMerchant(ctx context.Context, tx *store.Tx, a auth.Actor, in MerchantInput) (Merchant, error) {
	if err := in.Validate(); err != nil {
		return Merchant{}, err
	}
	m := store.Merchant{ID: id.New("mer"), Name: strings.TrimSpace(in.Name), CreatedAt: s.clock.Now()}
	if err := tx.InsertMerchant(ctx, a.ProgramID, m); err != nil {
		return Merchant{}, fmt.Errorf("create merchant: %w", err)
	}
	return merchantOf(m), nil
}

// Merchants lists the programme's merchants, newest first.
func (s *Service) Merchants(ctx context.Context, a auth.Actor, pg store.Page) ([]Merchant, string, error) {
	rows, next, err := s.db.Read().Merchants(ctx, a.ProgramID, pg)
	out := make([]Merchant, len(rows))
	for i, r := range rows {
		out[i] = merchantOf(r)
	}
	return out, next, err
}

// GetMerchant reads a merchant.
func (s *Service) GetMerchant(ctx context.Context, a auth.Actor, merchantID string) (Merchant, error) {
	m, err := s.db.Read().Merchant(ctx, a.ProgramID, merchantID)
	return merchantOf(m), err
}
