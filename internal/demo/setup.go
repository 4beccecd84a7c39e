package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/coupon"
	"github.com/jifen/jifen/internal/events"
	"github.com/jifen/jifen/internal/exchange"
	"github.com/jifen/jifen/internal/jobs"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/lottery"
	"github.com/jifen/jifen/internal/mall"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/rulebook"
	"github.com/jifen/jifen/internal/rules"
	"github.com/jifen/jifen/internal/settlement"
	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/tier"
)

// The demo's console login: printed by jifen demo, for a demo database.
const (
	OperatorEmail    = "demo@jifen.dev"
	OperatorPassword = "jifen-demo-2026"
)

// setup configures the programme as a tea-drink chain would, through the
// operations the API uses.
func (d *run) setup(ctx context.Context) (Result, error) {
	var res Result
	a, sys := d.a, d.sys
	err := d.write(ctx, "demo", func(ctx context.Context, tx *store.Tx) error {
		if _, err := program.Create(ctx, tx, program.DefaultID, program.DefaultID, d.clk.Now()); err != nil {
			return err
		}
		n, err := tx.CountMembers(ctx, program.DefaultID)
		if err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("program %q already has %d members: the demo fills a fresh database", program.DefaultID, n)
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	a.Programs.Forget(program.DefaultID)
	err = d.write(ctx, "demo", func(ctx context.Context, tx *store.Tx) error {
		name, tz, ppy := "茶语 Tea Club (demo)", "Asia/Shanghai", int64(100)
		if _, err := a.Programs.Update(ctx, tx, sys, program.Patch{Name: &name, Timezone: &tz, PointsPerYuan: &ppy,
			Expiry: &ledger.Policy{Kind: ledger.EndOfYear, Years: 1}}); err != nil {
			return err
		}
		if _, err := a.Programs.SetTiers(ctx, tx, sys, []program.Tier{
			{Code: "silver", Name: "银卡 Silver", Threshold: 0, Multiplier: rules.One},
			{Code: "gold", Name: "金卡 Gold", Threshold: 2000, Multiplier: rules.MustRate("1.2")},
			{Code: "black", Name: "黑卡 Black", Threshold: 10000, Multiplier: rules.MustRate("1.5")},
		}); err != nil {
			return err
		}
		if _, err := a.Programs.SetCheckin(ctx, tx, sys, program.CheckinConfig{Points: 5,
			StreakBonuses: []program.StreakBonus{{Day: 7, Points: 30}}, CycleDays: 7}); err != nil {
			return err
		}
		if _, err := a.Programs.SetReferral(ctx, tx, sys, program.ReferralConfig{InviterPoints: 200, InviteePoints: 100,
			On: program.OnFirstOrder, MinOrderAmount: 2000, PendingDays: 7}); err != nil {
			return err
		}
		for _, n := range []string{"旗舰店 Flagship", "商场店 Mall store", "小程序 Mini-program"} {
			m, err := a.Programs.CreateMerchant(ctx, tx, sys, program.MerchantInput{Name: n})
			if err != nil {
				return err
			}
			d.stores = append(d.stores, m.ID)
		}
		// An alliance: a café and a cinema whose points members earn at one
		// and spend at the other; settled monthly (statements).
		for _, al := range []struct {
			name string
			in   settlement.TermsInput
		}{
			{"街角咖啡 Corner Café", settlement.TermsInput{PointValueFen: ptr("1"), FeePercent: ptr("3"), Breakage: settlement.BreakageProgram}},
			{"星光影城 Starlight Cinema", settlement.TermsInput{PointValueFen: ptr("0.8"), FeePercent: ptr("5")}},
		} {
			m, err := a.Programs.CreateMerchant(ctx, tx, sys, program.MerchantInput{Name: al.name})
			if err != nil {
				return err
			}
			if _, err := a.Settlement.PutTerms(ctx, tx, sys, m.ID, al.in); err != nil {
				return err
			}
			d.alliance = append(d.alliance, m.ID)
		}
		for _, def := range demoRules() {
			if _, err := a.Rules.Create(ctx, tx, sys, rulebook.FromDef(def)); err != nil {
				return fmt.Errorf("rule %s: %w", def.Name, err)
			}
		}
		tpl, err := a.Coupons.CreateTemplate(ctx, tx, sys, coupon.TemplateInput{Name: ptr("满30减5"), Kind: ptr(coupon.AmountOff),
			Value: ptr(int64(500)), MinOrder: ptr(int64(3000)), PerMemberLimit: ptr(int64(3)), ValidDays: ptr(int64(30)),
			DailyRelease: &coupon.DailyRelease{Time: "10:00", Quantity: 20}})
		if err != nil {
			return err
		}
		d.template = tpl.ID
		for _, rw := range []mall.RewardInput{
			{Name: ptr("经典奶茶兑换券 Milk tea"), Type: ptr(mall.Virtual), PointsPrice: ptr(int64(800))},
			{Name: ptr("保温杯 Thermos"), Type: ptr(mall.Physical), PointsPrice: ptr(int64(3000)), CashPrice: ptr(int64(990)),
				Stock: ptr(int64(200)), PerMemberLimit: ptr(int64(1))},
			{Name: ptr("帆布袋 Tote bag"), Type: ptr(mall.Physical), PointsPrice: ptr(int64(1500)), Stock: ptr(int64(300))},
		} {
			r, err := a.Mall.CreateReward(ctx, tx, sys, rw)
			if err != nil {
				return err
			}
			d.rewards = append(d.rewards, r.ID)
		}
		flash, err := a.Mall.CreateReward(ctx, tx, sys, mall.RewardInput{Name: ptr("限量联名杯 Limited cup (flash sale)"),
			Type: ptr(mall.Physical), PointsPrice: ptr(int64(1000)), Stock: ptr(int64(50)), PerMemberLimit: ptr(int64(1))})
		if err != nil {
			return err
		}
		d.flash = flash.ID
		l, err := a.Lotteries.Create(ctx, tx, sys, lottery.Input{Name: "幸运大转盘 Lucky wheel", CostPoints: 50, DailyLimit: ptr(int64(3)),
			Prizes: []lottery.PrizeIn{
				{Name: "100 积分", Weight: 20, Reward: lottery.PrizeReward{Points: ptr(int64(100))}},
				{Name: "满30减5 券", Weight: 10, Stock: ptr(int64(500)), Reward: lottery.PrizeReward{CouponTemplateID: &tpl.ID}},
				{Name: "帆布袋", Weight: 2, Stock: ptr(int64(20)), Reward: lottery.PrizeReward{RewardID: &d.rewards[2]}},
			}, FallbackPrize: &lottery.Fallback{PrizeIn: lottery.PrizeIn{Name: "谢谢参与"}}})
		if err != nil {
			return err
		}
		d.lottery = l.ID
		if _, err := a.Operators.Bootstrap(ctx, tx, program.DefaultID, OperatorEmail, OperatorPassword); err != nil {
			return err
		}
		key, err := a.Auth.Create(ctx, tx, sys, auth.CreateInput{Name: "demo admin key", Role: auth.Admin})
		if err != nil {
			return err
		}
		res.OperatorEmail, res.OperatorPassword, res.APIKey = OperatorEmail, OperatorPassword, *key.Secret
		_, err = a.Programs.CreateCurrency(ctx, tx, sys, program.CurrencyInput{Code: "coins", Name: "茶币 Tea coins",
			Spendable: ptr(true)})
		return err
	})
	if err != nil {
		return res, err
	}
	// Points exchange for tea coins, 100 for 1, at most 5,000 points a day
	// (a rate names currencies the programme has, so after the commit).
	err = d.write(ctx, "demo", func(ctx context.Context, tx *store.Tx) error {
		_, err := a.Exchange.PutRate(ctx, tx, sys, "points", "coins", exchange.RateInput{Rate: rules.MustRate("0.01"),
			DailyLimit: ptr(int64(5000))})
		return err
	})
	return res, err
}

// demoRules: 1 point per yuan; 1.5 from 100 yuan and 2 from 300 in one
// order; snacks count double; Wednesday is member day (double); growth
// value 1 per yuan.
func demoRules() []rules.Def {
	upTo := func(n int64) *int64 { return &n }
	return []rules.Def{
		{Name: "消费积分 1 per yuan, brackets", EventType: events.OrderPaid, Status: rules.Active,
			Reward: rules.Reward{Kind: rules.PerAmount, Per: 100, Points: 1,
				Brackets:            []rules.Bracket{{UpTo: upTo(10000), Rate: rules.One}, {UpTo: upTo(30000), Rate: rules.MustRate("1.5")}, {Rate: rules.MustRate("2")}},
				CategoryMultipliers: map[string]rules.Rate{"snack": rules.MustRate("2")}}},
		{Name: "会员日 Wednesday double", EventType: events.OrderPaid, Status: rules.Active, Priority: 1,
			Condition: "local.weekday == 3", Reward: rules.Reward{Kind: rules.Expression, Expression: "order.amount / 100"}},
		{Name: "成长值 growth 1 per yuan", EventType: events.OrderPaid, Status: rules.Active,
			Reward: rules.Reward{Kind: rules.PerAmount, Per: 100, Points: 1, Currency: ledger.Growth}},
	}
}

func (d *run) redeem(ctx context.Context, tx *store.Tx, ref string, o op) error {
	reward := d.rewards[o.member%len(d.rewards)]
	if o.at.Month() == 11 && o.at.Day() == 11 {
		reward = d.flash // 双十一: the flash sale
	}
	_, err := d.a.Mall.Redeem(ctx, tx, d.sys, mall.RedemptionInput{Member: ref, RewardID: reward})
	return err
}

func lotteryDraw(ref string) lottery.DrawInput { return lottery.DrawInput{Member: ref} }

func claimOf(ref string) coupon.ClaimInput { return coupon.ClaimInput{Member: ref} }

// jobs runs, as of now, what the scheduler would have run over the year:
// pending points become available, points past their expiry expire, tiers
// are reviewed, coupons past their validity expire.
func (d *run) jobs(ctx context.Context) error {
	p, err := d.a.Programs.Get(ctx, program.DefaultID)
	if err != nil {
		return err
	}
	now := d.clk.Now()
	if _, err := jobs.ActivatePending(ctx, d.db, p, now); err != nil {
		return err
	}
	if _, err := jobs.Expire(ctx, d.db, p, now); err != nil {
		return err
	}
	if _, err := tier.Review(ctx, d.db, p, now); err != nil {
		return err
	}
	_, err = coupon.ExpireDue(ctx, d.db, p, now)
	return err
}

// statements settles the year: a statement closed for each month up to
// the start of this one (program-local), and a draft from there to now.
func (d *run) statements(ctx context.Context, first, now time.Time) (int, error) {
	open := func(to time.Time) (settlement.Statement, error) {
		s := to.Format(time.RFC3339Nano)
		var st settlement.Statement
		err := d.write(ctx, "statements", func(ctx context.Context, tx *store.Tx) (err error) {
			st, err = d.a.Settlement.Create(ctx, tx, d.sys, settlement.StatementInput{To: &s})
			return err
		})
		return st, err
	}
	closed := 0
	start := first.In(d.loc)
	for m := time.Date(start.Year(), start.Month()+1, 1, 0, 0, 0, 0, d.loc); m.Before(now); m = m.AddDate(0, 1, 0) {
		st, err := open(m)
		if err != nil {
			return closed, fmt.Errorf("statement to %s: %w", m.Format(time.DateOnly), err)
		}
		err = d.write(ctx, "statements", func(ctx context.Context, tx *store.Tx) error {
			_, err := d.a.Settlement.Close(ctx, tx, d.sys, st.ID)
			return err
		})
		if err != nil {
			return closed, fmt.Errorf("close statement to %s: %w", m.Format(time.DateOnly), err)
		}
		closed++
	}
	if _, err := open(now); err != nil {
		return closed, fmt.Errorf("draft statement: %w", err)
	}
	return closed, nil
}

// audience scores the year's members (RFM, as the daily job would at its
// end); the segments were saved for the win-back campaign (winback.go),
// or are saved now.
func (d *run) audience(ctx context.Context, now time.Time) (int, error) {
	p, err := d.a.Programs.Get(ctx, program.DefaultID)
	if err != nil {
		return 0, err
	}
	if _, err := d.a.Audience.ComputeRFM(ctx, p, now); err != nil {
		return 0, err
	}
	if d.segmented {
		return 3, nil
	}
	_, err = d.segments(ctx)
	return 3, err
}
