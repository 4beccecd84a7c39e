package bench

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/rulebook"
	"github.com/jifen/jifen/internal/rules"
	"github.com/jifen/jifen/internal/store"
)

// FreshDatabase makes an empty database for a backend and returns its DSN
// and how to remove it. SQLite: a file in a temporary directory.
// PostgreSQL: a new database on the server at admin (a DSN to any
// database there).
func FreshDatabase(ctx context.Context, backend, admin string) (string, func(), error) {
	switch backend {
	case "sqlite":
		dir, err := os.MkdirTemp("", "jifen-bench-*")
		if err != nil {
			return "", nil, err
		}
		return "sqlite:" + filepath.Join(dir, "bench.db"), func() { os.RemoveAll(dir) }, nil
	case "postgres":
		name := "jifen_bench_" + strings.ToLower(id.Secret(8))
		db, err := sql.Open("pgx", admin)
		if err != nil {
			return "", nil, err
		}
		if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
			db.Close()
			return "", nil, fmt.Errorf("create database on %s: %w", store.Redact(admin), err)
		}
		u, err := url.Parse(admin)
		if err != nil {
			db.Close()
			return "", nil, err
		}
		u.Path = "/" + name
		return u.String(), func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			db.Close()
		}, nil
	}
	return "", nil, fmt.Errorf("backend %q: want sqlite or postgres", backend)
}

// Seeded is what Seed made.
type Seeded struct {
	Members []string // member IDs, each with SeedPoints points
}

// SeedPoints is every seeded member's opening balance.
const SeedPoints = 1_000_000

// Seed migrates the database, creates program "default" with the admin key
// and the ten benchmark rules, and adds n members with SeedPoints each.
func Seed(ctx context.Context, dsn, key string, n int) (Seeded, error) {
	db, err := store.Open(ctx, dsn, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return Seeded{}, err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return Seeded{}, err
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	book := rulebook.New(db, clock.NewFake(now), time.Minute)
	err = db.Write(ctx, "", func(ctx context.Context, tx *store.Tx) error {
		if _, err := program.Create(ctx, tx, program.DefaultID, program.DefaultID, now); err != nil {
			return err
		}
		if _, err := auth.Bootstrap(ctx, tx, program.DefaultID, key, now); err != nil {
			return err
		}
		for _, d := range Rules() {
			if _, err := book.Create(ctx, tx, auth.System(program.DefaultID), rulebook.FromDef(d)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Seeded{}, fmt.Errorf("seed program: %w", err)
	}
	p, err := program.NewService(db, clock.NewFake(now), time.Minute).Get(ctx, program.DefaultID)
	if err != nil {
		return Seeded{}, err
	}
	lp := p.Ledger()
	var s Seeded
	const perTx = 2000
	for start := 0; start < n; start += perTx {
		batch := make([]store.NewMember, 0, perTx)
		opening := make([]ledger.Opening, 0, perTx)
		for i := start; i < min(start+perTx, n); i++ {
			m := store.NewMember{ID: id.New("mem"), ExternalID: fmt.Sprintf("bench-%d", i), ReferralCode: fmt.Sprintf("B%07d", i)}
			batch = append(batch, m)
			opening = append(opening, ledger.Opening{MemberID: m.ID, Points: SeedPoints})
			s.Members = append(s.Members, m.ID)
		}
		err := db.Write(ctx, "seed", func(ctx context.Context, tx *store.Tx) error {
			if err := tx.InsertMembers(ctx, program.DefaultID, batch, now); err != nil {
				return err
			}
			return ledger.Open(ctx, tx, lp, opening, "seed", now)
		})
		if err != nil {
			return Seeded{}, err
		}
	}
	return s, db.AnalyzeSeeded(ctx)
}

// Rules are the ten active rules of the earn scenarios: spend brackets
// with category multipliers, growth value and a category bonus match every
// order (three awards per event); a member day, a VIP rule and five
// large-order rules are evaluated and do not match.
func Rules() []rules.Def {
	fixed := func(p int64) rules.Reward { return rules.Reward{Kind: rules.Fixed, Points: p} }
	up1, up2 := int64(100000), int64(500000)
	out := []rules.Def{
		{Name: "spend brackets", EventType: "order.paid", Status: rules.Active, Reward: rules.Reward{Kind: rules.PerAmount, Per: 100, Points: 1,
			Brackets:            []rules.Bracket{{UpTo: &up1, Rate: rules.MustRate("1")}, {UpTo: &up2, Rate: rules.MustRate("1.5")}, {Rate: rules.MustRate("2")}},
			CategoryMultipliers: map[string]rules.Rate{"B": rules.MustRate("2")}}},
		{Name: "growth", EventType: "order.paid", Status: rules.Active, Reward: rules.Reward{Kind: rules.PerAmount, Per: 100, Points: 1, Currency: "growth"}},
		{Name: "category B bonus", EventType: "order.paid", Status: rules.Active, Condition: "order.items.exists(i, i.category == 'B')", Reward: fixed(5)},
		{Name: "member day", EventType: "order.paid", Status: rules.Active, Condition: "local.weekday == 8",
			Reward: rules.Reward{Kind: rules.Expression, Expression: "order.amount / 100"}},
		{Name: "vip", EventType: "order.paid", Status: rules.Active, Condition: `"vip" in member.tags`, Reward: fixed(50)},
	}
	for i := 1; i <= 5; i++ {
		out = append(out, rules.Def{Name: fmt.Sprintf("big order %d", i), EventType: "order.paid", Status: rules.Active,
			Condition: fmt.Sprintf("order.amount >= %d", 1000000*i), Reward: fixed(int64(100 * i))})
	}
	return out
}
