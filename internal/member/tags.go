package member

import (
	"context"
	"github.com/jifen/jifen/internal/outbox"
	"slices"
	"strings"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

// TagsInput names tags to add to a member.
type TagsInput struct {
	Tags []string `json:"tags" api:"maxitems=100" doc:"each 1 to 32 characters without commas or control characters; a member has at most 100"`
}

// Validate checks the input on its own.
func (in TagsInput) Validate() error {
	if len(in.Tags) == 0 {
		return failure.Field("tags", "give at least one tag")
	}
	_, err := normalizeTags(in.Tags)
	return err
}

// Tags is a member's tags.
type Tags struct {
	Tags []string `json:"tags"`
}

// TagCount is a tag and how many members have it.
type TagCount struct {
	Tag     string `json:"tag"`
	Members int64  `json:"members"`
}

// writable takes the member's lock and reads it; a merged or erased
// member cannot change.
func (s *Service) writable(ctx context.Context, tx *store.Tx, a auth.Actor, ref string) (program.Program, store.Member, error) {
	p, m, err := s.locked(ctx, tx, a, ref)
	if err == nil && (m.Status == Erased || m.Status == Merged) {
		err = failure.New(failure.Conflict, "member %s is %s", m.ID, m.Status)
	}
	return p, m, err
}

// AddTags adds tags to a member (those it has already are kept once).
func (s *Service) AddTags(ctx context.Context, tx *store.Tx, a auth.Actor, ref string, in TagsInput) (Tags, error) {
	if err := in.Validate(); err != nil {
		return Tags{}, err
	}
	add, _ := normalizeTags(in.Tags)
	p, m, err := s.writable(ctx, tx, a, ref)
	if err != nil {
		return Tags{}, err
	}
	tags := slices.Clone(m.Tags)
	for _, t := range add {
		if !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	if len(tags) > 100 {
		return Tags{}, failure.Field("tags", "a member has at most 100 tags; it has %d", len(m.Tags))
	}
	if len(tags) != len(m.Tags) {
		if err := tx.SetMemberTags(ctx, p.ID, m.ID, tags); err != nil {
			return Tags{}, err
		}
		m.Tags = tags
		if err := s.tagsChanged(ctx, tx, p, m); err != nil {
			return Tags{}, err
		}
	}
	return Tags{Tags: tags}, nil
}

// RemoveTag takes a tag off a member; a tag it does not have is not_found.
func (s *Service) RemoveTag(ctx context.Context, tx *store.Tx, a auth.Actor, ref, tag string) error {
	p, m, err := s.writable(ctx, tx, a, ref)
	if err != nil {
		return err
	}
	tag = strings.TrimSpace(tag)
	i := slices.Index(m.Tags, tag)
	if i < 0 {
		return failure.New(failure.NotFound, "member %s has no tag %q", m.ID, tag)
	}
	m.Tags = slices.Delete(slices.Clone(m.Tags), i, i+1)
	if err := tx.SetMemberTags(ctx, p.ID, m.ID, m.Tags); err != nil {
		return err
	}
	return s.tagsChanged(ctx, tx, p, m)
}

// tagsChanged writes member.updated for a change of tags (reading the
// member's identities for it only when a webhook wants it).
func (s *Service) tagsChanged(ctx context.Context, tx *store.Tx, p program.Program, m store.Member) error {
	if !p.Webhooks.Wants(outbox.MemberUpdated) {
		return nil
	}
	_, err := updated(ctx, tx, p, m, s.clock.Now())
	return err
}

// TagCounts lists the programme's tags with how many members have each,
// by tag.
func (s *Service) TagCounts(ctx context.Context, a auth.Actor) ([]TagCount, error) {
	rs, err := s.db.Replica().TagCounts(ctx, a.ProgramID)
	out := make([]TagCount, len(rs))
	for i, r := range rs {
		out[i] = TagCount(r)
	}
	return out, err
}
