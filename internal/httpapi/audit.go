package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/jifen/jifen/internal/audit"
	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/operator"
	"github.com/jifen/jifen/internal/store"
)

// auditSpec says how a state-changing route is recorded: its action
// (<resource>.<verb>) and its target's type, and where the target's ID
// comes from: the path parameters named in from (joined by "/"; body.x
// is the body's top-level field x), else the result's member_id (a member
// target) or id.
type auditSpec struct {
	action, target string
	from           []string
}

func spec(action, target string, from ...string) auditSpec { return auditSpec{action, target, from} }

// audited is every state-changing route's spec, by "METHOD pattern".
// TestAuditEveryWriteRoute fails for a write route missing here, and the
// write path refuses to change anything for one (500), so no route
// changes state unrecorded.
var audited = map[string]auditSpec{
	"POST /v1/api-keys":                           spec("api_keys.create", "api_key"),
	"DELETE /v1/api-keys/{id}":                    spec("api_keys.revoke", "api_key", "id"),
	"PATCH /v1/api-keys/{id}":                     spec("api_keys.update", "api_key", "id"),
	"PUT /v1/audience/settings":                   spec("audience.settings", "program"),
	"POST /v1/campaigns":                          spec("campaigns.create", "campaign"),
	"PATCH /v1/campaigns/{id}":                    spec("campaigns.update", "campaign", "id"),
	"POST /v1/campaigns/{id}/activate":            spec("campaigns.activate", "campaign", "id"),
	"POST /v1/campaigns/{id}/pause":               spec("campaigns.pause", "campaign", "id"),
	"POST /v1/jobs/campaigns":                     spec("jobs.campaigns", "program"),
	"POST /v1/channels":                           spec("channels.create", "channel"),
	"PATCH /v1/channels/{id}":                     spec("channels.update", "channel", "id"),
	"DELETE /v1/channels/{id}":                    spec("channels.delete", "channel", "id"),
	"POST /v1/channels/{id}/test":                 spec("channels.test", "channel", "id"),
	"PUT /v1/checkin":                             spec("checkin.settings", "program"),
	"POST /v1/coupon-templates":                   spec("coupon_templates.create", "coupon_template"),
	"PATCH /v1/coupon-templates/{id}":             spec("coupon_templates.update", "coupon_template", "id"),
	"POST /v1/coupon-templates/{id}/claim":        spec("coupons.claim", "member"),
	"POST /v1/coupons/{code}/redeem":              spec("coupons.redeem", "coupon"),
	"POST /v1/coupons/{code}/transfer":            spec("coupons.transfer", "coupon"),
	"POST /v1/coupons/{code}/unredeem":            spec("coupons.unredeem", "coupon"),
	"POST /v1/currencies":                         spec("currencies.create", "currency"),
	"PATCH /v1/currencies/{code}":                 spec("currencies.update", "currency", "code"),
	"POST /v1/events":                             spec("events.record", "member"),
	"PUT /v1/exchange-rates/{from}/{to}":          spec("exchange_rates.set", "exchange_rate", "from", "to"),
	"DELETE /v1/exchange-rates/{from}/{to}":       spec("exchange_rates.delete", "exchange_rate", "from", "to"),
	"POST /v1/holds/{id}/capture":                 spec("holds.capture", "hold", "id"),
	"POST /v1/holds/{id}/release":                 spec("holds.release", "hold", "id"),
	"POST /v1/join-links":                         spec("join_links.create", "join_link"),
	"DELETE /v1/join-links/{id}":                  spec("join_links.delete", "join_link", "id"),
	"POST /v1/join/otp":                           spec("join.send_code", "join_link", "body.link"),
	"POST /v1/join/confirm":                       spec("join.confirm", "member"),
	"POST /v1/jobs/activate-pending":              spec("jobs.activate_pending", "program"),
	"POST /v1/jobs/birthdays":                     spec("jobs.birthdays", "program"),
	"POST /v1/jobs/expire":                        spec("jobs.expire", "program"),
	"POST /v1/jobs/expire-coupons":                spec("jobs.expire_coupons", "program"),
	"POST /v1/jobs/expire-holds":                  spec("jobs.expire_holds", "program"),
	"POST /v1/jobs/expiry-notices":                spec("jobs.expiry_notices", "program"),
	"POST /v1/jobs/rfm":                           spec("jobs.rfm", "program"),
	"POST /v1/jobs/tier-review":                   spec("jobs.tier_review", "program"),
	"POST /v1/lotteries":                          spec("lotteries.create", "lottery"),
	"PATCH /v1/lotteries/{id}":                    spec("lotteries.update", "lottery", "id"),
	"POST /v1/lotteries/{id}/draws":               spec("lotteries.draw", "member"),
	"POST /v1/members":                            spec("members.create", "member"),
	"PATCH /v1/members/{member}":                  spec("members.update", "member"),
	"POST /v1/members/{member}/checkins":          spec("members.checkin", "member"),
	"GET /v1/members/{member}/export":             spec("members.export", "member"),
	"POST /v1/members/{member}/erase":             spec("members.erase", "member"),
	"POST /v1/members/{member}/exchanges":         spec("points.exchange", "member"),
	"POST /v1/members/{member}/freeze":            spec("members.freeze", "member"),
	"POST /v1/members/{member}/unfreeze":          spec("members.unfreeze", "member"),
	"POST /v1/members/{member}/holds":             spec("points.hold", "member"),
	"POST /v1/members/{member}/identities":        spec("identities.add", "member"),
	"DELETE /v1/members/{member}/identities/{id}": spec("identities.delete", "member"),
	"POST /v1/members/{member}/merge":             spec("members.merge", "member"),
	"POST /v1/members/{member}/points/adjust":     spec("points.adjust", "member"),
	"POST /v1/members/{member}/points/earn":       spec("points.earn", "member"),
	"POST /v1/members/{member}/points/spend":      spec("points.spend", "member"),
	"POST /v1/members/{member}/tags":              spec("tags.add", "member"),
	"DELETE /v1/members/{member}/tags/{tag}":      spec("tags.delete", "member"),
	"POST /v1/members/{member}/tier/upgrade":      spec("tiers.upgrade", "member"),
	"POST /v1/members/{member}/tokens":            spec("member_tokens.create", "member"),
	"POST /v1/merchants":                          spec("merchants.create", "merchant"),
	"PUT /v1/merchants/{id}/settlement-terms":     spec("settlement_terms.set", "merchant", "id"),
	"POST /v1/message-templates":                  spec("message_templates.create", "message_template"),
	"PATCH /v1/message-templates/{id}":            spec("message_templates.update", "message_template", "id"),
	"DELETE /v1/message-templates/{id}":           spec("message_templates.delete", "message_template", "id"),
	"POST /v1/messages":                           spec("messages.send", "member"),
	"POST /v1/operators":                          spec("operators.create", "operator"),
	"PATCH /v1/operators/{id}":                    spec("operators.update", "operator", "id"),
	"POST /v1/operators/{id}/disable":             spec("operators.disable", "operator", "id"),
	"POST /v1/operators/{id}/enable":              spec("operators.enable", "operator", "id"),
	"PATCH /v1/program":                           spec("program.update", "program"),
	"POST /v1/redemptions":                        spec("redemptions.create", "member"),
	"POST /v1/redemptions/{id}/cancel":            spec("redemptions.cancel", "redemption", "id"),
	"POST /v1/redemptions/{id}/fulfil":            spec("redemptions.fulfil", "redemption", "id"),
	"PUT /v1/referral":                            spec("referral.settings", "program"),
	"POST /v1/rewards":                            spec("rewards.create", "reward"),
	"PATCH /v1/rewards/{id}":                      spec("rewards.update", "reward", "id"),
	"POST /v1/rules":                              spec("rules.create", "rule"),
	"PATCH /v1/rules/{id}":                        spec("rules.update", "rule", "id"),
	"DELETE /v1/rules/{id}":                       spec("rules.delete", "rule", "id"),
	"POST /v1/segments":                           spec("segments.create", "segment"),
	"PATCH /v1/segments/{id}":                     spec("segments.update", "segment", "id"),
	"DELETE /v1/segments/{id}":                    spec("segments.delete", "segment", "id"),
	"POST /v1/statements":                         spec("statements.create", "statement"),
	"DELETE /v1/statements/{id}":                  spec("statements.delete", "statement", "id"),
	"POST /v1/statements/{id}/close":              spec("statements.close", "statement", "id"),
	"POST /v1/tasks":                              spec("tasks.create", "task"),
	"PATCH /v1/tasks/{id}":                        spec("tasks.update", "task", "id"),
	"DELETE /v1/tasks/{id}":                       spec("tasks.delete", "task", "id"),
	"PUT /v1/tiers":                               spec("tiers.set", "program"),
	"POST /v1/transactions/{id}/reverse":          spec("transactions.reverse", "transaction", "id"),
	"POST /v1/webhook-deliveries/{id}/retry":      spec("webhook_deliveries.retry", "webhook_delivery", "id"),
	"POST /v1/webhooks":                           spec("webhooks.create", "webhook"),
	"PATCH /v1/webhooks/{id}":                     spec("webhooks.update", "webhook", "id"),
	"DELETE /v1/webhooks/{id}":                    spec("webhooks.delete", "webhook", "id"),
	"POST /v1/webhooks/{id}/rotate-secret":        spec("webhooks.rotate_secret", "webhook", "id"),
	"POST /v1/webhooks/{id}/test":                 spec("webhooks.test", "webhook", "id"),
	// Not in the route table's writes, recorded by their handlers.
	"POST /v1/console/login":  spec("console.login", "operator"),
	"POST /v1/console/logout": spec("console.logout", "operator"),
}

// idLike is an ID (mem_…), as opposed to a reference by identity, which
// an entry never keeps.
var idLike = regexp.MustCompile(`^[a-z]{2,5}_[0-9a-z]{6,}$`)

// auditRecord writes the entry of the request r in tx: body is the
// request's, status its answer, result the answer's body (JSON, or nil).
// It answers the entry's target, which the write path also keys its
// idempotency record by.
func (s *Server) auditRecord(ctx context.Context, tx *store.Tx, r *http.Request, body []byte, status int, result []byte) (audit.Target, error) {
	return s.recordAudit(ctx, tx, r, prepareAudit(r, body), body, status, result)
}

// auditPrep is what a request's entry takes from the request alone: its
// route's spec and the body's summary, computed before the write.
type auditPrep struct {
	sp      auditSpec
	ok      bool
	summary string
}

func prepareAudit(r *http.Request, body []byte) auditPrep {
	sp, ok := audited[r.Method+" "+routePath(r)]
	if !ok {
		return auditPrep{}
	}
	return auditPrep{sp: sp, ok: true, summary: audit.Summary(body, sp.target)}
}

// recordAudit writes the entry of a request prepared by prepareAudit.
func (s *Server) recordAudit(ctx context.Context, tx *store.Tx, r *http.Request, p auditPrep, body []byte, status int, result []byte) (audit.Target, error) {
	if !p.ok {
		return audit.Target{}, fmt.Errorf("audit: the route %s has no audit spec", r.Method+" "+routePath(r))
	}
	target := audit.Target{Type: p.sp.target, ID: targetID(r, p.sp, body, result)}
	return target, audit.Record(ctx, tx, s.clock.Now(), audit.Request{
		Actor: actor(r), Action: p.sp.action, Target: target,
		Method: r.Method, Route: routePath(r), RequestID: requestID(r), IP: clientIP(r), Status: status, Body: body,
		Summary: p.summary,
	})
}

// auditLogin records a console login attempt: the operator the email
// names (a public caller when it names none, whose entry belongs to no
// programme), and the status it is answered with.
func (s *Server) auditLogin(ctx context.Context, tx *store.Tx, r *http.Request, body []byte, op store.Operator, status int) error {
	a := auth.Actor{ProgramID: op.ProgramID, Kind: operator.KindOperator, ID: op.ID, Name: op.Email}
	return audit.Record(ctx, tx, s.clock.Now(), audit.Request{
		Actor: a, Public: op.ID == "", Action: "console.login", Target: audit.Target{Type: "operator", ID: op.ID},
		Method: r.Method, Route: routePath(r), RequestID: requestID(r), IP: clientIP(r), Status: status, Body: body,
	})
}

// targetID is the ID an entry names as its target: never a member's
// identity value or a coupon's code.
func targetID(r *http.Request, sp auditSpec, body, result []byte) string {
	if sp.target == "program" {
		return actor(r).ProgramID
	}
	if len(sp.from) > 0 {
		var parts []string
		for _, p := range sp.from {
			v := r.PathValue(p)
			if field, ok := strings.CutPrefix(p, "body."); ok {
				var m map[string]any
				_ = json.Unmarshal(body, &m)
				v, _ = m[field].(string)
			}
			if v != "" {
				parts = append(parts, v)
			}
		}
		if len(parts) == len(sp.from) {
			return strings.Join(parts, "/")
		}
	}
	if sp.target == "member" {
		// Named by ID in the path (the common case): no need to read the
		// result for the ID a reference by identity resolved to.
		if v := r.PathValue("member"); idLike.MatchString(v) {
			return v
		}
	}
	var res struct {
		ID       string `json:"id"`
		MemberID string `json:"member_id"`
		Code     string `json:"code"`
		Member   *struct {
			ID string `json:"id"`
		} `json:"member"`
	}
	if len(result) > 0 {
		_ = json.Unmarshal(result, &res)
	}
	if sp.target == "member" {
		switch {
		case res.MemberID != "":
			return res.MemberID
		case res.Member != nil && res.Member.ID != "":
			return res.Member.ID
		case strings.HasPrefix(res.ID, "mem_"):
			return res.ID
		}
		if a := actor(r); a.IsMember() {
			return a.MemberID
		}
		return ""
	}
	if sp.target == "currency" && res.Code != "" {
		return res.Code
	}
	return res.ID
}

// routePath is the path pattern of the request's route
// (/v1/members/{member}/points/earn), without the method.
func routePath(r *http.Request) string {
	p := r.Pattern
	if i := strings.IndexByte(p, ' '); i >= 0 {
		p = p[i+1:]
	}
	return p
}

// requestID is the request's X-Request-Id.
func requestID(r *http.Request) string {
	rid, _ := r.Context().Value(keyRequestID).(string)
	return rid
}

func (s *Server) registerAudit() {
	s.handle(route{method: "GET", path: "/v1/audit", access: admin, tag: "audit",
		summary: "The audit log, newest first", out: listBody[audit.Entry]{}, status: 200,
		query: append([]param{
			{name: "actor_id", desc: "an API key, operator or member ID"},
			{name: "action", desc: "an action, e.g. points.earn"},
			{name: "target_type", desc: "a target type, e.g. member"},
			{name: "target_id", desc: "a target's ID"},
			{name: "request_id", desc: "a request's X-Request-Id"},
			{name: "from", desc: "RFC 3339: entries at or after"},
			{name: "to", desc: "RFC 3339: entries before"},
		}, pageParams...), handler: s.listAudit})
	s.handle(route{method: "GET", path: "/v1/audit/{id}", access: admin, tag: "audit",
		summary: "Read an audit entry", out: audit.Entry{}, status: 200, handler: s.getAudit})
}

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := audit.Filter{ActorID: q.Get("actor_id"), Action: q.Get("action"), TargetType: q.Get("target_type"),
		TargetID: q.Get("target_id"), RequestID: q.Get("request_id")}
	var fs failure.Fields
	for _, t := range []struct {
		name string
		dst  **time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := q.Get(t.name); v != "" {
			at, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				fs.Add(t.name, "must be an RFC 3339 time")
				continue
			}
			*t.dst = &at
		}
	}
	if err := fs.Err(); err != nil {
		return err
	}
	es, next, err := s.app.Audit.List(r.Context(), actor(r), f, pg)
	if err != nil {
		return err
	}
	return list(w, es, next)
}

func (s *Server) getAudit(w http.ResponseWriter, r *http.Request) error {
	e, err := s.app.Audit.Get(r.Context(), actor(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return encode(w, 200, e)
}
