package demo

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// retailOrder is one line of the Online Retail data set's JSON lines.
type retailOrder struct {
	OrderID        string     `json:"order_id"`
	CustomerID     *string    `json:"customer_id"`
	OccurredAt     time.Time  `json:"occurred_at"`
	Amount         int64      `json:"amount"`
	Items          []struct{} `json:"items"`
	Cancellation   bool       `json:"cancellation"`
	CancelsOrderID *string    `json:"cancels_order_id"`
	Adjustment     bool       `json:"adjustment"`
}

// planOrders turns real orders into the days to replay: a customer joins
// at its first order; a sale is an order.paid event (money taken as the
// programme's own minor unit); a cancellation that names its order
// refunds that much of it; guests (no customer) and stock adjustments are
// left out. The reader may be gzip-compressed.
func planOrders(r io.Reader, loc *time.Location) ([][]op, time.Time, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, time.Time{}, err
		}
		br = bufio.NewReaderSize(zr, 1<<20)
	}
	type dated struct {
		at time.Time
		op op
	}
	var all []dated
	customers := map[string]int{}
	dec := json.NewDecoder(br)
	for line := 1; ; line++ {
		var o retailOrder
		if err := dec.Decode(&o); err == io.EOF {
			break
		} else if err != nil {
			return nil, time.Time{}, fmt.Errorf("orders, line %d: %w", line, err)
		}
		if o.CustomerID == nil || o.Adjustment || o.Amount < 0 {
			continue
		}
		i, ok := customers[*o.CustomerID]
		if !ok {
			i = len(customers)
			customers[*o.CustomerID] = i
			all = append(all, dated{o.OccurredAt, op{at: o.OccurredAt, member: i, kind: "join"}})
		}
		switch {
		case !o.Cancellation:
			all = append(all, dated{o.OccurredAt, op{at: o.OccurredAt, member: i, kind: "order", amount: o.Amount,
				order: "retail-" + o.OrderID, store: i % 3}})
		case o.CancelsOrderID != nil:
			all = append(all, dated{o.OccurredAt, op{at: o.OccurredAt, member: i, kind: "refund", amount: o.Amount,
				order: "retail-" + *o.CancelsOrderID}})
		}
	}
	if len(all) == 0 {
		return nil, time.Time{}, fmt.Errorf("orders: no order with a customer")
	}
	day0 := all[0].at.In(loc)
	first := time.Date(day0.Year(), day0.Month(), day0.Day(), 0, 0, 0, 0, loc)
	var days [][]op
	for _, d := range all {
		n := int(d.at.Sub(first).Hours() / 24)
		for len(days) <= n {
			days = append(days, nil)
		}
		days[n] = append(days[n], d.op)
	}
	return days, first, nil
}
