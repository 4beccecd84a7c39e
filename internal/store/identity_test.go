package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/store/storetest"
)

// Migration 12's Go step gives members that existed before it the phone
// and external_id identities their fields name, in every programme, a
// page at a time; references then find them by lookup.
func TestIdentityBackfill(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		db := storetest.Open(t, b, store.Options{})
		ctx := context.Background()
		now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		const n = 1005 // more than a page
		err := db.Write(ctx, "", func(ctx context.Context, tx *store.Tx) error {
			for _, p := range []string{"prog_a", "prog_b"} {
				if _, err := program.Create(ctx, tx, p, p, now); err != nil {
					return err
				}
			}
			for i := 0; i < n; i++ {
				m := store.Member{ID: fmt.Sprintf("mem_%05d", i), ProgramID: "prog_a", Gender: "unknown", Status: "active",
					ReferralCode: fmt.Sprintf("C%07d", i), ExternalID: null.String(fmt.Sprintf("ext-%d", i)), CreatedAt: now, UpdatedAt: now}
				if i%2 == 0 {
					m.Phone = null.String(fmt.Sprintf("+86139%08d", i))
				}
				if i == 7 {
					m.ExternalID = ""
				}
				if i == 9 {
					m.ProgramID = "prog_b"
				}
				if _, err := tx.InsertMember(ctx, m); err != nil {
					return err
				}
			}
			// As a database from before identities: the members only.
			if _, err := db.Read().MemberByIdentity(ctx, "prog_a", "external_id", "ext-1"); err == nil {
				return fmt.Errorf("an identity exists before the backfill")
			}
			return store.IdentityBackfill(ctx, &tx.Conn)
		})
		if err != nil {
			t.Fatal(err)
		}
		c := db.Read()
		for _, k := range []struct{ prog, kind, value, want string }{
			{"prog_a", "external_id", "ext-1", "mem_00001"},
			{"prog_a", "external_id", "ext-1004", "mem_01004"},
			{"prog_a", "phone", "+8613900000008", "mem_00008"},
			{"prog_a", "phone", "+8613900001004", "mem_01004"},
			{"prog_b", "external_id", "ext-9", "mem_00009"},
		} {
			m, err := c.MemberByIdentity(ctx, k.prog, k.kind, k.value)
			if err != nil || m.ID != k.want {
				t.Errorf("%s %s:%s → %s, %v; want %s", k.prog, k.kind, k.value, m.ID, err, k.want)
			}
		}
		for _, k := range []struct{ prog, kind, value string }{
			{"prog_a", "phone", "+8613900000001"}, // odd members have no phone
			{"prog_a", "external_id", "ext-7"},
			{"prog_a", "external_id", "ext-9"}, // prog_b's
		} {
			if m, err := c.MemberByIdentity(ctx, k.prog, k.kind, k.value); err == nil {
				t.Errorf("%s %s:%s found %s", k.prog, k.kind, k.value, m.ID)
			}
		}
		ids, err := c.IdentitiesOf(ctx, "prog_a", []string{"mem_00000", "mem_00007", "mem_00001"})
		if err != nil {
			t.Fatal(err)
		}
		if len(ids["mem_00000"]) != 2 || len(ids["mem_00007"]) != 0 || len(ids["mem_00001"]) != 1 {
			t.Fatalf("identities: %d, %d, %d", len(ids["mem_00000"]), len(ids["mem_00007"]), len(ids["mem_00001"]))
		}
	})
}
