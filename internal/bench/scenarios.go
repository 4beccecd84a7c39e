package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync/atomic"
)

// target is the server under load and what it holds.
type target struct {
	url     string
	key     string
	members []string
	run     string        // unique per run, for event ids
	events  *atomic.Int64 // event ids are never reused, warm-up included
	ingest  *ingestRun    // the NATS stream the server consumes; nil: no ingest scenario
}

func (t target) request(method, path string, body string) *http.Request {
	var rd *strings.Reader
	if body != "" {
		rd = strings.NewReader(body)
	} else {
		rd = strings.NewReader("")
	}
	req, _ := http.NewRequest(method, t.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+t.key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

func status(codes ...int) func(int, []byte) bool {
	return func(s int, _ []byte) bool {
		for _, c := range codes {
			if s == c {
				return true
			}
		}
		return false
	}
}

// worker state, one per load worker.
type workerState struct {
	rng  *rand.Rand
	hold string // a hold waiting for its capture
}

func newWorkers(n int) []*workerState {
	ws := make([]*workerState, n)
	for i := range ws {
		ws[i] = &workerState{rng: rand.New(rand.NewPCG(uint64(i)+1, 42))}
	}
	return ws
}

func (t target) member(w *workerState) string { return t.members[w.rng.IntN(len(t.members))] }

func (t target) floor(w *workerState, _ int64) Step {
	return Step{Req: t.request("GET", "/v1/ping", ""), OK: status(200)}
}

func (t target) balance(w *workerState, _ int64) Step {
	return Step{Req: t.request("GET", "/v1/members/"+t.member(w)+"/balance", ""), OK: status(200)}
}

// earn posts an order.paid of three items (one of category B) for a random
// member: three of the ten rules award.
func (t target) earn(w *workerState, _ int64) Step {
	return Step{Req: t.request("POST", "/v1/events", t.order(w)), OK: status(201)}
}

// earnSingle is one earn of a random member by the points API (POST
// …/points/earn): a ledger write without rules.
func (t target) earnSingle(w *workerState, _ int64) Step {
	return Step{Req: t.request("POST", "/v1/members/"+t.member(w)+"/points/earn", fmt.Sprintf(`{"points":%d}`, 1+w.rng.IntN(100))),
		OK: status(201)}
}

// order is the body of a new order.paid event for a random member, with an
// id never used before; the earn and ingest scenarios send the same events.
func (t target) order(w *workerState) string {
	seq := t.events.Add(1)
	amount := 10000 + w.rng.Int64N(90000)
	b := amount / 4
	return fmt.Sprintf(`{"id":"%s-%d","type":"order.paid","member":"%s","data":{"order_id":"%s-%d","amount":%d,`+
		`"items":[{"sku":"tea","category":"A","quantity":1,"amount":%d},{"sku":"cup","category":"B","quantity":2,"amount":%d},`+
		`{"sku":"post","category":"POSTAGE","quantity":1,"amount":%d}]}}`,
		t.run, seq, t.member(w), t.run, seq, amount, amount-b-500, b, 500)
}

// spend alternates spends with hold-then-capture pairs.
func (t target) spend(w *workerState, seq int64) Step {
	if w.hold != "" {
		h := w.hold
		w.hold = ""
		return Step{Req: t.request("POST", "/v1/holds/"+h+"/capture", ""), OK: status(200)}
	}
	m := t.member(w)
	if seq%4 == 0 {
		return Step{Req: t.request("POST", "/v1/members/"+m+"/holds", `{"points":25,"reference":"bench"}`),
			OK: func(s int, body []byte) bool {
				if s != 201 {
					return false
				}
				var h struct {
					ID string `json:"id"`
				}
				if json.Unmarshal(body, &h) == nil {
					w.hold = h.ID
				}
				return true
			}}
	}
	return Step{Req: t.request("POST", "/v1/members/"+m+"/points/spend", fmt.Sprintf(`{"points":%d}`, 1+w.rng.IntN(20))), OK: status(201)}
}

// mixed is 70% balance reads, 20% earn events, 10% spends.
func (t target) mixed(w *workerState, seq int64) Step {
	switch r := w.rng.IntN(10); {
	case r < 7 && w.hold == "":
		return t.balance(w, seq)
	case r < 9 && w.hold == "":
		return t.earn(w, seq)
	}
	return t.spend(w, seq)
}

// flash races members for reward: 201 sold, 409 sold out, 422 limit.
func (t target) flash(reward string, members []string) func(*workerState, int64) Step {
	return func(w *workerState, seq int64) Step {
		m := members[seq%int64(len(members))]
		return Step{Req: t.request("POST", "/v1/redemptions", fmt.Sprintf(`{"member":"%s","reward_id":"%s"}`, m, reward)),
			OK: status(201, 409, 422)}
	}
}

// createReward makes the flash-sale reward over the API.
func (t target) createReward(client *http.Client, stock int) (string, error) {
	req := t.request("POST", "/v1/rewards", fmt.Sprintf(
		`{"name":"Flash sale","type":"physical","points_price":100,"stock":%d,"per_member_limit":1}`, stock))
	res, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(res.Body)
	var r struct {
		ID string `json:"id"`
	}
	if res.StatusCode != 201 || json.Unmarshal(buf.Bytes(), &r) != nil {
		return "", fmt.Errorf("create flash reward: %d %s", res.StatusCode, buf.String())
	}
	return r.ID, nil
}
