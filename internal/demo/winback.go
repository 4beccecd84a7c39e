package demo

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jifen/jifen/internal/audience"
	"github.com/jifen/jifen/internal/campaign"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

// segments saves the segments an operator of a tea chain starts from: the
// big spenders gone quiet, the members who joined and never ordered, and
// the RFM "can't lose" cell. It returns the first one's ID.
func (d *run) segments(ctx context.Context) (string, error) {
	segs := []audience.SegmentInput{
		{Name: ptr("沉睡的大客户 Big spenders gone quiet"), Condition: ptr(`stats.spend >= 30000 && stats.days_since_order >= 45`),
			Description: ptr("spent 300 yuan or more, no order in 45 days: a win-back offer")},
		{Name: ptr("僵尸会员 Joined, never ordered"), Condition: ptr(`stats.orders == 0 && stats.days_since_join >= 14`),
			Description: ptr("two weeks a member and no first order yet")},
		{Name: ptr("重要挽留 Can't lose"), Condition: ptr(`stats.rfm_cell == "cant_lose"`),
			Description: ptr("bought often, not lately")},
	}
	var quiet string
	err := d.write(ctx, "demo", func(ctx context.Context, tx *store.Tx) error {
		for i, in := range segs {
			s, err := d.a.Audience.CreateSegment(ctx, tx, d.sys, in)
			if err != nil {
				return fmt.Errorf("segment %s: %w", *in.Name, err)
			}
			if i == 0 {
				quiet = s.ID
			}
		}
		return nil
	})
	return quiet, err
}

// winBack runs a win-back campaign over the big spenders gone quiet on
// day of the replay: 300 points each from a budget, a fifth held back as
// control, an order within 14 days counting as won back. Half of the
// treated come back for it — an order within the next ten days, added to
// the plan — so its report shows an uplift over the control group,
// whose members order only as they would have.
func (d *run) winBack(ctx context.Context, plan [][]op, day int, date time.Time) (int, error) {
	quiet, err := d.segments(ctx)
	if err != nil {
		return 0, err
	}
	in := campaign.Input{Name: ptr("挽回沉睡大客户 Win back big spenders"), SegmentID: &quiet,
		Schedule: &campaign.Schedule{Kind: campaign.Once}, ControlPercent: ptr(int64(20)), Budget: ptr(int64(200000)),
		Actions:    &[]campaign.Action{{Kind: campaign.GrantPoints, Points: 300}},
		Conversion: &campaign.Conversion{EventType: "order.paid", Days: 14}}
	var c campaign.Campaign
	err = d.write(ctx, "demo", func(ctx context.Context, tx *store.Tx) error {
		if c, err = d.a.Campaigns.Create(ctx, tx, d.sys, in); err != nil {
			return err
		}
		_, err = d.a.Campaigns.Activate(ctx, tx, d.sys, c.ID)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("win-back campaign: %w", err)
	}
	p, err := d.a.Programs.Get(ctx, program.DefaultID)
	if err != nil {
		return 0, err
	}
	res, err := d.a.Campaigns.Run(ctx, p, d.clk.Now())
	if err != nil {
		return 0, fmt.Errorf("win-back campaign: %w", err)
	}
	treated, _, err := d.a.Campaigns.Members(ctx, d.sys, c.ID, campaign.Treated, store.Page{Limit: 500})
	if err != nil {
		return 0, err
	}
	for _, t := range treated {
		if d.rng.Float64() >= 0.5 {
			continue
		}
		m, err := d.a.Members.Get(ctx, d.sys, t.MemberID)
		if err != nil {
			return 0, err
		}
		i, err := strconv.Atoi(strings.TrimPrefix(string(m.ExternalID), "demo-"))
		if err != nil {
			continue
		}
		k := 1 + d.rng.IntN(10)
		if day+k >= len(plan) {
			continue
		}
		at := date.AddDate(0, 0, k).Add(time.Duration(10+d.rng.IntN(10)) * time.Hour)
		plan[day+k] = append(plan[day+k], op{at: at, member: i, kind: "order", amount: 3000 + d.rng.Int64N(6000),
			order: fmt.Sprintf("winback-%05d", i), store: d.rng.IntN(len(d.stores))})
	}
	return int(res.Treated + res.Control), nil
}
