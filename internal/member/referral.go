package member

import (
	"context"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/store"
)

// checkReferrer refuses a referral that would make a cycle: the member may
// not be its own inviter, nor anyone up the inviter's chain of referrers.
func checkReferrer(ctx context.Context, c *store.Conn, programID, memberID, inviterID string) error {
	for depth, cur := 0, inviterID; cur != ""; depth++ {
		if cur == memberID {
			if depth == 0 {
				return failure.Field("referral_code", "a member cannot refer itself")
			}
			return failure.Field("referral_code", "this referral would make a cycle")
		}
		if depth > 1000 {
			return failure.Field("referral_code", "the referral chain is too long")
		}
		inv, err := c.MemberByID(ctx, programID, cur)
		if err != nil {
			return err
		}
		cur = string(inv.ReferredBy)
	}
	return nil
}
