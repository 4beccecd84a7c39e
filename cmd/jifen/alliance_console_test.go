package main

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/browsertest"
)

// TestConsoleMerge merges one member into another on the member 360 page:
// the source is named by one of its identities (kind:value), the preview
// shows what the API says it holds, and after the merge the API has the
// source merged into the target, with its points, identity and tag moved;
// the source's page links to the target.
func TestConsoleMerge(t *testing.T) {
	page := browsertest.New(t) // first: skips before a server starts
	demo := startDemo(t)
	c := consoleClient{t: t, base: demo.Base, key: demo.AdminKey}

	n := time.Now().UnixNano() % 1e8
	type member struct {
		ID   string `json:"id"`
		Tags []string
	}
	var target, source member
	c.must("POST", "/v1/members", map[string]any{"external_id": fmt.Sprintf("merge-target-%d", n), "phone": fmt.Sprintf("199%08d", n), "name": "Merge Target"}, 201, &target)
	c.must("POST", "/v1/members", map[string]any{"external_id": fmt.Sprintf("merge-source-%d", n), "phone": fmt.Sprintf("198%08d", n), "name": "Merge Source"}, 201, &source)
	c.must("POST", "/v1/members/"+target.ID+"/points/earn", map[string]any{"points": 300, "reason": "merge test: target"}, 201, nil)
	c.must("POST", "/v1/members/"+source.ID+"/points/earn", map[string]any{"points": 500, "reason": "merge test: source"}, 201, nil)
	card := fmt.Sprintf("CARD-%d", n)
	c.must("POST", "/v1/members/"+source.ID+"/identities", map[string]any{"kind": "card", "value": card}, 201, nil)
	c.must("POST", "/v1/members/"+source.ID+"/tags", map[string]any{"tags": []string{"merge-vip"}}, 200, nil)

	// What the preview should count, as the API has it.
	var ids struct {
		Data []struct{ Kind, Value string }
	}
	c.must("GET", "/v1/members/"+source.ID+"/identities", nil, 200, &ids)
	var lots struct{ Data []struct{ Status string } }
	c.must("GET", "/v1/members/"+source.ID+"/lots?limit=500", nil, 200, &lots)
	live := 0
	for _, l := range lots.Data {
		if l.Status == "available" || l.Status == "pending" {
			live++
		}
	}

	consoleUILogin(t, page, demo.Base, demo.Email, demo.Password)
	page.Navigate(demo.Base + "/console/members/" + target.ID)
	page.WaitText("积分流水")
	consoleWaitTextIn(t, page, `[data-testid=balance-available]`, "300")
	page.WaitText("身份标识")

	page.Click(`[data-testid=merge-open]`)
	consoleFill(t, page, `[data-testid=merge-source]`, "card:"+card)
	page.Click(`[data-testid=merge-preview]`)
	consoleWaitFor(t, page, `[data-testid=merge-preview-box]`)
	for sel, want := range map[string]string{
		"merge-source-id":         source.ID,
		"merge-balance-points":    "500",
		"merge-count-lots":        strconv.Itoa(live),
		"merge-count-identities":  strconv.Itoa(len(ids.Data)),
		"merge-count-tags":        "1",
		"merge-count-holds":       "0",
		"merge-count-coupons":     "0",
		"merge-count-redemptions": "0",
	} {
		if got := consoleText(t, page, `[data-testid=`+sel+`]`); got != want {
			t.Errorf("merge preview %s shows %q, want %q", sel, got, want)
		}
	}
	waitStill(t, page)
	page.Screenshot("console-merge-preview")

	consoleFill(t, page, `[data-testid=merge-reason]`, "console test: duplicate account")
	page.Click(`[data-testid=merge-confirm]`)
	consoleWaitFor(t, page, `[data-testid=merge-result]`)
	if got := consoleText(t, page, `[data-testid=merge-moved-lots]`); got != strconv.Itoa(live) {
		t.Errorf("merge result says %s lots moved, want %d", got, live)
	}
	waitStill(t, page)
	page.Screenshot("console-merge-result")
	page.Click(`[data-testid=merge-close]`)
	consoleWaitDialogs(t, page)

	// The API: the source is merged into the target, which has its points,
	// its card and its tag; the card names the target now.
	var src struct {
		Status     string
		MergedInto string `json:"merged_into"`
	}
	c.must("GET", "/v1/members/"+source.ID, nil, 200, &src)
	if src.Status != "merged" || src.MergedInto != target.ID {
		t.Fatalf("source after the merge: status %q merged_into %q, want merged into %s", src.Status, src.MergedInto, target.ID)
	}
	if got := c.available(target.ID); got != 800 {
		t.Errorf("target's available after the merge: %d, want 800", got)
	}
	var byCard, tgt member
	c.must("GET", "/v1/members/"+url.PathEscape("card:"+card), nil, 200, &byCard)
	if byCard.ID != target.ID {
		t.Errorf("card:%s names %s after the merge, want %s", card, byCard.ID, target.ID)
	}
	c.must("GET", "/v1/members/"+target.ID, nil, 200, &tgt)
	if !strings.Contains(strings.Join(tgt.Tags, ","), "merge-vip") {
		t.Errorf("target's tags after the merge: %v, want merge-vip among them", tgt.Tags)
	}

	// The page: the moved points, card and tag show on the target.
	consoleWaitTextIn(t, page, `[data-testid=balance-available]`, "800")
	consoleWaitFor(t, page, `[data-testid="tag-merge-vip"]`)
	consolePoll(t, page, fmt.Sprintf(`document.querySelector('[data-testid=identity-table]').innerText.includes(%q)`, card), "the card among the target's identities")

	// The source's page says where it went, and links there.
	page.Navigate(demo.Base + "/console/members/" + source.ID)
	consoleWaitFor(t, page, `[data-testid=merged-into-link]`)
	consoleWaitFor(t, page, `[data-testid=merged-into]`)
	if consoleEval[bool](t, page, `document.querySelector('[data-testid=merge-open]') !== null`) {
		t.Errorf("a merged member's page offers to merge into it")
	}
	page.Click(`[data-testid=merged-into-link]`)
	consolePoll(t, page, fmt.Sprintf(`location.pathname === %q`, "/console/members/"+target.ID), "the link to the target")
	page.WaitText("Merge Target")
	consoleCheck(t, page)
}

// TestConsoleStatementClose makes a settlement statement in the console,
// closes it, and checks that the page shows what the API has: every line
// with its net, the pairs, and CSV links for both that the session
// fetches.
func TestConsoleStatementClose(t *testing.T) {
	page := browsertest.New(t)
	demo := startDemo(t)
	c := consoleClient{t: t, base: demo.Base, key: demo.AdminKey}

	// The demo leaves this month's draft open; one draft per currency, so
	// it goes first (its figures are recomputed on every read, nothing is
	// lost).
	var drafts struct {
		Data []struct{ ID, Status string }
	}
	c.must("GET", "/v1/statements?limit=500", nil, 200, &drafts)
	for _, st := range drafts.Data {
		if st.Status == "draft" {
			c.must("DELETE", "/v1/statements/"+st.ID, nil, 204, nil)
		}
	}

	consoleUILogin(t, page, demo.Base, demo.Email, demo.Password)
	page.Click(`[data-testid=menu-statements]`)
	page.Click(`[data-testid=statement-new]`)
	consoleWaitFor(t, page, `[data-testid=statement-to] input`)
	page.Click(`[data-testid=statement-create]`)
	page.WaitText("草稿已生成")
	consolePoll(t, page, `location.pathname.startsWith('/console/statements/stm_')`, "the new statement's page")
	id := strings.TrimPrefix(consoleEval[string](t, page, `location.pathname`), "/console/statements/")
	consoleWaitTextIn(t, page, `[data-testid=statement-status]`, "草稿")

	page.Click(`[data-testid=statement-close]`)
	page.Click(`[data-testid=confirm-ok]`)
	page.WaitText("结算单已关闭")
	consoleWaitDialogs(t, page)
	consoleWaitTextIn(t, page, `[data-testid=statement-status]`, "已关闭")

	type line struct {
		MerchantID *string `json:"merchant_id"`
		NetFen     int64   `json:"net_fen"`
	}
	var st struct {
		Status   string
		ClosedAt string `json:"closed_at"`
		Lines    []line
		Pairs    []struct{ Kind string }
	}
	c.must("GET", "/v1/statements/"+id, nil, 200, &st)
	if st.Status != "closed" || st.ClosedAt == "" {
		t.Fatalf("statement %s after closing: status %q closed_at %q", id, st.Status, st.ClosedAt)
	}
	rows := func(table string) int {
		return consoleEval[int](t, page, `document.querySelectorAll('[data-testid=`+table+`] .el-table__body tr').length`)
	}
	if got := rows("statement-lines"); got != len(st.Lines) {
		t.Errorf("the page shows %d lines, the API %d", got, len(st.Lines))
	}
	if got := rows("statement-pairs"); got != len(st.Pairs) {
		t.Errorf("the page shows %d pairs, the API %d", got, len(st.Pairs))
	}
	var sum int64
	for _, l := range st.Lines {
		sum += l.NetFen
		who := "program"
		if l.MerchantID != nil {
			who = *l.MerchantID
		}
		if got := consoleText(t, page, `[data-testid="net-`+who+`"]`); got != consoleMoney(l.NetFen) {
			t.Errorf("net of %s shows %q, want %q", who, got, consoleMoney(l.NetFen))
		}
	}
	if sum != 0 {
		t.Errorf("the nets of statement %s sum to %d, want 0", id, sum)
	}
	if consoleEval[bool](t, page, `document.querySelector('[data-testid=statement-close]') !== null`) {
		t.Errorf("a closed statement still offers to close")
	}
	waitStill(t, page)
	page.Screenshot("console-statement")

	for sel, part := range map[string]string{"csv-lines": "", "csv-pairs": "pairs"} {
		href := consoleEval[string](t, page, `document.querySelector('[data-testid=`+sel+`]').href`)
		u, err := url.Parse(href)
		if err != nil || u.Path != "/v1/statements/"+id || u.Query().Get("format") != "csv" || u.Query().Get("part") != part {
			t.Fatalf("CSV link %s: %q", sel, href)
		}
		if res := c.do("GET", u.RequestURI(), nil, "", nil); res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
			t.Errorf("GET %s: %d %s", href, res.StatusCode, res.Header.Get("Content-Type"))
		}
		status := consoleEval[int](t, page, `fetch(`+strconv.Quote(href)+`).then(r => r.status)`)
		if status != 200 {
			t.Errorf("the browser's GET %s: %d", href, status)
		}
	}

	// The list has it, closed.
	page.Click(`[data-testid=menu-statements]`)
	consoleWaitFor(t, page, `[data-testid="statement-link-`+id+`"]`)
	consoleCheck(t, page)
}

// consoleMoney formats fen as the console does: -123456 → -¥1,234.56.
func consoleMoney(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s¥%s.%02d", sign, consoleThousands(fen/100), fen%100)
}
