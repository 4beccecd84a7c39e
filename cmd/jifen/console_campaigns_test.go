package main

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/jifen/jifen/internal/browsertest"
)

// TestConsoleCampaigns: an admin creates a campaign in the console (once,
// 100 points each, a tenth in control), activates it from the list, and —
// after the job runs — reads its report (treated against control, uplift,
// budget) and its treated members on the campaign's page.
func TestConsoleCampaigns(t *testing.T) {
	page := browsertest.New(t)
	key := "console-campaigns-admin-key-0123456789"
	base, _ := startServe(t, map[string]string{"JIFEN_DB": "sqlite:" + filepath.Join(t.TempDir(), "j.db"), "JIFEN_ADMIN_KEY": key})
	c := consoleClient{t: t, base: base, key: key}
	const email, password = "campaigns@jifen.test", "the-right-password-42"
	c.must("POST", "/v1/operators", map[string]any{"email": email, "role": "admin", "password": password}, 201, nil)
	for i := range 5 {
		c.must("POST", "/v1/members", map[string]any{"external_id": fmt.Sprint("c", i)}, 201, nil)
	}
	consoleUILogin(t, page, base, email, password)

	page.Navigate(base + "/console/campaigns")
	page.Click(`[data-testid=campaign-new]`)
	consoleFill(t, page, `[data-testid=campaign-name]`, "winback")
	waitStill(t, page)
	page.Screenshot("console-campaign-form")
	page.Click(`[data-testid=campaign-save]`)
	consolePoll(t, page, `!!document.querySelector('[data-testid=campaign-activate-winback]')`, "the new campaign in the list")
	waitStill(t, page)
	page.Click(`[data-testid=campaign-activate-winback]`)
	consolePoll(t, page, `!!document.querySelector('[data-testid=campaign-pause-winback]')`, "the campaign active")

	var list struct {
		Data []struct {
			ID, Status string
			Actions    []struct {
				Kind   string
				Points int64
			}
		}
	}
	c.must("GET", "/v1/campaigns", nil, 200, &list)
	if len(list.Data) != 1 || list.Data[0].Status != "active" || len(list.Data[0].Actions) != 1 || list.Data[0].Actions[0].Points != 100 {
		t.Fatalf("campaigns after the form: %+v", list.Data)
	}
	id := list.Data[0].ID
	var run struct{ Treated, Control int64 }
	c.must("POST", "/v1/jobs/campaigns", map[string]any{}, 200, &run)

	page.Navigate(base + "/console/campaigns/" + id)
	page.WaitText("实验组转化率")
	consolePoll(t, page, `(document.querySelector('[data-testid=campaign-members-treated]')?.innerText || '').includes('once') || `+
		fmt.Sprint(run.Treated)+` === 0`, "the treated members")
	waitStill(t, page)
	page.Screenshot("console-campaign")
	consoleCheck(t, page)
}
