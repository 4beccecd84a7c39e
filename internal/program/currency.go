package program

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/input"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/store"
)

// CurrencyInput creates a point currency.
type CurrencyInput struct {
	Code      string         `json:"code" api:"pattern=^[a-z][a-z0-9_]{1,31}$"`
	Name      string         `json:"name" api:"minlen=1,maxlen=64"`
	Spendable *bool          `json:"spendable" doc:"whether its points can be spent, held, redeemed and exchanged away"`
	Expiry    *ledger.Policy `json:"expiry,omitempty" doc:"its points' expiry policy; default never"`
}

var pointCurrencyCode = regexp.MustCompile(`^[a-z][a-z0-9_]{1,31}$`)

// Validate checks the input on its own.
func (in CurrencyInput) Validate() error {
	var fs failure.Fields
	if !pointCurrencyCode.MatchString(in.Code) {
		fs.Add("code", "must be 2 to 32 of a-z, 0-9 and _, starting with a letter")
	}
	input.Name(&fs, "name", in.Name, 64)
	input.Required(&fs, "spendable", in.Spendable != nil, "true or false")
	if in.Expiry != nil {
		if err := in.Expiry.Validate("expiry"); err != nil {
			fs = append(fs, failure.As(err).Fields...)
		}
	}
	return fs.Err()
}

// CurrencyPatch changes a currency. The built-in points and growth take a
// new name only: points are always spendable and expire by the
// programme's policy (PATCH /v1/program), growth is never spendable and
// never expires.
type CurrencyPatch struct {
	Name      *string        `json:"name,omitempty" api:"minlen=1,maxlen=64"`
	Spendable *bool          `json:"spendable,omitempty"`
	Expiry    *ledger.Policy `json:"expiry,omitempty" doc:"applies to lots opened from now on"`
}

// CreateCurrency adds a point currency to the programme; it can be earned
// (and, if spendable, spent) at once on this node, and on the others once
// their cached settings expire.
func (s *Service) CreateCurrency(ctx context.Context, tx *store.Tx, a auth.Actor, in CurrencyInput) (CurrencyInfo, error) {
	if err := in.Validate(); err != nil {
		return CurrencyInfo{}, err
	}
	p, err := loadForUpdate(ctx, tx, a.ProgramID) // one change of the settings at a time
	if err != nil {
		return CurrencyInfo{}, err
	}
	exp := ledger.Policy{Kind: ledger.Never}
	if in.Expiry != nil {
		exp = *in.Expiry
	}
	raw, _ := json.Marshal(exp)
	c := store.Currency{Code: in.Code, Name: strings.TrimSpace(in.Name), Spendable: *in.Spendable, Expiry: raw, CreatedAt: s.clock.Now()}
	ok, err := tx.InsertCurrency(ctx, p.ID, c)
	if err != nil {
		return CurrencyInfo{}, err
	}
	if !ok {
		return CurrencyInfo{}, failure.New(failure.Conflict, "currency %q exists", in.Code)
	}
	tx.After(func() { s.Forget(a.ProgramID) })
	return currencyInfo(p, c), nil
}

// UpdateCurrency changes a currency's name, spendability or expiry (a new
// expiry applies to lots opened later; those opened keep their date).
func (s *Service) UpdateCurrency(ctx context.Context, tx *store.Tx, a auth.Actor, code string, pt CurrencyPatch) (CurrencyInfo, error) {
	p, err := loadForUpdate(ctx, tx, a.ProgramID)
	if err != nil {
		return CurrencyInfo{}, err
	}
	curs, err := tx.Currencies(ctx, p.ID)
	if err != nil {
		return CurrencyInfo{}, err
	}
	var c store.Currency
	found := false
	for _, x := range curs {
		if x.Code == code {
			c, found = x, true
		}
	}
	if !found {
		return CurrencyInfo{}, failure.New(failure.NotFound, "currency %q not found", code)
	}
	builtin := code == ledger.Points || code == ledger.Growth
	var fs failure.Fields
	if pt.Name != nil {
		input.Name(&fs, "name", *pt.Name, 64)
		c.Name = strings.TrimSpace(*pt.Name)
	}
	if pt.Spendable != nil {
		if builtin && *pt.Spendable != c.Spendable {
			fs.Add("spendable", "%s is always %s", code, map[bool]string{true: "spendable", false: "not spendable"}[c.Spendable])
		}
		c.Spendable = *pt.Spendable
	}
	if pt.Expiry != nil {
		switch {
		case code == ledger.Points:
			fs.Add("expiry", "points expire by the programme's policy: change it with PATCH /v1/program")
		case code == ledger.Growth:
			fs.Add("expiry", "growth never expires")
		default:
			if err := pt.Expiry.Validate("expiry"); err != nil {
				fs = append(fs, failure.As(err).Fields...)
			} else {
				c.Expiry, _ = json.Marshal(*pt.Expiry)
			}
		}
	}
	if err := fs.Err(); err != nil {
		return CurrencyInfo{}, err
	}
	if err := tx.UpdateCurrency(ctx, p.ID, c); err != nil {
		return CurrencyInfo{}, err
	}
	tx.After(func() { s.Forget(a.ProgramID) })
	return currencyInfo(p, c), nil
}

// currencyInfo shows a currency with the expiry its points get (the
// programme's when it has none of its own).
func currencyInfo(p Program, c store.Currency) CurrencyInfo {
	exp := c.Expiry
	if len(exp) == 0 {
		exp, _ = json.Marshal(p.Expiry)
	}
	return CurrencyInfo{Code: c.Code, Name: c.Name, Spendable: c.Spendable, Expiry: exp}
}
