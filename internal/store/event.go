package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/null"
)

// Event is a processed event and the response it got.
type Event struct {
	ProgramID  string
	ID         string
	Type       string
	MemberID   string
	MerchantID null.String
	OccurredAt time.Time
	Data       []byte
	Result     []byte
	CreatedAt  time.Time
}

// EventResult returns the stored response of an event, if the event has
// been processed.
func (c *Conn) EventResult(ctx context.Context, programID, id string) ([]byte, bool, error) {
	var res []byte
	err := c.queryRow(ctx, `SELECT result FROM events WHERE program_id = ? AND id = ?`, programID, id).Scan(&res)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, classify(fmt.Errorf("event %s: %w", id, err))
	}
	return res, true, c.openBytes("events", "result", &res, programID, id)
}

// InsertEvent records a processed event. It reports false when an event
// with the same id was recorded first (a concurrent duplicate).
func (tx *Tx) InsertEvent(ctx context.Context, e Event) (bool, error) {
	res, err := tx.exec(ctx, `INSERT INTO events (program_id, id, type, member_id, merchant_id, occurred_at, data, result, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		e.ProgramID, e.ID, e.Type, e.MemberID, e.MerchantID, ms(e.OccurredAt), tx.seal("events", "data", string(e.Data), e.ProgramID, e.ID),
		tx.sealBytes("events", "result", e.Result, e.ProgramID, e.ID), ms(e.CreatedAt))
	if err != nil {
		return false, fmt.Errorf("insert event: %w", err)
	}
	return affected(res) == 1, nil
}

// Award is one rule's award for one event.
type Award struct {
	ID            string
	ProgramID     string
	EventID       string
	RuleID        string
	RuleVersion   int
	MemberID      string
	Currency      string
	Points        int64
	TransactionID string
	OrderID       null.String
	Capped        bool
	CreatedAt     time.Time
}

// InsertAwards records awards, in one statement.
func (tx *Tx) InsertAwards(ctx context.Context, as []Award) error {
	if len(as) == 0 {
		return nil
	}
	args := make([]any, 0, 12*len(as))
	for _, a := range as {
		args = append(args, a.ID, a.ProgramID, a.EventID, a.RuleID, a.RuleVersion, a.MemberID, a.Currency, a.Points,
			a.TransactionID, a.OrderID, a.Capped, ms(a.CreatedAt))
	}
	_, err := tx.exec(ctx, `INSERT INTO awards (id, program_id, event_id, rule_id, rule_version, member_id, currency, points,
		transaction_id, order_id, capped, created_at) VALUES `+placeholders(len(as), 12), args...)
	if err != nil {
		return fmt.Errorf("insert awards: %w", err)
	}
	return nil
}

// OrderAwards lists the awards of an order, oldest first.
func (c *Conn) OrderAwards(ctx context.Context, programID, orderID string) ([]Award, error) {
	rows, err := c.query(ctx, `SELECT id, event_id, rule_id, rule_version, member_id, currency, points, transaction_id, capped, created_at
		FROM awards WHERE program_id = ? AND order_id = ? ORDER BY id`, programID, orderID)
	if err != nil {
		return nil, fmt.Errorf("order awards: %w", err)
	}
	defer rows.Close()
	var out []Award
	for rows.Next() {
		a := Award{ProgramID: programID, OrderID: null.String(orderID)}
		var at int64
		if err := rows.Scan(&a.ID, &a.EventID, &a.RuleID, &a.RuleVersion, &a.MemberID, &a.Currency, &a.Points,
			&a.TransactionID, &a.Capped, &at); err != nil {
			return nil, err
		}
		a.CreatedAt = fromMS(at)
		out = append(out, a)
	}
	return out, classify(rows.Err())
}

// Order is a paid order and how much of it has been refunded.
type Order struct {
	ProgramID string
	OrderID   string
	MemberID  string
	EventID   string
	Amount    int64
	Refunded  int64
	Refunds   int64
	CreatedAt time.Time
}

// InsertOrder records a paid order; false when the order_id is taken.
func (tx *Tx) InsertOrder(ctx context.Context, o Order) (bool, error) {
	res, err := tx.exec(ctx, `INSERT INTO orders (program_id, order_id, member_id, event_id, amount, refunded, refunds, created_at)
		VALUES (?, ?, ?, ?, ?, 0, 0, ?) ON CONFLICT DO NOTHING`,
		o.ProgramID, o.OrderID, o.MemberID, o.EventID, o.Amount, ms(o.CreatedAt))
	if err != nil {
		return false, fmt.Errorf("insert order: %w", err)
	}
	return affected(res) == 1, nil
}

// LockOrder reads an order for update.
func (tx *Tx) LockOrder(ctx context.Context, programID, orderID string) (Order, error) {
	o := Order{ProgramID: programID}
	var at int64
	err := tx.queryRow(ctx, `SELECT order_id, member_id, event_id, amount, refunded, refunds, created_at FROM orders
		WHERE program_id = ? AND order_id = ? /*lock*/`, programID, orderID).
		Scan(&o.OrderID, &o.MemberID, &o.EventID, &o.Amount, &o.Refunded, &o.Refunds, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return Order{}, failure.New(failure.NotFound, "order %s not found", orderID)
	}
	if err != nil {
		return Order{}, classify(fmt.Errorf("order %s: %w", orderID, err))
	}
	o.CreatedAt = fromMS(at)
	return o, nil
}

// AddRefund records a refund of amount on an order.
func (tx *Tx) AddRefund(ctx context.Context, programID, orderID string, amount int64) error {
	_, err := tx.exec(ctx, `UPDATE orders SET refunded = refunded + ?, refunds = refunds + 1 WHERE program_id = ? AND order_id = ?`,
		amount, programID, orderID)
	if err != nil {
		return fmt.Errorf("refund order %s: %w", orderID, err)
	}
	return nil
}

// CountOrders counts a member's paid orders.
func (tx *Tx) CountOrders(ctx context.Context, programID, memberID string) (int64, error) {
	var n int64
	err := tx.queryRow(ctx, `SELECT COUNT(*) FROM orders WHERE member_id = ? AND program_id = ?`, memberID, programID).Scan(&n)
	return n, classify(err)
}
