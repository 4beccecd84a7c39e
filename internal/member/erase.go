package member

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/coupon"
	"github.com/jifen/jifen/internal/identity"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/outbox"
	"github.com/jifen/jifen/internal/scrub"
	"github.com/jifen/jifen/internal/store"
)

// Erasure is the data of a member.erased event.
type Erasure struct {
	MemberID string `json:"member_id"`
}

// Erase blanks a member's personal data (right to erasure), all in the
// caller's transaction: its available and pending points are forfeited
// with an expire transaction (reason "erased") after its holds are
// released, its unused coupons voided, its one-step join codes, identities
// and their lookups deleted, its profile blanked, and every stored copy
// of its personal values — event data, stored responses, messages,
// webhook payloads and deliveries, audit summaries — scrubbed. The
// ledger, the IDs and the statistics stay, so the books still verify.
// Erasing an erased member again scrubs by key and voids what is left;
// the values themselves are gone by then.
func (s *Service) Erase(ctx context.Context, tx *store.Tx, a auth.Actor, ref string) (Member, error) {
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return Member{}, err
	}
	memberID, err := identity.ID(ctx, &tx.Conn, a, ref)
	if err != nil {
		return Member{}, err
	}
	bals, err := tx.LockMemberBalances(ctx, p.ID, memberID)
	if err != nil {
		return Member{}, err
	}
	m, err := identity.Resolve(ctx, &tx.Conn, a, memberID)
	if err != nil {
		return Member{}, err
	}
	now := s.clock.Now()
	if m.Status == Erased {
		if err := forget(ctx, tx, m, scrub.New(), now); err != nil {
			return Member{}, err
		}
		return view(ctx, &tx.Conn, m)
	}
	// The values are read before the profile and identities go: they
	// are what the copies are searched for.
	who, err := personalOf(ctx, tx, m)
	if err != nil {
		return Member{}, err
	}
	for _, b := range bals {
		if _, err := ledger.Forfeit(ctx, tx, p.Ledger(), m.ID, b.Currency, "erased", now); err != nil {
			return Member{}, err
		}
	}
	// Join codes sent to its phone before it was a member become its
	// messages, scrubbed below; the code itself and the sends go.
	if err := tx.ClaimMessagesTo(ctx, p.ID, m.ID, who.phoneLookups); err != nil {
		return Member{}, err
	}
	// The member's codes go, and ("" for none) each phone's codes and sends.
	for _, lk := range append([]string{""}, who.phoneLookups...) {
		if err := tx.DeleteJoinCodes(ctx, p.ID, m.ID, lk); err != nil {
			return Member{}, err
		}
	}
	m.ExternalID, m.Phone, m.Name, m.Birthday, m.Region = "", "", "", "", ""
	m.Gender, m.Attributes, m.Tags = "unknown", json.RawMessage(`{}`), []string{}
	m.Status, m.UpdatedAt = Erased, now
	if err := tx.UpdateMember(ctx, m); err != nil {
		return Member{}, err
	}
	if err := tx.SetMemberStatus(ctx, p.ID, m.ID, Erased, now); err != nil {
		return Member{}, err
	}
	// Its identities go with the personal data: none names it any more.
	if err := tx.DeleteIdentities(ctx, p.ID, m.ID); err != nil {
		return Member{}, err
	}
	if err := outbox.Emit(ctx, tx, p.ID, p.Webhooks, outbox.MemberErased, m.ID, Erasure{MemberID: m.ID}, now); err != nil {
		return Member{}, err
	}
	// Last, so that whatever this transaction wrote is scrubbed too.
	return memberOf(m, nil), forget(ctx, tx, m, who.values, now)
}

// forget voids the member's unused coupons and scrubs the copies of its
// personal values.
func forget(ctx context.Context, tx *store.Tx, m store.Member, values scrub.Values, now time.Time) error {
	if _, err := coupon.VoidMember(ctx, tx, m.ProgramID, m.ID, now); err != nil {
		return err
	}
	return tx.ScrubMemberCopies(ctx, m.ProgramID, m.ID, values.JSON)
}

// personal is what names a member, read before its profile and
// identities go: the values its copies are searched for — its phone (in
// E.164 and, for a mainland number, as dialled), name, external ID,
// birthday and every identity's value — and its phones' lookups.
type personal struct {
	values       scrub.Values
	phoneLookups []string
}

func personalOf(ctx context.Context, tx *store.Tx, m store.Member) (personal, error) {
	ids, err := tx.Identities(ctx, m.ProgramID, m.ID)
	if err != nil {
		return personal{}, err
	}
	vs := []string{string(m.Name), string(m.ExternalID), string(m.Birthday)}
	phones := []string{string(m.Phone)}
	for _, i := range ids {
		if i.Kind == identity.Phone {
			phones = append(phones, i.Value)
		} else {
			vs = append(vs, i.Value)
		}
	}
	var out personal
	for _, ph := range phones {
		if ph == "" {
			continue
		}
		out.phoneLookups = append(out.phoneLookups, tx.Lookups(identity.Phone, ph)...)
		vs = append(vs, ph)
		if national, ok := strings.CutPrefix(ph, "+86"); ok {
			vs = append(vs, national)
		}
	}
	out.values = scrub.New(vs...)
	return out, nil
}
