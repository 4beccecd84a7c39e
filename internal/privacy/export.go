// Package privacy is what a member's rights under PIPL ask of the
// programme: a copy of every record that names the member (Export). It
// reads through the services that own each record, so the copy shows what
// the API shows.
package privacy

import (
	"context"
	"time"

	"github.com/jifen/jifen/internal/audience"
	"github.com/jifen/jifen/internal/audit"
	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/campaign"
	"github.com/jifen/jifen/internal/checkin"
	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/coupon"
	"github.com/jifen/jifen/internal/engage"
	"github.com/jifen/jifen/internal/exchange"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/identity"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/mall"
	"github.com/jifen/jifen/internal/member"
	"github.com/jifen/jifen/internal/message"
	"github.com/jifen/jifen/internal/points"
	"github.com/jifen/jifen/internal/store"
)

// Services are the owners of the records an export reads.
type Services struct {
	Members   *member.Service
	Identity  *identity.Service
	Points    *points.Service
	Coupons   *coupon.Service
	Mall      *mall.Service
	Checkins  *checkin.Service
	Engage    *engage.Service
	Exchange  *exchange.Service
	Audience  *audience.Service
	Campaigns *campaign.Service
	Messages  *message.Service
	Audit     *audit.Service
}

// Service exports members' data.
type Service struct {
	s     Services
	clock clock.Clock
}

// NewService returns the privacy service.
func NewService(s Services, clk clock.Clock) *Service { return &Service{s: s, clock: clk} }

// Export is every record that names a member.
type Export struct {
	ExportedAt   time.Time                        `json:"exported_at"`
	Member       member.Member                    `json:"member"`
	Identities   []identity.Identity              `json:"identities"`
	Tags         []string                         `json:"tags"`
	Balances     map[string]*ledger.MemberBalance `json:"balances"`
	Lots         []ledger.Lot                     `json:"lots"`
	Transactions []ledger.Txn                     `json:"transactions"`
	Holds        []ledger.Hold                    `json:"holds"`
	Coupons      []coupon.Coupon                  `json:"coupons"`
	Redemptions  []mall.Redemption                `json:"redemptions"`
	Checkins     []checkin.Checkin                `json:"checkins"`
	Tasks        []engage.MemberTask              `json:"tasks"`
	Referrals    []engage.Referral                `json:"referrals"`
	Exchanges    []exchange.Exchange              `json:"exchanges"`
	Stats        audience.Stats                   `json:"stats"`
	Campaigns    []campaign.Participation         `json:"campaigns"`
	Messages     []message.Message                `json:"messages"`
	Audit        []audit.Entry                    `json:"audit"`
}

// pageSize is how many rows an export reads at a time.
const pageSize = 500

// all reads every page of a list.
func all[T any](list func(store.Page) ([]T, string, error)) ([]T, error) {
	out := []T{}
	pg := store.Page{Limit: pageSize}
	for {
		rows, next, err := list(pg)
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
		if next == "" {
			return out, nil
		}
		pg.Cursor = next
	}
}

// Export gathers every record that names the member ref (admins only):
// its profile, identities and tags, its books (balances, lots,
// transactions, holds), what it took (coupons, redemptions, exchanges),
// what it did (check-ins, tasks, referrals), what the programme knows and
// did about it (statistics, campaigns, messages) and who touched it (the
// audit entries whose target it is).
func (s *Service) Export(ctx context.Context, a auth.Actor, ref string) (Export, error) {
	if a.Role != auth.Admin || a.IsMember() {
		return Export{}, failure.New(failure.Forbidden, "only an admin exports a member's data")
	}
	m, err := s.s.Members.Get(ctx, a, ref)
	if err != nil {
		return Export{}, err
	}
	id := m.ID
	x := Export{ExportedAt: s.clock.Now(), Member: m, Tags: m.Tags}
	if x.Tags == nil {
		x.Tags = []string{}
	}
	steps := []func() error{
		func() (err error) { x.Identities, err = s.s.Identity.List(ctx, a, id); return err },
		func() (err error) { x.Balances, err = s.s.Points.Balance(ctx, a, id); return err },
		func() (err error) {
			x.Lots, err = all(func(pg store.Page) ([]ledger.Lot, string, error) {
				return s.s.Points.Lots(ctx, a, id, store.LotFilter{}, pg)
			})
			return err
		},
		func() (err error) {
			x.Transactions, err = all(func(pg store.Page) ([]ledger.Txn, string, error) {
				return s.s.Points.Txns(ctx, a, id, store.TxnFilter{}, pg)
			})
			return err
		},
		func() (err error) {
			x.Holds, err = all(func(pg store.Page) ([]ledger.Hold, string, error) { return s.s.Points.Holds(ctx, a, id, "", pg) })
			return err
		},
		func() (err error) {
			x.Coupons, err = all(func(pg store.Page) ([]coupon.Coupon, string, error) {
				return s.s.Coupons.MemberCoupons(ctx, a, id, "", pg)
			})
			return err
		},
		func() (err error) {
			x.Redemptions, err = all(func(pg store.Page) ([]mall.Redemption, string, error) {
				return s.s.Mall.Redemptions(ctx, a, mall.RedemptionFilter{Member: id}, pg)
			})
			return err
		},
		func() (err error) { x.Checkins, err = s.s.Checkins.List(ctx, a, id, 100000); return err },
		func() (err error) { x.Tasks, err = s.s.Engage.MemberTasks(ctx, a, id); return err },
		func() (err error) { x.Referrals, err = s.s.Engage.Referrals(ctx, a, id); return err },
		func() (err error) {
			x.Exchanges, err = all(func(pg store.Page) ([]exchange.Exchange, string, error) {
				return s.s.Exchange.Exchanges(ctx, a, id, pg)
			})
			return err
		},
		func() (err error) { x.Stats, err = s.s.Audience.MemberStats(ctx, a, id); return err },
		func() (err error) { x.Campaigns, err = s.s.Campaigns.OfMember(ctx, a, id); return err },
		func() (err error) {
			x.Messages, err = all(func(pg store.Page) ([]message.Message, string, error) {
				return s.s.Messages.List(ctx, a, message.Filter{Member: id}, pg)
			})
			return err
		},
		func() (err error) {
			x.Audit, err = all(func(pg store.Page) ([]audit.Entry, string, error) {
				return s.s.Audit.List(ctx, a, audit.Filter{TargetType: "member", TargetID: id}, pg)
			})
			return err
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return Export{}, err
		}
	}
	return x, nil
}
