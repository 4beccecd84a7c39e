package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/jifen/jifen/internal/browsertest"
)

// TestConsole drives the operator console at /console/ of a served demo as
// an operator would, and checks what each step left in the API: the
// dashboard and its CSV, a member found and its points adjusted, a rule
// made in the form and an order simulated with it, a flash sale created.
// One demo server and one browser serve every step (a step fails the
// whole test: they share the page).
func TestConsole(t *testing.T) {
	page := browsertest.New(t) // first: skips before a server starts
	demo := startDemo(t)
	c := consoleClient{t: t, base: demo.Base, key: demo.AdminKey}

	consoleUILogin(t, page, demo.Base, demo.Email, demo.Password)
	consoleDashboard(t, page, c)
	consoleCSV(t, page, c)
	consoleMemberAdjust(t, page, c)
	ruleID := consoleRuleSimulate(t, page, c)
	consoleRuleRecurrence(t, page, c, ruleID)
	consoleFlashSale(t, page, c)
	// The bad condition typed in the rule editor is refused by
	// /v1/rules/validate (422), and so is saving a weekly recurrence
	// without a weekday; the browser logs both, nothing else may appear.
	consoleCheck(t, page, map[string]int{"/v1/rules/validate": 422, "/v1/rules/" + ruleID: 422})
}

// TestConsoleLockout: an operator that types a wrong password five times
// is locked out, the page says for how long, and the API refuses even the
// right password.
func TestConsoleLockout(t *testing.T) {
	page := browsertest.New(t)
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "j.db")
	key := "console-lockout-admin-key-0123456789"
	base, _ := startServe(t, map[string]string{"JIFEN_DB": dsn, "JIFEN_ADMIN_KEY": key})
	c := consoleClient{t: t, base: base, key: key}
	const email, password = "lock@jifen.test", "the-right-password-42"
	c.must("POST", "/v1/operators", map[string]any{"email": email, "role": "readonly", "password": password}, 201, nil)

	page.Navigate(base + "/console/")
	page.WaitText("请使用操作员账号登录")
	locked := false
	for try := 1; try <= 6 && !locked; try++ {
		consoleFill(t, page, `[data-testid=login-email]`, email)
		consoleFill(t, page, `[data-testid=login-password]`, "wrong-password-"+strconv.Itoa(try))
		page.Click(`[data-testid=login-submit]`)
		text := consoleWaitAny(t, page, "邮箱或密码错误", "账号已锁定")
		locked = strings.Contains(text, "账号已锁定")
		if !locked {
			// the message stays between tries: clear it by waiting for the
			// button to be ready again
			consoleWaitGone(t, page, `[data-testid=login-submit].is-loading`)
		}
	}
	if !locked {
		t.Fatalf("no lock message after 6 wrong passwords; the page says:\n%s", page.Text())
	}
	page.WaitText("请 15 分钟后再试")
	page.Screenshot("console-locked")

	var problem struct{ Code string }
	res := c.do("POST", "/v1/console/login", map[string]any{"email": email, "password": password}, "", &problem)
	if res.StatusCode != 423 || problem.Code != "account_locked" || res.Header.Get("Retry-After") == "" {
		t.Fatalf("login with the right password after the lock: %d %q Retry-After %q, want 423 account_locked with Retry-After",
			res.StatusCode, problem.Code, res.Header.Get("Retry-After"))
	}
	// A wrong login is the API's 401 and a locked one its 423: the browser
	// logs both, and nothing else may appear.
	consoleCheck(t, page, map[string]int{"/v1/console/login": 401}, map[string]int{"/v1/console/login": 423})
}

func consoleUILogin(t *testing.T, page *browsertest.Page, base, email, password string) {
	t.Helper()
	page.Navigate(base + "/console/")
	page.WaitText("请使用操作员账号登录") // a first visit goes to the login page
	consoleFill(t, page, `[data-testid=login-email]`, email)
	consoleFill(t, page, `[data-testid=login-password]`, password)
	page.Click(`[data-testid=login-submit]`)
	page.WaitText("会员总数") // the dashboard's first card
	if got := consoleEval[string](t, page, `location.pathname`); got != "/console/dashboard" {
		t.Fatalf("after login the page is %s, want /console/dashboard", got)
	}
}

// consoleDashboard: the cards show the summary the API gives for the 30
// days ending today.
func consoleDashboard(t *testing.T, page *browsertest.Page, c consoleClient) {
	t.Helper()
	var sum struct {
		MembersTotal int64 `json:"members_total"`
		Issued       int64 `json:"issued"`
		LiabilityFen int64 `json:"liability_fen"`
	}
	c.must("GET", "/v1/reports/summary", nil, 200, &sum)
	page.WaitText(consoleThousands(sum.MembersTotal))
	for id, want := range map[string]string{
		"stat-members_total": consoleThousands(sum.MembersTotal),
		"stat-issued":        consoleThousands(sum.Issued),
		"stat-liability_fen": fmt.Sprintf("¥%s.%02d", consoleThousands(sum.LiabilityFen/100), sum.LiabilityFen%100),
	} {
		if got := consoleText(t, page, `[data-testid=`+id+`] .value`); got != want {
			t.Errorf("dashboard %s shows %q, want %q", id, got, want)
		}
	}
	page.WaitText("规则效果") // the rules report's table
	page.Screenshot("console-dashboard")
}

// consoleCSV: each report's link is a CSV of the range, with a BOM and its
// header row; the session cookie the browser has fetches it too.
func consoleCSV(t *testing.T, page *browsertest.Page, c consoleClient) {
	t.Helper()
	for name, header := range map[string]string{
		"summary": "from,to,currency,issued,spent,expired",
		"rules":   "rule_id,name,awards,members,points,reversed",
	} {
		href := consoleEval[string](t, page, `document.querySelector('[data-testid=csv-`+name+`]').href`)
		u, err := url.Parse(href)
		if err != nil || u.Path != "/v1/reports/"+name || u.Query().Get("format") != "csv" || u.Query().Get("from") == "" || u.Query().Get("to") == "" {
			t.Fatalf("CSV link of %s: %q", name, href)
		}
		res := c.do("GET", u.RequestURI(), nil, "", nil)
		body := res.Body
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("GET %s: %d %s", href, res.StatusCode, res.Header.Get("Content-Type"))
		}
		if !strings.HasPrefix(body, "\ufeff"+header) {
			t.Errorf("GET %s starts %q, want a BOM and %q", href, consoleHead(body), header)
		}
		// The page's own fetch, with the session cookie as a download sends it.
		// (text() would drop the BOM: the bytes are read)
		got := consoleEval[string](t, page, `fetch(`+strconv.Quote(href)+`).then(r => r.arrayBuffer()).then(b => new TextDecoder('utf-8', { ignoreBOM: true }).decode(b))`)
		if !strings.HasPrefix(got, "\ufeff"+header) {
			t.Errorf("the browser's GET %s starts %q", href, consoleHead(got))
		}
	}
}

// consoleMemberAdjust finds a member by external ID, opens it, adjusts its
// points in the dialog, and checks the balance moved by exactly that.
func consoleMemberAdjust(t *testing.T, page *browsertest.Page, c consoleClient) {
	t.Helper()
	// A member with a history: the one of the latest redemption.
	var reds struct {
		Data []struct {
			MemberID string `json:"member_id"`
		}
	}
	c.must("GET", "/v1/redemptions?limit=1", nil, 200, &reds)
	if len(reds.Data) == 0 {
		t.Fatal("the demo has no redemption")
	}
	var m struct {
		ID         string `json:"id"`
		ExternalID string `json:"external_id"`
	}
	c.must("GET", "/v1/members/"+reds.Data[0].MemberID, nil, 200, &m)
	before := c.available(m.ID)

	page.Click(`[data-testid=menu-members]`)
	page.WaitText("外部 ID")
	page.Click(`[data-testid=member-search-by]`)
	consoleClickOption(t, page, "外部 ID")
	consoleFill(t, page, `[data-testid=member-search]`, m.ExternalID)
	page.Click(`[data-testid=member-search-button]`)
	// The search's answer: one row, the loading mask gone.
	consolePoll(t, page, `document.querySelectorAll('[data-testid=member-table] .el-table__body tr').length === 1 && !document.querySelector('[data-testid=member-table] .el-loading-mask')`, "one member found")
	page.Click(`[data-testid=member-link-` + m.ID + `]`)
	page.WaitText("积分流水")
	page.WaitText(m.ExternalID)
	if got := consoleText(t, page, `[data-testid=balance-available]`); got != consoleThousands(before) {
		t.Errorf("member page shows available %q, want %q", got, consoleThousands(before))
	}

	const delta = 1234
	page.Click(`[data-testid=adjust-open]`)
	consoleFill(t, page, `[data-testid=adjust-points] input`, strconv.Itoa(delta))
	consoleFill(t, page, `[data-testid=adjust-reason]`, "console test: goodwill")
	page.Click(`[data-testid=adjust-submit]`)
	page.WaitText("积分已调整")
	consoleWaitDialogs(t, page)
	if after := c.available(m.ID); after != before+delta {
		t.Fatalf("available after adjusting %+d: %d, want %d", delta, after, before+delta)
	}
	consoleWaitTextIn(t, page, `[data-testid=balance-available]`, consoleThousands(before+delta))
	page.WaitText("console test: goodwill") // the adjustment in the transactions tab
	page.Screenshot("console-member")
}

// consoleRuleSimulate makes a rule in the editor, saves it, and simulates
// an order: the simulator shows what the API's simulation gives, with the
// new rule among the awards. It answers the rule's ID; the editor is left
// on the rule's page.
func consoleRuleSimulate(t *testing.T, page *browsertest.Page, c consoleClient) string {
	t.Helper()
	name := fmt.Sprintf("Console rule %d", time.Now().UnixNano()%1e6)
	page.Click(`[data-testid=menu-rules]`)
	page.Click(`[data-testid=rule-new]`)
	page.WaitText("新建规则")
	consoleFill(t, page, `[data-testid=rule-name]`, name)
	// The condition is checked as it is typed: the compiler's message
	// shows under it, then the mark of a valid one.
	consoleFill(t, page, `[data-testid=rule-condition]`, `order.amount >=`)
	page.WaitText("Syntax error")
	consoleFill(t, page, `[data-testid=rule-condition]`, `order.amount >= 5000`)
	page.WaitText("条件有效")
	consoleFill(t, page, `[data-testid=rule-points] input`, "77")
	consoleFill(t, page, `[data-testid=rule-cap-day] input`, "500")
	page.Click(`[data-testid=rule-save]`)
	page.WaitText("已保存")
	page.WaitText("版本历史") // the saved rule's page, with its versions

	var rules struct {
		Data []struct {
			ID        string
			Name      string
			Condition string
			Status    string
			Reward    struct {
				Kind   string
				Points json.RawMessage
			}
			Limits struct {
				PerMember struct{ Day int64 } `json:"per_member"`
			}
		}
	}
	c.must("GET", "/v1/rules?limit=500", nil, 200, &rules)
	ruleID := ""
	for _, r := range rules.Data {
		if r.Name == name {
			ruleID = r.ID
			if r.Condition != "order.amount >= 5000" || r.Status != "active" || r.Reward.Kind != "fixed" ||
				string(r.Reward.Points) != "77" || r.Limits.PerMember.Day != 500 {
				t.Errorf("rule %s as stored: %+v", name, r)
			}
		}
	}
	if ruleID == "" {
		t.Fatalf("GET /v1/rules has no rule %q", name)
	}
	if got := consoleEval[string](t, page, `location.pathname`); got != "/console/rules/"+ruleID {
		t.Errorf("after saving, the page is %s, want /console/rules/%s", got, ruleID)
	}

	var members struct {
		Data []struct {
			ExternalID string `json:"external_id"`
		}
	}
	c.must("GET", "/v1/members?status=active&limit=1", nil, 200, &members)
	member := "ext:" + members.Data[0].ExternalID
	consoleFill(t, page, `[data-testid=sim-member]`, member)
	consoleFill(t, page, `[data-testid=sim-amount] input`, "88")
	page.Click(`[data-testid=simulate]`)
	page.WaitText("该订单可得")

	var want struct {
		MemberID string `json:"member_id"`
		Awards   []struct {
			RuleID   string `json:"rule_id"`
			MemberID string `json:"member_id"`
			Currency string
			Points   int64
		}
	}
	c.must("POST", "/v1/events/simulate", map[string]any{
		"id": "console-test-sim", "type": "order.paid", "member": member,
		"data": map[string]any{"order_id": "console-test-order", "amount": 8800},
	}, 200, &want)
	var total int64
	found := false
	for _, a := range want.Awards {
		if a.MemberID == want.MemberID && a.Currency == "points" {
			total += a.Points
		}
		found = found || a.RuleID == ruleID
	}
	if !found {
		t.Fatalf("the API's simulation has no award of rule %s: %+v", ruleID, want.Awards)
	}
	if got := consoleText(t, page, `[data-testid=sim-total]`); got != "该订单可得 "+consoleThousands(total)+" 积分" {
		t.Errorf("simulator says %q, want it to earn %d", got, total)
	}
	if got := consoleText(t, page, `[data-testid=sim-result]`); !strings.Contains(got, ruleID) {
		t.Errorf("simulator's awards do not name rule %s:\n%s", ruleID, got)
	}
	page.Screenshot("console-rule-editor")
	return ruleID
}

// consoleRuleRecurrence makes the rule on the editor's page a member day
// (every Wednesday): saved without a weekday, the API's message shows at
// the weekdays; with Wednesday the API has {kind: weekly, weekdays: [3]},
// and the rules list says 每周三.
func consoleRuleRecurrence(t *testing.T, page *browsertest.Page, c consoleClient, ruleID string) {
	t.Helper()
	page.WaitText(ruleID + " · v1")
	page.Click(`[data-testid=rule-rec-kind-weekly]`)
	consoleWaitFor(t, page, `[data-testid=rule-rec-weekday-3]`)
	page.Click(`[data-testid=rule-save]`)
	consoleWaitTextIn(t, page, `.el-form-item.is-error .el-form-item__error`, "name at least one weekday, 1 (Monday) to 7 (Sunday)")
	page.Click(`[data-testid=rule-rec-weekday-3]`)
	consolePoll(t, page, `document.querySelector('[data-testid=rule-rec-weekday-3] input').checked`, "Wednesday to be checked")
	page.Click(`[data-testid=rule-save]`)
	page.WaitText(ruleID + " · v2")
	consoleWaitGone(t, page, `.el-form-item.is-error`)

	var rule struct {
		Name       string
		Recurrence *struct {
			Kind     string
			Weekdays []int
			Days     []int
			Dates    []string
			From, To string
		}
	}
	c.must("GET", "/v1/rules/"+ruleID, nil, 200, &rule)
	if r := rule.Recurrence; r == nil || r.Kind != "weekly" || len(r.Weekdays) != 1 || r.Weekdays[0] != 3 ||
		len(r.Days) != 0 || len(r.Dates) != 0 || r.From != "" || r.To != "" {
		t.Fatalf("rule %s's recurrence as stored: %+v, want {kind: weekly, weekdays: [3]}", ruleID, r)
	}
	page.Screenshot("console-rule-recurrence")

	page.Click(`[data-testid=menu-rules]`)
	consolePoll(t, page, fmt.Sprintf(`[...document.querySelectorAll('[data-testid=rule-table] .el-table__row')].some((r) => r.innerText.includes(%q) && r.innerText.includes('每周三'))`, rule.Name),
		"the rules list to say 每周三")
}

// consoleFlashSale creates a flash-sale reward in the mall's form: the API
// has it with its window, its stock and one per member.
func consoleFlashSale(t *testing.T, page *browsertest.Page, c consoleClient) {
	t.Helper()
	name := fmt.Sprintf("Flash cup %d", time.Now().UnixNano()%1e6)
	page.Click(`[data-testid=menu-rewards]`)
	page.Click(`[data-testid=reward-new]`)
	consoleFill(t, page, `[data-testid=reward-name]`, name)
	consoleFill(t, page, `[data-testid=reward-points-price] input`, "990")
	page.Click(`[data-testid=reward-flash]`)
	consoleFill(t, page, `[data-testid=reward-stock] input`, "20")
	consoleFill(t, page, `[data-testid=reward-starts-at] input`, "2030-06-18 10:00:00")
	consoleFill(t, page, `[data-testid=reward-ends-at] input`, "2030-06-18 12:00:00")
	page.Click(`[data-testid=reward-save]`)
	page.WaitText("已保存")
	consoleWaitDialogs(t, page)
	page.WaitText(name)

	var rewards struct {
		Data []struct {
			Name           string
			PointsPrice    int64  `json:"points_price"`
			Stock          *int64 `json:"stock"`
			PerMemberLimit *int64 `json:"per_member_limit"`
			StartsAt       string `json:"starts_at"`
			EndsAt         string `json:"ends_at"`
		}
	}
	c.must("GET", "/v1/rewards?limit=500", nil, 200, &rewards)
	for _, r := range rewards.Data {
		if r.Name != name {
			continue
		}
		// The window is entered in the programme's zone (Asia/Shanghai).
		if r.PointsPrice != 990 || r.Stock == nil || *r.Stock != 20 || r.PerMemberLimit == nil || *r.PerMemberLimit != 1 ||
			!consoleSameInstant(r.StartsAt, "2030-06-18T02:00:00Z") || !consoleSameInstant(r.EndsAt, "2030-06-18T04:00:00Z") {
			t.Errorf("flash sale as stored: %+v (stock %v, per member %v)", r, r.Stock, r.PerMemberLimit)
		}
		return
	}
	t.Fatalf("GET /v1/rewards has no reward %q", name)
}

// consoleClient calls the API with the admin key.
type consoleClient struct {
	t    *testing.T
	base string
	key  string
}

type consoleResponse struct {
	StatusCode int
	Header     http.Header
	Body       string
}

func (c consoleClient) do(method, path string, body any, _ string, out any) consoleResponse {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if path != "/v1/console/login" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	if out != nil && len(b) > 0 && strings.Contains(res.Header.Get("Content-Type"), "json") {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
	return consoleResponse{StatusCode: res.StatusCode, Header: res.Header, Body: string(b)}
}

func (c consoleClient) must(method, path string, body any, status int, out any) {
	c.t.Helper()
	if res := c.do(method, path, body, "", out); res.StatusCode != status {
		c.t.Fatalf("%s %s: %d %s, want %d", method, path, res.StatusCode, res.Body, status)
	}
}

func (c consoleClient) available(member string) int64 {
	c.t.Helper()
	var b struct {
		Points struct{ Available int64 }
	}
	c.must("GET", "/v1/members/"+member+"/balance", nil, 200, &b)
	return b.Points.Available
}

// consoleFill sets an input's value as typing does: Vue and Element Plus
// read it from the input and change events.
func consoleFill(t *testing.T, page *browsertest.Page, selector, value string) {
	t.Helper()
	consoleWaitFor(t, page, selector)
	js := fmt.Sprintf(`(() => {
		const el = document.querySelector(%q)
		el.focus()
		el.value = %q
		el.dispatchEvent(new Event('input', { bubbles: true }))
		el.dispatchEvent(new Event('change', { bubbles: true }))
		el.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', code: 'Enter', bubbles: true }))
		el.blur()
		return true
	})()`, selector, value)
	consoleEval[bool](t, page, js)
}

func consoleEval[T any](t *testing.T, page *browsertest.Page, js string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(page.Context(), browsertest.Timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// consoleClickOption clicks the option of an open select that says label
// (Element Plus shows options in a popper of its own, that animates in).
func consoleClickOption(t *testing.T, page *browsertest.Page, label string) {
	t.Helper()
	find := fmt.Sprintf(`[...document.querySelectorAll('.el-select-dropdown__item')].find((e) => e.innerText.trim() === %q)`, label)
	consolePoll(t, page, find+` !== undefined`, "the option "+label)
	consoleEval[bool](t, page, `(() => { `+find+`.click(); return true })()`)
}

// consoleWaitDialogs waits until no dialog is open (or closing).
func consoleWaitDialogs(t *testing.T, page *browsertest.Page) {
	t.Helper()
	consolePoll(t, page, `[...document.querySelectorAll('.el-overlay')].every((e) => getComputedStyle(e).display === 'none')`, "the dialogs to close")
}

// consoleWaitFor waits until selector matches an element.
func consoleWaitFor(t *testing.T, page *browsertest.Page, selector string) {
	t.Helper()
	consolePoll(t, page, fmt.Sprintf(`document.querySelector(%q) !== null`, selector), "an element "+selector)
}

func consoleWaitGone(t *testing.T, page *browsertest.Page, selector string) {
	t.Helper()
	consolePoll(t, page, fmt.Sprintf(`document.querySelector(%q) === null`, selector), "no element "+selector)
}

func consoleWaitTextIn(t *testing.T, page *browsertest.Page, selector, want string) {
	t.Helper()
	consolePoll(t, page, fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && e.innerText.trim() === %q })()`, selector, want),
		fmt.Sprintf("%s to say %q", selector, want))
}

// consoleWaitAny waits until the page shows one of texts and returns the
// page's text.
func consoleWaitAny(t *testing.T, page *browsertest.Page, texts ...string) string {
	t.Helper()
	b, _ := json.Marshal(texts)
	consolePoll(t, page, fmt.Sprintf(`%s.some((s) => document.body.innerText.includes(s))`, b), fmt.Sprintf("one of %q", texts))
	return page.Text()
}

func consolePoll(t *testing.T, page *browsertest.Page, cond, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(page.Context(), browsertest.Timeout)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.PollFunction[bool](`() => `+cond,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(browsertest.Timeout)))
	if err != nil {
		t.Fatalf("waiting for %s: %v; the page says:\n%s", what, err, consoleHead(page.Text()))
	}
}

func consoleText(t *testing.T, page *browsertest.Page, selector string) string {
	t.Helper()
	consoleWaitFor(t, page, selector)
	return consoleEval[string](t, page, fmt.Sprintf(`document.querySelector(%q).innerText.trim()`, selector))
}

// consoleCheck is page.CheckConsole that lets through the browser's log of
// the API answers a step expects (a wrong password's 401, say): each
// allowance is a path and a status.
func consoleCheck(t *testing.T, page *browsertest.Page, allowed ...map[string]int) {
	t.Helper()
	for _, m := range page.Problems() {
		if m.Source == "network" && consoleAllowed(m.URL, m.Text, allowed) {
			continue
		}
		t.Errorf("console %s (%s:%d): %s", m.Type, m.URL, m.Line+1, m.Text)
	}
}

func consoleAllowed(raw, text string, allowed []map[string]int) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	for _, a := range allowed {
		if status, ok := a[u.Path]; ok && strings.Contains(text, fmt.Sprintf("status of %d", status)) {
			return true
		}
	}
	return false
}

// consoleThousands formats n as the console does: 1234567 → 1,234,567.
func consoleThousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func consoleSameInstant(a, b string) bool {
	ta, err1 := time.Parse(time.RFC3339, a)
	tb, err2 := time.Parse(time.RFC3339, b)
	return err1 == nil && err2 == nil && ta.Equal(tb)
}

func consoleHead(s string) string {
	if len(s) > 400 {
		return s[:400] + "…"
	}
	return s
}
