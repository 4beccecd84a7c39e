package join

import (
	"context"
	"net/http"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/coupon"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/identity"
	"github.com/jifen/jifen/internal/input"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/member"
	"github.com/jifen/jifen/internal/points"
	"github.com/jifen/jifen/internal/store"
)

// TokenTTL is how long the member token a join answers lasts.
const TokenTTL = 2 * 60 * 60

// ConfirmInput is a phone and the code sent to it.
type ConfirmInput struct {
	Link  string `json:"link" api:"minlen=1" doc:"the join link's ID (jnl_…)"`
	Phone string `json:"phone" api:"minlen=1"`
	OTP   string `json:"otp" api:"minlen=1" doc:"the 6-digit code sent to the phone"`
}

// Joined is a confirmed join: the member, a 2-hour member token and, for
// a new member, its gift.
type Joined struct {
	Member         member.Member `json:"member"`
	Token          string        `json:"token" doc:"a member token (jmt_…) of scope member, valid 2 hours"`
	TokenExpiresAt time.Time     `json:"token_expires_at"`
	Created        bool          `json:"created" doc:"true: a new member (201); false: the phone's member already (200, no gift)"`
	Gift           *Gift         `json:"gift,omitempty" doc:"a new member's gift"`
}

// StatusCode is 201 for a new member, 200 for a known one.
func (j Joined) StatusCode() int {
	if j.Created {
		return http.StatusCreated
	}
	return http.StatusOK
}

// Gift is what a new member got for joining.
type Gift struct {
	TransactionID *string `json:"transaction_id" doc:"the earn of the gift points; null: none"`
	CouponCode    *string `json:"coupon_code" doc:"the gift coupon; null: none (or none left)"`
}

func (in ConfirmInput) check() (string, error) {
	var fs failure.Fields
	input.Required(&fs, "link", in.Link != "", "a join link ID")
	ph := phone(&fs, in.Phone)
	input.Required(&fs, "otp", in.OTP != "", "the code sent to the phone")
	return ph, fs.Err()
}

// Try counts an attempt at a phone's code, in a transaction of its own
// before the confirmation: a wrong code's try stays counted though the
// confirmation fails, and a code tried MaxTries times (or used, or
// expired) is otp_expired whatever is sent.
func (s *Service) Try(ctx context.Context, a auth.Actor, in ConfirmInput) error {
	ph, err := in.check()
	if err != nil {
		return err
	}
	return s.db.Write(ctx, "join", func(ctx context.Context, tx *store.Tx) error {
		j, err := tx.LockJoinCode(ctx, a.ProgramID, tx.Lookup(identity.Phone, ph))
		if failure.KindOf(err) == failure.NotFound {
			return failure.New(failure.OTPExpired, "no code was sent to this phone: ask for one")
		}
		if err != nil {
			return err
		}
		if err := usable(j, s.clock.Now()); err != nil {
			return err
		}
		return tx.CountJoinTry(ctx, a.ProgramID, j.PhoneLookup)
	})
}

// usable says why a code can no longer be used, if it cannot.
func usable(j store.JoinCode, now time.Time) error {
	switch {
	case j.UsedAt != nil:
		return failure.New(failure.OTPExpired, "the code was used: ask for a new one")
	case !now.Before(j.ExpiresAt):
		return failure.New(failure.OTPExpired, "the code expired: ask for a new one")
	case j.Tries >= MaxTries:
		return failure.New(failure.OTPExpired, "the code was tried %d times: ask for a new one", MaxTries)
	}
	return nil
}

// Confirm checks a phone's code (after Try counted it) and joins: the
// phone's member gets a token (200, no gift; frozen: conflict); otherwise
// a member is made at the link's merchant with its referral code, given
// the gift points (an earn issued by the link's merchant) and coupon, and
// a token (201). The code is used once: a second confirmation is
// otp_expired (a retry with the same Idempotency-Key replays the first).
func (s *Service) Confirm(ctx context.Context, tx *store.Tx, a auth.Actor, in ConfirmInput) (Joined, error) {
	ph, err := in.check()
	if err != nil {
		return Joined{}, err
	}
	p, l, err := s.live(ctx, tx, a, in.Link)
	if err != nil {
		return Joined{}, err
	}
	now := s.clock.Now()
	phoneKey := tx.Lookup(identity.Phone, ph)
	j, err := tx.LockJoinCode(ctx, p.ID, phoneKey)
	if failure.KindOf(err) == failure.NotFound {
		return Joined{}, failure.New(failure.OTPExpired, "no code was sent to this phone: ask for one")
	}
	if err != nil {
		return Joined{}, err
	}
	// Try counted this attempt already: the limit is on the ones before.
	j.Tries--
	if err := usable(j, now); err != nil {
		return Joined{}, err
	}
	if !codeMatches(j.CodeHash, in.OTP) {
		return Joined{}, failure.New(failure.OTPInvalid, "the code is wrong")
	}
	sys := auth.System(p.ID)
	var out Joined
	known, err := identity.Resolve(ctx, &tx.Conn, sys, identity.Phone+":"+ph)
	switch {
	case err == nil:
		if known.Status != member.Active {
			return Joined{}, failure.New(failure.Conflict, "the member of this phone is %s", known.Status)
		}
		if out.Member, err = member.View(ctx, &tx.Conn, known); err != nil {
			return Joined{}, err
		}
	case failure.KindOf(err) == failure.NotFound:
		if out, err = s.create(ctx, tx, sys, p.ID, l, ph); err != nil {
			return Joined{}, err
		}
	default:
		return Joined{}, err
	}
	if ok, err := tx.UseJoinCode(ctx, p.ID, phoneKey, out.Member.ID, now); err != nil {
		return Joined{}, err
	} else if !ok {
		return Joined{}, failure.New(failure.OTPExpired, "the code was used: ask for a new one")
	}
	tok, err := s.members.IssueToken(ctx, tx, sys, out.Member.ID, member.TokenInput{TTLSeconds: TokenTTL, Scope: auth.ScopeMember})
	if err != nil {
		return Joined{}, err
	}
	out.Token, out.TokenExpiresAt = tok.Token, tok.ExpiresAt
	return out, nil
}

// create makes the member of a new phone at the link's merchant, with the
// link's referral code (when its inviter is still there), and the gift.
func (s *Service) create(ctx context.Context, tx *store.Tx, sys auth.Actor, programID string, l store.JoinLink, ph string) (Joined, error) {
	mer := l.MerchantID
	in := member.Input{Phone: &ph, MerchantID: &mer}
	if code := string(l.ReferralCode); code != "" {
		if _, err := tx.MemberByReferralCode(ctx, programID, code); err == nil {
			in.ReferralCode = &code
		} else if failure.KindOf(err) != failure.NotFound {
			return Joined{}, err
		}
	}
	m, err := s.members.Create(ctx, tx, sys, in)
	if err != nil {
		return Joined{}, err
	}
	p, err := s.programs.Get(ctx, programID)
	if err != nil {
		return Joined{}, err
	}
	out := Joined{Member: m, Created: true, Gift: &Gift{}}
	if p.Join.GiftPoints > 0 {
		t, err := s.points.Earn(ctx, tx, sys, m.ID, points.EarnInput{Points: p.Join.GiftPoints, Reason: "join gift",
			Reference: l.ID, MerchantID: l.MerchantID})
		if err != nil {
			return Joined{}, err
		}
		out.Gift.TransactionID = &t.ID
	}
	if p.Join.GiftCouponTemplateID != "" {
		now := s.clock.Now()
		if _, err := ledger.LockMember(ctx, tx, p.Ledger(), m.ID, now); err != nil {
			return Joined{}, err
		}
		c, err := coupon.Issue(ctx, tx, p, p.Join.GiftCouponTemplateID, m.ID, coupon.FromJoin, now)
		switch failure.KindOf(err) {
		case failure.OutOfStock, failure.Ended, failure.Conflict, failure.NotFound:
			// None left (or the template went): the member joins without it.
		default:
			if err != nil {
				return Joined{}, err
			}
			out.Gift.CouponCode = &c.Code
		}
	}
	// The member as it is now: the gift may have raised its tier.
	r, err := tx.MemberByID(ctx, programID, m.ID)
	if err != nil {
		return Joined{}, err
	}
	out.Member, err = member.View(ctx, &tx.Conn, r)
	return out, err
}
