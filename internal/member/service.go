package member

import (
	"context"
	"encoding/json"
	"github.com/jifen/jifen/internal/outbox"
	"strings"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/engage"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/identity"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/tier"
)

// Service runs the member operations.
type Service struct {
	db       *store.DB
	programs *program.Service
	clock    clock.Clock
	keys     tokenKeys
}

// NewService returns the member service.
func NewService(db *store.DB, programs *program.Service, clk clock.Clock) *Service {
	return &Service{db: db, programs: programs, clock: clk}
}

// Create adds a member: a merchant key's members join at its merchant. A
// referral code names the inviter (unknown: validation_failed), and a
// referral on join pays both sides at once; the member starts in the tier
// that no growth reaches.
func (s *Service) Create(ctx context.Context, tx *store.Tx, a auth.Actor, in Input) (Member, error) {
	m, _, err := s.create(ctx, tx, a, in)
	return m, err
}

// create is Create that also answers the stored record, for operations
// that go on with the new member (an event that creates its member).
func (s *Service) create(ctx context.Context, tx *store.Tx, a auth.Actor, in Input) (Member, store.Member, error) {
	if err := in.Validate(); err != nil {
		return Member{}, store.Member{}, err
	}
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return Member{}, store.Member{}, err
	}
	named := ""
	if in.MerchantID != nil {
		named = *in.MerchantID
	}
	mer, err := program.ActingMerchant(ctx, tx, a, named)
	if err != nil {
		return Member{}, store.Member{}, err
	}
	now := s.clock.Now()
	m := store.Member{
		ID: id.New("mem"), ProgramID: p.ID, Gender: "unknown", Status: Active, MerchantID: null.String(mer),
		Attributes: json.RawMessage(`{}`), Tags: []string{}, CreatedAt: now, UpdatedAt: now,
	}
	if err := in.apply(&m, now, p.Location); err != nil {
		return Member{}, store.Member{}, err
	}
	if in.ReferralCode != nil && *in.ReferralCode != "" {
		inviter, err := tx.MemberByReferralCode(ctx, p.ID, strings.ToUpper(strings.TrimSpace(*in.ReferralCode)))
		if err != nil {
			if failure.KindOf(err) == failure.NotFound {
				return Member{}, store.Member{}, failure.Field("referral_code", "no member has this referral code")
			}
			return Member{}, store.Member{}, err
		}
		m.ReferredBy = null.String(inviter.ID)
	}
	if err := insert(ctx, tx, &m, now); err != nil {
		return Member{}, store.Member{}, err
	}
	if err := mirror(ctx, tx, store.Member{}, m, now); err != nil {
		return Member{}, store.Member{}, err
	}
	if _, err = engage.Referred(ctx, tx, p, m, now); err != nil {
		return Member{}, store.Member{}, err
	}
	if c, err := tier.Raise(ctx, tx, p, m, now); err != nil {
		return Member{}, store.Member{}, err
	} else if c != nil {
		m.Tier = null.String(*c.To)
	}
	v, err := view(ctx, &tx.Conn, m)
	if err != nil {
		return v, m, err
	}
	return v, m, outbox.Emit(ctx, tx, p.ID, p.Webhooks, outbox.MemberCreated, m.ID, Event{v}, now)
}

// Event is the data of a member.created or member.updated event.
type Event struct {
	Member Member `json:"member"`
}

// updated answers a changed member and writes its member.updated event.
func updated(ctx context.Context, tx *store.Tx, p program.Program, m store.Member, now time.Time) (Member, error) {
	v, err := view(ctx, &tx.Conn, m)
	if err != nil {
		return v, err
	}
	return v, outbox.Emit(ctx, tx, p.ID, p.Webhooks, outbox.MemberUpdated, m.ID, Event{v}, now)
}

// mirror keeps a member's phone and external_id identities equal to its
// fields, from before to after.
func mirror(ctx context.Context, tx *store.Tx, before, after store.Member, now time.Time) error {
	if err := identity.Mirror(ctx, tx, after.ProgramID, after.ID, identity.ExternalID, string(before.ExternalID), string(after.ExternalID), now); err != nil {
		return err
	}
	return identity.Mirror(ctx, tx, after.ProgramID, after.ID, identity.Phone, string(before.Phone), string(after.Phone), now)
}

// insert stores a new member with a fresh referral code, and its points
// balance row: the member's lock (see ledger.LockMember) exists from the
// start, so freezing and erasing always have it to take.
func insert(ctx context.Context, tx *store.Tx, m *store.Member, now time.Time) error {
	for attempt := 0; ; attempt++ {
		m.ReferralCode = newReferralCode()
		taken, err := tx.InsertMember(ctx, *m)
		if err != nil {
			return err
		}
		if !taken {
			_, err := tx.CreateBalance(ctx, m.ProgramID, m.ID, ledger.Points, now)
			return err
		}
		if attempt == 5 {
			return failure.New(failure.Internal, "no free referral code")
		}
	}
}

// CreateOnEvent finds the ext: member an event names, creating it when it
// is not there yet (at the event's merchant). created says it was made
// now; a member another node created meanwhile is found, not made twice.
func (s *Service) CreateOnEvent(ctx context.Context, tx *store.Tx, a auth.Actor, ref, merchantID string) (store.Member, bool, error) {
	m, err := identity.Resolve(ctx, &tx.Conn, a, ref)
	if failure.KindOf(err) != failure.NotFound || !strings.HasPrefix(ref, "ext:") || len(ref) <= 4 {
		return m, false, err
	}
	ext := ref[4:]
	in := Input{ExternalID: &ext}
	if merchantID != "" {
		in.MerchantID = &merchantID
	}
	_, m, err = s.create(ctx, tx, a, in)
	if failure.KindOf(err) == failure.MemberExists {
		// Another node created it since we looked: use that one.
		m, err = identity.Resolve(ctx, &tx.Conn, a, ref)
		return m, false, err
	}
	return m, err == nil, err
}

// Update applies a patch to a member. Erased members cannot change. A
// member that joined without a referral code may be given one later
// (once): referring itself, or anyone up its inviter's chain, is refused.
func (s *Service) Update(ctx context.Context, tx *store.Tx, a auth.Actor, ref string, in Input) (Member, error) {
	if err := in.Validate(); err != nil {
		return Member{}, err
	}
	if in.MerchantID != nil {
		return Member{}, failure.Field("merchant_id", "cannot be changed")
	}
	if a.IsMember() && (in.ExternalID != nil || in.Phone != nil || in.Attributes != nil || in.Tags != nil || in.ReferralCode != nil) {
		return Member{}, failure.New(failure.Forbidden, "a member changes only its name, gender, birthday and region")
	}
	p, m, err := s.locked(ctx, tx, a, ref)
	if err != nil {
		return Member{}, err
	}
	if m.Status == Erased || m.Status == Merged {
		return Member{}, failure.New(failure.Conflict, "member %s is %s", m.ID, m.Status)
	}
	before := m
	now := s.clock.Now()
	referred := false
	if in.ReferralCode != nil {
		if m.ReferredBy != "" {
			return Member{}, failure.New(failure.Conflict, "member %s was already referred by %s", m.ID, m.ReferredBy)
		}
		inviter, err := tx.MemberByReferralCode(ctx, p.ID, strings.ToUpper(strings.TrimSpace(*in.ReferralCode)))
		if failure.KindOf(err) == failure.NotFound {
			return Member{}, failure.Field("referral_code", "no member has this referral code")
		}
		if err != nil {
			return Member{}, err
		}
		if err := checkReferrer(ctx, &tx.Conn, p.ID, m.ID, inviter.ID); err != nil {
			return Member{}, err
		}
		m.ReferredBy, referred = null.String(inviter.ID), true
	}
	if err := in.apply(&m, now, p.Location); err != nil {
		return Member{}, err
	}
	if in.Tags == nil {
		m.Tags = nil // keep the stored ones
	}
	m.UpdatedAt = now
	if err := tx.UpdateMember(ctx, m); err != nil {
		return Member{}, err
	}
	if err := mirror(ctx, tx, before, m, now); err != nil {
		return Member{}, err
	}
	if m, err = tx.MemberByID(ctx, p.ID, m.ID); err != nil {
		return Member{}, err
	}
	if referred {
		if _, err := engage.Referred(ctx, tx, p, m, now); err != nil {
			return Member{}, err
		}
	}
	return updated(ctx, tx, p, m, now)
}

// SetFrozen freezes or unfreezes a member: a frozen member can be read
// but not earn or spend. It is idempotent; an erased member cannot be
// either.
func (s *Service) SetFrozen(ctx context.Context, tx *store.Tx, a auth.Actor, ref string, frozen bool) (Member, error) {
	p, m, err := s.locked(ctx, tx, a, ref)
	if err != nil {
		return Member{}, err
	}
	if m.Status == Erased || m.Status == Merged {
		return Member{}, failure.New(failure.Conflict, "member %s is %s", m.ID, m.Status)
	}
	want := Active
	if frozen {
		want = Frozen
	}
	if m.Status == want {
		return view(ctx, &tx.Conn, m)
	}
	now := s.clock.Now()
	if err := tx.SetMemberStatus(ctx, p.ID, m.ID, want, now); err != nil {
		return Member{}, err
	}
	if m, err = tx.MemberByID(ctx, p.ID, m.ID); err != nil {
		return Member{}, err
	}
	return updated(ctx, tx, p, m, now)
}

// locked takes the member's lock — all its balance rows, so that an
// erase, a freeze or another change running at the same time finishes
// before this one reads — and reads it.
func (s *Service) locked(ctx context.Context, tx *store.Tx, a auth.Actor, ref string) (program.Program, store.Member, error) {
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return p, store.Member{}, err
	}
	memberID, err := identity.ID(ctx, &tx.Conn, a, ref)
	if err != nil {
		return p, store.Member{}, err
	}
	if _, err := tx.LockMemberBalances(ctx, p.ID, memberID); err != nil {
		return p, store.Member{}, err
	}
	m, err := identity.Resolve(ctx, &tx.Conn, a, memberID)
	return p, m, err
}

// Get reads a member.
func (s *Service) Get(ctx context.Context, a auth.Actor, ref string) (Member, error) {
	c := s.db.Read()
	m, err := identity.Resolve(ctx, c, a, ref)
	if err != nil {
		return Member{}, err
	}
	return view(ctx, c, m)
}

// Filter selects members for a list.
type Filter struct {
	ExternalID string
	Phone      string
	Tier       string
	Status     string
	Tags       []string // every one of them
}

// List lists the programme's members, newest first (from the replica).
func (s *Service) List(ctx context.Context, a auth.Actor, f Filter, pg store.Page) ([]Member, string, error) {
	var fs failure.Fields
	sf := store.MemberFilter{ExternalID: f.ExternalID, Tier: f.Tier, Status: f.Status, Tags: f.Tags}
	if f.Phone != "" {
		norm, ok := identity.NormalizePhone(f.Phone)
		if !ok {
			fs.Add("phone", "must be E.164 or an 11-digit mainland mobile number")
		}
		sf.Phone = norm
	}
	if err := fs.Err(); err != nil {
		return nil, "", err
	}
	c := s.db.Replica()
	rows, next, err := c.Members(ctx, a.ProgramID, sf, pg)
	if err != nil {
		return nil, "", err
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	byMember, err := c.IdentitiesOf(ctx, a.ProgramID, ids)
	if err != nil {
		return nil, "", err
	}
	out := make([]Member, len(rows))
	for i, r := range rows {
		out[i] = memberOf(r, byMember[r.ID])
	}
	return out, next, nil
}
