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

// Lottery is a stored lottery; Fallback is its fallback prize as JSON.
type Lottery struct {
	ID         string
	ProgramID  string
	Name       string
	CostPoints int64
	DailyLimit *int64
	Fallback   []byte
	StartsAt   *time.Time
	EndsAt     *time.Time
	MerchantID null.String
	Status     string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Prize is one prize of a lottery; Reward is JSON.
type Prize struct {
	Index  int
	Name   string
	Weight int64
	Stock  *int64
	Won    int64
	Reward []byte
}

const lotteryColumns = `id, program_id, name, cost_points, daily_limit, fallback, starts_at, ends_at, merchant_id, status, created_at, updated_at`

func scanLottery(row interface{ Scan(...any) error }) (Lottery, error) {
	var l Lottery
	var limit, starts, ends sql.NullInt64
	var fallback string
	var created, updated int64
	err := row.Scan(&l.ID, &l.ProgramID, &l.Name, &l.CostPoints, &limit, &fallback, &starts, &ends, &l.MerchantID, &l.Status,
		&created, &updated)
	l.DailyLimit, l.Fallback = optInt64(limit), []byte(fallback)
	l.StartsAt, l.EndsAt = fromOptMS(starts), fromOptMS(ends)
	l.CreatedAt, l.UpdatedAt = fromMS(created), fromMS(updated)
	return l, err
}

// SaveLottery inserts or updates a lottery; with prizes it replaces them.
func (tx *Tx) SaveLottery(ctx context.Context, l Lottery, prizes []Prize) error {
	_, err := tx.exec(ctx, `INSERT INTO lotteries (`+lotteryColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, cost_points = excluded.cost_points, daily_limit = excluded.daily_limit,
		fallback = excluded.fallback, starts_at = excluded.starts_at, ends_at = excluded.ends_at, merchant_id = excluded.merchant_id,
		status = excluded.status, updated_at = excluded.updated_at`,
		l.ID, l.ProgramID, l.Name, l.CostPoints, optInt(l.DailyLimit), string(l.Fallback), optMS(l.StartsAt), optMS(l.EndsAt),
		l.MerchantID, l.Status, ms(l.CreatedAt), ms(l.UpdatedAt))
	if err != nil {
		return fmt.Errorf("save lottery: %w", err)
	}
	if prizes == nil {
		return nil
	}
	if _, err := tx.exec(ctx, `DELETE FROM lottery_prizes WHERE lottery_id = ? AND program_id = ?`, l.ID, l.ProgramID); err != nil {
		return fmt.Errorf("save lottery prizes: %w", err)
	}
	for _, p := range prizes {
		_, err := tx.exec(ctx, `INSERT INTO lottery_prizes (lottery_id, idx, program_id, name, weight, stock, won, reward)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, l.ID, p.Index, l.ProgramID, p.Name, p.Weight, optInt(p.Stock), p.Won, string(p.Reward))
		if err != nil {
			return fmt.Errorf("save lottery prize: %w", err)
		}
	}
	return nil
}

// Lottery reads a lottery of the program and its prizes.
func (c *Conn) Lottery(ctx context.Context, programID, id string) (Lottery, []Prize, error) {
	l, err := scanLottery(c.queryRow(ctx, `SELECT `+lotteryColumns+` FROM lotteries WHERE id = ? AND program_id = ?`, id, programID))
	if errors.Is(err, sql.ErrNoRows) {
		return Lottery{}, nil, failure.New(failure.NotFound, "lottery %s not found", id)
	}
	if err != nil {
		return Lottery{}, nil, classify(fmt.Errorf("lottery %s: %w", id, err))
	}
	rows, err := c.query(ctx, `SELECT idx, name, weight, stock, won, reward FROM lottery_prizes WHERE lottery_id = ? AND program_id = ?
		ORDER BY idx`, id, programID)
	if err != nil {
		return Lottery{}, nil, fmt.Errorf("lottery prizes: %w", err)
	}
	defer rows.Close()
	var prizes []Prize
	for rows.Next() {
		var p Prize
		var stock sql.NullInt64
		var reward string
		if err := rows.Scan(&p.Index, &p.Name, &p.Weight, &stock, &p.Won, &reward); err != nil {
			return Lottery{}, nil, err
		}
		p.Stock, p.Reward = optInt64(stock), []byte(reward)
		prizes = append(prizes, p)
	}
	return l, prizes, classify(rows.Err())
}

// Lotteries lists a program's lotteries (not deleted), newest first.
func (c *Conn) Lotteries(ctx context.Context, programID string, p Page) ([]Lottery, string, error) {
	q := `SELECT ` + lotteryColumns + ` FROM lotteries WHERE program_id = ? AND status <> 'deleted'`
	args := []any{programID}
	if p.Cursor != "" {
		q += ` AND id < ?`
		args = append(args, p.Cursor)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, p.Limit+1)
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("lotteries: %w", err)
	}
	defer rows.Close()
	var out []Lottery
	for rows.Next() {
		l, err := scanLottery(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, "", classify(err)
	}
	out, cur := next(out, p.Limit, func(l Lottery) string { return l.ID })
	return out, cur, nil
}

// TakePrize takes one unit of a prize; false when it is out of stock.
func (tx *Tx) TakePrize(ctx context.Context, programID, lotteryID string, idx int) (bool, error) {
	res, err := tx.exec(ctx, `UPDATE lottery_prizes SET stock = CASE WHEN stock IS NULL THEN NULL ELSE stock - 1 END, won = won + 1
		WHERE lottery_id = ? AND idx = ? AND program_id = ? AND (stock IS NULL OR stock >= 1)`, lotteryID, idx, programID)
	if err != nil {
		return false, fmt.Errorf("take prize: %w", err)
	}
	return affected(res) == 1, nil
}

// Draw is one draw of a lottery.
type Draw struct {
	ID           string
	ProgramID    string
	LotteryID    string
	MemberID     string
	PrizeIndex   int
	PrizeName    string
	RandomValue  string
	RandomRange  int64
	CostTxnID    null.String
	PrizeTxnID   null.String
	CouponCode   null.String
	RedemptionID null.String
	Date         string
	CreatedAt    time.Time
}

// InsertDraw records a draw.
func (tx *Tx) InsertDraw(ctx context.Context, d Draw) error {
	_, err := tx.exec(ctx, `INSERT INTO lottery_draws (id, program_id, lottery_id, member_id, prize_idx, prize_name, random_value,
		random_range, cost_txn_id, prize_txn_id, coupon_code, redemption_id, date, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.ProgramID, d.LotteryID, d.MemberID, d.PrizeIndex, d.PrizeName, d.RandomValue, d.RandomRange, d.CostTxnID,
		d.PrizeTxnID, d.CouponCode, d.RedemptionID, d.Date, ms(d.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert draw: %w", err)
	}
	return nil
}

// DrawsOn counts a member's draws of a lottery on a program-local date.
func (c *Conn) DrawsOn(ctx context.Context, programID, lotteryID, memberID, date string) (int64, error) {
	var n int64
	err := c.queryRow(ctx, `SELECT COUNT(*) FROM lottery_draws WHERE member_id = ? AND lottery_id = ? AND date = ? AND program_id = ?`,
		memberID, lotteryID, date, programID).Scan(&n)
	return n, classify(err)
}

// FallbackWon counts a lottery's draws that fell to its fallback prize.
func (c *Conn) FallbackWon(ctx context.Context, programID, lotteryID string) (int64, error) {
	var n int64
	err := c.queryRow(ctx, `SELECT COUNT(*) FROM lottery_draws WHERE lottery_id = ? AND prize_idx < 0 AND program_id = ?`,
		lotteryID, programID).Scan(&n)
	return n, classify(err)
}

// Draws lists a lottery's draws (one member's when memberID is set), newest first.
func (c *Conn) Draws(ctx context.Context, programID, lotteryID, memberID string, p Page) ([]Draw, string, error) {
	q := `SELECT id, lottery_id, member_id, prize_idx, prize_name, random_value, random_range, cost_txn_id, prize_txn_id,
		coupon_code, redemption_id, date, created_at FROM lottery_draws WHERE lottery_id = ? AND program_id = ?`
	args := []any{lotteryID, programID}
	if memberID != "" {
		q += ` AND member_id = ?`
		args = append(args, memberID)
	}
	if p.Cursor != "" {
		q += ` AND id < ?`
		args = append(args, p.Cursor)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, p.Limit+1)
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("draws: %w", err)
	}
	defer rows.Close()
	var out []Draw
	for rows.Next() {
		d := Draw{ProgramID: programID}
		var at int64
		if err := rows.Scan(&d.ID, &d.LotteryID, &d.MemberID, &d.PrizeIndex, &d.PrizeName, &d.RandomValue, &d.RandomRange,
			&d.CostTxnID, &d.PrizeTxnID, &d.CouponCode, &d.RedemptionID, &d.Date, &at); err != nil {
			return nil, "", err
		}
		d.CreatedAt = fromMS(at)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, "", classify(err)
	}
	out, cur := next(out, p.Limit, func(d Draw) string { return d.ID })
	return out, cur, nil
}
