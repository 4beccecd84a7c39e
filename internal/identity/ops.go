package identity

import (
	"context"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/store"
)

// Service runs the identity operations: a member's identities are the
// programme's (the card is shared), read by every key and changed by
// operators.
type Service struct {
	db    *store.DB
	clock clock.Clock
}

// NewService returns the identity service.
func NewService(db *store.DB, clk clock.Clock) *Service { return &Service{db: db, clock: clk} }

// Input is a new identity.
type Input struct {
	Kind     string `json:"kind" api:"minlen=2,maxlen=32" doc:"phone, external_id, email, card, wechat_openid, wechat_unionid, or a custom kind [a-z][a-z0-9_]{1,31}"`
	Value    string `json:"value" api:"minlen=1,maxlen=128" doc:"phone: E.164 or an 11-digit mainland mobile number (stored as E.164); email: trimmed and lower-cased; others as given"`
	Verified bool   `json:"verified,omitempty"`
}

// normalized checks the input and answers the normalised value.
func (in Input) normalized() (string, error) {
	if bad := CheckKind(in.Kind); bad != "" {
		return "", failure.Field("kind", "%s", bad)
	}
	v, bad := Normalize(in.Kind, in.Value)
	if bad != "" {
		return "", failure.Field("value", "%s", bad)
	}
	return v, nil
}

// Validate checks the input on its own.
func (in Input) Validate() error {
	_, err := in.normalized()
	return err
}

// List lists a member's identities, oldest first.
func (s *Service) List(ctx context.Context, a auth.Actor, ref string) ([]Identity, error) {
	c := s.db.Read()
	m, err := Resolve(ctx, c, a, ref)
	if err != nil {
		return nil, err
	}
	rs, err := c.Identities(ctx, a.ProgramID, m.ID)
	return Of(rs), err
}

// locked takes the member's lock (all its balance rows, as every change
// of a member does) and reads it; a merged or erased member cannot change.
func locked(ctx context.Context, tx *store.Tx, a auth.Actor, ref string) (store.Member, error) {
	memberID, err := ID(ctx, &tx.Conn, a, ref)
	if err != nil {
		return store.Member{}, err
	}
	if _, err := tx.LockMemberBalances(ctx, a.ProgramID, memberID); err != nil {
		return store.Member{}, err
	}
	m, err := Resolve(ctx, &tx.Conn, a, memberID)
	if err != nil {
		return m, err
	}
	if m.Status == "merged" || m.Status == "erased" {
		return m, failure.New(failure.Conflict, "member %s is %s", m.ID, m.Status)
	}
	return m, nil
}

// Add gives a member an identity. (kind, value) is unique in the
// programme (member_exists); a member has at most one phone, external_id
// and email (conflict). A phone or external_id also sets the member's
// field of that name.
func (s *Service) Add(ctx context.Context, tx *store.Tx, a auth.Actor, ref string, in Input) (Identity, error) {
	v, err := in.normalized()
	if err != nil {
		return Identity{}, err
	}
	m, err := locked(ctx, tx, a, ref)
	if err != nil {
		return Identity{}, err
	}
	if OnePerMember(in.Kind) {
		have, err := tx.Identities(ctx, a.ProgramID, m.ID)
		if err != nil {
			return Identity{}, err
		}
		for _, h := range have {
			if h.Kind == in.Kind && h.Value == v {
				return Identity{}, failure.Field("value", "a member with this %s exists", in.Kind).WithKind(failure.MemberExists)
			}
			if h.Kind == in.Kind {
				return Identity{}, failure.New(failure.Conflict, "member %s already has an identity of kind %s (%s)", m.ID, in.Kind, h.ID)
			}
		}
	}
	now := s.clock.Now()
	rec, err := tx.InsertIdentity(ctx, store.Identity{ID: id.New("idn"), ProgramID: a.ProgramID, MemberID: m.ID,
		Kind: in.Kind, Value: v, Verified: in.Verified, CreatedAt: now}, "value")
	if err != nil {
		return Identity{}, err
	}
	if Mirrored(in.Kind) {
		if err := tx.SetMemberContact(ctx, a.ProgramID, m.ID, in.Kind, v, now); err != nil {
			return Identity{}, err
		}
	}
	return Of([]store.Identity{rec})[0], nil
}

// Delete deletes one of a member's identities; deleting its phone or
// external_id clears the member's field of that name.
func (s *Service) Delete(ctx context.Context, tx *store.Tx, a auth.Actor, ref, identityID string) error {
	m, err := locked(ctx, tx, a, ref)
	if err != nil {
		return err
	}
	rec, err := tx.DeleteIdentity(ctx, a.ProgramID, m.ID, identityID)
	if err != nil {
		return err
	}
	if Mirrored(rec.Kind) {
		return tx.SetMemberContact(ctx, a.ProgramID, m.ID, rec.Kind, "", s.clock.Now())
	}
	return nil
}

// Mirror makes a member's phone or external_id identity follow its field
// after a create or a profile change: from old to value ("" for none).
func Mirror(ctx context.Context, tx *store.Tx, programID, memberID, kind, old, value string, now time.Time) error {
	if old == value {
		return nil
	}
	if old != "" {
		if err := tx.DeleteIdentities(ctx, programID, memberID, kind); err != nil {
			return err
		}
	}
	if value == "" {
		return nil
	}
	_, err := tx.InsertIdentity(ctx, store.Identity{ID: id.New("idn"), ProgramID: programID, MemberID: memberID,
		Kind: kind, Value: value, CreatedAt: now}, kind)
	return err
}
