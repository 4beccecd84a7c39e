// Package message sends messages to members through channels (webhook,
// SMTP mail, a generic HTTP SMS gateway, Alibaba Cloud SMS), rendered
// from templates. A message is queued in the transaction of whatever
// asks for it (the API, a campaign, the join flow) and sent afterwards by
// the sender (sender.go), which claims due rows in the database, so any
// number of nodes may run it; every attempt is logged on the message.
package message

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/identity"
	"github.com/jifen/jifen/internal/input"
	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

// Statuses of a message.
const (
	Queued     = "queued"
	Sent       = "sent"
	Failed     = "failed"
	Suppressed = "suppressed"
)

// Service runs the messaging operations and the sender.
type Service struct {
	db       *store.DB
	programs *program.Service
	clock    clock.Clock
	// Senders delivers a message through a channel; tests may replace
	// its TLS roots.
	Senders *Senders
	holder  string
}

// NewService returns the messaging service.
func NewService(db *store.DB, programs *program.Service, clk clock.Clock) *Service {
	return &Service{db: db, programs: programs, clock: clk, Senders: NewSenders(), holder: "sender/" + id.Secret(8)}
}

// Message is one message to one member through one channel, with every
// attempt to send it.
type Message struct {
	ID         string      `json:"id"`
	MemberID   null.String `json:"member_id"`
	ChannelID  string      `json:"channel_id"`
	TemplateID null.String `json:"template_id"`
	CampaignID null.String `json:"campaign_id"`
	To         string      `json:"to" doc:"the address: an email, a phone in E.164, or the member ID for a webhook channel; empty when suppressed"`
	Subject    string      `json:"subject"`
	Body       string      `json:"body"`
	Status     string      `json:"status" api:"enum=queued|sent|failed|suppressed"`
	Attempts   []Attempt   `json:"attempts"`
	// NextAttemptAt is when a queued message is tried next.
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	CreatedAt     time.Time  `json:"created_at"`
	SentAt        *time.Time `json:"sent_at"`
}

// Attempt is one try at sending a message.
type Attempt struct {
	At         time.Time `json:"at"`
	OK         bool      `json:"ok"`
	StatusCode *int      `json:"status_code" doc:"the HTTP status (webhook, sms_http, sms_aliyun) or SMTP reply code, when there was one"`
	Error      *string   `json:"error"`
}

func messageOf(r store.Message) Message {
	m := Message{ID: r.ID, MemberID: r.MemberID, ChannelID: r.ChannelID, TemplateID: r.TemplateID, CampaignID: r.CampaignID,
		To: r.To, Subject: r.Subject, Body: r.Body, Status: r.Status, Attempts: []Attempt{}, CreatedAt: r.CreatedAt, SentAt: r.SentAt}
	_ = json.Unmarshal(r.Attempts, &m.Attempts)
	if m.Attempts == nil {
		m.Attempts = []Attempt{}
	}
	if r.Status == Queued {
		t := r.NextAttemptAt
		m.NextAttemptAt = &t
	}
	return m
}

// QueueInput is a message to queue for a member. Values fill the
// placeholders the member does not: coupon.code, coupon.name,
// coupon.valid_until, campaign.name, join.code, join.minutes.
type QueueInput struct {
	MemberID string
	// To is the phone of a message to no member (a join code to a shopper
	// who is not one yet): only for SMS channels, used when MemberID is "".
	To         string
	ChannelID  string
	TemplateID string
	CampaignID string
	Values     map[string]string
}

// Queue renders a template for a member and queues the message in tx, to
// be sent after tx commits. Campaigns, the join flow and the API call it
// inside their own transaction, so a message exists exactly when what
// asked for it does. A member without an address for the channel (no
// email identity for smtp, no phone for SMS) gets a suppressed message.
func (s *Service) Queue(ctx context.Context, tx *store.Tx, programID string, in QueueInput) (Message, error) {
	ch, err := tx.Channel(ctx, programID, in.ChannelID)
	if err != nil {
		if failure.KindOf(err) == failure.NotFound {
			return Message{}, failure.Field("channel_id", "no such channel")
		}
		return Message{}, err
	}
	t, err := tx.MessageTemplate(ctx, programID, in.TemplateID)
	if err != nil {
		if failure.KindOf(err) == failure.NotFound {
			return Message{}, failure.Field("template_id", "no such message template")
		}
		return Message{}, err
	}
	if ch.Kind == KindSMSAliyun && t.AliyunTemplateCode == "" {
		return Message{}, failure.Field("template_id", "has no aliyun_template_code, which an sms_aliyun channel needs")
	}
	var m store.Member
	var vals map[string]string
	to := in.To
	if in.MemberID == "" {
		if ch.Kind != KindSMSHTTP && ch.Kind != KindSMSAliyun {
			return Message{}, failure.Field("channel_id", "a message to a phone without a member needs an SMS channel")
		}
		if vals, err = s.programValues(ctx, programID, in.Values); err != nil {
			return Message{}, err
		}
	} else {
		if m, err = tx.MemberByID(ctx, programID, in.MemberID); err != nil {
			return Message{}, err
		}
		if vals, err = s.values(ctx, &tx.Conn, programID, m, in.Values); err != nil {
			return Message{}, err
		}
		if to, err = address(ctx, &tx.Conn, programID, ch.Kind, m); err != nil {
			return Message{}, err
		}
	}
	now := s.clock.Now()
	r := store.Message{ID: id.New("msg"), ProgramID: programID, MemberID: null.String(m.ID), ChannelID: ch.ID,
		TemplateID: null.String(t.ID), CampaignID: null.String(in.CampaignID), To: to,
		Subject: render(t.Subject, vals, nil), Body: render(t.Body, vals, nil),
		Status: Queued, NextAttemptAt: now, CreatedAt: now}
	if ch.Kind == KindSMSAliyun {
		r.Params = renderParams(t, vals)
	}
	if to == "" {
		r.Status = Suppressed
	}
	if err := tx.InsertMessage(ctx, r); err != nil {
		return Message{}, err
	}
	if in.MemberID == "" && to != "" {
		// The phone's lookup: erasing the member it later belongs to
		// finds the message.
		if err := tx.SetMessageToLookup(ctx, programID, r.ID, tx.Lookup(identity.Phone, to)); err != nil {
			return Message{}, err
		}
	}
	return messageOf(r), nil
}

// aliyunParams is what a message for Alibaba Cloud SMS keeps beside its
// text: the template code and its rendered parameters.
type aliyunParams struct {
	TemplateCode string            `json:"template_code"`
	Params       map[string]string `json:"params"`
}

// renderParams renders an Alibaba Cloud template's parameters to the JSON
// object TemplateParam carries.
func renderParams(t store.MessageTemplate, vals map[string]string) json.RawMessage {
	p := aliyunParams{TemplateCode: string(t.AliyunTemplateCode), Params: map[string]string{}}
	if len(t.AliyunParams) > 0 {
		_ = json.Unmarshal(t.AliyunParams, &p.Params)
	}
	for k, v := range p.Params {
		p.Params[k] = render(v, vals, nil)
	}
	b, _ := json.Marshal(p)
	return b
}

// address is where a channel reaches a member: the email identity for
// smtp, the phone (E.164) for SMS, the member ID for a webhook; "" when
// the member has none.
func address(ctx context.Context, c *store.Conn, programID, kind string, m store.Member) (string, error) {
	switch kind {
	case KindWebhook:
		return m.ID, nil
	case KindSMSHTTP, KindSMSAliyun:
		return string(m.Phone), nil
	}
	ids, err := c.Identities(ctx, programID, m.ID)
	if err != nil {
		return "", err
	}
	for _, i := range ids {
		if i.Kind == identity.Email {
			return i.Value, nil
		}
	}
	return "", nil
}

// SendInput asks for one message to a member.
type SendInput struct {
	Member     string `json:"member" api:"minlen=1" doc:"a member reference: mem_…, ext:… or <kind>:<value>"`
	ChannelID  string `json:"channel_id" api:"minlen=1"`
	TemplateID string `json:"template_id" api:"minlen=1"`
}

// Send queues a message to a member (answered 202; without an address
// the message is suppressed at once).
func (s *Service) Send(ctx context.Context, tx *store.Tx, a auth.Actor, in SendInput) (Message, error) {
	var fs failure.Fields
	input.Required(&fs, "member", in.Member != "", "a member reference")
	input.Required(&fs, "channel_id", in.ChannelID != "", "a channel ID")
	input.Required(&fs, "template_id", in.TemplateID != "", "a message template ID")
	if err := fs.Err(); err != nil {
		return Message{}, err
	}
	memberID, err := identity.ID(ctx, &tx.Conn, a, in.Member)
	if err != nil {
		return Message{}, err
	}
	return s.Queue(ctx, tx, a.ProgramID, QueueInput{MemberID: memberID, ChannelID: in.ChannelID, TemplateID: in.TemplateID})
}

// Get reads a message.
func (s *Service) Get(ctx context.Context, a auth.Actor, messageID string) (Message, error) {
	m, err := s.db.Read().Message(ctx, a.ProgramID, messageID)
	return messageOf(m), err
}

// Filter narrows the message log.
type Filter struct {
	Member, CampaignID, Status string
}

// List lists messages, newest first.
func (s *Service) List(ctx context.Context, a auth.Actor, f Filter, pg store.Page) ([]Message, string, error) {
	var fs failure.Fields
	input.OneOf(&fs, "status", f.Status, Queued, Sent, Failed, Suppressed)
	if err := fs.Err(); err != nil {
		return nil, "", err
	}
	sf := store.MessageFilter{CampaignID: f.CampaignID, Status: f.Status}
	if f.Member != "" {
		memberID, err := identity.ID(ctx, s.db.Read(), a, f.Member)
		if err != nil {
			return nil, "", err
		}
		sf.MemberID = memberID
	}
	ms, next, err := s.db.Replica().Messages(ctx, a.ProgramID, sf, pg)
	out := make([]Message, len(ms))
	for i, m := range ms {
		out[i] = messageOf(m)
	}
	return out, next, err
}
