package httpapi_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/points"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/store/storetest"
	"github.com/jifen/jifen/internal/webhook"
)

// received is one request the receiver got.
type received struct {
	id, ts, sig string
	header      http.Header
	body        []byte
	event       struct {
		ID        string          `json:"id"`
		Type      string          `json:"type"`
		CreatedAt time.Time       `json:"created_at"`
		MemberID  *string         `json:"member_id"`
		Data      json.RawMessage `json:"data"`
	}
}

// receiver is a merchant's webhook endpoint: it records what it gets and
// answers with the next status of its script (then 200).
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []received
	script []int
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var g received
		g.id, g.ts, g.sig, g.header, g.body = r.Header.Get("Jifen-Webhook-Id"), r.Header.Get("Jifen-Webhook-Timestamp"),
			r.Header.Get("Jifen-Signature"), r.Header.Clone(), b
		if err := json.Unmarshal(b, &g.event); err != nil || r.Method != "POST" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("receiver: %s %s %q: %v", r.Method, r.Header.Get("Content-Type"), b, err)
		}
		rc.mu.Lock()
		rc.got = append(rc.got, g)
		status := 200
		if len(rc.script) > 0 {
			status, rc.script = rc.script[0], rc.script[1:]
		}
		rc.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) answer(statuses ...int) {
	rc.mu.Lock()
	rc.script = append(rc.script, statuses...)
	rc.mu.Unlock()
}

func (rc *receiver) take() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := rc.got
	rc.got = nil
	return out
}

// verify checks a delivery as a receiver would, with docs/security.md's
// verifyWebhook.
func verify(g received, secret string, now time.Time) bool {
	return verifyWebhook(g.header, g.body, secret, now)
}

// verifyWebhook is docs/security.md's example, verbatim
// (TestSecurityDocSnippet checks that the page shows this text).
//
// verifyWebhook checks a delivery: h its headers, body its raw body,
// secret the webhook's secret, now the receiver's clock.
func verifyWebhook(h http.Header, body []byte, secret string, now time.Time) bool {
	ts := h.Get("Jifen-Webhook-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || now.Sub(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		return false // not a timestamp, or too old (or new) to trust
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body) // the body as received, before any parsing
	want := m.Sum(nil)
	// After a secret is rotated, two signatures come: either may match.
	for _, sig := range strings.Fields(h.Get("Jifen-Signature")) {
		got, err := hex.DecodeString(strings.TrimPrefix(sig, "v1="))
		if strings.HasPrefix(sig, "v1=") && err == nil && hmac.Equal(got, want) {
			return true
		}
	}
	return false
}

type webhookObj struct {
	ID     string   `json:"id"`
	URL    string   `json:"url"`
	Events []string `json:"events"`
	Active bool     `json:"active"`
	Secret string   `json:"secret"`
}

type deliveryObj struct {
	ID        string  `json:"id"`
	WebhookID string  `json:"webhook_id"`
	EventID   string  `json:"event_id"`
	EventType string  `json:"event_type"`
	MemberID  *string `json:"member_id"`
	Status    string  `json:"status"`
	Attempts  []struct {
		At         time.Time `json:"at"`
		StatusCode *int      `json:"status_code"`
		DurationMS int64     `json:"duration_ms"`
		Error      *string   `json:"error"`
	} `json:"attempts"`
	NextAttemptAt *time.Time      `json:"next_attempt_at"`
	Payload       json.RawMessage `json:"payload"`
}

func (e *env) deliveries(webhookID, query string) []deliveryObj {
	e.t.Helper()
	var l struct{ Data []deliveryObj }
	e.get("/v1/webhooks/"+webhookID+"/deliveries"+query).want(200, &l)
	return l.Data
}

func (e *env) worker() *webhook.Worker {
	return webhook.NewWorker(webhook.WorkerConfig{DB: e.db, Clock: e.clock})
}

func (e *env) deliver(w *webhook.Worker) int {
	e.t.Helper()
	n, err := w.RunOnce(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func TestWebhooks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		rc := newReceiver(t)
		wk := e.worker()

		t.Run("validation and admin only", func(t *testing.T) {
			e.post("/v1/webhooks", map[string]any{"url": "ftp://x", "events": []string{}}).
				wantProblem(422, "validation_failed", "url", "events")
			e.post("/v1/webhooks", map[string]any{"url": rc.URL, "events": []string{"points.earned", "nope"}}).
				wantProblem(422, "validation_failed", "events[1]")
			e.post("/v1/webhooks", map[string]any{"url": rc.URL, "events": []string{"*", "points.earned"}}).
				wantProblem(422, "validation_failed", "events[0]")
			e.call(e.key("readonly", ""), "GET", "/v1/webhooks", nil).wantProblem(403, "forbidden")
			e.get("/v1/webhooks/whk_nope").wantProblem(404, "not_found")
		})

		var hook webhookObj
		e.post("/v1/webhooks", map[string]any{"url": rc.URL, "events": []string{"points.earned", "points.spent"}}).want(201, &hook)
		if !strings.HasPrefix(hook.Secret, "whsec_") || !strings.HasPrefix(hook.ID, "whk_") || !hook.Active {
			t.Fatalf("created %+v", hook)
		}
		var read map[string]any
		e.get("/v1/webhooks/"+hook.ID).want(200, &read)
		if _, ok := read["secret"]; ok {
			t.Fatalf("the secret is shown again: %v", read)
		}

		m := e.newMember(map[string]any{"external_id": "hook-1"})

		t.Run("signed, retried after a failure, in order per member", func(t *testing.T) {
			e.post("/v1/members/ext:hook-1/points/earn", map[string]any{"points": 100}).want(201, nil)
			// Refused: nothing written, so nothing emitted.
			e.post("/v1/members/ext:hook-1/points/spend", map[string]any{"points": 1000}).wantProblem(422, "insufficient_points")
			e.post("/v1/members/ext:hook-1/points/spend", map[string]any{"points": 30}).want(201, nil)
			// Not subscribed: no delivery.
			e.post("/v1/members/ext:hook-1/points/adjust", map[string]any{"points": 5, "reason": "gift"}).want(201, nil)
			if ds := e.deliveries(hook.ID, ""); len(ds) != 2 {
				t.Fatalf("%d deliveries, want 2 (earn, spend): %+v", len(ds), ds)
			}

			rc.answer(500)
			if n := e.deliver(wk); n != 1 {
				t.Fatalf("%d attempts, want 1: the spend waits for the earn", n)
			}
			got := rc.take()
			if len(got) != 1 || got[0].event.Type != "points.earned" {
				t.Fatalf("got %+v", got)
			}
			ds := e.deliveries(hook.ID, "?event_type=points.earned")
			if len(ds) != 1 || ds[0].Status != "pending" || len(ds[0].Attempts) != 1 || *ds[0].Attempts[0].StatusCode != 500 ||
				ds[0].NextAttemptAt == nil {
				t.Fatalf("after a 500: %+v", ds)
			}
			if wait := ds[0].NextAttemptAt.Sub(e.clock.Now()); wait < 27*time.Second || wait > 33*time.Second {
				t.Fatalf("retry in %v, want 30 s ± 10 %%", wait)
			}
			if n := e.deliver(wk); n != 0 {
				t.Fatalf("%d attempts before the retry is due", n)
			}
			e.clock.Advance(34 * time.Second)
			if n := e.deliver(wk); n != 2 {
				t.Fatalf("%d attempts, want the earn then the spend", n)
			}
			got = rc.take()
			if len(got) != 2 || got[0].event.Type != "points.earned" || got[1].event.Type != "points.spent" {
				t.Fatalf("order: %+v", got)
			}
			for _, g := range got {
				if !verify(g, hook.Secret, e.clock.Now()) {
					t.Fatalf("bad signature %q on %s", g.sig, g.body)
				}
				if verify(g, "whsec_wrong", e.clock.Now()) {
					t.Fatal("a wrong secret verifies")
				}
				if g.id != g.event.ID || !strings.HasPrefix(g.id, "wev_") || *g.event.MemberID != m.ID {
					t.Fatalf("headers and body: %q %+v", g.id, g.event)
				}
			}
			var data struct {
				Transaction txnObj `json:"transaction"`
				Balance     struct {
					Available int64 `json:"available"`
				} `json:"balance"`
			}
			if err := json.Unmarshal(got[1].event.Data, &data); err != nil || data.Transaction.Type != "spend" ||
				data.Transaction.Points != 30 || data.Balance.Available != 70 {
				t.Fatalf("spend data %s: %v", got[1].event.Data, err)
			}
			for _, d := range e.deliveries(hook.ID, "?member=ext:hook-1") {
				if d.Status != "delivered" || d.NextAttemptAt != nil {
					t.Fatalf("not delivered: %+v", d)
				}
			}
			var one deliveryObj
			e.get("/v1/webhook-deliveries/"+ds[0].ID).want(200, &one)
			if !strings.Contains(string(one.Payload), ds[0].EventID) || len(one.Attempts) != 2 {
				t.Fatalf("detail %+v", one)
			}
			e.get("/v1/webhooks/"+hook.ID+"/deliveries?status=sent").wantProblem(422, "validation_failed", "status")
			e.get("/v1/webhooks/"+hook.ID+"/deliveries?member=ext:nobody").wantProblem(422, "validation_failed", "member")
		})

		t.Run("a rolled-back operation emits nothing", func(t *testing.T) {
			boom := errors.New("boom")
			err := e.db.Write(context.Background(), m.ID, func(ctx context.Context, tx *store.Tx) error {
				if _, err := e.app.Points.Earn(ctx, tx, auth.System(program.DefaultID), m.ID, points.EarnInput{Points: 7}); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatal(err)
			}
			if ds := e.deliveries(hook.ID, "?status=pending"); len(ds) != 0 {
				t.Fatalf("a rolled-back earn left deliveries: %+v", ds)
			}
			if n := e.deliver(wk); n != 0 || len(rc.take()) != 0 {
				t.Fatal("a rolled-back earn was delivered")
			}
		})

		t.Run("rotation signs with both secrets; test event", func(t *testing.T) {
			var sec struct{ Secret string }
			e.post("/v1/webhooks/"+hook.ID+"/rotate-secret", nil).want(200, &sec)
			if !strings.HasPrefix(sec.Secret, "whsec_") || sec.Secret == hook.Secret {
				t.Fatalf("rotated %q", sec.Secret)
			}
			e.post("/v1/webhooks/"+hook.ID+"/test", nil).want(202, nil)
			e.deliver(wk)
			got := rc.take()
			if len(got) != 1 || got[0].event.Type != "webhook.test" || got[0].event.MemberID != nil {
				t.Fatalf("test event: %+v", got)
			}
			if len(strings.Fields(got[0].sig)) != 2 || !verify(got[0], hook.Secret, e.clock.Now()) || !verify(got[0], sec.Secret, e.clock.Now()) {
				t.Fatalf("after rotation: %q", got[0].sig)
			}
			e.clock.Advance(webhook.RotationOverlap + time.Minute)
			e.post("/v1/webhooks/"+hook.ID+"/test", nil).want(202, nil)
			e.deliver(wk)
			got = rc.take()
			if len(got) != 1 || len(strings.Fields(got[0].sig)) != 1 || verify(got[0], hook.Secret, e.clock.Now()) ||
				!verify(got[0], sec.Secret, e.clock.Now()) {
				t.Fatalf("24 h after rotation: %q", got[0].sig)
			}
			hook.Secret = sec.Secret
		})

		t.Run("failed after 24 h, then retried by hand", func(t *testing.T) {
			e.post("/v1/members/ext:hook-1/points/earn", map[string]any{"points": 1}).want(201, nil)
			e.post("/v1/members/ext:hook-1/points/earn", map[string]any{"points": 2}).want(201, nil)
			start := e.clock.Now()
			rc.answer(func() []int {
				s := make([]int, 100)
				for i := range s {
					s[i] = 503
				}
				return s
			}()...)
			for range 100 {
				e.deliver(wk)
				ds := e.deliveries(hook.ID, "?status=failed")
				if len(ds) > 0 {
					break
				}
				e.clock.Advance(time.Hour)
			}
			// Oldest first: the first earn's tries, then the second's one
			// (held back until the first failed; its own deadline past).
			failed := e.deliveries(hook.ID, "?status=failed&event_type=points.earned")
			if len(failed) != 2 || len(failed[0].Attempts) != 1 {
				t.Fatalf("failed: %+v", failed)
			}
			f := failed[1]
			last := f.Attempts[len(f.Attempts)-1].At
			if last.Sub(start) < 24*time.Hour || last.Sub(start) > 25*time.Hour || len(f.Attempts) < 8 {
				t.Fatalf("failed after %v and %d attempts", last.Sub(start), len(f.Attempts))
			}
			if !failed[0].Attempts[0].At.Equal(last) {
				t.Fatalf("the second earn was tried at %v, the first failed at %v", failed[0].Attempts[0].At, last)
			}
			for i := 2; i < len(f.Attempts); i++ {
				if gap := f.Attempts[i].At.Sub(f.Attempts[i-1].At); gap > time.Hour+time.Second {
					t.Fatalf("attempts %v apart", gap)
				}
			}
			rc.take()
			rc.mu.Lock()
			rc.script = nil
			rc.mu.Unlock()
			e.post("/v1/webhook-deliveries/"+f.ID+"/retry", nil).want(202, nil)
			e.post("/v1/webhook-deliveries/dlv_nope/retry", nil).wantProblem(404, "not_found")
			e.deliver(wk)
			got := rc.take()
			if len(got) != 1 || got[0].event.ID != f.EventID || !verify(got[0], hook.Secret, e.clock.Now()) {
				t.Fatalf("retried: %+v", got)
			}
			var d deliveryObj
			e.get("/v1/webhook-deliveries/"+f.ID).want(200, &d)
			if d.Status != "delivered" {
				t.Fatalf("after retry: %+v", d)
			}
		})

		t.Run("expiry notices once per member, currency and date", func(t *testing.T) {
			var exp webhookObj
			e.post("/v1/webhooks", map[string]any{"url": rc.URL, "events": []string{"points.expiring"}}).want(201, &exp)
			var prog struct {
				Days int64 `json:"expiring_notice_days"`
			}
			e.get("/v1/program").want(200, &prog)
			if prog.Days != 7 {
				t.Fatalf("expiring_notice_days default %d", prog.Days)
			}
			e.patch("/v1/program", map[string]any{"expiring_notice_days": -1}).wantProblem(422, "validation_failed", "expiring_notice_days")
			e.patch("/v1/program", map[string]any{"expiring_notice_days": 3}).want(200, &prog)
			soon := e.clock.Now().Add(48 * time.Hour).Format(time.RFC3339)
			soon2 := e.clock.Now().Add(49 * time.Hour).Format(time.RFC3339)
			later := e.clock.Now().Add(10 * 24 * time.Hour).Format(time.RFC3339)
			e.post("/v1/members/ext:hook-1/points/earn", map[string]any{"points": 40, "expires_at": soon}).want(201, nil)
			e.post("/v1/members/ext:hook-1/points/earn", map[string]any{"points": 2, "expires_at": soon2}).want(201, nil)
			e.post("/v1/members/ext:hook-1/points/earn", map[string]any{"points": 9, "expires_at": later}).want(201, nil)
			var r1, r2 struct {
				Notices int64 `json:"notices"`
				Already int64 `json:"already_sent"`
			}
			e.post("/v1/jobs/expiry-notices", map[string]any{}).want(200, &r1)
			e.post("/v1/jobs/expiry-notices", map[string]any{}).want(200, &r2)
			if r1.Notices != 1 || r2.Notices != 0 || r2.Already != 1 {
				t.Fatalf("runs: %+v then %+v", r1, r2)
			}
			ds := e.deliveries(exp.ID, "")
			if len(ds) != 1 {
				t.Fatalf("%d notices", len(ds))
			}
			rc.take()
			e.deliver(wk)
			var got []received
			for _, g := range rc.take() {
				if g.event.Type == "points.expiring" {
					got = append(got, g)
				}
			}
			var data struct {
				MemberID  string `json:"member_id"`
				Currency  string `json:"currency"`
				Points    int64  `json:"points"`
				ExpiresOn string `json:"expires_on"`
			}
			if len(got) != 1 || json.Unmarshal(got[0].event.Data, &data) != nil || data.Points != 42 || data.MemberID != m.ID ||
				data.Currency != "points" || data.ExpiresOn != e.clock.Now().Add(48*time.Hour).In(shanghai).Format(time.DateOnly) {
				t.Fatalf("notice: %+v %+v", got, data)
			}
		})

		t.Run("patch, deactivate and delete", func(t *testing.T) {
			var w webhookObj
			e.patch("/v1/webhooks/"+hook.ID, map[string]any{"active": false}).want(200, &w)
			if w.Active {
				t.Fatal("still active")
			}
			e.post("/v1/members/ext:hook-1/points/earn", map[string]any{"points": 3}).want(201, nil)
			if ds := e.deliveries(hook.ID, "?status=pending"); len(ds) != 0 {
				for _, d := range ds {
					for _, a := range d.Attempts {
						t.Logf("%s %v %v", d.EventID, a.StatusCode, *a.Error)
					}
				}
				t.Fatalf("an inactive webhook got deliveries: %+v", ds)
			}
			e.patch("/v1/webhooks/"+hook.ID, map[string]any{"events": []string{"bogus"}}).wantProblem(422, "validation_failed", "events[0]")
			e.call(e.admin, "DELETE", "/v1/webhooks/"+hook.ID, nil).want(204, nil)
			e.get("/v1/webhooks/"+hook.ID).wantProblem(404, "not_found")
		})
	})
}

// Every operation's own event, through a webhook subscribed to "*".
func TestWebhookEventTypes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		rc := newReceiver(t)
		var hook webhookObj
		e.post("/v1/webhooks", map[string]any{"url": rc.URL, "events": []string{"*"}}).want(201, &hook)
		m := e.newMember(map[string]any{"external_id": "all-1"})
		e.patch("/v1/members/"+m.ID, map[string]any{"name": "Li"}).want(200, nil)
		e.post("/v1/members/"+m.ID+"/tags", map[string]any{"tags": []string{"vip"}}).want(200, nil)
		e.post("/v1/members/"+m.ID+"/points/earn", map[string]any{"points": 500}).want(201, nil)
		var h1, h2 struct{ ID string }
		e.post("/v1/members/"+m.ID+"/holds", map[string]any{"points": 100, "reference": "o-1"}).want(201, &h1)
		e.post("/v1/holds/"+h1.ID+"/capture", nil).want(200, nil)
		e.post("/v1/members/"+m.ID+"/holds", map[string]any{"points": 50, "reference": "o-2"}).want(201, &h2)
		e.post("/v1/holds/"+h2.ID+"/release", nil).want(200, nil)
		var tpl struct{ ID string }
		e.post("/v1/coupon-templates", map[string]any{"name": "3 off", "kind": "amount_off", "value": 300, "valid_days": 7}).want(201, &tpl)
		var cp struct{ Code string }
		e.post("/v1/coupon-templates/"+tpl.ID+"/claim", map[string]any{"member": m.ID}).want(201, &cp)
		e.post("/v1/coupons/"+cp.Code+"/redeem", map[string]any{"member": m.ID, "order_amount": 1000, "reference": "o-9"}).want(200, nil)
		e.call(e.admin, "PUT", "/v1/checkin", map[string]any{"points": 5}).want(200, nil)
		e.post("/v1/members/"+m.ID+"/checkins", nil).want(201, nil)
		other := e.newMember(map[string]any{"external_id": "all-2"})
		e.post("/v1/members/"+other.ID+"/erase", nil).want(200, nil)

		e.deliver(e.worker())
		var types []string
		for _, g := range rc.take() {
			if !verify(g, hook.Secret, e.clock.Now()) {
				t.Fatalf("bad signature on %s", g.body)
			}
			if *g.event.MemberID == m.ID {
				types = append(types, g.event.Type)
			}
		}
		want := []string{"member.created", "member.updated", "member.updated", "points.earned", "points.spent", "hold.captured", "hold.released",
			"coupon.issued", "coupon.redeemed", "points.earned", "checkin.created"}
		if strings.Join(types, " ") != strings.Join(want, " ") {
			t.Fatalf("member's events in order: %v, want %v", types, want)
		}
		ds := e.deliveries(hook.ID, "?member="+other.ID+"&event_type=member.erased")
		if len(ds) != 1 || ds[0].Status != "delivered" {
			t.Fatalf("erased: %+v", ds)
		}
	})
}

// Two workers (two nodes) on one database send each delivery once, and
// each member's in commit order.
func TestWebhookTwoWorkers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		rc := newReceiver(t)
		e.post("/v1/webhooks", map[string]any{"url": rc.URL, "events": []string{"points.earned"}}).want(201, nil)
		members := []string{e.newMember(nil).ID, e.newMember(nil).ID, e.newMember(nil).ID}
		for i := range 12 {
			e.post("/v1/members/"+members[i%3]+"/points/earn", map[string]any{"points": i + 1}).want(201, nil)
		}
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w := e.worker()
				for range 5 {
					if _, err := w.RunOnce(context.Background()); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		got := rc.take()
		seen := map[string]bool{}
		last := map[string]int64{}
		for _, g := range got {
			if seen[g.event.ID] {
				t.Fatalf("event %s delivered twice", g.event.ID)
			}
			seen[g.event.ID] = true
			var d struct {
				Transaction struct{ Points int64 } `json:"transaction"`
			}
			_ = json.Unmarshal(g.event.Data, &d)
			if d.Transaction.Points <= last[*g.event.MemberID] {
				t.Fatalf("member %s: %d after %d", *g.event.MemberID, d.Transaction.Points, last[*g.event.MemberID])
			}
			last[*g.event.MemberID] = d.Transaction.Points
		}
		if len(seen) != 12 {
			t.Fatalf("%d events delivered, want 12", len(seen))
		}
	})
}
