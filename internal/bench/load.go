// Package bench is the engine of jifen bench: it prepares a fresh database
// of a backend, seeds it, starts jifen serve on it as a child process (or
// targets a running server), drives scenarios over real HTTP from a
// built-in load generator, and reports throughput, latency percentiles,
// errors and the server's memory.
package bench

import (
	"context"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Step is one request of a scenario and the statuses that count as
// success. A worker calls its scenario's next function for each request;
// the function may keep per-worker state.
type Step struct {
	Req *http.Request
	OK  func(status int, body []byte) bool
}

// Load says how hard and how long to push.
type Load struct {
	Concurrency int
	Duration    time.Duration // closed loop for this long, unless Total
	Total       int64         // a fixed number of requests instead
	Rate        float64       // open loop: requests per second (0: as fast as possible)
	Warmup      time.Duration
}

// Outcome is what one run of a load measured.
type Outcome struct {
	Requests  int64
	Errors    int64
	Elapsed   time.Duration
	Latencies []time.Duration // sorted
	Tally     map[int]int64   // responses by status
}

// RPS is requests per second over the measured time.
func (o Outcome) RPS() float64 {
	if o.Elapsed <= 0 {
		return 0
	}
	return float64(o.Requests) / o.Elapsed.Seconds()
}

// Percentile returns the q-quantile latency (0 < q < 1).
func (o Outcome) Percentile(q float64) time.Duration {
	if len(o.Latencies) == 0 {
		return 0
	}
	i := int(q * float64(len(o.Latencies)))
	return o.Latencies[min(i, len(o.Latencies)-1)]
}

// NewClient is a keep-alive HTTP client sized for concurrency connections.
func NewClient(concurrency int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns: concurrency * 2, MaxIdleConnsPerHost: concurrency * 2, MaxConnsPerHost: concurrency * 2,
			IdleConnTimeout: 90 * time.Second, DisableCompression: true,
		},
	}
}

// Drive runs next from l.Concurrency workers and measures every response.
// In open loop (Rate > 0) each request has a scheduled start and its
// latency counts from then, so a slow server's queue shows in the figures
// instead of slowing the load down (no coordinated omission).
func Drive(ctx context.Context, client *http.Client, l Load, next func(worker int, seq int64) Step, progress func(done int64, elapsed time.Duration)) Outcome {
	if l.Warmup > 0 && l.Total == 0 {
		wctx, cancel := context.WithTimeout(ctx, l.Warmup)
		drive(wctx, client, Load{Concurrency: l.Concurrency, Rate: l.Rate}, next, nil)
		cancel()
	}
	return drive(ctx, client, l, next, progress)
}

func drive(ctx context.Context, client *http.Client, l Load, next func(worker int, seq int64) Step, progress func(int64, time.Duration)) Outcome {
	var seq, done, errs atomic.Int64
	var mu sync.Mutex
	tally := map[int]int64{}
	lat := make([][]time.Duration, l.Concurrency)
	start := time.Now()
	deadline := start.Add(l.Duration)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if l.Total == 0 && l.Duration > 0 {
		runCtx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	stopProgress := make(chan struct{})
	if progress != nil {
		go func() {
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-stopProgress:
					return
				case <-t.C:
					progress(done.Load(), time.Since(start))
				}
			}
		}()
	}
	var wg sync.WaitGroup
	for w := 0; w < l.Concurrency; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			local := map[int]int64{}
			for runCtx.Err() == nil {
				i := seq.Add(1) - 1
				if l.Total > 0 && i >= l.Total {
					break
				}
				begin := time.Now()
				if l.Rate > 0 {
					begin = start.Add(time.Duration(float64(i) / l.Rate * float64(time.Second)))
					if d := time.Until(begin); d > 0 {
						select {
						case <-time.After(d):
						case <-runCtx.Done():
						}
						if runCtx.Err() != nil {
							break
						}
					}
				}
				st := next(w, i)
				res, err := client.Do(st.Req.WithContext(runCtx))
				if err != nil {
					if runCtx.Err() != nil {
						break
					}
					errs.Add(1)
					done.Add(1)
					lat[w] = append(lat[w], time.Since(begin))
					continue
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				lat[w] = append(lat[w], time.Since(begin))
				local[res.StatusCode]++
				if st.OK != nil && !st.OK(res.StatusCode, body) {
					errs.Add(1)
				}
				done.Add(1)
			}
			mu.Lock()
			for k, v := range local {
				tally[k] += v
			}
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	close(stopProgress)
	elapsed := time.Since(start)
	if l.Total == 0 && l.Duration > 0 && elapsed > l.Duration {
		elapsed = l.Duration
	}
	var all []time.Duration
	for _, ls := range lat {
		all = append(all, ls...)
	}
	slices.Sort(all)
	return Outcome{Requests: done.Load(), Errors: errs.Load(), Elapsed: elapsed, Latencies: all, Tally: tally}
}
