// Package outbox writes webhook events to the transactional outbox: in the
// transaction of the change that causes them, so a change rolled back
// emits nothing. An event is written only when an active webhook of the
// programme subscribes to its type; the subscriptions are read with the
// programme's settings (program.Program.Webhooks, cached like them), so an
// operation on a programme without webhooks pays one map lookup.
package outbox

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/store"
)

// Event types (the contract's list).
const (
	MemberCreated     = "member.created"
	MemberUpdated     = "member.updated"
	MemberMerged      = "member.merged"
	MemberErased      = "member.erased"
	MemberTierChanged = "member.tier_changed"
	PointsEarned      = "points.earned"
	PointsSpent       = "points.spent"
	PointsAdjusted    = "points.adjusted"
	PointsReversed    = "points.reversed"
	PointsExpired     = "points.expired"
	PointsExchanged   = "points.exchanged"
	PointsExpiring    = "points.expiring"
	HoldCaptured      = "hold.captured"
	HoldReleased      = "hold.released"
	RedemptionCreated = "redemption.created"
	RedemptionFulfil  = "redemption.fulfilled"
	RedemptionCancel  = "redemption.cancelled"
	CouponIssued      = "coupon.issued"
	CouponRedeemed    = "coupon.redeemed"
	CouponTransferred = "coupon.transferred"
	CouponExpired     = "coupon.expired"
	LotteryDrawn      = "lottery.drawn"
	CheckinCreated    = "checkin.created"
	StatementClosed   = "statement.closed"
	WebhookTest       = "webhook.test"
)

// Types is every event type a webhook may subscribe to (webhook.test goes
// to the webhook it tests, whatever it subscribes to).
var Types = []string{
	MemberCreated, MemberUpdated, MemberMerged, MemberErased, MemberTierChanged,
	PointsEarned, PointsSpent, PointsAdjusted, PointsReversed, PointsExpired, PointsExchanged, PointsExpiring,
	HoldCaptured, HoldReleased, RedemptionCreated, RedemptionFulfil, RedemptionCancel,
	CouponIssued, CouponRedeemed, CouponTransferred, CouponExpired, LotteryDrawn, CheckinCreated, StatementClosed,
}

// All subscribes a webhook to every type.
const All = "*"

// Window is how long deliveries of an event are tried.
const Window = 24 * time.Hour

// Subs is a programme's active webhooks by the types they subscribe to.
// The zero Subs subscribes nothing.
type Subs struct {
	byType map[string][]string
	all    []string
}

// NewSubs indexes active webhooks by type.
func NewSubs(hooks []store.Webhook) Subs {
	var s Subs
	for _, w := range hooks {
		if !w.Active {
			continue
		}
		if slices.Contains(w.Events, All) {
			s.all = append(s.all, w.ID)
			continue
		}
		for _, t := range w.Events {
			if s.byType == nil {
				s.byType = map[string][]string{}
			}
			s.byType[t] = append(s.byType[t], w.ID)
		}
	}
	return s
}

// Wants reports whether any webhook subscribes to typ.
func (s Subs) Wants(typ string) bool { return len(s.all) > 0 || len(s.byType[typ]) > 0 }

// For lists the webhooks subscribed to typ.
func (s Subs) For(typ string) []string {
	if len(s.byType[typ]) == 0 {
		return s.all
	}
	return append(slices.Clone(s.all), s.byType[typ]...)
}

// Body is an event as it is sent.
type Body struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	CreatedAt time.Time       `json:"created_at"`
	MemberID  *string         `json:"member_id"`
	Data      json.RawMessage `json:"data"`
}

// Emit writes an event of typ about memberID ("" for none) to the outbox
// with a delivery to every webhook of subs subscribed to it; nothing when
// there is none.
func Emit(ctx context.Context, tx *store.Tx, programID string, subs Subs, typ, memberID string, data any, now time.Time) error {
	if !subs.Wants(typ) {
		return nil
	}
	_, _, err := to(ctx, tx, programID, subs.For(typ), typ, memberID, data, now)
	return err
}

// Direct writes an event about no member with a delivery to one webhook
// (a webhook.test); it returns the event's and the delivery's IDs.
func Direct(ctx context.Context, tx *store.Tx, programID, webhookID, typ string, data any, now time.Time) (string, string, error) {
	ev, dlvs, err := to(ctx, tx, programID, []string{webhookID}, typ, "", data, now)
	if err != nil {
		return "", "", err
	}
	return ev, dlvs[0], nil
}

// to writes an event with a delivery to each of the webhooks named.
func to(ctx context.Context, tx *store.Tx, programID string, webhooks []string, typ, memberID string, data any, now time.Time) (string, []string, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return "", nil, err
	}
	b := Body{ID: id.New("wev"), Type: typ, CreatedAt: now, Data: raw}
	if memberID != "" {
		b.MemberID = &memberID
	}
	payload, err := json.Marshal(b)
	if err != nil {
		return "", nil, err
	}
	hooks := make([][2]string, len(webhooks))
	dlvs := make([]string, len(webhooks))
	for i, w := range webhooks {
		dlvs[i] = id.New("dlv")
		hooks[i] = [2]string{dlvs[i], w}
	}
	return b.ID, dlvs, tx.InsertWebhookEvent(ctx, store.WebhookEvent{
		ID: b.ID, ProgramID: programID, Type: typ, MemberID: null.String(memberID), Payload: payload, CreatedAt: now,
	}, hooks, now.Add(Window))
}
