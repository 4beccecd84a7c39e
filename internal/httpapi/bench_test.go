package httpapi_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/store/storetest"
)

// BenchRules are the 10 active rules of the earning benchmarks: spend
// brackets with category multipliers, growth value and a category bonus
// match every order (3 awards); a member day, a VIP rule and five
// large-order rules are evaluated and do not match.
var BenchRules = []map[string]any{
	bracketRule,
	{"name": "growth", "event_type": "order.paid", "reward": map[string]any{"kind": "per_amount", "per": 100, "points": 1, "currency": "growth"}},
	{"name": "category B bonus", "event_type": "order.paid", "condition": "order.items.exists(i, i.category == 'B')",
		"reward": map[string]any{"kind": "fixed", "points": 5}},
	{"name": "member day", "event_type": "order.paid", "condition": "local.weekday == 3", "reward": map[string]any{"kind": "expression", "points": "order.amount / 100"}},
	{"name": "vip", "event_type": "order.paid", "condition": `"vip" in member.tags`, "reward": map[string]any{"kind": "fixed", "points": 50}},
}

func init() {
	for i := 0; i < 5; i++ {
		BenchRules = append(BenchRules, map[string]any{"name": fmt.Sprintf("big order %d", i), "event_type": "order.paid",
			"condition": fmt.Sprintf("order.amount >= %d", 1000000*(i+1)), "reward": map[string]any{"kind": "fixed", "points": 100 * (i + 1)}})
	}
}

// BenchmarkPostEvents is end-to-end POST /v1/events (order.paid, three
// items) over HTTP with keep-alive, from many clients, against the 10
// active BenchRules and 1,000 members, on each backend.
func BenchmarkPostEvents(b *testing.B) { benchPostEvents(b, benchOpts{}) }

// BenchmarkPostEventsWebhook is BenchmarkPostEvents with a webhook
// subscribed to points.earned: every earn also writes its outbox event and
// delivery (no worker runs, so the cost is the write path's alone).
func BenchmarkPostEventsWebhook(b *testing.B) { benchPostEvents(b, benchOpts{hook: true}) }

// BenchmarkEncryptionAtRest is BenchmarkPostEvents with members that have
// a name, phone, birthday and attributes, named by phone:, and the data
// keys off (clear) and on (sealed): the cost of sealing, opening and keyed
// lookups on the event path.
func BenchmarkEncryptionAtRest(b *testing.B) {
	for _, sealed := range []bool{false, true} {
		name := "clear"
		if sealed {
			name = "sealed"
		}
		b.Run(name, func(b *testing.B) { benchPostEvents(b, benchOpts{personal: true, sealed: sealed}) })
	}
}

type benchOpts struct {
	hook     bool // a webhook subscribed to points.earned
	personal bool // members with personal fields, named by phone
	sealed   bool // JIFEN_DATA_KEY set
}

func benchPostEvents(b *testing.B, o benchOpts) {
	backends := []storetest.Backend{storetest.SQLite}
	if dsn := os.Getenv(storetest.EnvPostgres); dsn != "" {
		backends = append(backends, storetest.Postgres(dsn))
	}
	for _, be := range backends {
		b.Run(be.Name, func(b *testing.B) {
			if o.sealed {
				testKeys = keyring(b, testKey1)
				defer func() { testKeys = nil }()
			}
			e := newEnv(b, be)
			for _, r := range BenchRules {
				e.rule(r)
			}
			if o.hook {
				e.post("/v1/webhooks", map[string]any{"url": "http://127.0.0.1:9/hook", "events": []string{"points.earned"}}).want(201, nil)
			}
			members := make([]string, 1000)
			for i := range members {
				if !o.personal {
					members[i] = e.newMember(nil).ID
					continue
				}
				phone := fmt.Sprintf("+86139%08d", i)
				e.newMember(map[string]any{"name": fmt.Sprint("会员", i), "phone": phone, "birthday": "1990-05-17",
					"attributes": map[string]any{"city": "杭州", "vip": i%2 == 0}})
				members[i] = "phone:" + phone
			}
			tr := &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}
			client := &http.Client{Transport: tr}
			defer tr.CloseIdleConnections()
			var seq, failed atomic.Int64
			b.SetParallelism(32)
			_, ops0 := e.db.WriterStats()
			stmts0 := e.db.WriterStatements()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					n := seq.Add(1)
					body := fmt.Sprintf(`{"id":"bench-%d","type":"order.paid","member":"%s","data":{"order_id":"o-%d","amount":%d,`+
						`"items":[{"sku":"a","category":"A","quantity":1,"amount":10000},{"sku":"b","category":"B","quantity":2,"amount":5000},`+
						`{"sku":"c","category":"C","quantity":1,"amount":%d}]}}`, n, members[n%1000], n, 15000+n%5000, n%5000)
					req, _ := http.NewRequest("POST", e.srv.URL+"/v1/events", strings.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+e.admin)
					res, err := client.Do(req)
					if err != nil {
						failed.Add(1)
						continue
					}
					res.Body.Close()
					if res.StatusCode != 201 {
						failed.Add(1)
					}
				}
			})
			b.StopTimer()
			if failed.Load() > 0 {
				b.Fatalf("%d of %d events failed", failed.Load(), b.N)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			batches, ops := e.db.WriterStats()
			b.ReportMetric(float64(ops)/float64(max(batches, 1)), "ops/commit")
			// What one event costs the serialized section, in statements.
			b.ReportMetric(float64(e.db.WriterStatements()-stmts0)/float64(max(ops-ops0, 1)), "stmts/op")
		})
	}
}

// BenchmarkFlashSale races 5,000 members for 100 units: 20,000 requests of
// POST /v1/redemptions from 64 clients over HTTP. It reports requests/s,
// p50 and p99 latency, and the units sold, which must be 100.
func BenchmarkFlashSale(b *testing.B) {
	backends := []storetest.Backend{storetest.SQLite}
	if dsn := os.Getenv(storetest.EnvPostgres); dsn != "" {
		backends = append(backends, storetest.Postgres(dsn))
	}
	for _, be := range backends {
		b.Run(be.Name, func(b *testing.B) {
			e := newEnv(b, be)
			members := make([]string, 5000)
			for i := range members {
				members[i] = e.newMember(nil).ID
			}
			for _, m := range members {
				e.earn(m, 1000)
			}
			tr := &http.Transport{MaxIdleConnsPerHost: 128, MaxConnsPerHost: 128}
			client := &http.Client{Transport: tr}
			defer tr.CloseIdleConnections()
			const requests, clients = 20_000, 64
			var lat []time.Duration
			var sold int64
			var elapsed time.Duration
			for b.Loop() {
				b.StopTimer()
				sale := e.reward(map[string]any{"name": "Flash", "type": "physical", "points_price": 100, "stock": 100, "per_member_limit": 1})
				lat = make([]time.Duration, requests)
				var next, won atomic.Int64
				var wg sync.WaitGroup
				b.StartTimer()
				start := time.Now()
				for c := 0; c < clients; c++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							i := next.Add(1) - 1
							if i >= requests {
								return
							}
							body := fmt.Sprintf(`{"member":"%s","reward_id":"%s"}`, members[i%int64(len(members))], sale.ID)
							req, _ := http.NewRequest("POST", e.srv.URL+"/v1/redemptions", strings.NewReader(body))
							req.Header.Set("Authorization", "Bearer "+e.admin)
							t0 := time.Now()
							res, err := client.Do(req)
							lat[i] = time.Since(t0)
							if err != nil {
								b.Error(err)
								return
							}
							io.Copy(io.Discard, res.Body)
							res.Body.Close()
							switch res.StatusCode {
							case 201:
								won.Add(1)
							case 409, 422:
							default:
								b.Errorf("status %d", res.StatusCode)
							}
						}
					}()
				}
				wg.Wait()
				elapsed += time.Since(start)
				sold = won.Load()
				if sold != 100 {
					b.Fatalf("sold %d of 100", sold)
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(requests*b.N)/elapsed.Seconds(), "req/s")
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50_ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99_ms")
			b.ReportMetric(float64(sold), "sold")
		})
	}
}

// BenchmarkMemberReference reads a balance naming the member by its ID, by
// ext:<external_id> and by phone:<number>: the whole request, so what an
// identity lookup adds shows beside what a read costs.
func BenchmarkMemberReference(b *testing.B) {
	backends := []storetest.Backend{storetest.SQLite}
	if dsn := os.Getenv(storetest.EnvPostgres); dsn != "" {
		backends = append(backends, storetest.Postgres(dsn))
	}
	for _, be := range backends {
		b.Run(be.Name, func(b *testing.B) {
			e := newEnv(b, be)
			const n = 2000
			ids := make([]string, n)
			for i := range ids {
				ids[i] = e.newMember(map[string]any{"external_id": fmt.Sprintf("ref-%05d", i),
					"phone": fmt.Sprintf("1390000%04d", i)}).ID
			}
			tr := &http.Transport{MaxIdleConnsPerHost: 8}
			client := &http.Client{Transport: tr}
			defer tr.CloseIdleConnections()
			for _, k := range []struct {
				name string
				ref  func(i int) string
			}{
				{"id", func(i int) string { return ids[i] }},
				{"ext", func(i int) string { return fmt.Sprintf("ext:ref-%05d", i) }},
				{"phone", func(i int) string { return fmt.Sprintf("phone:%%2B861390000%04d", i) }},
			} {
				b.Run(k.name, func(b *testing.B) {
					i := 0
					for b.Loop() {
						req, _ := http.NewRequest("GET", e.srv.URL+"/v1/members/"+k.ref(i%n)+"/balance", nil)
						req.Header.Set("Authorization", "Bearer "+e.admin)
						res, err := client.Do(req)
						if err != nil {
							b.Fatal(err)
						}
						io.Copy(io.Discard, res.Body)
						res.Body.Close()
						if res.StatusCode != 200 {
							b.Fatalf("%s: %d", k.ref(i%n), res.StatusCode)
						}
						i++
					}
				})
			}
		})
	}
}

// BenchmarkAuthPath is GET /v1/ping (authentication, no database read)
// with a bearer key and signed with Ed25519: the cost of a signed
// request is its verification and its nonce's insert (a write).
func BenchmarkAuthPath(b *testing.B) {
	backends := []storetest.Backend{storetest.SQLite}
	if dsn := os.Getenv(storetest.EnvPostgres); dsn != "" {
		backends = append(backends, storetest.Postgres(dsn))
	}
	for _, be := range backends {
		b.Run(be.Name, func(b *testing.B) {
			e := newEnv(b, be)
			e.clock.Set(time.Now())
			s := e.signingKey(auth.Admin)
			do := func(b *testing.B, authz func(req *http.Request)) {
				for b.Loop() {
					req, _ := http.NewRequest("GET", e.srv.URL+"/v1/ping", nil)
					authz(req)
					res, err := e.client.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != 200 {
						b.Fatalf("status %d", res.StatusCode)
					}
				}
			}
			b.Run("bearer", func(b *testing.B) {
				do(b, func(req *http.Request) { req.Header.Set("Authorization", "Bearer "+e.admin) })
			})
			b.Run("signed", func(b *testing.B) {
				do(b, func(req *http.Request) {
					req.Header.Set("Authorization", auth.Sign(s.priv, s.id, "GET", "/v1/ping", e.clock.Now().Unix(), newNonce(), nil))
				})
			})
		})
	}
}
