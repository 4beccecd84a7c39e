package mall

import (
	"context"
	"sync"
	"time"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/store"
)

// gate answers, from memory, the requests that the database would refuse
// anyway: a reward known to be sold out, or not on sale yet. In a flash
// sale (a start time, a small stock, a limit of one) thousands of members
// press at once; all but the first few must be told "sold out" without a
// write transaction each. The database keeps the last word: a request the
// gate lets through still takes stock with a conditional update, so the
// gate can only be too kind (a request that then fails in the database),
// never let anyone past the stock.
type gate struct {
	db  *store.DB
	ttl time.Duration

	mu      sync.Mutex
	soldOut map[string]time.Time   // reward → when a redemption found it sold out
	cached  map[string]cachedEntry // reward → its row, read at most ttl ago
}

type cachedEntry struct {
	r  store.Reward
	at time.Time
}

func newGate(db *store.DB, ttl time.Duration) *gate {
	return &gate{db: db, ttl: ttl, soldOut: map[string]time.Time{}, cached: map[string]cachedEntry{}}
}

// check refuses a redemption the database would refuse: sold out (seen by
// this node within ttl, or a cached stock of 0), or before the start.
func (g *gate) check(ctx context.Context, programID, rewardID string, now time.Time) error {
	g.mu.Lock()
	at, sold := g.soldOut[rewardID]
	c, ok := g.cached[rewardID]
	g.mu.Unlock()
	if sold && time.Since(at) < g.ttl {
		return failure.New(failure.OutOfStock, "reward %s is sold out", rewardID)
	}
	if !ok || time.Since(c.at) >= g.ttl {
		r, err := g.db.Read().Reward(ctx, programID, rewardID)
		if err != nil {
			return nil // the write path reports it
		}
		c = cachedEntry{r, time.Now()}
		g.mu.Lock()
		if len(g.cached) > 10_000 {
			clear(g.cached)
		}
		g.cached[rewardID] = c
		g.mu.Unlock()
	}
	if c.r.Status != "active" {
		return nil // paused or deleted: the write path says so
	}
	if c.r.StartsAt != nil && now.Before(*c.r.StartsAt) {
		return failure.New(failure.NotStarted, "reward %s is on sale from %s", rewardID, c.r.StartsAt.Format(time.RFC3339))
	}
	if c.r.Stock != nil && *c.r.Stock == 0 && time.Since(c.at) < g.ttl {
		return failure.New(failure.OutOfStock, "reward %s is sold out", rewardID)
	}
	return nil
}

func (g *gate) markSoldOut(rewardID string) {
	g.mu.Lock()
	g.soldOut[rewardID] = time.Now()
	g.mu.Unlock()
}

// open forgets what the gate knew of a reward (stock came back).
func (g *gate) open(rewardID string) {
	g.mu.Lock()
	delete(g.soldOut, rewardID)
	delete(g.cached, rewardID)
	g.mu.Unlock()
}
