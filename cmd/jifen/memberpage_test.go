package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/jifen/jifen/internal/browsertest"
)

// TestMemberPage opens the member page (/m/) of a real jifen serve on a
// phone-sized screen with a member token, as a merchant's app would, and
// does what a member does there: checks in, redeems a reward and spins
// the lottery wheel. After each step the API must agree with the page.
func TestMemberPage(t *testing.T) {
	page := browsertest.New(t) // first: skips before a server starts
	demo := startDemo(t)
	api := memberPageAPI{t: t, base: demo.Base, key: demo.AdminKey}

	// A new member with 500 points, a cheap reward and a lottery of its
	// own, so nothing the demo did (today's check-ins, limits) is in the way.
	var program struct{ Timezone string }
	api.call("GET", "/v1/program", nil, &program)
	var m struct {
		ID           string
		ReferralCode string `json:"referral_code"`
	}
	api.call("POST", "/v1/members", map[string]any{"name": "页面测试 Page Test"}, &m)
	api.call("POST", "/v1/members/"+m.ID+"/points/earn", map[string]any{"points": 500, "reason": "member page test"}, nil)
	var reward struct{ ID string }
	api.call("POST", "/v1/rewards", map[string]any{
		"name": "Member page sticker", "type": "virtual", "points_price": 120, "stock": 5, "per_member_limit": 1,
	}, &reward)
	var lottery struct{ ID string }
	api.call("POST", "/v1/lotteries", map[string]any{
		"name": "Member page wheel", "cost_points": 10,
		"prizes": []map[string]any{
			{"name": "Thirty points", "weight": 1, "reward": map[string]any{"points": 30}},
			{"name": "Five points", "weight": 1, "reward": map[string]any{"points": 5}},
		},
		"fallback_prize": "Better luck next time",
	}, &lottery)
	var token struct{ Token string }
	api.call("POST", "/v1/members/"+m.ID+"/tokens", map[string]any{"ttl_seconds": 900}, &token)

	memberPageDo(t, page, chromedp.EmulateViewport(375, 812, chromedp.EmulateScale(2)))
	page.Navigate(demo.Base + "/m/?lottery=" + url.QueryEscape(lottery.ID) + "#token=" + token.Token)
	page.WaitText("签到领积分")
	memberPageWaitTestID(t, page, "balance", "500")
	if href := memberPageEval[string](t, page, `location.href`); strings.Contains(href, "jmt_") {
		t.Errorf("the token is still in the address: %s", href)
	}
	page.Screenshot("member-home")

	// Check in: the page shows the points and the streak; the API has
	// today's check-in and the balance rose by its points.
	page.Click(`[data-testid="checkin-button"]`)
	page.WaitText("签到成功")
	var checkins struct {
		Data []struct {
			Date   string
			Streak int64
			Points int64
		}
	}
	api.call("GET", "/v1/members/"+m.ID+"/checkins", nil, &checkins)
	loc, err := time.LoadLocation(program.Timezone)
	if err != nil {
		t.Fatal(err)
	}
	if today := time.Now().In(loc).Format(time.DateOnly); len(checkins.Data) == 0 || checkins.Data[0].Date != today {
		t.Fatalf("check-ins after the page's: %+v, want one on %s", checkins.Data, today)
	}
	ci := checkins.Data[0]
	shown := memberPageTestID(t, page, "checkin-result")
	if !strings.Contains(shown, "+"+memberPagePoints(ci.Points)+" ") || !strings.Contains(shown, strconv.FormatInt(ci.Streak, 10)+" 天") {
		t.Errorf("the page says %q after checking in; the API has %+v", shown, ci)
	}
	memberPageWaitTestID(t, page, "streak", "已连续签到 "+strconv.FormatInt(ci.Streak, 10)+" 天")
	balance := int64(500) + ci.Points
	if got := api.available(m.ID); got != balance {
		t.Errorf("balance after check-in %d, want 500 + %d", got, ci.Points)
	}
	memberPageWaitTestID(t, page, "balance", memberPagePoints(balance))
	page.Screenshot("member-checked-in")

	// Redeem the reward: the page confirms, then shows the redemption the
	// API recorded, and the balance fell by its price.
	page.Click(`[data-testid="tab-mall"]`)
	card := fmt.Sprintf(`[data-reward-id=%q]`, reward.ID)
	page.WaitText("Member page sticker")
	page.Click(card + ` [data-testid="redeem-button"]`)
	memberPageSettled(t, page) // the sheet slides up; a click during that misses
	page.Click(`[data-testid="redeem-confirm"]`)
	page.WaitText("兑换成功")
	var redemptions struct {
		Data []struct {
			ID       string
			RewardID string `json:"reward_id"`
			Points   int64
			Status   string
		}
	}
	api.call("GET", "/v1/redemptions?member="+m.ID, nil, &redemptions)
	if len(redemptions.Data) != 1 || redemptions.Data[0].RewardID != reward.ID || redemptions.Data[0].Points != 120 {
		t.Fatalf("redemptions of the member: %+v, want one of %s for 120 points", redemptions.Data, reward.ID)
	}
	if shown := memberPageTestID(t, page, "redemption-id"); !strings.Contains(shown, redemptions.Data[0].ID) {
		t.Errorf("the page shows redemption %q, the API has %s", shown, redemptions.Data[0].ID)
	}
	balance -= 120
	if got := api.available(m.ID); got != balance {
		t.Errorf("balance after redeeming %d, want %d", got, balance)
	}
	memberPageWaitTestID(t, page, "mall-balance", memberPagePoints(balance))
	memberPageSettled(t, page)
	page.Screenshot("member-redeemed")
	page.Click(`[data-testid="redeem-done"]`)
	memberPageSettled(t, page)

	// Spin the wheel: it stops on the prize the API drew, and the page
	// names that prize.
	page.Click(`[data-testid="tab-home"]`)
	page.Click(`[data-testid="entry-lottery"]`)
	page.WaitText("Member page wheel")
	page.Click(`[data-testid="draw-button"]`)
	memberPageDo(t, page, chromedp.WaitVisible(`[data-testid="draw-result-prize"]`))
	var draws struct {
		Data []struct {
			MemberID string `json:"member_id"`
			Prize    struct {
				Index  int64
				Name   string
				Reward struct{ Points int64 }
			}
		}
	}
	api.call("GET", "/v1/lotteries/"+lottery.ID+"/draws?member="+m.ID, nil, &draws)
	if len(draws.Data) != 1 || draws.Data[0].MemberID != m.ID {
		t.Fatalf("draws of the lottery: %+v, want the member's one", draws.Data)
	}
	prize := draws.Data[0].Prize
	if shown := memberPageTestID(t, page, "draw-result-prize"); shown != prize.Name {
		t.Errorf("the page shows prize %q, the API drew %q", shown, prize.Name)
	}
	// The wheel has three segments, the two prizes and then the fallback
	// (index -1); it stopped with the drawn one's middle under the pointer.
	seg := prize.Index
	if seg < 0 {
		seg = 2
	}
	rotation := memberPageEval[float64](t, page, `Number(document.querySelector('[data-testid="wheel"]').dataset.rotation)`)
	if got, want := math.Mod(rotation, 360), math.Mod(360-(float64(seg)+0.5)*120, 360); math.Abs(got-want) > 0.01 {
		t.Errorf("the wheel stopped at %.2f° (mod 360), want %.2f° for prize %d %q", got, want, prize.Index, prize.Name)
	}
	balance += prize.Reward.Points - 10
	if got := api.available(m.ID); got != balance {
		t.Errorf("balance after the draw %d, want %d", got, balance)
	}
	memberPageWaitTestID(t, page, "lottery-balance", memberPagePoints(balance))
	memberPageSettled(t, page)
	page.Screenshot("member-lottery")
	page.Click(`[data-testid="draw-result-ok"]`)
	memberPageSettled(t, page)

	// Me: the invite code, the history, and the page in English.
	page.Click(`[data-testid="tab-me"]`)
	memberPageWaitTestID(t, page, "invite-code", m.ReferralCode)
	page.WaitText("member page test") // the earn's reason in the history
	page.Screenshot("member-me")
	memberPageProfile(t, page, api, m.ID)
	// The profile's "saved" toast gone and the radio scrolled to the
	// middle first: at the bottom of a long Me page the fixed tab bar, and
	// in the middle the toast, would take a click meant for it.
	consolePoll(t, page, `[...document.querySelectorAll('.van-toast')].every((e) => getComputedStyle(e).display === 'none')`, "the toast to go")
	memberPageEval[bool](t, page, `(document.querySelector('[data-testid="lang-en"]').scrollIntoView({block: 'center'}), true)`)
	memberPageSettled(t, page)
	page.Click(`[data-testid="lang-en"] .van-radio__icon`)
	page.WaitText("Points history")
	page.Click(`[data-testid="tab-home"]`)
	page.WaitText("Checked in today")
	page.CheckConsole()

	// A token the server does not accept: the page asks the member to open
	// it again from the app (the 401 itself is in the console, as it
	// should be, so this comes after the console check).
	page.Navigate(demo.Base + "/m/#token=jmt_not-a-token")
	memberPageDo(t, page, chromedp.WaitVisible(`[data-testid="session-ended"]`))
	page.WaitText("open this page again")
}

// memberPageProfile edits the member's name and birthday on the Me
// screen: the API has them, and the screen shows them.
func memberPageProfile(t *testing.T, page *browsertest.Page, api memberPageAPI, member string) {
	t.Helper()
	const name = "改过的名字 Edited"
	page.Click(`[data-testid="profile-edit"]`)
	memberPageSettled(t, page)
	memberPageFill(t, page, `[data-testid="profile-name"] input`, name)
	// The birthday picker opens on 1990-01-01 (the member has none); pick
	// 1992-01-15 by tapping the year and the day.
	page.Click(`[data-testid="profile-birthday"]`)
	memberPageSettled(t, page)
	memberPagePick(t, page, 0, "1992")
	memberPagePick(t, page, 2, "15")
	page.Click(`[data-testid="birthday-picker"] .van-picker__confirm`)
	memberPageSettled(t, page)
	if got := memberPageEval[string](t, page, `document.querySelector('[data-testid="profile-birthday"] input').value`); got != "1992/01/15" {
		t.Fatalf("the birthday field says %q after picking 1992-01-15", got)
	}
	page.Click(`[data-testid="profile-save"]`)
	page.WaitText("已保存")
	memberPageWaitTestID(t, page, "profile-show-name", name)
	memberPageWaitTestID(t, page, "profile-show-birthday", "1992/01/15")
	memberPageWaitTestID(t, page, "member-name", name)
	memberPageSettled(t, page)

	var got struct{ Name, Birthday string }
	api.call("GET", "/v1/members/"+member, nil, &got)
	if got.Name != name || got.Birthday != "1992-01-15" {
		t.Errorf("the member after editing the profile: name %q birthday %q, want %q 1992-01-15", got.Name, got.Birthday, name)
	}
	page.Screenshot("member-profile")
}

// memberPageFill sets an input's value as typing does (Vue's v-model
// reads the input event).
func memberPageFill(t *testing.T, page *browsertest.Page, selector, value string) {
	t.Helper()
	memberPageDo(t, page, chromedp.WaitVisible(selector))
	memberPageEval[bool](t, page, fmt.Sprintf(`(() => {
		const el = document.querySelector(%q)
		el.value = %q
		el.dispatchEvent(new Event('input', { bubbles: true }))
		el.dispatchEvent(new Event('change', { bubbles: true }))
		return true
	})()`, selector, value))
}

// memberPagePick taps the option that says text in column col of the open
// date picker, and waits until the column has stopped on it.
func memberPagePick(t *testing.T, page *browsertest.Page, col int, text string) {
	t.Helper()
	find := fmt.Sprintf(`[...document.querySelectorAll('[data-testid="birthday-picker"] .van-picker-column')[%d].querySelectorAll('.van-picker-column__item')].find((e) => e.innerText.trim() === %q)`, col, text)
	memberPageEval[bool](t, page, `(() => { `+find+`.click(); return true })()`)
	ctx, cancel := context.WithTimeout(page.Context(), browsertest.Timeout)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.PollFunction[bool](`() => `+find+`.classList.contains('van-picker-column__item--selected')`,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(browsertest.Timeout)))
	if err != nil {
		t.Fatalf("picking %s in column %d: %v", text, col, err)
	}
}

// memberPageAPI calls the API with the demo's admin key.
type memberPageAPI struct {
	t         *testing.T
	base, key string
}

// call sends body (if any) as JSON and decodes a 2xx answer into out.
func (a memberPageAPI) call(method, path string, body, out any) {
	a.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+a.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if method == "POST" {
		req.Header.Set("Idempotency-Key", fmt.Sprintf("member-page-%d", time.Now().UnixNano()))
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	var raw json.RawMessage
	if err := json.NewDecoder(res.Body).Decode(&raw); err != nil {
		a.t.Fatalf("%s %s: %d, undecodable body: %v", method, path, res.StatusCode, err)
	}
	if res.StatusCode/100 != 2 {
		a.t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			a.t.Fatalf("%s %s: %v in %s", method, path, err, raw)
		}
	}
}

func (a memberPageAPI) available(member string) int64 {
	a.t.Helper()
	var b struct{ Points struct{ Available int64 } }
	a.call("GET", "/v1/members/"+member+"/balance", nil, &b)
	return b.Points.Available
}

// memberPageDo runs chromedp actions on the page's tab within
// browsertest.Timeout.
func memberPageDo(t *testing.T, page *browsertest.Page, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(page.Context(), browsertest.Timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

func memberPageEval[T any](t *testing.T, page *browsertest.Page, js string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(page.Context(), browsertest.Timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// memberPageTestID is the visible text of the element data-testid=id.
func memberPageTestID(t *testing.T, page *browsertest.Page, id string) string {
	t.Helper()
	return strings.TrimSpace(memberPageEval[string](t, page,
		fmt.Sprintf(`(document.querySelector('[data-testid=%q]') || {innerText: ''}).innerText`, id)))
}

// memberPageWaitTestID waits until the element data-testid=id says want
// (the page refreshes what it shows after each call).
func memberPageWaitTestID(t *testing.T, page *browsertest.Page, id, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(page.Context(), browsertest.Timeout)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.PollFunction[bool](
		`(id, want) => { const e = document.querySelector('[data-testid="' + id + '"]'); return e !== null && e.innerText.trim() === want }`,
		chromedp.WithPollingArgs(id, want), chromedp.WithPollingInterval(50*time.Millisecond),
		chromedp.WithPollingTimeout(browsertest.Timeout)))
	if err != nil {
		t.Fatalf("waiting for %s to say %q: %v; it says %q", id, want, err, memberPageTestID(t, page, id))
	}
}

// memberPageSettled waits until no Vue transition runs (Vant's popups
// slide and fade in and out).
func memberPageSettled(t *testing.T, page *browsertest.Page) {
	t.Helper()
	ctx, cancel := context.WithTimeout(page.Context(), browsertest.Timeout)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.PollFunction[bool](
		`() => document.querySelector('[class*="-enter-active"], [class*="-leave-active"]') === null`,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(browsertest.Timeout)))
	if err != nil {
		t.Fatalf("waiting for the page's transitions to end: %v", err)
	}
}

// memberPagePoints writes n as the page does in zh-CN: 1,234.
func memberPagePoints(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
