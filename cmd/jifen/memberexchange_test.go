package main

import (
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/jifen/jifen/internal/browsertest"
)

// TestMemberPageExchange exchanges points for the demo's tea coins on the
// member page: it shows floor(points × rate) before the member confirms,
// and the API then has the exchange and both balances moved by it.
func TestMemberPageExchange(t *testing.T) {
	page := browsertest.New(t) // first: skips before a server starts
	demo := startDemo(t)
	api := memberPageAPI{t: t, base: demo.Base, key: demo.AdminKey}

	api.call("PUT", "/v1/exchange-rates/points/coins", map[string]any{"rate": "0.333333", "daily_limit": 5000}, nil)
	var m struct{ ID string }
	api.call("POST", "/v1/members", map[string]any{"name": "Exchange Test"}, &m)
	api.call("POST", "/v1/members/"+m.ID+"/points/earn", map[string]any{"points": 1000, "reason": "exchange test"}, nil)
	var token struct{ Token string }
	api.call("POST", "/v1/members/"+m.ID+"/tokens", map[string]any{"ttl_seconds": 900}, &token)

	memberPageDo(t, page, chromedp.EmulateViewport(375, 812, chromedp.EmulateScale(2)))
	page.Navigate(demo.Base + "/m/#token=" + token.Token)
	page.WaitText("签到领积分")
	page.Click(`[data-testid="entry-exchange"]`)
	page.WaitText("Tea coins")
	memberPageWaitTestID(t, page, "exchange-have", memberPagePoints(1000))
	// 700 × 0.333333 = 233.3331: the member gets 233.
	memberPageFill(t, page, `[data-testid="exchange-points"] input`, "700")
	memberPageWaitTestID(t, page, "exchange-gets", "233")
	page.Click(`[data-testid="exchange-submit"]`)
	page.Click(`.van-dialog__confirm`)
	page.WaitText("已用 700 积分 兑换 233 茶币 Tea coins")
	waitStill(t, page)
	page.Screenshot("member-exchange")

	var xs struct {
		Data []struct {
			From, To         string
			Points, Received int64
		}
	}
	api.call("GET", "/v1/members/"+m.ID+"/exchanges", nil, &xs)
	if len(xs.Data) != 1 || xs.Data[0].From != "points" || xs.Data[0].To != "coins" || xs.Data[0].Points != 700 || xs.Data[0].Received != 233 {
		t.Fatalf("exchanges after the page's: %+v, want one of 700 points for 233 coins", xs.Data)
	}
	var bal struct {
		Points struct{ Available int64 }
		Coins  struct{ Available int64 }
	}
	api.call("GET", "/v1/members/"+m.ID+"/balance", nil, &bal)
	if bal.Points.Available != 300 || bal.Coins.Available != 233 {
		t.Errorf("balances after the exchange: points %d coins %d, want 300 and 233", bal.Points.Available, bal.Coins.Available)
	}
	memberPageWaitTestID(t, page, "exchange-have", memberPagePoints(300))
	page.WaitText("+" + strconv.Itoa(233)) // the exchange in the history
	page.CheckConsole()
}
