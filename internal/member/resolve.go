package member

import (
	"context"
	"strings"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/store"
)

// newReferralCode draws 8 characters without look-alikes (no 0/O, 1/I/L).
func newReferralCode() string {
	const alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
	raw := id.Secret(8)
	b := make([]byte, len(raw))
	for i := range raw {
		b[i] = alphabet[int(raw[i])%len(alphabet)]
	}
	return string(b)
}

// Resolve turns a member reference — "mem_…" or "ext:<external_id>" — into
// the stored member of the program.
func Resolve(ctx context.Context, c *store.Conn, programID, ref string) (store.Member, error) {
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
func ID(ctx context.Context, c *store.Conn, programID, ref string) (string, error) {
	if strings.HasPrefix(ref, "mem_") {
		return ref, nil
	}
	m, err := Resolve(ctx, c, programID, ref)
	return m.ID, err
}
