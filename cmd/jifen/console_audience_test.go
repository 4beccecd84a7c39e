package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/browsertest"
)

// TestConsoleAudience: on the demo, the RFM grid shows the API's counts
// cell by cell; a segment typed in the editor is sized as it is typed (the
// API's size for the same condition), a bad condition shows the
// compiler's message, and the saved segment lists its members.
func TestConsoleAudience(t *testing.T) {
	page := browsertest.New(t)
	demo := startDemo(t)
	c := consoleClient{t: t, base: demo.Base, key: demo.AdminKey}
	consoleUILogin(t, page, demo.Base, demo.Email, demo.Password)

	var rfm struct {
		Grid []struct{ R, F, Members int }
	}
	c.must("GET", "/v1/audience/rfm", nil, 200, &rfm)
	want := [5][5]int{} // rows r = 5…1, columns f = 1…5, as the page draws them
	total := 0
	for _, g := range rfm.Grid {
		want[5-g.R][g.F-1] = g.Members
		total += g.Members
	}
	if total == 0 {
		t.Fatal("the demo left no RFM scores to show")
	}
	page.Navigate(demo.Base + "/console/audience")
	consoleWaitFor(t, page, `[data-testid=rfm-grid] td`)
	consolePoll(t, page, `[...document.querySelectorAll('[data-testid=rfm-grid] td')].some((td) => td.innerText.trim() !== '0')`, "the grid's counts")
	got := consoleEval[[][]int](t, page, `[...document.querySelectorAll('[data-testid=rfm-grid] tr')].slice(1).map((tr) =>
		[...tr.querySelectorAll('td')].map((td) => Number(td.innerText.trim())))`)
	if len(got) != 5 {
		t.Fatalf("the grid has %d rows, want 5", len(got))
	}
	for i := range 5 {
		for j := range 5 {
			if len(got[i]) != 5 || got[i][j] != want[i][j] {
				t.Fatalf("RFM grid row R=%d shows %v, want %v", 5-i, got[i], want[i])
			}
		}
	}
	waitStill(t, page)
	time.Sleep(1500 * time.Millisecond) // the funnel's bars grow on a canvas, which getAnimations does not see
	page.Screenshot("console-audience")

	page.Click(`#tab-segments`)
	waitStill(t, page)
	page.Click(`[data-testid=segment-new]`)
	consoleFill(t, page, `[data-testid=segment-condition]`, `stats.orders >=`)
	consolePoll(t, page, `document.body.innerText.includes('Syntax error')`, "the compiler's message for a bad condition")
	const cond = `stats.orders >= 3 && stats.days_since_order <= 30`
	var preview struct{ Size int64 }
	c.must("POST", "/v1/segments/preview", map[string]any{"condition": cond}, 200, &preview)
	consoleFill(t, page, `[data-testid=segment-condition]`, cond)
	size := fmt.Sprintf("%d 位会员", preview.Size)
	consolePoll(t, page, fmt.Sprintf(`document.querySelector('[data-testid=segment-preview]').innerText.includes(%q)`, size),
		"the live size "+size)
	consoleFill(t, page, `[data-testid=segment-name]`, "常客近期活跃")
	waitStill(t, page)
	page.Screenshot("console-segment-preview")
	page.Click(`[data-testid=segment-save]`)
	consoleWaitDialogs(t, page)

	var segs struct {
		Data []struct{ ID, Name, Condition string }
	}
	c.must("GET", "/v1/segments", nil, 200, &segs)
	found := false
	for _, s := range segs.Data {
		found = found || (s.Name == "常客近期活跃" && s.Condition == cond)
	}
	if !found {
		t.Fatalf("the saved segment is not listed: %+v", segs.Data)
	}
	page.WaitText("常客近期活跃")
	consoleCheck(t, page, map[string]int{"/v1/segments/preview": 422})
}

// TestConsoleMessaging: an admin makes an SMS gateway channel and a
// template in the console, renders the template for a member, sends a
// test through the channel to a gateway this test runs, and finds the
// message sent in the message log.
func TestConsoleMessaging(t *testing.T) {
	page := browsertest.New(t)
	var mu sync.Mutex
	var got []map[string]string
	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]string
		_ = json.Unmarshal(b, &m)
		mu.Lock()
		got = append(got, m)
		mu.Unlock()
		w.WriteHeader(200)
	}))
	defer gateway.Close()
	key := "console-messaging-admin-key-0123456789"
	base, _ := startServe(t, map[string]string{"JIFEN_DB": "sqlite:" + filepath.Join(t.TempDir(), "j.db"), "JIFEN_ADMIN_KEY": key})
	c := consoleClient{t: t, base: base, key: key}
	const email, password = "messages@jifen.test", "the-right-password-42"
	c.must("POST", "/v1/operators", map[string]any{"email": email, "role": "admin", "password": password}, 201, nil)
	var m struct{ ID string }
	c.must("POST", "/v1/members", map[string]any{"name": "王小明", "phone": "13800138000"}, 201, &m)
	c.must("POST", "/v1/members/"+m.ID+"/points/earn", map[string]any{"points": 120, "reason": "welcome"}, 201, nil)
	consoleUILogin(t, page, base, email, password)

	page.Navigate(base + "/console/channels")
	waitStill(t, page)
	page.Click(`[data-testid=channel-new]`)
	consoleFill(t, page, `[data-testid=channel-name]`, "短信网关")
	page.Click(`[data-testid=channel-kind]`)
	consoleClickOption(t, page, "短信 (HTTP 网关)")
	consoleFill(t, page, `[data-testid=channel-config-url]`, gateway.URL+"/send")
	consoleFill(t, page, `[data-testid=channel-config-body_template] textarea, textarea[data-testid=channel-config-body_template]`,
		`{"to": "{{phone}}", "text": "{{text}}"}`)
	page.Click(`[data-testid=channel-save]`)
	consoleWaitDialogs(t, page)
	var chans struct {
		Data []struct{ ID, Kind string }
	}
	c.must("GET", "/v1/channels", nil, 200, &chans)
	if len(chans.Data) != 1 || chans.Data[0].Kind != "sms_http" {
		t.Fatalf("channels after the form: %+v", chans.Data)
	}
	ch := chans.Data[0].ID

	page.Navigate(base + "/console/message-templates")
	waitStill(t, page)
	page.Click(`[data-testid=template-new]`)
	consoleFill(t, page, `[data-testid=template-name]`, "余额提醒")
	consoleFill(t, page, `textarea[data-testid=template-body], [data-testid=template-body] textarea`, "{{member.name}}，您有 {{points.available}} 积分")
	consoleFill(t, page, `[data-testid=template-preview-member]`, "phone:13800138000")
	page.Click(`[data-testid=template-preview]`)
	consolePoll(t, page, `(() => { const e = document.querySelector('[data-testid=template-preview-result]'); return !!e && e.innerText.includes('王小明，您有 120 积分') })()`,
		"the template rendered for the member")
	waitStill(t, page)
	page.Screenshot("console-template-preview")

	page.Navigate(base + "/console/channels")
	consoleWaitFor(t, page, `[data-testid=channel-test-`+ch+`]`)
	consoleWaitGone(t, page, `.el-loading-mask`) // it fades out over the buttons, taking clicks
	waitStill(t, page)
	page.Click(`[data-testid=channel-test-` + ch + `]`)
	consoleFill(t, page, `[data-testid=channel-test-to]`, "+8613900139000")
	page.Click(`[data-testid=channel-test-send]`)
	consoleWaitTextIn(t, page, `[data-testid=channel-test-result] .el-alert__title`, "已发送")
	mu.Lock()
	if len(got) != 1 || got[0]["to"] != "+8613900139000" || got[0]["text"] == "" {
		t.Fatalf("the gateway received %v, want one message to +8613900139000", got)
	}
	mu.Unlock()

	page.Navigate(base + "/console/messages")
	consolePoll(t, page, `(() => { const e = document.querySelector('[data-testid=messages-table]'); return !!e && e.innerText.includes('+8613900139000') && e.innerText.includes('已发送') })()`,
		"the test message in the log, sent")
	waitStill(t, page)
	page.Screenshot("console-message-log")
	if strings.Contains(page.Text(), "undefined") {
		t.Fatalf("the message log shows undefined:\n%s", page.Text())
	}
	consoleCheck(t, page)
}
