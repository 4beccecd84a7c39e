// Package events turns what happens outside — an order paid or refunded, a
// check-in, a share, a birthday, anything custom — into points: it records
// the event once (idempotent on its id), runs it through the program's
// rules, applies per-member caps and budget pools, awards through the
// ledger, advances tasks, pays referrals on a first order, raises the
// member's tier, and claws back a refunded order's awards in proportion.
// Everything for one event happens in one transaction.
package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/rules"
)

// Built-in event types.
const (
	OrderPaid        = "order.paid"
	OrderRefunded    = "order.refunded"
	MemberCheckedIn  = "member.checked_in"
	ContentShared    = "content.shared"
	ReviewPosted     = "review.posted"
	ProfileCompleted = "profile.completed"
	MemberBirthday   = "member.birthday"
)

// Input is an event as it arrives.
type Input struct {
	ID           string          `json:"id"`
	Type         string          `json:"type"`
	Member       string          `json:"member"`
	OccurredAt   *string         `json:"occurred_at,omitempty"`
	MerchantID   string          `json:"merchant_id,omitempty"`
	Data         json.RawMessage `json:"data,omitempty"`
	CreateMember bool            `json:"create_member,omitempty"`
}

// event is an input that has been checked and parsed.
type event struct {
	Input
	at       time.Time
	data     map[string]any
	order    *rules.Order
	refund   *refund
	received time.Time
}

type refund struct {
	OrderID string
	Amount  *int64 // nil: the rest of the order
}

// MaxAhead is how far in the future an event's occurred_at may be (clocks
// drift); later is refused.
const MaxAhead = 5 * time.Minute

// parse checks an input against the program's currency and the server's
// clock.
func parse(in Input, currency string, now time.Time) (*event, error) {
	var fs failure.Fields
	e := &event{Input: in, at: now, received: now}
	if n := utf8.RuneCountInString(in.ID); n < 1 || n > 128 || strings.ContainsFunc(in.ID, func(r rune) bool { return r < 0x20 }) {
		fs.Add("id", "must be 1 to 128 printable characters")
	}
	if !rules.ValidEventType(in.Type) {
		fs.Add("type", "must be an event type such as order.paid or my_app.clicked")
	}
	if in.Member == "" {
		fs.Add("member", "is required: a member ID or ext:<external_id>")
	}
	if in.OccurredAt != nil && *in.OccurredAt != "" {
		t, err := time.Parse(time.RFC3339Nano, *in.OccurredAt)
		switch {
		case err != nil:
			fs.Add("occurred_at", "must be an RFC 3339 time with an offset")
		case t.After(now.Add(MaxAhead)):
			fs.Add("occurred_at", "is more than 5 minutes ahead of the server's clock")
		default:
			e.at = t.UTC().Truncate(time.Millisecond)
		}
	}
	e.data = map[string]any{}
	if len(bytes.TrimSpace(in.Data)) > 0 && string(bytes.TrimSpace(in.Data)) != "null" {
		dec := json.NewDecoder(bytes.NewReader(in.Data))
		dec.UseNumber()
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil || obj == nil {
			fs.Add("data", "must be a JSON object")
		} else {
			e.data = rules.JSONData(obj).(map[string]any)
		}
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	switch in.Type {
	case OrderPaid:
		o, err := parseOrder(in.Data, currency)
		if err != nil {
			return nil, err
		}
		e.order = o
	case OrderRefunded:
		r, err := parseRefund(in.Data, currency)
		if err != nil {
			return nil, err
		}
		e.refund = r
	}
	return e, nil
}

func parseOrder(data json.RawMessage, currency string) (*rules.Order, error) {
	var raw struct {
		OrderID  *string          `json:"order_id"`
		Amount   *json.Number     `json:"amount"`
		Currency string           `json:"currency"`
		Items    []map[string]any `json:"items"`
	}
	var fs failure.Fields
	if err := strictNumbers(data, &raw); err != nil {
		return nil, failure.Field("data", "must be an object {order_id, amount, currency?, items?}: %v", err)
	}
	o := &rules.Order{Currency: raw.Currency}
	if raw.OrderID == nil || *raw.OrderID == "" || len(*raw.OrderID) > 128 {
		fs.Add("data.order_id", "is required: 1 to 128 characters")
	} else {
		o.ID = *raw.OrderID
	}
	if raw.Amount == nil {
		fs.Add("data.amount", "is required: the order amount in fen")
	} else if a, err := raw.Amount.Int64(); err != nil || a < 0 {
		fs.Add("data.amount", "must be a whole number of fen, zero or more")
	} else {
		o.Amount = a
	}
	if raw.Currency != "" && raw.Currency != currency {
		fs.Add("data.currency", "orders are in the program's currency %s", currency)
	}
	if len(raw.Items) > 5000 {
		fs.Add("data.items", "at most 5000 items")
	}
	for i, it := range raw.Items {
		var item rules.Item
		f := fmt.Sprintf("data.items[%d]", i)
		item.SKU, _ = it["sku"].(string)
		item.Category, _ = it["category"].(string)
		if len(item.SKU) > 128 || len(item.Category) > 64 {
			fs.Add(f, "sku is at most 128 and category at most 64 characters")
		}
		var ok bool
		if item.Quantity, ok = wholeNumber(it["quantity"], 1); !ok || item.Quantity < 0 {
			fs.Add(f+".quantity", "must be a whole number, zero or more")
		}
		if item.Amount, ok = wholeNumber(it["amount"], 0); !ok || item.Amount < 0 {
			fs.Add(f+".amount", "must be a whole number of fen, zero or more")
		}
		o.Items = append(o.Items, item)
	}
	return o, fs.Err()
}

func parseRefund(data json.RawMessage, currency string) (*refund, error) {
	var raw struct {
		OrderID  *string      `json:"order_id"`
		Amount   *json.Number `json:"amount"`
		Currency string       `json:"currency"`
	}
	var fs failure.Fields
	if err := strictNumbers(data, &raw); err != nil {
		return nil, failure.Field("data", "must be an object {order_id, amount?}: %v", err)
	}
	r := &refund{}
	if raw.OrderID == nil || *raw.OrderID == "" {
		fs.Add("data.order_id", "is required")
	} else {
		r.OrderID = *raw.OrderID
	}
	if raw.Amount != nil {
		a, err := raw.Amount.Int64()
		if err != nil || a < 0 {
			fs.Add("data.amount", "must be a whole number of fen, zero or more")
		}
		r.Amount = &a
	}
	if raw.Currency != "" && raw.Currency != currency {
		fs.Add("data.currency", "orders are in the program's currency %s", currency)
	}
	return r, fs.Err()
}

func strictNumbers(data json.RawMessage, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		data = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec.Decode(v)
}

// wholeNumber reads a JSON number that must be an integer; missing gives def.
func wholeNumber(v any, def int64) (int64, bool) {
	switch x := v.(type) {
	case nil:
		return def, true
	case json.Number:
		n, err := x.Int64()
		return n, err == nil
	}
	return 0, false
}
