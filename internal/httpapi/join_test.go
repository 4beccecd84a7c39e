package httpapi_test

import (
	"bytes"
	"encoding/json"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/store/storetest"
)

// joinEnv is a server with one-step join set up: an SMS gateway stand-in
// that keeps what it got, a channel and template, a merchant, an
// inviter, a gift coupon template, a join link with the inviter's code.
type joinEnv struct {
	*env
	mu       sync.Mutex
	sms      []string // bodies the gateway received
	merchant string
	channel  string // the SMS channel the codes go out on
	inviter  memberObj
	coupon   string
	link     string
}

const joinGift = 188

func newJoinEnv(t *testing.T, b storetest.Backend) *joinEnv {
	return joinEnvOn(t, newEnv(t, b))
}

// joinEnvOn sets one-step join up on e.
func joinEnvOn(t *testing.T, e *env) *joinEnv {
	j := &joinEnv{env: e}
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		j.mu.Lock()
		j.sms = append(j.sms, string(body))
		j.mu.Unlock()
	}))
	t.Cleanup(gw.Close)
	var ch, tpl, mer, cpt struct{ ID string }
	j.post("/v1/channels", map[string]any{"name": "sms", "kind": "sms_http", "config": map[string]any{"url": gw.URL,
		"body_template": `{"to":"{{phone}}","text":"{{text}}"}`}}).want(201, &ch)
	j.post("/v1/message-templates", map[string]any{"name": "join code",
		"body": "【茶馆】验证码 {{join.code}}，{{join.minutes}} 分钟内有效"}).want(201, &tpl)
	j.post("/v1/merchants", map[string]any{"name": "Shop A"}).want(201, &mer)
	j.post("/v1/coupon-templates", map[string]any{"name": "Welcome", "kind": "amount_off", "value": 500, "valid_days": 30}).want(201, &cpt)
	j.call(j.admin, "PUT", "/v1/referral", map[string]any{"inviter_points": 100, "invitee_points": 50, "on": "join"}).want(200, nil)
	j.merchant, j.coupon, j.channel = mer.ID, cpt.ID, ch.ID
	j.inviter = j.newMember(map[string]any{"phone": "+8613900000001"})
	j.patch("/v1/program", map[string]any{"join": map[string]any{"enabled": true, "sms_channel_id": ch.ID,
		"sms_template_id": tpl.ID, "gift_points": joinGift, "gift_coupon_template_id": cpt.ID}}).want(200, nil)
	var l struct{ ID string }
	j.post("/v1/join-links", map[string]any{"merchant_id": mer.ID, "store": "Counter 1", "referral_code": j.inviter.ReferralCode}).want(201, &l)
	j.link = l.ID
	return j
}

// otp asks for a code to phone (from ip when not empty).
func (j *joinEnv) otp(phone, ip string) resp {
	j.t.Helper()
	var h []string
	if ip != "" {
		h = []string{"X-Real-IP", ip}
	}
	return j.call("", "POST", "/v1/join/otp", map[string]any{"link": j.link, "phone": phone}, h...)
}

var sixDigits = regexp.MustCompile(`\b\d{6}\b`)

// code sends the due messages and reads the last code the gateway got
// for phone.
func (j *joinEnv) code(phone string) string {
	j.t.Helper()
	j.sendDue(j.app)
	j.mu.Lock()
	defer j.mu.Unlock()
	for i := len(j.sms) - 1; i >= 0; i-- {
		var m struct{ To, Text string }
		if json.Unmarshal([]byte(j.sms[i]), &m) == nil && m.To == phone {
			if c := sixDigits.FindString(m.Text); c != "" {
				if !strings.Contains(m.Text, "5 分钟") {
					j.t.Fatalf("the message does not say the minutes: %q", m.Text)
				}
				return c
			}
		}
	}
	j.t.Fatalf("no code reached %s: %v", phone, j.sms)
	return ""
}

func (j *joinEnv) confirm(phone, otp string, headers ...string) resp {
	j.t.Helper()
	return j.call("", "POST", "/v1/join/confirm", map[string]any{"link": j.link, "phone": phone, "otp": otp}, headers...)
}

type joinedObj struct {
	Member  memberObj `json:"member"`
	Token   string    `json:"token"`
	Created bool      `json:"created"`
	Gift    *struct {
		TransactionID *string `json:"transaction_id"`
		CouponCode    *string `json:"coupon_code"`
	} `json:"gift"`
}

// wrong is a code that is not c.
func wrong(c string) string {
	if c == "000000" {
		return "000001"
	}
	return "000000"
}

func TestJoin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		t.Run("new phone joins with gift and referral", func(t *testing.T) {
			j := newJoinEnv(t, b)
			var sent struct {
				ExpiresAt          time.Time `json:"expires_at"`
				ResendAfterSeconds int64     `json:"resend_after_seconds"`
			}
			j.otp("13800000002", "").want(202, &sent)
			if !sent.ExpiresAt.Equal(j.clock.Now().Add(5*time.Minute)) || sent.ResendAfterSeconds != 60 {
				t.Fatalf("otp answered %+v", sent)
			}
			code := j.code("+8613800000002")
			var got joinedObj
			r := j.confirm("13800000002", code, "Idempotency-Key", "k1").want(201, &got)
			if !got.Created || got.Gift == nil || got.Gift.TransactionID == nil || got.Gift.CouponCode == nil ||
				!strings.HasPrefix(got.Token, "jmt_") || got.Member.Phone == nil || *got.Member.Phone != "+8613800000002" {
				t.Fatalf("confirm answered %s", r.Body)
			}
			if got.Member.ReferredBy == nil || *got.Member.ReferredBy != j.inviter.ID {
				t.Fatalf("the link's referral code was not applied: %s", r.Body)
			}
			var m struct {
				MerchantID string `json:"merchant_id"`
			}
			j.get("/v1/members/"+got.Member.ID).want(200, &m)
			if m.MerchantID != j.merchant {
				t.Fatalf("joined at %q, want the link's merchant %s", m.MerchantID, j.merchant)
			}
			var txn struct {
				Type       string `json:"type"`
				Points     int64  `json:"points"`
				MerchantID string `json:"merchant_id"`
			}
			j.get("/v1/transactions/"+*got.Gift.TransactionID).want(200, &txn)
			if txn.Type != "earn" || txn.Points != joinGift || txn.MerchantID != j.merchant {
				t.Fatalf("gift transaction %+v", txn)
			}
			// The gift and the invitee's referral reward; the inviter got its reward.
			if bal := j.balance(got.Member.ID); bal.Available != joinGift+50 {
				t.Fatalf("new member's balance %+v, want %d", bal, joinGift+50)
			}
			if bal := j.balance(j.inviter.ID); bal.Available != 100 {
				t.Fatalf("inviter's balance %+v, want 100", bal)
			}
			var c struct {
				TemplateID string `json:"template_id"`
				MemberID   string `json:"member_id"`
				Source     string `json:"source"`
			}
			j.get("/v1/coupons/"+*got.Gift.CouponCode).want(200, &c)
			if c.TemplateID != j.coupon || c.MemberID != got.Member.ID || c.Source != "join" {
				t.Fatalf("gift coupon %+v", c)
			}
			// The token is the member's: the member page reads its own.
			var me memberObj
			j.call(got.Token, "GET", "/v1/members/me", nil).want(200, &me)
			if me.ID != got.Member.ID {
				t.Fatalf("token reads %s", me.ID)
			}
			// A double submit: the same key replays, a second one finds the code used.
			again := j.confirm("13800000002", code, "Idempotency-Key", "k1").want(201, nil)
			if again.Header.Get("Idempotent-Replayed") != "true" || string(again.Body) != string(r.Body) {
				t.Fatalf("replay: %s", again.Body)
			}
			j.confirm("13800000002", code).wantProblem(422, "otp_expired")
			j.verify()
		})

		t.Run("known phone gets a token and no gift", func(t *testing.T) {
			j := newJoinEnv(t, b)
			j.otp("+8613900000001", "").want(202, nil)
			var got joinedObj
			r := j.confirm("+8613900000001", j.code("+8613900000001")).want(200, &got)
			if got.Created || got.Gift != nil || got.Member.ID != j.inviter.ID || got.Token == "" {
				t.Fatalf("known phone: %s", r.Body)
			}
			if bal := j.balance(j.inviter.ID); bal.Available != 0 {
				t.Fatalf("a known member got points: %+v", bal)
			}
		})

		t.Run("frozen member is a conflict", func(t *testing.T) {
			j := newJoinEnv(t, b)
			j.post("/v1/members/"+j.inviter.ID+"/freeze", map[string]any{}).want(200, nil)
			j.otp("+8613900000001", "").want(202, nil)
			j.confirm("+8613900000001", j.code("+8613900000001")).wantProblem(409, "conflict")
		})

		t.Run("wrong code, then five wrong tries", func(t *testing.T) {
			j := newJoinEnv(t, b)
			j.otp("13800000003", "").want(202, nil)
			code := j.code("+8613800000003")
			for i := 0; i < 4; i++ {
				j.confirm("13800000003", wrong(code)).wantProblem(422, "otp_invalid")
			}
			j.confirm("13800000003", code).want(201, nil) // the fifth try, right

			j.clock.Advance(time.Minute)
			j.otp("13800000004", "").want(202, nil)
			code = j.code("+8613800000004")
			for i := 0; i < 5; i++ {
				j.confirm("13800000004", wrong(code)).wantProblem(422, "otp_invalid")
			}
			j.confirm("13800000004", code).wantProblem(422, "otp_expired")
			// A new code starts afresh.
			j.clock.Advance(time.Minute)
			j.otp("13800000004", "").want(202, nil)
			j.confirm("13800000004", j.code("+8613800000004")).want(201, nil)
		})

		t.Run("a code expires at five minutes", func(t *testing.T) {
			j := newJoinEnv(t, b)
			j.otp("13800000005", "").want(202, nil)
			code := j.code("+8613800000005")
			j.clock.Advance(5*time.Minute - time.Millisecond)
			j.otp("13800000006", "").want(202, nil)
			code6 := j.code("+8613800000006")
			j.confirm("13800000005", code).want(201, nil) // 4:59.999
			j.clock.Advance(5 * time.Minute)
			j.confirm("13800000006", code6).wantProblem(422, "otp_expired")    // 5:00.000 exactly
			j.confirm("13800000007", "123456").wantProblem(422, "otp_expired") // none sent
		})

		t.Run("a newer code replaces the older", func(t *testing.T) {
			j := newJoinEnv(t, b)
			j.otp("13800000008", "").want(202, nil)
			first := j.code("+8613800000008")
			j.clock.Advance(time.Minute)
			j.otp("13800000008", "").want(202, nil)
			second := j.code("+8613800000008")
			if first != second {
				j.confirm("13800000008", first).wantProblem(422, "otp_invalid")
			}
			j.confirm("13800000008", second).want(201, nil)
		})

		t.Run("one code per phone a minute, ten a day", func(t *testing.T) {
			j := newJoinEnv(t, b)
			j.otp("13800000009", "").want(202, nil)
			j.clock.Advance(20 * time.Second)
			r := j.otp("13800000009", "")
			r.wantProblem(429, "rate_limited")
			if r.Header.Get("Retry-After") != "40" {
				t.Fatalf("Retry-After %q, want 40", r.Header.Get("Retry-After"))
			}
			for i := 1; i < 10; i++ {
				j.clock.Advance(time.Minute)
				j.otp("13800000009", "").want(202, nil)
			}
			j.clock.Advance(time.Minute)
			r = j.otp("13800000009", "")
			r.wantProblem(429, "rate_limited")
			// Until midnight in Shanghai: the clock is 10:10:20 there.
			if got := r.Header.Get("Retry-After"); got != "49780" {
				t.Fatalf("Retry-After %q, want 49780 (to midnight)", got)
			}
			j.otp("13800000010", "").want(202, nil) // another phone is not limited
		})

		t.Run("twenty codes an hour per address", func(t *testing.T) {
			j := newJoinEnv(t, b)
			for i := 0; i < 20; i++ {
				j.otp("138000001"+string(rune('0'+i/10))+string(rune('0'+i%10)), "203.0.113.7").want(202, nil)
				j.clock.Advance(time.Second)
			}
			r := j.otp("13800000199", "203.0.113.7")
			r.wantProblem(429, "rate_limited")
			if r.Header.Get("Retry-After") != "3580" {
				t.Fatalf("Retry-After %q, want 3580", r.Header.Get("Retry-After"))
			}
			j.otp("13800000199", "203.0.113.8").want(202, nil)
		})

		t.Run("join off or unknown link is not found", func(t *testing.T) {
			j := newJoinEnv(t, b)
			j.otp("13800000011", "").want(202, nil)
			code := j.code("+8613800000011")
			j.patch("/v1/program", map[string]any{"join": map[string]any{"enabled": false}}).want(200, nil)
			j.otp("13800000012", "").wantProblem(404, "not_found")
			j.confirm("13800000011", code).wantProblem(404, "not_found")
			j.call("", "POST", "/v1/join/otp", map[string]any{"link": "jnl_nope", "phone": "13800000012"}).wantProblem(404, "not_found")
			j.call("", "POST", "/v1/join/otp", map[string]any{"link": "", "phone": "13800000012"}).wantProblem(422, "validation_failed", "link")
		})

		t.Run("bad input", func(t *testing.T) {
			j := newJoinEnv(t, b)
			j.otp("12345", "").wantProblem(422, "validation_failed", "phone")
			j.patch("/v1/program", map[string]any{"join": map[string]any{"enabled": true, "sms_channel_id": "chn_nope",
				"sms_template_id": "mtp_nope", "gift_points": -1, "gift_coupon_template_id": "cpt_nope"}}).
				wantProblem(422, "validation_failed", "join.gift_points")
			j.patch("/v1/program", map[string]any{"join": map[string]any{"enabled": true, "sms_channel_id": "chn_nope",
				"sms_template_id": "mtp_nope", "gift_points": 1, "gift_coupon_template_id": "cpt_nope"}}).
				wantProblem(422, "validation_failed", "join.sms_channel_id", "join.sms_template_id", "join.gift_coupon_template_id")
			j.patch("/v1/program", map[string]any{"join": map[string]any{"sms_channel_id": "", "sms_template_id": ""}}).
				wantProblem(422, "validation_failed", "join.sms_channel_id", "join.sms_template_id")
			var p struct {
				Join struct {
					Enabled    bool  `json:"enabled"`
					GiftPoints int64 `json:"gift_points"`
				} `json:"join"`
			}
			j.get("/v1/program").want(200, &p)
			if !p.Join.Enabled || p.Join.GiftPoints != joinGift {
				t.Fatalf("a refused patch changed join: %+v", p.Join)
			}
			// A patch changes the fields it gives; the others stay.
			j.patch("/v1/program", map[string]any{"join": map[string]any{"gift_points": 7}}).want(200, &p)
			if !p.Join.Enabled || p.Join.GiftPoints != 7 {
				t.Fatalf("after a patch of gift_points: %+v", p.Join)
			}
			j.patch("/v1/program", map[string]any{"join": map[string]any{"enabled": false}}).want(200, &p)
			j.patch("/v1/program", map[string]any{"join": map[string]any{"enabled": true}}).want(200, &p)
			if !p.Join.Enabled || p.Join.GiftPoints != 7 {
				t.Fatalf("off and on again: %+v", p.Join)
			}
		})
	})
}

func TestJoinLinks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		j := newJoinEnv(t, b)
		type linkObj struct {
			ID           string  `json:"id"`
			URL          string  `json:"url"`
			MerchantID   string  `json:"merchant_id"`
			Store        *string `json:"store"`
			ReferralCode *string `json:"referral_code"`
		}
		var l linkObj
		j.get("/v1/join-links/"+j.link).want(200, &l)
		if !strings.HasPrefix(l.ID, "jnl_") || !strings.HasSuffix(l.URL, "/m/join?l="+l.ID) || l.MerchantID != j.merchant ||
			l.Store == nil || *l.Store != "Counter 1" || l.ReferralCode == nil || *l.ReferralCode != j.inviter.ReferralCode {
			t.Fatalf("link %+v", l)
		}
		j.post("/v1/join-links", map[string]any{"store": "x"}).wantProblem(422, "validation_failed", "merchant_id")
		j.post("/v1/join-links", map[string]any{"merchant_id": "mer_nope"}).wantProblem(422, "validation_failed", "merchant_id")
		j.post("/v1/join-links", map[string]any{"merchant_id": j.merchant, "referral_code": "NOPE1234"}).
			wantProblem(422, "validation_failed", "referral_code")

		// A merchant key makes links at its own merchant and sees only those.
		var other struct{ ID string }
		j.post("/v1/merchants", map[string]any{"name": "Shop B"}).want(201, &other)
		keyB := j.key("merchant", other.ID)
		var lb linkObj
		j.call(keyB, "POST", "/v1/join-links", map[string]any{}).want(201, &lb)
		if lb.MerchantID != other.ID || lb.Store != nil || lb.ReferralCode != nil {
			t.Fatalf("merchant B's link %+v", lb)
		}
		j.call(keyB, "POST", "/v1/join-links", map[string]any{"merchant_id": j.merchant}).wantProblem(403, "forbidden")
		var ls listObj[linkObj]
		j.call(keyB, "GET", "/v1/join-links", nil).want(200, &ls)
		if len(ls.Data) != 1 || ls.Data[0].ID != lb.ID {
			t.Fatalf("merchant B lists %+v", ls.Data)
		}
		j.get("/v1/join-links").want(200, &ls)
		if len(ls.Data) != 2 || ls.Data[0].ID != lb.ID {
			t.Fatalf("admin lists %+v", ls.Data)
		}
		j.call(keyB, "GET", "/v1/join-links/"+j.link+"/qr.png", nil).wantProblem(404, "not_found")
		j.call(keyB, "DELETE", "/v1/join-links/"+j.link, nil).wantProblem(404, "not_found")

		// QR codes.
		r := j.get("/v1/join-links/"+j.link+"/qr.png?size=256").want(200, nil)
		if r.Header.Get("Content-Type") != "image/png" {
			t.Fatalf("Content-Type %q", r.Header.Get("Content-Type"))
		}
		img, err := png.Decode(bytes.NewReader(r.Body))
		if err != nil || img.Bounds().Dx() != 256 || img.Bounds().Dy() != 256 {
			t.Fatalf("png: %v %v", err, img)
		}
		if img, _ = png.Decode(bytes.NewReader(j.get("/v1/join-links/"+j.link+"/qr.png").want(200, nil).Body)); img.Bounds().Dx() != 512 {
			t.Fatalf("default size %v", img.Bounds())
		}
		r = j.get("/v1/join-links/"+j.link+"/qr.svg?size=300").want(200, nil)
		if r.Header.Get("Content-Type") != "image/svg+xml" || !bytes.HasPrefix(r.Body, []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="300"`)) {
			t.Fatalf("svg %s: %.100s", r.Header.Get("Content-Type"), r.Body)
		}
		for _, size := range []string{"127", "2049", "0", "big"} {
			j.get("/v1/join-links/"+j.link+"/qr.png?size="+size).wantProblem(422, "validation_failed", "size")
		}
		j.get("/v1/join-links/jnl_nope/qr.svg").wantProblem(404, "not_found")

		// Deleted, the link stops working.
		j.call(j.admin, "DELETE", "/v1/join-links/"+j.link, nil).want(204, nil)
		j.get("/v1/join-links/"+j.link).wantProblem(404, "not_found")
		j.otp("13800000013", "").wantProblem(404, "not_found")
		j.call(j.admin, "DELETE", "/v1/join-links/"+j.link, nil).wantProblem(404, "not_found")
	})
}

// TestJoinErase: erasing a member removes its phone's join code, so the
// code it was sent no longer works.
func TestJoinErase(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		j := newJoinEnv(t, b)
		j.otp("+8613900000001", "").want(202, nil)
		code := j.code("+8613900000001")
		j.post("/v1/members/"+j.inviter.ID+"/erase", map[string]any{}).want(200, nil)
		j.confirm("+8613900000001", code).wantProblem(422, "otp_expired")
	})
}
