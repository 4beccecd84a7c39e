package message

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/identity"
	"github.com/jifen/jifen/internal/input"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

// Placeholders are the names a template may use, as {{name}}.
var Placeholders = []string{
	"member.name", "member.tier", "member.referral_code",
	"points.available", "points.expiring", "points.expiring_on",
	"coupon.code", "coupon.name", "coupon.valid_until",
	"campaign.name", "program.name", "join.code", "join.minutes",
}

// segment is a piece of a parsed template: literal text, or a placeholder.
type segment struct {
	text string
	name string // a placeholder when not empty
}

// parse reads {{name}} placeholders (spaces inside the braces allowed).
// Everything else is literal text, copied as is: no escaping of any kind,
// so "<" or "&" in a body reaches an SMS or a plain-text mail unchanged.
func parse(s string) ([]segment, error) {
	var out []segment
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			if s != "" {
				out = append(out, segment{text: s})
			}
			return out, nil
		}
		if i > 0 {
			out = append(out, segment{text: s[:i]})
		}
		j := strings.Index(s[i+2:], "}}")
		if j < 0 {
			return nil, fmt.Errorf("has a {{ without its }}")
		}
		name := strings.TrimSpace(s[i+2 : i+2+j])
		if name == "" {
			return nil, fmt.Errorf("has an empty placeholder {{}}")
		}
		out = append(out, segment{name: name})
		s = s[i+2+j+2:]
	}
}

// checkPlaceholders says what is wrong with a template's placeholders
// ("" when nothing is).
func checkPlaceholders(s string, allowed []string) string {
	segs, err := parse(s)
	if err != nil {
		return err.Error()
	}
	for _, g := range segs {
		if g.name != "" && !contains(allowed, g.name) {
			return fmt.Sprintf("has an unknown placeholder {{%s}}; known: %s", g.name, strings.Join(allowed, ", "))
		}
	}
	return ""
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// render fills a checked template's placeholders from values; a value
// that is missing renders empty. esc, when not nil, escapes each value.
func render(s string, values map[string]string, esc func(string) string) string {
	segs, err := parse(s)
	if err != nil {
		return s
	}
	var b strings.Builder
	for _, g := range segs {
		if g.name == "" {
			b.WriteString(g.text)
			continue
		}
		v := values[g.name]
		if esc != nil {
			v = esc(v)
		}
		b.WriteString(v)
	}
	return b.String()
}

// Template is a message template.
type Template struct {
	ID                 string            `json:"id"`
	Name               string            `json:"name"`
	Subject            string            `json:"subject"`
	Body               string            `json:"body"`
	AliyunTemplateCode null.String       `json:"aliyun_template_code"`
	AliyunParams       map[string]string `json:"aliyun_params"`
	CreatedAt          time.Time         `json:"created_at"`
	UpdatedAt          time.Time         `json:"updated_at"`
}

// TemplateInput creates a template; a PATCH sends only what changes.
type TemplateInput struct {
	Name               *string           `json:"name,omitempty" api:"minlen=1,maxlen=100"`
	Subject            *string           `json:"subject,omitempty" api:"maxlen=200" doc:"the mail subject, with placeholders"`
	Body               *string           `json:"body,omitempty" api:"minlen=1,maxlen=4000" doc:"the text, with placeholders {{member.name}} … (see Placeholders in the API reference)"`
	AliyunTemplateCode *string           `json:"aliyun_template_code,omitempty" api:"maxlen=100" doc:"Alibaba Cloud SMS template code (SMS_…), needed to send through an sms_aliyun channel"`
	AliyunParams       map[string]string `json:"aliyun_params,omitempty" doc:"the Alibaba Cloud template's parameters: name → text with placeholders, such as {\"code\": \"{{join.code}}\"}"`
}

func templateOf(t store.MessageTemplate) Template {
	out := Template{ID: t.ID, Name: t.Name, Subject: t.Subject, Body: t.Body, AliyunTemplateCode: t.AliyunTemplateCode,
		AliyunParams: map[string]string{}, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
	if len(t.AliyunParams) > 0 {
		_ = json.Unmarshal(t.AliyunParams, &out.AliyunParams)
	}
	return out
}

// apply checks in and writes what it gives onto t.
func (in TemplateInput) apply(t *store.MessageTemplate, create bool) error {
	var fs failure.Fields
	if create {
		input.Required(&fs, "name", in.Name != nil, "the template's name")
		input.Required(&fs, "body", in.Body != nil, "the message text")
	}
	if in.Name != nil {
		input.Name(&fs, "name", *in.Name, 100)
		t.Name = strings.TrimSpace(*in.Name)
	}
	if in.Subject != nil {
		input.Text(&fs, "subject", *in.Subject, 200)
		if e := checkPlaceholders(*in.Subject, Placeholders); e != "" {
			fs.Add("subject", "%s", e)
		}
		t.Subject = *in.Subject
	}
	if in.Body != nil {
		if n := len([]rune(*in.Body)); n < 1 || n > 4000 {
			fs.Add("body", "must be 1 to 4000 characters")
		}
		if e := checkPlaceholders(*in.Body, Placeholders); e != "" {
			fs.Add("body", "%s", e)
		}
		t.Body = *in.Body
	}
	if in.AliyunTemplateCode != nil {
		input.Text(&fs, "aliyun_template_code", *in.AliyunTemplateCode, 100)
		t.AliyunTemplateCode = null.String(strings.TrimSpace(*in.AliyunTemplateCode))
	}
	if in.AliyunParams != nil {
		names := make([]string, 0, len(in.AliyunParams))
		for k := range in.AliyunParams {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			if k == "" || len(k) > 50 {
				fs.Add("aliyun_params", "parameter names must be 1 to 50 characters")
			}
			if e := checkPlaceholders(in.AliyunParams[k], Placeholders); e != "" {
				fs.Add("aliyun_params."+k, "%s", e)
			}
		}
		if len(in.AliyunParams) > 20 {
			fs.Add("aliyun_params", "must have at most 20 parameters")
		}
		b, _ := json.Marshal(in.AliyunParams)
		t.AliyunParams = b
		if len(in.AliyunParams) == 0 {
			t.AliyunParams = nil
		}
	}
	return fs.Err()
}

// CreateTemplate adds a message template. An unknown placeholder is
// validation_failed.
func (s *Service) CreateTemplate(ctx context.Context, tx *store.Tx, a auth.Actor, in TemplateInput) (Template, error) {
	now := s.clock.Now()
	t := store.MessageTemplate{ID: id.New("mtp"), ProgramID: a.ProgramID, CreatedAt: now, UpdatedAt: now}
	if err := in.apply(&t, true); err != nil {
		return Template{}, err
	}
	if err := tx.SaveMessageTemplate(ctx, t); err != nil {
		return Template{}, err
	}
	return templateOf(t), nil
}

// PatchTemplate changes what in gives.
func (s *Service) PatchTemplate(ctx context.Context, tx *store.Tx, a auth.Actor, templateID string, in TemplateInput) (Template, error) {
	t, err := tx.MessageTemplate(ctx, a.ProgramID, templateID)
	if err != nil {
		return Template{}, err
	}
	if err := in.apply(&t, false); err != nil {
		return Template{}, err
	}
	t.UpdatedAt = s.clock.Now()
	if err := tx.SaveMessageTemplate(ctx, t); err != nil {
		return Template{}, err
	}
	return templateOf(t), nil
}

// DeleteTemplate removes a template; messages keep what it rendered.
func (s *Service) DeleteTemplate(ctx context.Context, tx *store.Tx, a auth.Actor, templateID string) error {
	return tx.DeleteMessageTemplate(ctx, a.ProgramID, templateID)
}

// GetTemplate reads a template.
func (s *Service) GetTemplate(ctx context.Context, a auth.Actor, templateID string) (Template, error) {
	t, err := s.db.Read().MessageTemplate(ctx, a.ProgramID, templateID)
	return templateOf(t), err
}

// Templates lists the programme's templates, newest first.
func (s *Service) Templates(ctx context.Context, a auth.Actor, pg store.Page) ([]Template, string, error) {
	ts, next, err := s.db.Read().MessageTemplates(ctx, a.ProgramID, pg)
	out := make([]Template, len(ts))
	for i, t := range ts {
		out[i] = templateOf(t)
	}
	return out, next, err
}

// RenderInput names the member a template is rendered for; values fill
// the placeholders a member does not (coupon.*, campaign.name, join.*).
type RenderInput struct {
	Member string            `json:"member" api:"minlen=1" doc:"a member reference: mem_…, ext:… or <kind>:<value>"`
	Values map[string]string `json:"values,omitempty" doc:"placeholder → value for those not taken from the member, such as {\"coupon.code\": \"X1\"}"`
}

// Rendered is a template rendered for a member.
type Rendered struct {
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

// Render renders a template for a member, changing nothing.
func (s *Service) Render(ctx context.Context, a auth.Actor, templateID string, in RenderInput) (Rendered, error) {
	var fs failure.Fields
	input.Required(&fs, "member", in.Member != "", "a member reference")
	for k := range in.Values {
		if !contains(Placeholders, k) {
			fs.Add("values."+k, "is not a placeholder")
		}
	}
	if err := fs.Err(); err != nil {
		return Rendered{}, err
	}
	c := s.db.Read()
	t, err := c.MessageTemplate(ctx, a.ProgramID, templateID)
	if err != nil {
		return Rendered{}, err
	}
	m, err := identity.Resolve(ctx, c, a, in.Member)
	if err != nil {
		return Rendered{}, err
	}
	vals, err := s.values(ctx, c, a.ProgramID, m, in.Values)
	if err != nil {
		return Rendered{}, err
	}
	return Rendered{Subject: render(t.Subject, vals, nil), Body: render(t.Body, vals, nil)}, nil
}

// values are a member's placeholder values, with extra on top.
func (s *Service) values(ctx context.Context, c *store.Conn, programID string, m store.Member, extra map[string]string) (map[string]string, error) {
	p, err := s.programs.Get(ctx, programID)
	if err != nil {
		return nil, err
	}
	v := map[string]string{
		"member.name":          string(m.Name),
		"member.tier":          tierName(p, string(m.Tier)),
		"member.referral_code": m.ReferralCode,
		"program.name":         p.Name,
	}
	b, err := c.Balance(ctx, programID, m.ID, ledger.Points)
	if err != nil {
		return nil, err
	}
	v["points.available"] = strconv.FormatInt(b.Available, 10)
	exp, err := c.ExpiringPoints(ctx, programID, m.ID, 12)
	if err != nil {
		return nil, err
	}
	v["points.expiring"] = "0"
	for _, e := range exp {
		if e.Currency == ledger.Points {
			v["points.expiring"] = strconv.FormatInt(e.Points, 10)
			// The last day the points can be used, in the programme's zone.
			v["points.expiring_on"] = e.ExpiresAt.Add(-time.Millisecond).In(p.Location).Format(time.DateOnly)
			break
		}
	}
	for k, x := range extra {
		v[k] = x
	}
	return v, nil
}

// programValues are the placeholder values of a message to no member:
// the programme's name, with extra on top.
func (s *Service) programValues(ctx context.Context, programID string, extra map[string]string) (map[string]string, error) {
	p, err := s.programs.Get(ctx, programID)
	if err != nil {
		return nil, err
	}
	v := map[string]string{"program.name": p.Name}
	for k, x := range extra {
		v[k] = x
	}
	return v, nil
}

func tierName(p program.Program, code string) string {
	for _, t := range p.Tiers {
		if t.Code == code {
			return t.Name
		}
	}
	return code
}
