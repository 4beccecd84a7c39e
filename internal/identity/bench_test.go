package identity_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/identity"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/store/storetest"
)

// BenchmarkResolve compares resolving a member by its ID with resolving
// it by an identity (ext:…, through identities' lookup and the one join
// to members) among 20,000 members, on each backend: the identity must
// cost no more than one indexed query, like the ID.
func BenchmarkResolve(b *testing.B) {
	backends := []storetest.Backend{storetest.SQLite}
	if dsn := os.Getenv(storetest.EnvPostgres); dsn != "" {
		backends = append(backends, storetest.Postgres(dsn))
	}
	for _, be := range backends {
		b.Run(be.Name, func(b *testing.B) {
			db := storetest.Open(b, be, store.Options{})
			ctx := context.Background()
			now := time.Now()
			const n = 20_000
			ms := make([]store.NewMember, n)
			for i := range ms {
				ms[i] = store.NewMember{ID: fmt.Sprintf("mem_%06d", i), ExternalID: fmt.Sprintf("u-%06d", i), ReferralCode: fmt.Sprintf("R%07d", i)}
			}
			err := db.Write(ctx, "", func(ctx context.Context, tx *store.Tx) error {
				if _, err := program.Create(ctx, tx, program.DefaultID, "default", now); err != nil {
					return err
				}
				return tx.InsertMembers(ctx, program.DefaultID, ms, now)
			})
			if err != nil {
				b.Fatal(err)
			}
			if err := db.AnalyzeSeeded(ctx); err != nil {
				b.Fatal(err)
			}
			a := auth.System(program.DefaultID)
			for _, k := range []struct {
				name string
				ref  func(i int) string
			}{
				{"id", func(i int) string { return ms[i].ID }},
				{"identity", func(i int) string { return "ext:" + ms[i].ExternalID }},
			} {
				b.Run(k.name, func(b *testing.B) {
					i := 0
					for b.Loop() {
						i = (i + 7919) % n
						m, err := identity.Resolve(ctx, db.Read(), a, k.ref(i))
						if err != nil || m.ID != ms[i].ID {
							b.Fatalf("%s: %s, %v", k.ref(i), m.ID, err)
						}
					}
				})
			}
		})
	}
}
