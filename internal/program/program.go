// Package program owns a program's settings (timezone, currency, expiry
// policy, negative balance), its currencies and merchants, and the
// bootstrap that creates program "default" on an empty database. Settings
// are read on every ledger operation, so the service keeps them in memory
// for a short time and drops its copy when they change.
package program

import (
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/outbox"
	"github.com/jifen/jifen/internal/store"
)

// Program is a loyalty programme: one points economy with its members.
type Program struct {
	ID               string        `json:"id"`
	Name             string        `json:"name"`
	Timezone         string        `json:"timezone"`
	Currency         string        `json:"currency"`
	PointsPerYuan    int64         `json:"points_per_yuan"`
	MaxOffsetPercent int64         `json:"max_offset_percent"`
	Expiry           ledger.Policy `json:"expiry"`
	NegativeBalance  string        `json:"negative_balance"`
	// ExpiringNoticeDays is how many days before points expire the
	// points.expiring webhook event goes out (0: never).
	ExpiringNoticeDays int64 `json:"expiring_notice_days"`
	// Join is one-step join's settings (off until set).
	Join      JoinConfig `json:"join"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`

	Location   *time.Location             `json:"-"`
	Currencies map[string]ledger.Currency `json:"-"`
	Tiers      []Tier                     `json:"-"` // low to high
	Checkin    *CheckinConfig             `json:"-"`
	Referral   *ReferralConfig            `json:"-"`
	// Webhooks are the active webhooks' subscriptions, read and cached
	// with the settings (the webhook operations drop the cached copy).
	Webhooks outbox.Subs `json:"-"`
}

// Defaults for a new program.
const (
	DefaultID               = "default"
	DefaultTimezone         = "Asia/Shanghai"
	DefaultCurrency         = "CNY"
	DefaultPointsPerYuan    = 100
	DefaultMaxOffsetPercent = 50
	// DefaultExpiringNoticeDays is expiring_notice_days when unset.
	DefaultExpiringNoticeDays = 7
)

// Ledger is what the ledger needs of the program.
func (p Program) Ledger() ledger.Program {
	return ledger.Program{
		ID: p.ID, Location: p.Location, NegativeBalance: p.NegativeBalance,
		Expiry: p.Expiry, Currencies: p.Currencies, Webhooks: p.Webhooks,
	}
}

// Today is the program-local date of t.
func (p Program) Today(t time.Time) string { return t.In(p.Location).Format(time.DateOnly) }

func fromStore(sp store.Program, curs []store.Currency) (Program, error) {
	loc, err := time.LoadLocation(sp.Timezone)
	if err != nil {
		return Program{}, fmt.Errorf("program %s: timezone: %w", sp.ID, err)
	}
	pol, err := ledger.ParsePolicy(sp.Expiry)
	if err != nil {
		return Program{}, fmt.Errorf("program %s: %w", sp.ID, err)
	}
	p := Program{
		ID: sp.ID, Name: sp.Name, Timezone: sp.Timezone, Currency: sp.Currency,
		PointsPerYuan: sp.PointsPerYuan, MaxOffsetPercent: sp.MaxOffsetPercent, Expiry: pol,
		NegativeBalance: sp.NegativeBalance, CreatedAt: sp.CreatedAt, UpdatedAt: sp.UpdatedAt,
		Location: loc, Currencies: make(map[string]ledger.Currency, len(curs)),
	}
	var st settings
	if len(sp.Settings) > 0 {
		if err := json.Unmarshal(sp.Settings, &st); err != nil {
			return Program{}, fmt.Errorf("program %s: settings: %w", sp.ID, err)
		}
	}
	p.Tiers, p.Checkin, p.Referral = st.Tiers, st.Checkin, st.Referral
	if st.Join != nil {
		p.Join = *st.Join
	}
	p.ExpiringNoticeDays = DefaultExpiringNoticeDays
	if st.ExpiringNoticeDays != nil {
		p.ExpiringNoticeDays = *st.ExpiringNoticeDays
	}
	for _, c := range curs {
		lc := ledger.Currency{Code: c.Code, Spendable: c.Spendable}
		if len(c.Expiry) > 0 {
			cp, err := ledger.ParsePolicy(c.Expiry)
			if err != nil {
				return Program{}, fmt.Errorf("program %s: currency %s: %w", sp.ID, c.Code, err)
			}
			lc.Expiry = &cp
		}
		p.Currencies[c.Code] = lc
	}
	return p, nil
}

func (p Program) toStore() store.Program {
	expiry, _ := json.Marshal(p.Expiry)
	days := p.ExpiringNoticeDays
	join := p.Join
	st, _ := json.Marshal(settings{Tiers: p.Tiers, Checkin: p.Checkin, Referral: p.Referral, ExpiringNoticeDays: &days, Join: &join})
	return store.Program{
		ID: p.ID, Name: p.Name, Timezone: p.Timezone, Currency: p.Currency, PointsPerYuan: p.PointsPerYuan,
		MaxOffsetPercent: p.MaxOffsetPercent, Expiry: expiry, NegativeBalance: p.NegativeBalance,
		Settings: st, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
	}
}

// Patch is a partial update of a program's settings.
type Patch struct {
	Name               *string        `json:"name,omitempty" api:"minlen=1,maxlen=100"`
	Timezone           *string        `json:"timezone,omitempty" doc:"an IANA time zone such as Asia/Shanghai"`
	Currency           *string        `json:"currency,omitempty" api:"pattern=^[A-Z]{3}$" doc:"ISO 4217 code of order money"`
	PointsPerYuan      *int64         `json:"points_per_yuan,omitempty" api:"min=1,max=1000000"`
	MaxOffsetPercent   *int64         `json:"max_offset_percent,omitempty" api:"min=0,max=100"`
	Expiry             *ledger.Policy `json:"expiry,omitempty"`
	NegativeBalance    *string        `json:"negative_balance,omitempty" api:"enum=allow|floor"`
	ExpiringNoticeDays *int64         `json:"expiring_notice_days,omitempty" api:"min=0,max=365" doc:"days before points expire that the points.expiring webhook event goes out; 0: never"`
	Join               *JoinPatch     `json:"join,omitempty" doc:"one-step join: the fields given change, the others stay"`
}

var currencyCode = regexp.MustCompile(`^[A-Z]{3}$`)

// Apply validates the patch and applies it to p.
func (pt Patch) Apply(p *Program) error {
	var fs failure.Fields
	if pt.Name != nil {
		if n := len([]rune(*pt.Name)); n < 1 || n > 100 {
			fs.Add("name", "must be 1 to 100 characters")
		} else {
			p.Name = *pt.Name
		}
	}
	if pt.Timezone != nil {
		loc, err := time.LoadLocation(*pt.Timezone)
		if err != nil || *pt.Timezone == "" || *pt.Timezone == "Local" {
			fs.Add("timezone", "must be an IANA time zone such as Asia/Shanghai")
		} else {
			p.Timezone, p.Location = *pt.Timezone, loc
		}
	}
	if pt.Currency != nil {
		if !currencyCode.MatchString(*pt.Currency) {
			fs.Add("currency", "must be an ISO 4217 code such as CNY")
		} else {
			p.Currency = *pt.Currency
		}
	}
	if pt.PointsPerYuan != nil {
		if *pt.PointsPerYuan < 1 || *pt.PointsPerYuan > 1_000_000 {
			fs.Add("points_per_yuan", "must be between 1 and 1000000")
		} else {
			p.PointsPerYuan = *pt.PointsPerYuan
		}
	}
	if pt.MaxOffsetPercent != nil {
		if *pt.MaxOffsetPercent < 0 || *pt.MaxOffsetPercent > 100 {
			fs.Add("max_offset_percent", "must be between 0 and 100")
		} else {
			p.MaxOffsetPercent = *pt.MaxOffsetPercent
		}
	}
	if pt.Expiry != nil {
		if err := pt.Expiry.Validate("expiry"); err != nil {
			fs = append(fs, failure.As(err).Fields...)
		} else {
			p.Expiry = *pt.Expiry
		}
	}
	if pt.NegativeBalance != nil {
		if *pt.NegativeBalance != ledger.AllowDebt && *pt.NegativeBalance != ledger.Floor {
			fs.Add("negative_balance", "must be allow or floor")
		} else {
			p.NegativeBalance = *pt.NegativeBalance
		}
	}
	if pt.ExpiringNoticeDays != nil {
		if *pt.ExpiringNoticeDays < 0 || *pt.ExpiringNoticeDays > 365 {
			fs.Add("expiring_notice_days", "must be between 0 and 365")
		} else {
			p.ExpiringNoticeDays = *pt.ExpiringNoticeDays
		}
	}
	if pt.Join != nil {
		c := pt.Join.apply(p.Join)
		if err := c.Validate(); err != nil {
			fs = append(fs, failure.As(err).Fields...)
		} else {
			p.Join = c
		}
	}
	return fs.Err()
}
