package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/jifen/jifen/internal/browsertest"
)

// TestConsoleAudit: what an API key did shows in the console's audit log,
// filtered by action, with the member it touched by ID and the summary's
// personal values redacted; the operator's own login is there too.
func TestConsoleAudit(t *testing.T) {
	page := browsertest.New(t)
	key := "console-audit-admin-key-0123456789"
	base, _ := startServe(t, map[string]string{"JIFEN_DB": "sqlite:" + filepath.Join(t.TempDir(), "j.db"), "JIFEN_ADMIN_KEY": key})
	c := consoleClient{t: t, base: base, key: key}
	const email, password = "audit@jifen.test", "the-right-password-42"
	c.must("POST", "/v1/operators", map[string]any{"email": email, "role": "admin", "password": password}, 201, nil)
	var m struct{ ID string }
	c.must("POST", "/v1/members", map[string]any{"name": "李雷", "phone": "13700137000"}, 201, &m)
	c.must("POST", "/v1/members/phone:13700137000/points/earn", map[string]any{"points": 88, "reason": "开业礼"}, 201, nil)
	consoleUILogin(t, page, base, email, password)

	page.Navigate(base + "/console/audit")
	page.WaitText("console.login")
	consoleFill(t, page, `[data-testid=audit-action]`, "points.earn")
	page.Click(`[data-testid=audit-search]`)
	consolePoll(t, page, `(() => { const e = document.querySelector('[data-testid=audit-table] .el-table__body'); return !!e && e.innerText.includes('points.earn') && !e.innerText.includes('console.login') })()`,
		"the log filtered to points.earn")
	table := consoleText(t, page, `[data-testid=audit-table] .el-table__body`)
	if !strings.Contains(table, m.ID) || !strings.Contains(table, "/v1/members/{member}/points/earn") {
		t.Fatalf("the earn's row does not name the member %s and the route:\n%s", m.ID, table)
	}
	consoleWaitGone(t, page, `.el-loading-mask`) // it fades out over the rows, taking clicks
	waitStill(t, page)
	page.Click(`[data-testid=audit-table] .el-table__expand-icon`)
	summary := consoleText(t, page, `[data-testid=audit-summary]`)
	if !strings.Contains(summary, `"points": 88`) || strings.Contains(page.Text(), "13700137000") {
		t.Fatalf("the summary shown: %s", summary)
	}
	waitStill(t, page)
	page.Screenshot("console-audit")

	// The member's page exports its data (the session's cookie fetches the
	// attachment) and opens the log filtered to it.
	page.Navigate(base + "/console/members/" + m.ID)
	consoleWaitFor(t, page, `[data-testid=export]`)
	got := consoleEval[string](t, page, `fetch(document.querySelector('[data-testid=export]').href).then((r) => r.json()).then((x) => x.member.id + ' ' + x.balances.points.available)`)
	if got != m.ID+" 88" {
		t.Fatalf("the export link gave %q", got)
	}
	page.Click(`[data-testid=member-audit]`)
	consolePoll(t, page, `(() => { const e = document.querySelector('[data-testid=audit-table] .el-table__body'); return !!e && e.innerText.includes('members.export') })()`,
		"the member's log with its export")

	// Erase, typing the member's ID to confirm: the profile goes, the
	// points are forfeited, and the erase is in the log.
	page.Navigate(base + "/console/members/" + m.ID)
	consoleWaitFor(t, page, `[data-testid=erase-open]`)
	consoleWaitGone(t, page, `.el-loading-mask`)
	waitStill(t, page)
	page.Click(`[data-testid=erase-open]`)
	consoleFill(t, page, `[data-testid=confirm-phrase]`, m.ID)
	page.Click(`[data-testid=confirm-ok]`)
	var after struct {
		Status string
		Name   *string
	}
	page.WaitText("个人信息已清除")
	consolePoll(t, page, `[...document.querySelectorAll('.page-head')].some((e) => e.innerText.includes('已删除') && !e.innerText.includes('13700137000'))`,
		"the member shown erased")
	c.must("GET", "/v1/members/"+m.ID, nil, 200, &after)
	if after.Status != "erased" || after.Name != nil {
		t.Fatalf("after the console's erase: %+v", after)
	}
	var bal struct {
		Points struct{ Available int64 } `json:"points"`
	}
	c.must("GET", "/v1/members/"+m.ID+"/balance", nil, 200, &bal)
	var log struct{ Data []struct{ Action string } }
	c.must("GET", "/v1/audit?target_id="+m.ID+"&action=members.erase", nil, 200, &log)
	if bal.Points.Available != 0 || len(log.Data) != 1 {
		t.Fatalf("after the erase: balance %+v, audit %+v", bal, log.Data)
	}
	consoleCheck(t, page)
}
