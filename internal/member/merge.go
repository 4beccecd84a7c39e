package member

import (
	"context"
	"encoding/json"
	"github.com/jifen/jifen/internal/outbox"
	"slices"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/identity"
	"github.com/jifen/jifen/internal/input"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/tier"
)

// MergeInput names the member merged away into the one in the path.
type MergeInput struct {
	Source string `json:"source" api:"minlen=1,maxlen=200" doc:"the member merged away: mem_…, ext:… or <kind>:<value>"`
	Reason string `json:"reason,omitempty" api:"maxlen=256" doc:"kept as the merge transactions' reason"`
}

// Validate checks the input on its own.
func (in MergeInput) Validate() error {
	var fs failure.Fields
	if in.Source == "" {
		fs.Add("source", "is required")
	}
	input.Text(&fs, "reason", in.Reason, 256)
	return fs.Err()
}

// Moved counts what a merge moved.
type Moved struct {
	Identities  int64 `json:"identities"`
	Lots        int64 `json:"lots"`
	Holds       int64 `json:"holds"`
	Coupons     int64 `json:"coupons"`
	Redemptions int64 `json:"redemptions"`
}

// MergeResult is a merge's answer: both members as they are after it.
type MergeResult struct {
	Member Member `json:"member"`
	Source Member `json:"source"`
	Moved  Moved  `json:"moved"`
}

// Merge merges member source into the member ref names, in the caller's
// one transaction. The ledger part (ledger.Merge) locks both members in
// member-ID order and moves lots, open holds and balances with merge
// transactions. Then identities move — but a phone, external_id or email
// the target already has of that kind stays on the source, where it still
// resolves to the target through merged_into — and the mirrored phone and
// external_id fields follow their identities; tags are united; active
// coupons and pending redemptions move; the target's empty profile fields
// (name, gender "unknown", birthday, region, attribute keys it lacks) are
// filled from the source. The target keeps its tier (raised at once, with
// reason merge, if the moved growth reaches a threshold), referral code,
// referrer, streak and tasks. The source ends merged, with merged_into.
func (s *Service) Merge(ctx context.Context, tx *store.Tx, a auth.Actor, ref string, in MergeInput) (MergeResult, error) {
	if err := in.Validate(); err != nil {
		return MergeResult{}, err
	}
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return MergeResult{}, err
	}
	targetID, err := identity.ID(ctx, &tx.Conn, a, ref)
	if err != nil {
		return MergeResult{}, err
	}
	sourceID, err := identity.ID(ctx, &tx.Conn, a, in.Source)
	if err != nil {
		return MergeResult{}, err
	}
	if sourceID == targetID {
		return MergeResult{}, failure.Field("source", "names the member merged into; a member cannot be merged into itself")
	}
	now := s.clock.Now()
	led, err := ledger.Merge(ctx, tx, p.Ledger(), sourceID, targetID, in.Reason, now)
	if err != nil {
		return MergeResult{}, err
	}
	src, dst := led.Source, led.Target
	moved := Moved{Lots: led.Lots, Holds: led.Holds}

	// Identities: one-per-member kinds the target has stay on the source.
	have, err := tx.Identities(ctx, p.ID, dst.ID)
	if err != nil {
		return MergeResult{}, err
	}
	var keep []string
	for _, i := range have {
		if identity.OnePerMember(i.Kind) && !slices.Contains(keep, i.Kind) {
			keep = append(keep, i.Kind)
		}
	}
	if moved.Identities, err = tx.MoveIdentities(ctx, p.ID, src.ID, dst.ID, keep); err != nil {
		return MergeResult{}, err
	}
	// The mirrored fields follow: cleared on the source first (they are
	// unique), then set on the target.
	for _, k := range []struct {
		kind     string
		src, dst string
	}{{identity.Phone, string(src.Phone), string(dst.Phone)}, {identity.ExternalID, string(src.ExternalID), string(dst.ExternalID)}} {
		if k.src == "" || slices.Contains(keep, k.kind) {
			continue
		}
		if err := tx.SetMemberContact(ctx, p.ID, src.ID, k.kind, "", now); err != nil {
			return MergeResult{}, err
		}
		if err := tx.SetMemberContact(ctx, p.ID, dst.ID, k.kind, k.src, now); err != nil {
			return MergeResult{}, err
		}
	}
	if moved.Coupons, err = tx.MoveCoupons(ctx, p.ID, src.ID, dst.ID, now); err != nil {
		return MergeResult{}, err
	}
	if moved.Redemptions, err = tx.MoveRedemptions(ctx, p.ID, src.ID, dst.ID, now); err != nil {
		return MergeResult{}, err
	}
	tags := dst.Tags
	for _, t := range src.Tags {
		if !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	if len(src.Tags) > 0 {
		if err := tx.SetMemberTags(ctx, p.ID, src.ID, []string{}); err != nil {
			return MergeResult{}, err
		}
	}
	if err := tx.SetMerged(ctx, p.ID, src.ID, dst.ID, now); err != nil {
		return MergeResult{}, err
	}
	// The statistics add up (orders, spend, refunds; category scores).
	if err := tx.MergeStats(ctx, p.ID, src.ID, dst.ID, now); err != nil {
		return MergeResult{}, err
	}
	// The target's profile, read again (its phone or external_id may have
	// just been set), with the empty fields filled.
	if dst, err = tx.MemberByID(ctx, p.ID, dst.ID); err != nil {
		return MergeResult{}, err
	}
	fillProfile(&dst, src)
	dst.Tags, dst.UpdatedAt = tags, now
	if err := tx.UpdateMember(ctx, dst); err != nil {
		return MergeResult{}, err
	}
	if _, err := tier.RaiseOnMerge(ctx, tx, p, dst, now); err != nil {
		return MergeResult{}, err
	}
	var res MergeResult
	res.Moved = moved
	if dst, err = tx.MemberByID(ctx, p.ID, dst.ID); err != nil {
		return MergeResult{}, err
	}
	if src, err = tx.MemberByID(ctx, p.ID, src.ID); err != nil {
		return MergeResult{}, err
	}
	if res.Member, err = view(ctx, &tx.Conn, dst); err != nil {
		return MergeResult{}, err
	}
	if res.Source, err = view(ctx, &tx.Conn, src); err != nil {
		return MergeResult{}, err
	}
	return res, outbox.Emit(ctx, tx, p.ID, p.Webhooks, outbox.MemberMerged, dst.ID, MergedEvent{MemberID: dst.ID, SourceID: src.ID}, now)
}

// MergedEvent is the data of a member.merged event: source_id was merged into
// member_id.
type MergedEvent struct {
	MemberID string `json:"member_id"`
	SourceID string `json:"source_id"`
}

// fillProfile fills m's empty profile fields from src.
func fillProfile(m *store.Member, src store.Member) {
	if m.Name == "" {
		m.Name = src.Name
	}
	if m.Gender == "" || m.Gender == "unknown" {
		m.Gender = src.Gender
	}
	if m.Birthday == "" {
		m.Birthday = src.Birthday
	}
	if m.Region == "" {
		m.Region = src.Region
	}
	var mine, theirs map[string]json.RawMessage
	if json.Unmarshal(m.Attributes, &mine) != nil || mine == nil {
		mine = map[string]json.RawMessage{}
	}
	if json.Unmarshal(src.Attributes, &theirs) == nil {
		added := false
		for k, v := range theirs {
			if _, ok := mine[k]; !ok {
				mine[k], added = v, true
			}
		}
		if added {
			m.Attributes, _ = json.Marshal(mine)
		}
	}
}
