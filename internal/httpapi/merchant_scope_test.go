package httpapi_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/store/storetest"
)

// The merchant rule of every route (docs/api.md, "Merchant scope"):
//
//   - public: no key.
//   - admin: admin keys only; a merchant key gets 403.
//   - shared: the programme's own things, which every key reads (the
//     programme, tiers, members, catalogues) or changes as any operator
//     may (a member's profile).
//   - acts: a write a merchant key makes as its own merchant; naming
//     another merchant is 403.
//   - own: an object that belongs to a merchant (a transaction, a lot, a
//     hold, a redemption; a rule, reward, coupon template or lottery it
//     made, and their coupons and draws): another merchant's key is
//     answered 404 (or 403 for an edit of a catalogue object it can see)
//     and changes nothing; its lists leave them out.
type scopeRule int

const (
	public scopeRule = iota
	adminOnly
	shared
	acts
	own
)

// scopeFixture is merchant A's objects and merchant B's key.
type scopeFixture struct {
	a, b                   string // merchant IDs
	keyA, keyB             string
	member                 string
	txn, hold, redemption  string
	reward, rule, template string
	coupon, lottery        string
	campaign               string // A's draft campaign
	txnHQ                  string // the programme's (HQ's) own
	exchange               string
	statement              string // a draft over all of the above
	joinLink               string
}

// probe is a request merchant B's key makes against merchant A.
type probe struct {
	method, path string
	body         any
	// absent, for a list: what must not be in B's answer.
	absent string
}

var merchantScope = map[string]struct {
	rule  scopeRule
	probe func(f scopeFixture) probe
}{
	"GET /healthz":      {rule: public},
	"GET /readyz":       {rule: public},
	"GET /metrics":      {rule: public},
	"GET /openapi.json": {rule: public},
	"GET /v1/ping":      {rule: shared},

	"GET /v1/program":             {rule: shared},
	"PATCH /v1/program":           {rule: adminOnly},
	"GET /v1/currencies":          {rule: shared},
	"POST /v1/currencies":         {rule: adminOnly},
	"PATCH /v1/currencies/{code}": {rule: adminOnly},

	"GET /v1/exchange-rates":                {rule: shared},
	"PUT /v1/exchange-rates/{from}/{to}":    {rule: adminOnly},
	"DELETE /v1/exchange-rates/{from}/{to}": {rule: adminOnly},
	"POST /v1/members/{member}/exchanges": {rule: acts, probe: func(f scopeFixture) probe {
		return probe{method: "POST", path: "/v1/members/" + f.member + "/exchanges", body: map[string]any{"from": "points", "to": "stars", "points": 10, "merchant_id": f.a}}
	}},
	"GET /v1/members/{member}/exchanges": {rule: own, probe: func(f scopeFixture) probe {
		return probe{method: "GET", path: "/v1/members/" + f.member + "/exchanges", absent: f.exchange}
	}},
	"GET /v1/api-keys":                         {rule: adminOnly},
	"GET /v1/members/{member}/export":          {rule: adminOnly},
	"GET /v1/audit":                            {rule: adminOnly},
	"GET /v1/audit/{id}":                       {rule: adminOnly},
	"POST /v1/api-keys":                        {rule: adminOnly},
	"PATCH /v1/api-keys/{id}":                  {rule: adminOnly},
	"DELETE /v1/api-keys/{id}":                 {rule: adminOnly},
	"GET /v1/merchants":                        {rule: shared},
	"POST /v1/merchants":                       {rule: adminOnly},
	"GET /v1/merchants/{id}":                   {rule: shared},
	"GET /v1/tiers":                            {rule: shared},
	"PUT /v1/tiers":                            {rule: adminOnly},
	"GET /v1/checkin":                          {rule: shared},
	"PUT /v1/checkin":                          {rule: adminOnly},
	"GET /v1/referral":                         {rule: shared},
	"PUT /v1/referral":                         {rule: adminOnly},
	"GET /v1/tasks":                            {rule: shared},
	"POST /v1/tasks":                           {rule: adminOnly},
	"GET /v1/tasks/{id}":                       {rule: shared},
	"PATCH /v1/tasks/{id}":                     {rule: adminOnly},
	"DELETE /v1/tasks/{id}":                    {rule: adminOnly},
	"GET /v1/books/verify":                     {rule: adminOnly},
	"POST /v1/jobs/expire":                     {rule: adminOnly},
	"POST /v1/jobs/rfm":                        {rule: adminOnly},
	"GET /v1/audience/settings":                {rule: adminOnly},
	"PUT /v1/audience/settings":                {rule: adminOnly},
	"POST /v1/segments":                        {rule: adminOnly},
	"PATCH /v1/segments/{id}":                  {rule: adminOnly},
	"DELETE /v1/segments/{id}":                 {rule: adminOnly},
	"GET /v1/audience/lifecycle":               {rule: shared},
	"GET /v1/audience/rfm":                     {rule: shared},
	"GET /v1/segments":                         {rule: shared},
	"GET /v1/segments/{id}":                    {rule: shared},
	"GET /v1/segments/{id}/size":               {rule: shared},
	"GET /v1/segments/{id}/members":            {rule: shared},
	"POST /v1/segments/preview":                {rule: shared},
	"GET /v1/members/{member}/stats":           {rule: shared},
	"GET /v1/members/{member}/recommendations": {rule: shared},
	"POST /v1/jobs/activate-pending":           {rule: adminOnly},
	"POST /v1/jobs/expire-holds":               {rule: adminOnly},
	"POST /v1/jobs/expire-coupons":             {rule: adminOnly},
	"POST /v1/jobs/tier-review":                {rule: adminOnly},
	"POST /v1/jobs/birthdays":                  {rule: adminOnly},

	"POST /v1/operators":              {rule: adminOnly},
	"GET /v1/operators":               {rule: adminOnly},
	"PATCH /v1/operators/{id}":        {rule: adminOnly},
	"POST /v1/operators/{id}/disable": {rule: adminOnly},
	"POST /v1/operators/{id}/enable":  {rule: adminOnly},
	"POST /v1/console/login":          {rule: public},
	"GET /v1/console/session":         {rule: shared},
	"POST /v1/console/logout":         {rule: shared},

	"GET /v1/reports/summary": {rule: acts, probe: func(f scopeFixture) probe {
		return probe{method: "GET", path: "/v1/reports/summary?merchant_id=" + f.a}
	}},
	"GET /v1/reports/daily": {rule: acts, probe: func(f scopeFixture) probe {
		return probe{method: "GET", path: "/v1/reports/daily?merchant_id=" + f.a}
	}},

	"GET /v1/reports/rules": {rule: acts, probe: func(f scopeFixture) probe {
		return probe{method: "GET", path: "/v1/reports/rules?merchant_id=" + f.a}
	}},
	"GET /v1/reports/tiers": {rule: acts, probe: func(f scopeFixture) probe {
		return probe{method: "GET", path: "/v1/reports/tiers?merchant_id=" + f.a}
	}},
	"GET /v1/reports/rewards": {rule: acts, probe: func(f scopeFixture) probe {
		return probe{method: "GET", path: "/v1/reports/rewards?merchant_id=" + f.a}
	}},
	"GET /v1/reports/coupons": {rule: acts, probe: func(f scopeFixture) probe {
		return probe{method: "GET", path: "/v1/reports/coupons?merchant_id=" + f.a}
	}},

	"GET /v1/reports/campaigns": {rule: acts, probe: func(f scopeFixture) probe {
		return probe{method: "GET", path: "/v1/reports/campaigns?merchant_id=" + f.a}
	}},
	"POST /v1/jobs/campaigns": {rule: adminOnly},
	"POST /v1/campaigns": {rule: acts, probe: func(f scopeFixture) probe {
		return probe{method: "POST", path: "/v1/campaigns", body: map[string]any{"name": "x", "schedule": map[string]any{"kind": "once"},
			"actions": []any{map[string]any{"kind": "grant_points", "points": 1}}, "merchant_id": f.a}}
	}},
	"GET /v1/campaigns": {rule: own, probe: func(f scopeFixture) probe {
		return probe{method: "GET", path: "/v1/campaigns", absent: f.campaign}
	}},
	"GET /v1/campaigns/{id}": {rule: own, probe: func(f scopeFixture) probe {
		return probe{method: "GET", path: "/v1/campaigns/" + f.campaign}
	}},
	"PATCH /v1/campaigns/{id}": {rule: own, probe: func(f scopeFixture) probe {
		return probe{method: "PATCH", path: "/v1/campaigns/" + f.campaign, body: map[string]any{"name": "B's now"}}
	}},
	"POST /v1/campaigns/{id}/activate": {rule: own, probe: func(f scopeFixture) probe {
		return probe{method: "POST", path: "/v1/campaigns/" + f.campaign + "/activate"}
	}},
	"POST /v1/campaigns/{id}/pause": {rule: own, probe: func(f scopeFixture) probe {
		return probe{method: "POST", path: "/v1/campaigns/" + f.campaign + "/pause"}
	}},
	"GET /v1/campaigns/{id}/members": {rule: own, probe: func(f scopeFixture) probe {
		return probe{method: "GET", path: "/v1/campaigns/" + f.campaign + "/members"}
	}},
	"GET /v1/campaigns/{id}/report": {rule: own, probe: func(f scopeFixture) probe {
		return probe{method: "GET", path: "/v1/campaigns/" + f.campaign + "/report"}
	}},

	"PUT /v1/merchants/{id}/settlement-terms": {rule: adminOnly},
	"GET /v1/merchants/{id}/settlement-terms": {rule: own, probe: func(f scopeFixture) probe {
		return probe{method: "GET", path: "/v1/merchants/" + f.a + "/settlement-terms"}
	}},
	"POST /v1/statements": {rule: adminOnly},

	"POST /v1/webhooks":                      {rule: adminOnly},
	"GET /v1/webhooks":                       {rule: adminOnly},
	"GET /v1/webhooks/{id}":                  {rule: adminOnly},
	"PATCH /v1/webhooks/{id}":                {rule: adminOnly},
	"DELETE /v1/webhooks/{id}":               {rule: adminOnly},
	"POST /v1/webhooks/{id}/rotate-secret":   {rule: adminOnly},
	"POST /v1/webhooks/{id}/test":            {rule: adminOnly},
	"GET /v1/webhooks/{id}/deliveries":       {rule: adminOnly},
	"GET /v1/webhook-deliveries/{id}":        {rule: adminOnly},
	"POST /v1/webhook-deliveries/{id}/retry": {rule: adminOnly},
	"POST /v1/jobs/expiry-notices":           {rule: adminOnly},
	"DELETE /v1/statements/{id}":             {rule: adminOnly},
	"POST /v1/statements/{id}/close":         {rule: adminOnly},
	"GET /v1/statements": {rule: own, probe: func(f scopeFixture) probe {
		return probe{method: "GET", path: "/v1/statements", absent: f.a}
	}},
	"GET /v1/statements/{id}": {rule: own, probe: func(f scopeFixture) probe {
		return probe{method: "GET", path: "/v1/statements/" + f.statement, absent: f.a}
	}},
	"GET /v1/members": {rule: shared},
	"POST /v1/members": {rule: acts, probe: func(f scopeFixture) probe {
		return probe{method: "POST", path: "/v1/members", body: map[string]any{"merchant_id": f.a}}
	}},
	"GET /v1/members/{member}":                {rule: shared},
	"POST /v1/members/{member}/tokens":        {rule: shared},
	"PATCH /v1/members/{member}":              {rule: shared},
	"POST /v1/members/{member}/freeze":        {rule: adminOnly},
	"POST /v1/members/{member}/unfreeze":      {rule: adminOnly},
	"POST /v1/members/{member}/erase":         {rule: adminOnly},
	"GET /v1/members/{member}/balance":        {rule: shared},
	"GET /v1/members/{member}/tier-history":   {rule: shared},
	"POST /v1/members/{member}/tier/upgrade":  {rule: shared},
	"GET /v1/members/{member}/checkins":       {rule: shared},
	"POST /v1/members/{member}/checkins":      {rule: shared},
	"GET /v1/members/{member}/tasks":          {rule: shared},
	"GET /v1/members/{member}/referrals":      {rule: shared},
	"POST /v1/members/{member}/points/adjust": {rule: adminOnly},
	"POST /v1/members/{member}/points/earn": {rule: acts, probe: func(f scopeFixture) probe {
		return probe{method: "POST", path: "/v1/members/" + f.member + "/points/earn", body: map[string]any{"points": 1, "merchant_id": f.a}}
	}},
	"POST /v1/members/{member}/points/spend": {rule: acts, probe: func(f scopeFixture) probe {
		return probe{method: "POST", path: "/v1/members/" + f.member + "/points/spend", body: map[string]any{"points": 1, "merchant_id": f.a}}
	}},
	"POST /v1/members/{member}/holds": {rule: acts, probe: func(f scopeFixture) probe {
		return probe{method: "POST", path: "/v1/members/" + f.member + "/holds", body: map[string]any{"points": 1, "merchant_id": f.a}}
	}},
	"GET /v1/members/{member}/transactions": {rule: own, probe: func(f scopeFixture) probe {
		return probe{method: "GET", path: "/v1/members/" + f.member + "/transactions", absent: f.txn}
	}},
	"GET /v1/members/{member}/lots": {rule: own, probe: func(f scopeFixture) probe {
		return probe{method: "GET", path: "/v1/members/" + f.member + "/lots", absent: f.txn}
	}},
	"GET /v1/members/{member}/holds": {rule: own, probe: func(f scopeFixture) probe {
		return probe{method: "GET", path: "/v1/members/" + f.member + "/holds", absent: f.hold}
	}},
	"GET /v1/members/{member}/coupons": {rule: own, probe: func(f scopeFixture) probe {
		return probe{method: "GET", path: "/v1/members/" + f.member + "/coupons", absent: f.coupon}
	}},
	"GET /v1/transactions/{id}": {rule: own, probe: func(f scopeFixture) probe {
		return probe{method: "GET", path: "/v1/transactions/" + f.txn}
	}},
	"POST /v1/transactions/{id}/reverse": {rule: own, probe: func(f scopeFixture) probe {
		return probe{method: "POST", path: "/v1/transactions/" + f.txnHQ + "/reverse", body: map[string]any{"reason": "x"}}
	}},
	"GET /v1/holds/{id}": {rule: own, probe: func(f scopeFixture) probe {
		return probe{method: "GET", path: "/v1/holds/" + f.hold}
	}},
	"POST /v1/holds/{id}/capture": {rule: own, probe: func(f scopeFixture) probe {
		return probe{method: "POST", path: "/v1/holds/" + f.hold + "/capture", body: map[string]any{}}
	}},
	"POST /v1/holds/{id}/release": {rule: own, probe: func(f scopeFixture) probe {
		return probe{method: "POST", path: "/v1/holds/" + f.hold + "/release"}
	}},

	"POST /v1/events": {rule: acts, probe: func(f scopeFixture) probe {
		return probe{method: "POST", path: "/v1/events", body: map[string]any{"id": "scope-1", "type": "x.y", "member": f.member, "merchant_id": f.a}}
	}},
	"POST /v1/events/simulate": {rule: acts, probe: func(f scopeFixture) probe {
		return probe{method: "POST", path: "/v1/events/simulate", body: map[string]any{"id": "scope-2", "type": "x.y", "member": f.member, "merchant_id": f.a}}
	}},
	"GET /v1/rules": {rule: shared},
	"POST /v1/rules": {rule: acts, probe: func(f scopeFixture) probe {
		return probe{method: "POST", path: "/v1/rules", body: map[string]any{"name": "r", "event_type": "x.y", "reward": map[string]any{"kind": "fixed", "points": 1}, "merchant_id": f.a}}
	}},
	"POST /v1/rules/validate": {rule: acts, probe: func(f scopeFixture) probe {
		return probe{method: "POST", path: "/v1/rules/validate", body: map[string]any{"name": "r", "event_type": "x.y", "reward": map[string]any{"kind": "fixed", "points": 1}, "merchant_id": f.a}}
	}},
	"GET /v1/rules/{id}":          {rule: shared},
	"GET /v1/rules/{id}/versions": {rule: shared},
	"PATCH /v1/rules/{id}": {rule: own, probe: func(f scopeFixture) probe {
		return probe{method: "PATCH", path: "/v1/rules/" + f.rule, body: map[string]any{"name": "taken"}}
	}},
	"DELETE /v1/rules/{id}": {rule: own, probe: func(f scopeFixture) probe {
		return probe{method: "DELETE", path: "/v1/rules/" + f.rule}
	}},

	"POST /v1/checkout/quote": {rule: shared},
	"GET /v1/rewards":         {rule: shared},
	"GET /v1/rewards/{id}":    {rule: shared},
	"POST /v1/rewards": {rule: acts, probe: func(f scopeFixture) probe {
		return probe{method: "POST", path: "/v1/rewards", body: map[string]any{"name": "x", "type": "virtual", "points_price": 1, "merchant_id": f.a}}
	}},
	"PATCH /v1/rewards/{id}": {rule: own, probe: func(f scopeFixture) probe {
		return probe{method: "PATCH", path: "/v1/rewards/" + f.reward, body: map[string]any{"stock": 0}}
	}},
	"POST /v1/redemptions": {rule: acts, probe: func(f scopeFixture) probe {
		return probe{method: "POST", path: "/v1/redemptions", body: map[string]any{"member": f.member, "reward_id": f.reward, "merchant_id": f.a}}
	}},
	"GET /v1/redemptions": {rule: own, probe: func(f scopeFixture) probe {
		return probe{method: "GET", path: "/v1/redemptions", absent: f.redemption}
	}},
	"GET /v1/redemptions/{id}": {rule: own, probe: func(f scopeFixture) probe {
		return probe{method: "GET", path: "/v1/redemptions/" + f.redemption}
	}},
	"POST /v1/redemptions/{id}/fulfil": {rule: own, probe: func(f scopeFixture) probe {
		return probe{method: "POST", path: "/v1/redemptions/" + f.redemption + "/fulfil"}
	}},
	"POST /v1/redemptions/{id}/cancel": {rule: own, probe: func(f scopeFixture) probe {
		return probe{method: "POST", path: "/v1/redemptions/" + f.redemption + "/cancel"}
	}},

	"GET /v1/coupon-templates":      {rule: shared},
	"GET /v1/coupon-templates/{id}": {rule: shared},
	"POST /v1/coupon-templates": {rule: acts, probe: func(f scopeFixture) probe {
		return probe{method: "POST", path: "/v1/coupon-templates", body: map[string]any{"name": "x", "kind": "amount_off", "value": 100, "merchant_id": f.a}}
	}},
	"PATCH /v1/coupon-templates/{id}": {rule: own, probe: func(f scopeFixture) probe {
		return probe{method: "PATCH", path: "/v1/coupon-templates/" + f.template, body: map[string]any{"name": "taken"}}
	}},
	"POST /v1/coupon-templates/{id}/claim": {rule: own, probe: func(f scopeFixture) probe {
		return probe{method: "POST", path: "/v1/coupon-templates/" + f.template + "/claim", body: map[string]any{"member": f.member}}
	}},
	"GET /v1/coupons/{code}": {rule: own, probe: func(f scopeFixture) probe {
		return probe{method: "GET", path: "/v1/coupons/" + f.coupon}
	}},
	"POST /v1/coupons/{code}/validate": {rule: own, probe: func(f scopeFixture) probe {
		return probe{method: "POST", path: "/v1/coupons/" + f.coupon + "/validate", body: map[string]any{"member": f.member, "order_amount": 10000}}
	}},
	"POST /v1/coupons/{code}/redeem": {rule: own, probe: func(f scopeFixture) probe {
		return probe{method: "POST", path: "/v1/coupons/" + f.coupon + "/redeem", body: map[string]any{"member": f.member, "order_amount": 10000, "reference": "o-1"}}
	}},
	"POST /v1/coupons/{code}/unredeem": {rule: own, probe: func(f scopeFixture) probe {
		return probe{method: "POST", path: "/v1/coupons/" + f.coupon + "/unredeem", body: map[string]any{}}
	}},
	"POST /v1/coupons/{code}/transfer": {rule: own, probe: func(f scopeFixture) probe {
		return probe{method: "POST", path: "/v1/coupons/" + f.coupon + "/transfer", body: map[string]any{"to": f.member}}
	}},

	"GET /v1/lotteries":      {rule: shared},
	"GET /v1/lotteries/{id}": {rule: shared},
	"POST /v1/lotteries": {rule: acts, probe: func(f scopeFixture) probe {
		return probe{method: "POST", path: "/v1/lotteries", body: map[string]any{"name": "x", "prizes": []any{map[string]any{"name": "p", "weight": 1}}, "fallback_prize": "none", "merchant_id": f.a}}
	}},
	"PATCH /v1/lotteries/{id}": {rule: own, probe: func(f scopeFixture) probe {
		return probe{method: "PATCH", path: "/v1/lotteries/" + f.lottery, body: map[string]any{"status": "paused"}}
	}},
	"POST /v1/lotteries/{id}/draws": {rule: own, probe: func(f scopeFixture) probe {
		return probe{method: "POST", path: "/v1/lotteries/" + f.lottery + "/draws", body: map[string]any{"member": f.member}}
	}},
	"GET /v1/lotteries/{id}/draws": {rule: own, probe: func(f scopeFixture) probe {
		return probe{method: "GET", path: "/v1/lotteries/" + f.lottery + "/draws"}
	}},

	// Identities and tags are the programme's (the card is shared); merging is an admin's.
	"GET /v1/members/{member}/identities":         {rule: shared},
	"POST /v1/members/{member}/identities":        {rule: shared},
	"DELETE /v1/members/{member}/identities/{id}": {rule: shared},
	"POST /v1/members/{member}/tags":              {rule: shared},
	"DELETE /v1/members/{member}/tags/{tag}":      {rule: shared},
	"GET /v1/tags":                                {rule: shared},
	"POST /v1/members/{member}/merge":             {rule: adminOnly},

	// Channels, message templates and messages.
	"POST /v1/channels":                      {rule: adminOnly},
	"GET /v1/channels":                       {rule: adminOnly},
	"GET /v1/channels/{id}":                  {rule: adminOnly},
	"PATCH /v1/channels/{id}":                {rule: adminOnly},
	"DELETE /v1/channels/{id}":               {rule: adminOnly},
	"POST /v1/channels/{id}/test":            {rule: adminOnly},
	"POST /v1/message-templates":             {rule: adminOnly},
	"GET /v1/message-templates":              {rule: adminOnly},
	"GET /v1/message-templates/{id}":         {rule: adminOnly},
	"PATCH /v1/message-templates/{id}":       {rule: adminOnly},
	"DELETE /v1/message-templates/{id}":      {rule: adminOnly},
	"POST /v1/message-templates/{id}/render": {rule: adminOnly},
	"POST /v1/messages":                      {rule: adminOnly},
	"GET /v1/messages":                       {rule: adminOnly},
	"GET /v1/messages/{id}":                  {rule: adminOnly},

	// One-step join: links belong to their merchant; the shopper's two routes need no key.
	"POST /v1/join-links": {rule: acts, probe: func(f scopeFixture) probe {
		return probe{method: "POST", path: "/v1/join-links", body: map[string]any{"merchant_id": f.a}}
	}},
	"GET /v1/join-links": {rule: own, probe: func(f scopeFixture) probe {
		return probe{method: "GET", path: "/v1/join-links", absent: f.joinLink}
	}},
	"GET /v1/join-links/{id}": {rule: own, probe: func(f scopeFixture) probe {
		return probe{method: "GET", path: "/v1/join-links/" + f.joinLink}
	}},
	"DELETE /v1/join-links/{id}": {rule: own, probe: func(f scopeFixture) probe {
		return probe{method: "DELETE", path: "/v1/join-links/" + f.joinLink}
	}},
	"GET /v1/join-links/{id}/qr.png": {rule: own, probe: func(f scopeFixture) probe {
		return probe{method: "GET", path: "/v1/join-links/" + f.joinLink + "/qr.png"}
	}},
	"GET /v1/join-links/{id}/qr.svg": {rule: own, probe: func(f scopeFixture) probe {
		return probe{method: "GET", path: "/v1/join-links/" + f.joinLink + "/qr.svg"}
	}},
	"POST /v1/join/otp":     {rule: public},
	"POST /v1/join/confirm": {rule: public},
}

// TestMerchantScope checks every route of the router against its merchant
// rule: a route without a rule fails, and so does a route that lets
// merchant B's key read or change merchant A's objects.
func TestMerchantScope(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		f := newScopeFixture(e)
		seen := map[string]bool{}
		for _, rt := range e.api.Routes() {
			name := rt.Method + " " + rt.Path
			seen[name] = true
			rule, ok := merchantScope[name]
			if !ok {
				t.Errorf("%s has no merchant rule: add it to merchantScope (and to docs/api.md)", name)
				continue
			}
			path := strings.NewReplacer("{member}", f.member, "{id}", "x_1", "{code}", "X").Replace(rt.Path)
			switch rule.rule {
			case adminOnly:
				e.call(f.keyB, rt.Method, path, map[string]any{}).wantProblem(403, "forbidden")
			case acts, own:
				if rule.probe == nil {
					t.Errorf("%s: a %v route needs a probe", name, rule.rule)
					continue
				}
				p := rule.probe(f)
				t.Run(name, func(t *testing.T) { checkProbe(t, e, f, rule.rule, p) })
			}
		}
		for name := range merchantScope {
			if !seen[name] {
				t.Errorf("merchantScope names %s, which is not a route", name)
			}
		}
		f.unchanged(t, e)
	})
}

func checkProbe(t *testing.T, e *env, f scopeFixture, rule scopeRule, p probe) {
	r := e.call(f.keyB, p.method, p.path, p.body)
	switch {
	case p.absent != "":
		if r.Status != 200 {
			t.Fatalf("%s %s: status %d: %s", p.method, p.path, r.Status, r.Body)
		}
		if strings.Contains(string(r.Body), p.absent) {
			t.Fatalf("%s %s: merchant B's list shows merchant A's %s", p.method, p.path, p.absent)
		}
	case rule == acts:
		r.wantProblem(403, "forbidden")
	default:
		if r.Status != 404 && r.Status != 403 {
			t.Fatalf("%s %s by merchant B's key: status %d, want 404 or 403: %s", p.method, p.path, r.Status, r.Body)
		}
	}
	// A's key may do what B's may not (the probe is not simply broken).
	if p.absent == "" && rule == own && p.method == "GET" {
		e.call(f.keyA, p.method, p.path, p.body).want(200, nil)
	}
}

func newScopeFixture(e *env) scopeFixture {
	e.t.Helper()
	var f scopeFixture
	var ma, mb struct{ ID string }
	e.post("/v1/merchants", map[string]any{"name": "Shop A"}).want(201, &ma)
	e.post("/v1/merchants", map[string]any{"name": "Shop B"}).want(201, &mb)
	f.a, f.b = ma.ID, mb.ID
	f.keyA, f.keyB = e.key(auth.Merchant, f.a), e.key(auth.Merchant, f.b)
	f.member = e.newMember(nil).ID
	f.txnHQ = e.earn(f.member, 10000).ID
	var obj struct {
		ID   string `json:"id"`
		Code string `json:"code"`
	}
	as := func(key, path string, body any) string {
		e.t.Helper()
		obj.ID, obj.Code = "", ""
		e.call(key, "POST", path, body).want(201, &obj)
		if obj.Code != "" {
			return obj.Code
		}
		return obj.ID
	}
	f.txn = as(f.keyA, "/v1/members/"+f.member+"/points/earn", map[string]any{"points": 500})
	f.hold = as(f.keyA, "/v1/members/"+f.member+"/holds", map[string]any{"points": 100})
	f.reward = as(f.keyA, "/v1/rewards", map[string]any{"name": "A's mug", "type": "physical", "points_price": 10, "stock": 5})
	f.redemption = as(f.keyA, "/v1/redemptions", map[string]any{"member": f.member, "reward_id": f.reward})
	f.rule = as(f.keyA, "/v1/rules", map[string]any{"name": "A's rule", "event_type": "order.paid", "reward": map[string]any{"kind": "fixed", "points": 1}})
	f.template = as(f.keyA, "/v1/coupon-templates", map[string]any{"name": "A's coupon", "kind": "amount_off", "value": 100})
	f.coupon = as(f.keyA, "/v1/coupon-templates/"+f.template+"/claim", map[string]any{"member": f.member})
	f.lottery = as(f.keyA, "/v1/lotteries", map[string]any{"name": "A's wheel", "prizes": []any{map[string]any{"name": "p", "weight": 1, "reward": map[string]any{"points": 1}}}, "fallback_prize": "thanks"})
	as(f.keyA, "/v1/lotteries/"+f.lottery+"/draws", map[string]any{"member": f.member})
	e.post("/v1/currencies", map[string]any{"code": "stars", "name": "Stars", "spendable": true}).want(201, nil)
	e.call(e.admin, "PUT", "/v1/exchange-rates/points/stars", map[string]any{"rate": "2"}).want(200, nil)
	f.exchange = as(f.keyA, "/v1/members/"+f.member+"/exchanges", map[string]any{"from": "points", "to": "stars", "points": 10})
	f.campaign = as(f.keyA, "/v1/campaigns", map[string]any{"name": "A's campaign", "schedule": map[string]any{"kind": "once"},
		"actions": []any{map[string]any{"kind": "grant_points", "points": 1}}})
	f.joinLink = as(f.keyA, "/v1/join-links", map[string]any{"store": "A's counter"})
	e.clock.Advance(time.Second)
	f.statement = as(e.admin, "/v1/statements", map[string]any{"to": e.clock.Now().Format(time.RFC3339)})
	return f
}

// unchanged checks that merchant B's attempts left A's objects as they were.
func (f scopeFixture) unchanged(t *testing.T, e *env) {
	var st struct {
		Status   string `json:"status"`
		Version  int    `json:"version"`
		Name     string `json:"name"`
		Reversed int64  `json:"reversed"`
		Stock    *int64 `json:"stock"`
	}
	check := func(path, want string, got func() string) {
		st = struct {
			Status   string `json:"status"`
			Version  int    `json:"version"`
			Name     string `json:"name"`
			Reversed int64  `json:"reversed"`
			Stock    *int64 `json:"stock"`
		}{}
		e.get(path).want(200, &st)
		if g := got(); g != want {
			t.Errorf("%s after merchant B's attempts: %s, want %s", path, g, want)
		}
	}
	check("/v1/holds/"+f.hold, "held", func() string { return st.Status })
	check("/v1/redemptions/"+f.redemption, "pending", func() string { return st.Status })
	check("/v1/rules/"+f.rule, "1 A's rule", func() string { return fmt.Sprint(st.Version, " ", st.Name) })
	check("/v1/coupon-templates/"+f.template, "A's coupon", func() string { return st.Name })
	check("/v1/coupons/"+f.coupon, "active", func() string { return st.Status })
	check("/v1/lotteries/"+f.lottery, "active", func() string { return st.Status })
	check("/v1/campaigns/"+f.campaign, "draft A's campaign", func() string { return st.Status + " " + st.Name })
	check("/v1/rewards/"+f.reward, "4", func() string { return fmt.Sprint(*st.Stock) })
	check("/v1/transactions/"+f.txnHQ, "0", func() string { return fmt.Sprint(st.Reversed) })
	e.get("/v1/join-links/"+f.joinLink).want(200, nil)
	e.verify()
}
