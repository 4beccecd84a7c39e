package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/jifen/jifen/internal/id"
)

// runRemote benches a running server (--url): it creates the members over
// the API first, which is slower than seeding a database directly.
func runRemote(ctx context.Context, cfg Config) ([]Result, error) {
	if cfg.Key == "" {
		return nil, fmt.Errorf("--url needs --key (or JIFEN_BENCH_KEY): an admin key of that server")
	}
	t := target{url: cfg.URL, key: cfg.Key, run: "r" + id.Secret(6), events: new(atomic.Int64)}
	client := NewClient(cfg.Concurrency)
	cfg.progress("remote: creating %d members over the API", cfg.Members)
	members := make([]string, cfg.Members)
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for w := 0; w < cfg.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(len(members)) || ctx.Err() != nil {
					return
				}
				res, err := client.Do(t.request("POST", "/v1/members", "{}"))
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				var m struct {
					ID string `json:"id"`
				}
				if res.StatusCode != 201 || json.Unmarshal(body, &m) != nil {
					once.Do(func() { firstErr = fmt.Errorf("create member: %d %s", res.StatusCode, body) })
					return
				}
				members[i] = m.ID
				res, err = client.Do(t.request("POST", "/v1/members/"+m.ID+"/points/earn", fmt.Sprintf(`{"points":%d}`, SeedPoints)))
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	t.members = members
	return runScenarios(ctx, cfg, "remote", "", t, nil)
}
