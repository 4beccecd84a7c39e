// Package identity resolves the references that name a member wherever
// the API takes one — its ID (mem_…), ext:<external_id>, or any identity
// <kind>:<value> (phone:+8613800000000) — and owns the identities
// themselves: adding, listing and deleting them. Values are normalised
// the way they are stored, and found by their lookup (store.Conn.Lookup),
// never by the value.
package identity

import (
	"context"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/store"
)

var (
	e164     = regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)
	mainland = regexp.MustCompile(`^1[3-9][0-9]{9}$`)
	custom   = regexp.MustCompile(`^[a-z][a-z0-9_]{1,31}$`)
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

// Identity kinds with a meaning of their own; any other kind matching
// [a-z][a-z0-9_]{1,31} is a programme's custom kind.
const (
	Phone         = "phone"
	ExternalID    = "external_id"
	Email         = "email"
	Card          = "card"
	WechatOpenID  = "wechat_openid"
	WechatUnionID = "wechat_unionid"
)

// OnePerMember reports whether a member may have at most one identity of
// the kind. Phone and external_id also mirror the member's fields.
func OnePerMember(kind string) bool { return kind == Phone || kind == ExternalID || kind == Email }

// Mirrored reports whether the kind mirrors a member field.
func Mirrored(kind string) bool { return kind == Phone || kind == ExternalID }

// CheckKind says what is wrong with a kind, "" when nothing. "ext" is
// reserved: ext:… is short for external_id:….
func CheckKind(kind string) string {
	if !custom.MatchString(kind) || kind == "ext" {
		return "must be phone, external_id, email, card, wechat_openid, wechat_unionid or a custom kind [a-z][a-z0-9_]{1,31} (not ext)"
	}
	return ""
}

// Normalize checks an identity's value for its kind and returns it as it
// is stored and looked up: a phone in E.164, an email trimmed and lower
// case, anything else as given (1–128 characters, no control characters).
func Normalize(kind, value string) (string, string) {
	switch kind {
	case Phone:
		p, ok := NormalizePhone(value)
		if !ok {
			return "", "must be E.164 (+8613800000000) or an 11-digit mainland mobile number"
		}
		return p, ""
	case Email:
		e := strings.ToLower(strings.TrimSpace(value))
		at := strings.LastIndexByte(e, '@')
		if at < 1 || at == len(e)-1 || utf8.RuneCountInString(e) > 128 || strings.ContainsFunc(e, unicode.IsSpace) {
			return "", "must be an email address of at most 128 characters"
		}
		return e, ""
	}
	if n := utf8.RuneCountInString(value); n < 1 || n > 128 || strings.ContainsFunc(value, unicode.IsControl) {
		return "", "must be 1 to 128 characters without control characters"
	}
	return value, ""
}

// Identity is an identity as the API shows it.
type Identity struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Value     string    `json:"value"`
	Verified  bool      `json:"verified"`
	CreatedAt time.Time `json:"created_at"`
}

// Of converts stored identities.
func Of(rs []store.Identity) []Identity {
	out := make([]Identity, len(rs))
	for i, r := range rs {
		out[i] = Identity{ID: r.ID, Kind: r.Kind, Value: r.Value, Verified: r.Verified, CreatedAt: r.CreatedAt}
	}
	return out
}

// Me is the reference a member token uses for its own member.
const Me = "me"

// Resolve turns a member reference — "mem_…", "ext:<external_id>",
// "<kind>:<value>", or "me" for a member token's own — into the stored
// member of the actor's programme. A member ID names that member, merged
// or not; an identity names the member it belongs to or, once that was
// merged, the member it was merged into. A member token names only its
// own member: anyone else is not_found to it.
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

// Parse reads a reference <kind>:<value> into the identity it names (its
// value normalised); ok is false when ref is not one (or its value is not
// valid for its kind, so no identity can match).
func Parse(ref string) (kind, value string, ok bool) {
	i := strings.IndexByte(ref, ':')
	if i <= 0 {
		return "", "", false
	}
	kind, value = ref[:i], ref[i+1:]
	if kind == "ext" {
		kind = ExternalID
	}
	if CheckKind(kind) != "" {
		return "", "", false
	}
	v, bad := Normalize(kind, value)
	if bad != "" {
		return "", "", false
	}
	return kind, v, true
}

func resolve(ctx context.Context, c *store.Conn, programID, ref string) (store.Member, error) {
	var m store.Member
	var err error
	if kind, value, ok := Parse(ref); ok {
		m, err = c.MemberByIdentity(ctx, programID, kind, value)
	} else if strings.HasPrefix(ref, "mem_") && !strings.Contains(ref, ":") {
		m, err = c.MemberByID(ctx, programID, ref)
	} else {
		return store.Member{}, failure.New(failure.NotFound, "member %s not found", ref)
	}
	if failure.KindOf(err) == failure.NotFound {
		return store.Member{}, failure.New(failure.NotFound, "member %s not found", ref)
	}
	return m, err
}

// ID is the ID of the member a reference names. A member ID is taken as
// it is, without a query: the operation that uses it reads the member
// under its lock and answers not_found (or conflict, for a merged member)
// then.
func ID(ctx context.Context, c *store.Conn, a auth.Actor, ref string) (string, error) {
	if a.IsMember() && (ref == Me || ref == a.MemberID) {
		return a.MemberID, nil
	}
	if strings.HasPrefix(ref, "mem_") && !strings.Contains(ref, ":") && !a.IsMember() {
		return ref, nil
	}
	if kind, value, ok := Parse(ref); ok && !a.IsMember() {
		// Only the ID: one index descent and the member's merged_into,
		// not the whole member.
		id, err := c.MemberIDByIdentity(ctx, a.ProgramID, kind, value)
		if failure.KindOf(err) == failure.NotFound {
			return "", failure.New(failure.NotFound, "member %s not found", ref)
		}
		return id, err
	}
	m, err := Resolve(ctx, c, a, ref)
	return m.ID, err
}
