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
	"github.com/jifen/jifen/internal/input"
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
	ID           string          `json:"id" api:"minlen=1,maxlen=128" doc:"the event's own ID: the event is processed once per id"`
	Type         string          `json:"type" doc:"order.paid, order.refunded, member.checked_in, content.shared, review.posted, profile.completed, member.birthday, or a custom type such as my_app.clicked"`
	Member       string          `json:"member" api:"minlen=1" doc:"a member ID (mem_…) or ext:<external_id>"`
	OccurredAt   *string         `json:"occurred_at,omitempty" api:"format=date-time" doc:"default: arrival; at most 5 minutes ahead of the server's clock"`
	MerchantID   string          `json:"merchant_id,omitempty" doc:"where it happened; a merchant key is always its own"`
	Data         json.RawMessage `json:"data,omitempty" doc:"a JSON object; order.paid: {order_id, amount, currency?, items?:[{sku, category, quantity, amount}]}; order.refunded: {order_id, amount?}"`
	CreateMember bool            `json:"create_member,omitempty" doc:"create an unknown ext: member"`
}

// event is an input that has been checked and parsed.
type event struct {
	Input
	at       time.Time
	data     map[string]any
	order    *rules.Order
	refund   *refund
	received time.Time
	refunded int64 // the amount a refund took back, once processed
}

type refund struct {
	OrderID string
	Amount  *int64 // nil: the rest of the order
}

// MaxAhead is how far in the future an event's occurred_at may be (clocks
// drift); later is refused.
const MaxAhead = 5 * time.Minute

// Validate checks an event on its own: its id, type and member, and the
// data its type needs (orders: ids, whole amounts in fen up to
// input.MaxAmount, items).
func (in Input) Validate() error {
	var fs failure.Fields
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
		if _, err := time.Parse(time.RFC3339Nano, *in.OccurredAt); err != nil {
			fs.Add("occurred_at", "must be an RFC 3339 time with an offset")
		}
	}
	if d := bytes.TrimSpace(in.Data); len(d) > 0 && string(d) != "null" && d[0] != '{' {
		fs.Add("data", "must be a JSON object")
	}
	if err := fs.Err(); err != nil {
		return err
	}
	switch in.Type {
	case OrderPaid:
		_, err := parseOrder(in.Data, "")
		return err
	case OrderRefunded:
		_, err := parseRefund(in.Data, "")
		return err
	}
	return nil
}

// parse checks an input against the program's currency and the server's
// clock, and reads its data.
func parse(in Input, currency string, now time.Time) (*event, error) {
	e := &event{Input: in, at: now, received: now}
	if in.OccurredAt != nil && *in.OccurredAt != "" {
		t, err := time.Parse(time.RFC3339Nano, *in.OccurredAt)
		switch {
		case err != nil:
			return nil, failure.Field("occurred_at", "must be an RFC 3339 time with an offset")
		case t.After(now.Add(MaxAhead)):
			return nil, failure.Field("occurred_at", "is more than 5 minutes ahead of the server's clock")
		}
		e.at = t.UTC().Truncate(time.Millisecond)
	}
	e.data = map[string]any{}
	if len(bytes.TrimSpace(in.Data)) > 0 && string(bytes.TrimSpace(in.Data)) != "null" {
		// The data is read for CEL with json.Number, so a whole number
		// stays an int however large.
		dec := json.NewDecoder(bytes.NewReader(in.Data))
		dec.UseNumber()
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil || obj == nil {
			return nil, failure.Field("data", "must be a JSON object")
		}
		e.data = rules.JSONData(obj).(map[string]any)
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

// MaxItems bounds the items of one order.
const MaxItems = 5000

// MaxQuantity bounds an item's quantity.
const MaxQuantity = 1_000_000

func parseOrder(data json.RawMessage, currency string) (*rules.Order, error) {
	var raw struct {
		OrderID  *string `json:"order_id"`
		Amount   *int64  `json:"amount"`
		Currency string  `json:"currency"`
		Items    []struct {
			SKU      string `json:"sku"`
			Category string `json:"category"`
			Quantity *int64 `json:"quantity"`
			Amount   *int64 `json:"amount"`
		} `json:"items"`
	}
	if err := input.DecodeAt("data", data, &raw); err != nil {
		return nil, err
	}
	var fs failure.Fields
	o := &rules.Order{Currency: raw.Currency}
	if raw.OrderID == nil || *raw.OrderID == "" || len(*raw.OrderID) > 128 {
		fs.Add("data.order_id", "is required: 1 to 128 characters")
	} else {
		o.ID = *raw.OrderID
	}
	if raw.Amount == nil {
		fs.Add("data.amount", "is required: the order amount in fen")
	} else {
		input.Amount(&fs, "data.amount", *raw.Amount)
		o.Amount = *raw.Amount
	}
	if raw.Currency != "" && currency != "" && raw.Currency != currency {
		fs.Add("data.currency", "orders are in the program's currency %s", currency)
	}
	if len(raw.Items) > MaxItems {
		fs.Add("data.items", "at most %d items", MaxItems)
	}
	for i, it := range raw.Items {
		f := fmt.Sprintf("data.items[%d]", i)
		item := rules.Item{SKU: it.SKU, Category: it.Category, Quantity: 1}
		if len(item.SKU) > 128 || len(item.Category) > 64 {
			fs.Add(f, "sku is at most 128 and category at most 64 characters")
		}
		if it.Quantity != nil {
			if *it.Quantity < 0 || *it.Quantity > MaxQuantity {
				fs.Add(f+".quantity", "must be a whole number from 0 to %d", MaxQuantity)
			}
			item.Quantity = *it.Quantity
		}
		if it.Amount != nil {
			input.Amount(&fs, f+".amount", *it.Amount)
			item.Amount = *it.Amount
		}
		o.Items = append(o.Items, item)
	}
	return o, fs.Err()
}

func parseRefund(data json.RawMessage, currency string) (*refund, error) {
	var raw struct {
		OrderID  *string `json:"order_id"`
		Amount   *int64  `json:"amount"`
		Currency string  `json:"currency"`
	}
	if err := input.DecodeAt("data", data, &raw); err != nil {
		return nil, err
	}
	var fs failure.Fields
	r := &refund{}
	if raw.OrderID == nil || *raw.OrderID == "" {
		fs.Add("data.order_id", "is required")
	} else {
		r.OrderID = *raw.OrderID
	}
	if raw.Amount != nil {
		input.Amount(&fs, "data.amount", *raw.Amount)
		r.Amount = raw.Amount
	}
	if raw.Currency != "" && currency != "" && raw.Currency != currency {
		fs.Add("data.currency", "orders are in the program's currency %s", currency)
	}
	return r, fs.Err()
}
