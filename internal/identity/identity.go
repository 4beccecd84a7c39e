// Package identity resolves the references that name a member wherever
// the API takes one: its ID (mem_…), ext:<external_id>, or an identity
// <kind>:<value> (phone:+8613800000000). Values are normalised the way
// they are stored: a phone number to E.164.
package identity

import (
	"context"
	"regexp"
	"strings"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/store"
)

var (
	e164     = regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)
	mainland = regexp.MustCompile(`^1[3-9][0-9]{9}$`)
)

// NormalizePhone turns an 11-digit mainland mobile number into E.164 and
// checks an E.164 one; ok is false for anything else.
func NormalizePhone(s string) (string, bool) {
	s = strings.TrimSpace(s)
	switch {
	case mainland.MatchString(s):
		return "+86" + s, true
	case e164.MatchString(s):
		return s, true
	}
	return "", false
}

// Me is the reference a member token uses for its own member.
const Me = "me"

// Resolve turns a member reference — "mem_…", "ext:<external_id>",
// "phone:…", or "me" for a member token's own — into the stored member of
// the actor's programme. A member token names only its own member:
// anyone else is not_found to it.
func Resolve(ctx context.Context, c *store.Conn, a auth.Actor, ref string) (store.Member, error) {
	if a.IsMember() && ref == Me {
		ref = a.MemberID
	}
	m, err := resolve(ctx, c, a.ProgramID, ref)
	if err == nil && a.IsMember() && m.ID != a.MemberID {
		return store.Member{}, failure.New(failure.NotFound, "member %s not found", ref)
	}
	return m, err
}

func resolve(ctx context.Context, c *store.Conn, programID, ref string) (store.Member, error) {
	var m store.Member
	var err error
	switch {
	case strings.HasPrefix(ref, "ext:") && len(ref) > 4:
		m, err = c.MemberByExternalID(ctx, programID, ref[4:])
	case strings.HasPrefix(ref, "external_id:") && len(ref) > 12:
		m, err = c.MemberByExternalID(ctx, programID, ref[12:])
	case strings.HasPrefix(ref, "phone:"):
		p, ok := NormalizePhone(ref[6:])
		if !ok {
			return store.Member{}, failure.New(failure.NotFound, "member %s not found", ref)
		}
		m, err = c.MemberByPhone(ctx, programID, p)
	case strings.HasPrefix(ref, "mem_"):
		m, err = c.MemberByID(ctx, programID, ref)
	default:
		return store.Member{}, failure.New(failure.NotFound, "member %s not found", ref)
	}
	if failure.KindOf(err) == failure.NotFound {
		return store.Member{}, failure.New(failure.NotFound, "member %s not found", ref)
	}
	return m, err
}

// ID is the ID of the member a reference names. A member ID is taken as
// it is, without a query: the operation that uses it reads the member
// under its lock and answers not_found then.
func ID(ctx context.Context, c *store.Conn, a auth.Actor, ref string) (string, error) {
	if a.IsMember() && (ref == Me || ref == a.MemberID) {
		return a.MemberID, nil
	}
	if strings.HasPrefix(ref, "mem_") && !a.IsMember() {
		return ref, nil
	}
	m, err := Resolve(ctx, c, a, ref)
	return m.ID, err
}
