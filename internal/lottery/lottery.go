// Package lottery runs the lucky wheel (大转盘): a draw costs points, picks a
// prize by weight among those still in stock with randomness from
// crypto/rand, falls back to the fallback prize when nothing is in stock or
// the picked prize ran out meanwhile, and grants points, a coupon or a mall
// reward. Every draw is recorded with the random value it used, so a draw
// can be checked afterwards. Odds are published as each prize's current
// probability.
package lottery

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"

	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/coupon"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/mall"
	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

// Lottery is a wheel with its prizes.
type Lottery struct {
	ID            string     `json:"id"`
	Name          string     `json:"name"`
	CostPoints    int64      `json:"cost_points"`
	DailyLimit    *int64     `json:"daily_limit"`
	Prizes        []Prize    `json:"prizes"`
	FallbackPrize Prize      `json:"fallback_prize"`
	StartsAt      *time.Time `json:"starts_at"`
	EndsAt        *time.Time `json:"ends_at"`
	MerchantID    *string    `json:"merchant_id"`
	Status        string     `json:"status"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`

	programID string
}

// Prize is one slot of the wheel. Probability (published, read-only) is its
// chance now: its weight over the weights of the prizes still in stock.
type Prize struct {
	Index       int         `json:"index"`
	Name        string      `json:"name"`
	Weight      int64       `json:"weight,omitempty"`
	Stock       *int64      `json:"stock"`
	Won         int64       `json:"won"`
	Reward      PrizeReward `json:"reward"`
	Probability string      `json:"probability"`
}

// PrizeReward is what a prize gives: points, a coupon, a mall reward, or
// nothing ("thanks for playing").
type PrizeReward struct {
	Points           *int64  `json:"points,omitempty"`
	CouponTemplateID *string `json:"coupon_template_id,omitempty"`
	RewardID         *string `json:"reward_id,omitempty"`
}

// Input creates a lottery.
type Input struct {
	Name          string    `json:"name" api:"minlen=1,maxlen=100"`
	CostPoints    int64     `json:"cost_points" api:"min=0,optional"`
	DailyLimit    *int64    `json:"daily_limit,omitempty" api:"min=1"`
	Prizes        []PrizeIn `json:"prizes" api:"minitems=1,maxitems=50"`
	FallbackPrize *Fallback `json:"fallback_prize" doc:"a prize object without weight or stock, or its name alone"`
	StartsAt      *string   `json:"starts_at,omitempty" api:"format=date-time"`
	EndsAt        *string   `json:"ends_at,omitempty" api:"format=date-time"`
	MerchantID    *string   `json:"merchant_id,omitempty"`
	Status        *string   `json:"status,omitempty" api:"enum=active|paused"`
}

// PrizeIn is a prize as created.
type PrizeIn struct {
	Name   string      `json:"name" api:"minlen=1,maxlen=100"`
	Weight int64       `json:"weight" api:"min=1,max=1000000000"`
	Stock  *int64      `json:"stock,omitempty" api:"min=0"`
	Reward PrizeReward `json:"reward"`
}

// Fallback is the prize a draw falls to when no prize is in stock: a
// prize object without weight or stock, or its name alone as shorthand
// ("谢谢参与" for {"name":"谢谢参与"}).
type Fallback struct{ PrizeIn }

// UnmarshalJSON reads the object or the shorthand name.
func (f *Fallback) UnmarshalJSON(b []byte) error {
	var name string
	if json.Unmarshal(b, &name) == nil {
		*f = Fallback{PrizeIn{Name: name}}
		return nil
	}
	return json.Unmarshal(b, &f.PrizeIn)
}

func checkReward(ctx context.Context, tx *store.Tx, p program.Program, field string, r PrizeReward, fs *failure.Fields) error {
	n := 0
	if r.Points != nil {
		n++
		if *r.Points < 1 {
			fs.Add(field+".points", "must be at least 1")
		}
	}
	if r.CouponTemplateID != nil {
		n++
		if _, err := tx.CouponTemplate(ctx, p.ID, *r.CouponTemplateID); err != nil {
			if failure.KindOf(err) != failure.NotFound {
				return err
			}
			fs.Add(field+".coupon_template_id", "no such coupon template")
		}
	}
	if r.RewardID != nil {
		n++
		if _, err := tx.Reward(ctx, p.ID, *r.RewardID); err != nil {
			if failure.KindOf(err) != failure.NotFound {
				return err
			}
			fs.Add(field+".reward_id", "no such reward")
		}
	}
	if n > 1 {
		fs.Add(field, "give one of points, coupon_template_id and reward_id")
	}
	return nil
}

// create adds a lottery.
func create(ctx context.Context, tx *store.Tx, p program.Program, in Input, now time.Time) (Lottery, error) {
	var fs failure.Fields
	in.Name = strings.TrimSpace(in.Name)
	if n := len([]rune(in.Name)); n < 1 || n > 100 {
		fs.Add("name", "must be 1 to 100 characters")
	}
	if in.CostPoints < 0 {
		fs.Add("cost_points", "must not be negative")
	}
	if in.DailyLimit != nil && *in.DailyLimit < 1 {
		fs.Add("daily_limit", "must be at least 1")
	}
	if len(in.Prizes) == 0 || len(in.Prizes) > 50 {
		fs.Add("prizes", "give 1 to 50 prizes")
	}
	for i, pr := range in.Prizes {
		f := fmt.Sprintf("prizes[%d]", i)
		if n := len([]rune(pr.Name)); n < 1 || n > 100 {
			fs.Add(f+".name", "must be 1 to 100 characters")
		}
		if pr.Weight < 1 || pr.Weight > 1_000_000_000 {
			fs.Add(f+".weight", "must be 1 to 1000000000")
		}
		if pr.Stock != nil && *pr.Stock < 0 {
			fs.Add(f+".stock", "must not be negative")
		}
		if err := checkReward(ctx, tx, p, f+".reward", pr.Reward, &fs); err != nil {
			return Lottery{}, err
		}
	}
	if in.FallbackPrize == nil {
		fs.Add("fallback_prize", "is required: what a draw gives when no prize is in stock")
	} else {
		if n := len([]rune(in.FallbackPrize.Name)); n < 1 || n > 100 {
			fs.Add("fallback_prize.name", "must be 1 to 100 characters")
		}
		if in.FallbackPrize.Stock != nil || in.FallbackPrize.Weight != 0 {
			fs.Add("fallback_prize", "the fallback prize has no weight and no stock")
		}
		if err := checkReward(ctx, tx, p, "fallback_prize.reward", in.FallbackPrize.Reward, &fs); err != nil {
			return Lottery{}, err
		}
	}
	starts, err := clock.Parse("starts_at", in.StartsAt)
	if err != nil {
		fs = append(fs, failure.As(err).Fields...)
	}
	ends, err := clock.Parse("ends_at", in.EndsAt)
	if err != nil {
		fs = append(fs, failure.As(err).Fields...)
	}
	if starts != nil && ends != nil && !ends.After(*starts) {
		fs.Add("ends_at", "must be after starts_at")
	}
	status := "active"
	if in.Status != nil {
		status = *in.Status
		if status != "active" && status != "paused" {
			fs.Add("status", "must be active or paused")
		}
	}
	if in.MerchantID != nil {
		if _, err := tx.Merchant(ctx, p.ID, *in.MerchantID); err != nil {
			if failure.KindOf(err) != failure.NotFound {
				return Lottery{}, err
			}
			fs.Add("merchant_id", "no such merchant")
		}
	}
	if err := fs.Err(); err != nil {
		return Lottery{}, err
	}
	fb, _ := json.Marshal(in.FallbackPrize.PrizeIn)
	l := store.Lottery{ID: id.New("lty"), ProgramID: p.ID, Name: in.Name, CostPoints: in.CostPoints, DailyLimit: in.DailyLimit,
		Fallback: fb, StartsAt: starts, EndsAt: ends, Status: status, CreatedAt: now, UpdatedAt: now}
	if in.MerchantID != nil {
		l.MerchantID = null.String(*in.MerchantID)
	}
	prizes := make([]store.Prize, len(in.Prizes))
	for i, pr := range in.Prizes {
		rw, _ := json.Marshal(pr.Reward)
		prizes[i] = store.Prize{Index: i, Name: pr.Name, Weight: pr.Weight, Stock: pr.Stock, Reward: rw}
	}
	if err := tx.SaveLottery(ctx, l, prizes); err != nil {
		return Lottery{}, err
	}
	return lotteryOf(l, prizes, 0), nil
}

func lotteryOf(l store.Lottery, prizes []store.Prize, fallbackWon int64) Lottery {
	out := Lottery{programID: l.ProgramID, ID: l.ID, Name: l.Name, CostPoints: l.CostPoints, DailyLimit: l.DailyLimit, StartsAt: l.StartsAt,
		EndsAt: l.EndsAt, Status: l.Status, CreatedAt: l.CreatedAt, UpdatedAt: l.UpdatedAt, Prizes: []Prize{}}
	if l.MerchantID != "" {
		m := string(l.MerchantID)
		out.MerchantID = &m
	}
	var fb PrizeIn
	json.Unmarshal(l.Fallback, &fb)
	out.FallbackPrize = Prize{Index: -1, Name: fb.Name, Reward: fb.Reward, Won: fallbackWon}
	var total int64
	for _, pr := range prizes {
		if inStock(pr) {
			total += pr.Weight
		}
	}
	for _, pr := range prizes {
		var rw PrizeReward
		json.Unmarshal(pr.Reward, &rw)
		p := Prize{Index: pr.Index, Name: pr.Name, Weight: pr.Weight, Stock: pr.Stock, Won: pr.Won, Reward: rw, Probability: "0"}
		if inStock(pr) && total > 0 {
			p.Probability = ratio(pr.Weight, total)
		}
		out.Prizes = append(out.Prizes, p)
	}
	out.FallbackPrize.Probability = "0"
	if total == 0 {
		out.FallbackPrize.Probability = "1"
	}
	return out
}

func inStock(pr store.Prize) bool { return pr.Weight > 0 && (pr.Stock == nil || *pr.Stock > 0) }

// ratio writes a/b as a decimal string with 6 places, trailing zeros cut.
func ratio(a, b int64) string {
	s := new(big.Rat).SetFrac64(a, b).FloatString(6)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// get reads a lottery with its prizes' current odds and what each, the
// fallback too, has been won.
func get(ctx context.Context, c *store.Conn, programID, lotteryID string) (Lottery, error) {
	l, prizes, err := c.Lottery(ctx, programID, lotteryID)
	if err != nil {
		return Lottery{}, err
	}
	won, err := c.FallbackWon(ctx, programID, lotteryID)
	if err != nil {
		return Lottery{}, err
	}
	return lotteryOf(l, prizes, won), nil
}

// list lists lotteries, newest first, with their odds.
func list(ctx context.Context, c *store.Conn, programID string, p store.Page) ([]Lottery, string, error) {
	rows, next, err := c.Lotteries(ctx, programID, p)
	if err != nil {
		return nil, "", err
	}
	out := make([]Lottery, 0, len(rows))
	for _, r := range rows {
		l, err := get(ctx, c, programID, r.ID)
		if err != nil {
			return nil, "", err
		}
		out = append(out, l)
	}
	return out, next, nil
}

// Pick chooses a prize by weight among those in stock, with u uniform in
// [0, total weight of those in stock); it returns the prize's index, or -1
// when no prize is in stock.
func Pick(prizes []store.Prize, u int64) int {
	for _, pr := range prizes {
		if !inStock(pr) {
			continue
		}
		if u < pr.Weight {
			return pr.Index
		}
		u -= pr.Weight
	}
	return -1
}

// Total is the weight of the prizes in stock.
func Total(prizes []store.Prize) int64 {
	var t int64
	for _, pr := range prizes {
		if inStock(pr) {
			t += pr.Weight
		}
	}
	return t
}

// Draw is one spin of the wheel.
type Draw struct {
	ID                 string    `json:"id"`
	LotteryID          string    `json:"lottery_id"`
	MemberID           string    `json:"member_id"`
	Prize              Prize     `json:"prize"`
	TransactionID      *string   `json:"transaction_id"`       // the cost
	PrizeTransactionID *string   `json:"prize_transaction_id"` // points won
	CouponCode         *string   `json:"coupon_code"`
	RedemptionID       *string   `json:"redemption_id"`
	RandomValue        string    `json:"random_value"`
	RandomRange        int64     `json:"random_range"`
	CreatedAt          time.Time `json:"created_at"`
}

// drawer draws with a source of randomness: crypto/rand in production, a
// seeded stream in tests.
type drawer struct {
	mall   *mall.Service
	random io.Reader
}

// draw spins the wheel for a member: it checks the lottery is on (not_started,
// ended, paused: conflict) and the member's daily limit (limit_exceeded),
// takes the cost (insufficient_points), picks a prize, takes its stock and
// grants it — all in the caller's transaction.
func (d drawer) draw(ctx context.Context, tx *store.Tx, p program.Program, lotteryID, memberID, merchantID string, now time.Time) (Draw, error) {
	l, prizes, err := tx.Lottery(ctx, p.ID, lotteryID)
	if err != nil {
		return Draw{}, err
	}
	switch {
	case l.Status != "active":
		return Draw{}, failure.New(failure.Conflict, "lottery %s is %s", l.ID, l.Status)
	case l.StartsAt != nil && now.Before(*l.StartsAt):
		return Draw{}, failure.New(failure.NotStarted, "lottery %s opens at %s", l.ID, l.StartsAt.Format(time.RFC3339))
	case l.EndsAt != nil && !now.Before(*l.EndsAt):
		return Draw{}, failure.New(failure.Ended, "lottery %s closed at %s", l.ID, l.EndsAt.Format(time.RFC3339))
	}
	m, err := ledger.LockMember(ctx, tx, p.Ledger(), memberID, now)
	if err != nil {
		return Draw{}, err
	}
	if err := ledger.Active(m); err != nil {
		return Draw{}, err
	}
	date := now.In(p.Location).Format(time.DateOnly)
	if l.DailyLimit != nil {
		n, err := tx.DrawsOn(ctx, p.ID, l.ID, m.ID, date)
		if err != nil {
			return Draw{}, err
		}
		if n >= *l.DailyLimit {
			return Draw{}, failure.New(failure.LimitExceeded, "member %s has drawn %d times today, the limit", m.ID, n)
		}
	}
	if merchantID == "" {
		merchantID = string(l.MerchantID)
	}
	row := store.Draw{ID: id.New("drw"), ProgramID: p.ID, LotteryID: l.ID, MemberID: m.ID, Date: date, CreatedAt: now}
	if l.CostPoints > 0 {
		t, err := ledger.Spend(ctx, tx, p.Ledger(), ledger.SpendInput{MemberID: m.ID, Points: l.CostPoints,
			Reason: "lottery: " + l.Name, Reference: row.ID, MerchantID: merchantID, Now: now})
		if err != nil {
			return Draw{}, err
		}
		row.CostTxnID = null.String(t.ID)
	}
	total := Total(prizes)
	row.RandomRange = total
	idx := -1
	if total > 0 {
		u, err := rand.Int(d.rand(), big.NewInt(total))
		if err != nil {
			return Draw{}, fmt.Errorf("draw: randomness: %w", err)
		}
		row.RandomValue = u.String()
		idx = Pick(prizes, u.Int64())
		if ok, err := tx.TakePrize(ctx, p.ID, l.ID, idx); err != nil {
			return Draw{}, err
		} else if !ok {
			idx = -1 // taken by a concurrent draw since we read it
		}
	}
	view := lotteryOf(l, prizes, 0)
	prize := view.FallbackPrize
	if idx >= 0 {
		prize = view.Prizes[idx]
	} else if prize.Won, err = tx.FallbackWon(ctx, p.ID, l.ID); err != nil {
		return Draw{}, err
	}
	prize.Won++ // this draw's
	row.PrizeIndex, row.PrizeName = idx, prize.Name
	if err := d.grant(ctx, tx, p, l, m.ID, merchantID, prize, &row, now); err != nil {
		return Draw{}, err
	}
	if err := tx.InsertDraw(ctx, row); err != nil {
		return Draw{}, err
	}
	return drawOf(row, prize), nil
}

func (d drawer) rand() io.Reader {
	if d.random != nil {
		return d.random
	}
	return rand.Reader
}

func (d drawer) grant(ctx context.Context, tx *store.Tx, p program.Program, l store.Lottery, memberID, merchantID string, prize Prize, row *store.Draw, now time.Time) error {
	r := prize.Reward
	switch {
	case r.Points != nil:
		t, err := ledger.Earn(ctx, tx, p.Ledger(), ledger.EarnInput{MemberID: memberID, Points: *r.Points,
			Reason: "lottery prize: " + prize.Name, Reference: row.ID, MerchantID: string(l.MerchantID), Now: now})
		if err != nil {
			return err
		}
		row.PrizeTxnID = null.String(t.ID)
	case r.CouponTemplateID != nil:
		c, err := coupon.Issue(ctx, tx, p, *r.CouponTemplateID, memberID, coupon.FromLottery, now)
		if err != nil {
			return fmt.Errorf("lottery prize %q: %w", prize.Name, err)
		}
		row.CouponCode = null.String(c.Code)
	case r.RewardID != nil:
		red, err := d.mall.Grant(ctx, tx, p, mall.RedeemInput{MemberID: memberID, RewardID: *r.RewardID, MerchantID: merchantID},
			"lottery", now)
		if err != nil {
			return fmt.Errorf("lottery prize %q: %w", prize.Name, err)
		}
		row.RedemptionID = null.String(red.ID)
	}
	return nil
}

func drawOf(row store.Draw, prize Prize) Draw {
	opt := func(s null.String) *string {
		if s == "" {
			return nil
		}
		v := string(s)
		return &v
	}
	return Draw{ID: row.ID, LotteryID: row.LotteryID, MemberID: row.MemberID, Prize: prize, TransactionID: opt(row.CostTxnID),
		PrizeTransactionID: opt(row.PrizeTxnID), CouponCode: opt(row.CouponCode), RedemptionID: opt(row.RedemptionID),
		RandomValue: row.RandomValue, RandomRange: row.RandomRange, CreatedAt: row.CreatedAt}
}

// draws lists a lottery's draws, newest first.
func draws(ctx context.Context, c *store.Conn, l Lottery, memberID string, p store.Page) ([]Draw, string, error) {
	programID, lotteryID := l.programID, l.ID
	rows, next, err := c.Draws(ctx, programID, lotteryID, memberID, p)
	if err != nil {
		return nil, "", err
	}
	out := make([]Draw, len(rows))
	for i, r := range rows {
		prize := l.FallbackPrize
		if r.PrizeIndex >= 0 && r.PrizeIndex < len(l.Prizes) {
			prize = l.Prizes[r.PrizeIndex]
		}
		out[i] = drawOf(r, prize)
	}
	return out, next, nil
}
