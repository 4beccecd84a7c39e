package rules

import (
	"encoding/json"
	"time"

	"cel.dev/cel-go/interpreter"
)

// Input is one event as the rules see it.
type Input struct {
	EventID    string
	Type       string
	OccurredAt time.Time
	MerchantID string
	Data       map[string]any // the event's data, JSON numbers as int64 or float64
	Member     Member
	Order      *Order // order events only
	Location   *time.Location
	// TierMultiplier multiplies every rule's points (the member's tier).
	TierMultiplier Rate

	act *Activation
}

// Member is what rules see of the member.
type Member struct {
	ID         string
	ExternalID string
	Tier       string
	Tags       []string
	Attributes map[string]any
	Gender     string
	Birthday   string
	Region     string
	Status     string
	ReferredBy string
	CreatedAt  time.Time
}

// Order is an order.paid or order.refunded event's order.
type Order struct {
	ID       string `json:"order_id"`
	Amount   int64  `json:"amount"`
	Currency string `json:"currency,omitempty"`
	Items    []Item `json:"items,omitempty"`
}

// Item is one line of an order; Amount is the line's total in fen.
type Item struct {
	SKU      string `json:"sku"`
	Category string `json:"category"`
	Quantity int64  `json:"quantity"`
	Amount   int64  `json:"amount"`
}

// Activation builds (once) the CEL variables of the input.
func (in *Input) Activation() Activation {
	if in.act != nil {
		return *in.act
	}
	loc := in.Location
	if loc == nil {
		loc = time.UTC
	}
	local := in.OccurredAt.In(loc)
	wd := int(local.Weekday())
	if wd == 0 {
		wd = 7
	}
	tags := make([]any, len(in.Member.Tags))
	for i, t := range in.Member.Tags {
		tags[i] = t
	}
	attrs := in.Member.Attributes
	if attrs == nil {
		attrs = map[string]any{}
	}
	data := in.Data
	if data == nil {
		data = map[string]any{}
	}
	order := map[string]any{}
	if in.Order != nil {
		items := make([]any, len(in.Order.Items))
		for i, it := range in.Order.Items {
			items[i] = map[string]any{"sku": it.SKU, "category": it.Category, "quantity": it.Quantity, "amount": it.Amount}
		}
		order = map[string]any{"order_id": in.Order.ID, "amount": in.Order.Amount, "currency": in.Order.Currency, "items": items}
	}
	vars := map[string]any{
		"event": map[string]any{
			"id": in.EventID, "type": in.Type, "occurred_at": in.OccurredAt, "merchant_id": in.MerchantID, "data": data,
		},
		"member": map[string]any{
			"id": in.Member.ID, "external_id": in.Member.ExternalID, "tier": in.Member.Tier, "tags": tags,
			"attributes": attrs, "gender": in.Member.Gender, "birthday": in.Member.Birthday, "region": in.Member.Region,
			"status": in.Member.Status, "referred_by": in.Member.ReferredBy, "created_at": in.Member.CreatedAt,
		},
		"order": order,
		"now":   in.OccurredAt,
		"local": map[string]any{
			"date": local.Format(time.DateOnly), "year": int64(local.Year()), "month": int64(local.Month()),
			"day": int64(local.Day()), "weekday": int64(wd), "hour": int64(local.Hour()), "minute": int64(local.Minute()),
		},
	}
	act, err := interpreter.NewActivation(vars)
	if err != nil {
		panic(err) // a map always makes an activation
	}
	in.act = &Activation{act: act}
	return *in.act
}

// JSONData turns decoded JSON (numbers as json.Number) into values CEL
// compares naturally: whole numbers become int64, others float64.
func JSONData(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = JSONData(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = JSONData(e)
		}
		return x
	case float64:
		if x == float64(int64(x)) {
			return int64(x)
		}
	}
	return v
}
