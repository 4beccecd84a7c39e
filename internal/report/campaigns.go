package report

import (
	"context"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/campaign"
	"github.com/jifen/jifen/internal/store"
)

// CampaignRow is one campaign's occurrences in a period and what they
// led to.
type CampaignRow struct {
	CampaignID     string  `json:"campaign_id"`
	Name           string  `json:"name"`
	Treated        int64   `json:"treated" doc:"members treated in the period"`
	Control        int64   `json:"control" doc:"members held back in the period"`
	PointsGranted  int64   `json:"points_granted"`
	CouponsIssued  int64   `json:"coupons_issued"`
	MessagesSent   int64   `json:"messages_sent"`
	ConversionRate *string `json:"conversion_rate" doc:"the treated members' conversion rate"`
	Uplift         *string `json:"uplift" doc:"treated rate − control rate; null without control"`
}

// Campaigns lists the campaigns with occurrences in a period (a merchant's
// own when merchant_id is given), newest first; a campaign's counts are
// those of its occurrences in the period (campaign.Measure).
func (s *Service) Campaigns(ctx context.Context, a auth.Actor, q Query) ([]CampaignRow, error) {
	pd, err := s.resolve(ctx, a, q)
	if err != nil {
		return nil, err
	}
	c := s.db.Replica()
	out := []CampaignRow{}
	pg := store.Page{Limit: 500}
	for {
		cs, next, err := c.Campaigns(ctx, pd.p.ID, pd.merchantID, pg)
		if err != nil {
			return nil, err
		}
		for _, r := range cs {
			m, err := campaign.Measure(ctx, c, pd.p.ID, r, pd.from, pd.to)
			if err != nil {
				return nil, err
			}
			if m.Treated.Members+m.Control.Members+m.Skipped == 0 {
				continue
			}
			out = append(out, CampaignRow{CampaignID: r.ID, Name: r.Name, Treated: m.Treated.Members, Control: m.Control.Members,
				PointsGranted: m.PointsGranted, CouponsIssued: m.CouponsIssued, MessagesSent: m.MessagesSent,
				ConversionRate: m.Treated.ConversionRate, Uplift: m.Uplift})
		}
		if next == "" {
			return out, nil
		}
		pg.Cursor = next
	}
}
