package webhook

import (
	"context"
	"time"

	"github.com/jifen/jifen/internal/outbox"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

// ExpiringData is the data of a points.expiring event.
type ExpiringData struct {
	MemberID  string `json:"member_id"`
	Currency  string `json:"currency"`
	Points    int64  `json:"points"`
	ExpiresOn string `json:"expires_on" doc:"the programme-local date the points expire"`
}

// ExpiryNoticesResult is what an expiry-notices run did.
type ExpiryNoticesResult struct {
	AsOf    time.Time `json:"as_of"`
	Notices int64     `json:"notices" doc:"points.expiring events written"`
	Already int64     `json:"already_sent" doc:"member, currency and date notices sent by an earlier run"`
}

// ExpiryNotices writes a points.expiring event for every member, currency
// and expiry date (programme-local) whose points expire within the
// programme's expiring_notice_days of asOf (to the end of that day), once:
// a row per member, currency and date in expiry_notices, inserted with the
// event, makes a second run (on any node) skip it. Nothing is written
// while no webhook subscribes to points.expiring or the setting is 0.
func (s *Service) ExpiryNotices(ctx context.Context, p program.Program, asOf time.Time) (ExpiryNoticesResult, error) {
	res := ExpiryNoticesResult{AsOf: asOf}
	if p.ExpiringNoticeDays <= 0 || !p.Webhooks.Wants(outbox.PointsExpiring) {
		return res, nil
	}
	local := asOf.In(p.Location)
	y, m, d := local.Date()
	to := time.Date(y, m, d+int(p.ExpiringNoticeDays)+1, 0, 0, 0, 0, p.Location).Add(-time.Millisecond)
	lots, err := s.db.Read().ExpiringLots(ctx, p.ID, asOf, to)
	if err != nil {
		return res, err
	}
	var notices []ExpiringData
	index := map[ExpiringData]int{} // key without points
	for _, l := range lots {
		k := ExpiringData{MemberID: l.MemberID, Currency: l.Currency, ExpiresOn: p.Today(l.ExpiresAt)}
		i, ok := index[k]
		if !ok {
			i = len(notices)
			index[k] = i
			notices = append(notices, k)
		}
		notices[i].Points += l.Remaining
	}
	const chunk = 100
	for start := 0; start < len(notices); start += chunk {
		part := notices[start:min(start+chunk, len(notices))]
		var sent, already int64
		err := s.db.Write(ctx, "expiry-notices:"+p.ID, func(ctx context.Context, tx *store.Tx) error {
			sent, already = 0, 0
			for _, n := range part {
				fresh, err := tx.InsertExpiryNotice(ctx, p.ID, n.MemberID, n.Currency, n.ExpiresOn, n.Points, asOf)
				if err != nil {
					return err
				}
				if !fresh {
					already++
					continue
				}
				if err := outbox.Emit(ctx, tx, p.ID, p.Webhooks, outbox.PointsExpiring, n.MemberID, n, asOf); err != nil {
					return err
				}
				sent++
			}
			return nil
		})
		if err != nil {
			return res, err
		}
		res.Notices += sent
		res.Already += already
	}
	return res, nil
}
