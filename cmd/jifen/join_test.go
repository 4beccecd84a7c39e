package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/jifen/jifen/internal/browsertest"
)

// joinSetup serves a fresh database with one-step join on: an SMS
// gateway stand-in (sms_http) that keeps what it gets, a template, a
// merchant, a gift of points and a coupon, and one join link.
type joinSetup struct {
	c    consoleClient
	base string
	link struct{ ID, URL string }
	mu   sync.Mutex
	sms  []string
}

const joinTestGift = 88

func newJoinSetup(t *testing.T) *joinSetup {
	t.Helper()
	s := &joinSetup{}
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.sms = append(s.sms, string(b))
		s.mu.Unlock()
	}))
	t.Cleanup(gw.Close)
	key := "join-browser-admin-key-0123456789"
	s.base, _ = startServe(t, map[string]string{"JIFEN_DB": "sqlite:" + filepath.Join(t.TempDir(), "j.db"), "JIFEN_ADMIN_KEY": key})
	s.c = consoleClient{t: t, base: s.base, key: key}
	var ch, tpl, mer, cpt struct{ ID string }
	s.c.must("POST", "/v1/channels", map[string]any{"name": "SMS gateway", "kind": "sms_http", "config": map[string]any{
		"url": gw.URL + "/sms", "body_template": `{"to":"{{phone}}","text":"{{text}}"}`}}, 201, &ch)
	s.c.must("POST", "/v1/message-templates", map[string]any{"name": "Join code",
		"body": "【茶馆】验证码 {{join.code}}，{{join.minutes}} 分钟内有效"}, 201, &tpl)
	s.c.must("POST", "/v1/merchants", map[string]any{"name": "西湖店"}, 201, &mer)
	s.c.must("POST", "/v1/coupon-templates", map[string]any{"name": "新会员立减 5 元", "kind": "amount_off", "value": 500, "valid_days": 30}, 201, &cpt)
	s.c.must("PATCH", "/v1/program", map[string]any{"join": map[string]any{"enabled": true, "sms_channel_id": ch.ID,
		"sms_template_id": tpl.ID, "gift_points": joinTestGift, "gift_coupon_template_id": cpt.ID}}, 200, nil)
	s.c.must("POST", "/v1/join-links", map[string]any{"merchant_id": mer.ID, "store": "一号柜台"}, 201, &s.link)
	return s
}

var joinCode = regexp.MustCompile(`\b\d{6}\b`)

// code waits for the gateway to get a message for phone and reads its code.
func (s *joinSetup) code(t *testing.T, phone string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		for _, b := range s.sms {
			var m struct{ To, Text string }
			if json.Unmarshal([]byte(b), &m) == nil && m.To == phone {
				s.mu.Unlock()
				if c := joinCode.FindString(m.Text); c != "" {
					return c
				}
				t.Fatalf("the message has no code: %q", m.Text)
			}
		}
		s.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no message reached %s within 20 s", phone)
	return ""
}

// TestMemberPageJoin: a shopper opens a join link's URL on a phone, asks
// for a code, types what the SMS gateway got, and lands on the member
// page's home as a new member with the gift.
func TestMemberPageJoin(t *testing.T) {
	page := browsertest.New(t)
	s := newJoinSetup(t)
	if !strings.HasPrefix(s.link.URL, s.base+"/m/join?l=jnl_") {
		t.Fatalf("link url %q, want under %s", s.link.URL, s.base)
	}
	memberPageDo(t, page, chromedp.EmulateViewport(375, 812, chromedp.EmulateScale(2)))
	page.Navigate(s.link.URL)
	page.WaitText("一键成为会员")
	memberPageFill(t, page, `[data-testid=join-phone] input`, "13800138000")
	sent := time.Now()
	page.Click(`[data-testid=join-send]`)
	code := s.code(t, "+8613800138000")
	t.Logf("the code reached the gateway %v after the tap", time.Since(sent).Round(time.Millisecond))
	page.WaitText("秒后重发")
	memberPageFill(t, page, `[data-testid=join-code] input`, code)
	waitStill(t, page)
	page.Screenshot("member-join")
	page.Click(`[data-testid=join-submit]`)
	memberPageWaitTestID(t, page, "balance", "88")
	gift := memberPageTestID(t, page, "join-gift")
	if !strings.Contains(gift, "88 积分") || !strings.Contains(gift, "优惠券") {
		t.Fatalf("the home screen shows the gift as %q", gift)
	}
	if got := memberPageEval[string](t, page, `location.pathname`); got != "/m/" {
		t.Fatalf("after joining the page is %s, want /m/", got)
	}
	waitStill(t, page)
	page.Screenshot("member-join-home")

	var ms struct {
		Data []struct {
			ID         string
			Phone      string
			MerchantID string `json:"merchant_id"`
		}
	}
	s.c.must("GET", "/v1/members?limit=5", nil, 200, &ms)
	if len(ms.Data) != 1 || ms.Data[0].Phone != "+8613800138000" {
		t.Fatalf("members after the join: %+v", ms.Data)
	}
}

// TestConsoleJoinLinks: the console's join page lists the link with its
// QR code image, and makes another.
func TestConsoleJoinLinks(t *testing.T) {
	page := browsertest.New(t)
	s := newJoinSetup(t)
	const email, password = "join@jifen.test", "the-right-password-42"
	s.c.must("POST", "/v1/operators", map[string]any{"email": email, "role": "admin", "password": password}, 201, nil)
	consoleUILogin(t, page, s.base, email, password)
	page.Navigate(s.base + "/console/join")
	page.WaitText("一号柜台")
	consolePoll(t, page, `(() => { const i = document.querySelector('[data-testid=join-qr]'); return !!i && i.complete && i.naturalWidth === 256 })()`,
		"the QR code image to load")
	page.Click(`[data-testid=join-new]`)
	consoleFill(t, page, `[data-testid=join-store]`, "二号柜台")
	page.Click(`[data-testid=join-create]`)
	page.WaitText("二号柜台")
	consolePoll(t, page, `document.querySelectorAll('[data-testid=join-qr]').length === 2 &&
		[...document.querySelectorAll('[data-testid=join-qr]')].every((i) => i.complete && i.naturalWidth === 256)`, "both QR codes to load")
	waitStill(t, page)
	page.Screenshot("console-join-links")
	consoleCheck(t, page)
}
