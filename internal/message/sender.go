package message

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/identity"
	"github.com/jifen/jifen/internal/input"
	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/store"
)

// Backoff is the wait before each retry of a failed attempt: after the
// sixth attempt fails, the message is failed.
var Backoff = []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute}

const (
	// claimFor is how long a sender holds a message it claimed: longer
	// than any attempt can take, so a live sender never loses one, and a
	// node that died frees its messages when it runs out.
	claimFor = 2 * time.Minute
	// attemptTimeout bounds one attempt whatever the client.
	attemptTimeout = 45 * time.Second
	batchSize      = 50
	parallel       = 8
)

// SendDue sends a programme's due queued messages: each is claimed in
// the database first (a conditional update: one sender per message, on
// any number of nodes), sent outside any transaction, and its attempt
// recorded under the claim. It returns how many it attempted.
func (s *Service) SendDue(ctx context.Context, programID string) (int, error) {
	now := s.clock.Now()
	ids, err := s.db.Read().DueMessages(ctx, programID, now, batchSize)
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	var (
		mu    sync.Mutex
		first error
		n     int
		wg    sync.WaitGroup
		slots = make(chan struct{}, parallel)
	)
	for _, mid := range ids {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			tried, err := s.attempt(ctx, programID, mid, now)
			mu.Lock()
			defer mu.Unlock()
			if tried {
				n++
			}
			if err != nil && first == nil {
				first = err
			}
		}()
	}
	wg.Wait()
	return n, first
}

// attempt claims one message, sends it and records the attempt.
func (s *Service) attempt(ctx context.Context, programID, messageID string, now time.Time) (bool, error) {
	var m store.Message
	var claimed bool
	err := s.db.Write(ctx, "messages", func(ctx context.Context, tx *store.Tx) (err error) {
		m, claimed, err = tx.ClaimMessage(ctx, programID, messageID, s.holder, now, now.Add(claimFor))
		return err
	})
	if err != nil || !claimed {
		return false, err
	}
	at := s.clock.Now()
	var code *int
	var sendErr error
	permanent := false
	ch, err := s.db.Read().Channel(ctx, programID, m.ChannelID)
	switch {
	case failure.KindOf(err) == failure.NotFound:
		sendErr, permanent = errString("the channel was deleted"), true
	case err != nil:
		sendErr = err
	default:
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		code, sendErr = s.Senders.Send(actx, ch, delivery(m, at))
		cancel()
	}
	settle(&m, at, code, sendErr, permanent)
	err = s.db.Write(context.WithoutCancel(ctx), "messages", func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.FinishAttempt(ctx, m, s.holder)
		return err
	})
	return true, err
}

type errString string

func (e errString) Error() string { return string(e) }

func delivery(m store.Message, at time.Time) Delivery {
	d := Delivery{MessageID: m.ID, MemberID: string(m.MemberID), CampaignID: string(m.CampaignID), To: m.To,
		Subject: m.Subject, Body: m.Body, At: at}
	if len(m.Params) > 0 {
		var p aliyunParams
		if json.Unmarshal(m.Params, &p) == nil {
			d.TemplateCode = p.TemplateCode
			d.Params, _ = json.Marshal(p.Params)
		}
	}
	return d
}

// settle records an attempt on m: sent, retried after the next Backoff,
// or failed after the last.
func settle(m *store.Message, at time.Time, code *int, sendErr error, permanent bool) {
	a := Attempt{At: at, OK: sendErr == nil, StatusCode: code}
	if sendErr != nil {
		e := sendErr.Error()
		if len(e) > 500 {
			e = e[:500]
		}
		a.Error = &e
	}
	var attempts []Attempt
	_ = json.Unmarshal(m.Attempts, &attempts)
	attempts = append(attempts, a)
	m.Attempts, _ = json.Marshal(attempts)
	m.Tries++
	switch {
	case sendErr == nil:
		m.Status, m.SentAt = Sent, &at
	case permanent || m.Tries > len(Backoff):
		m.Status = Failed
	default:
		m.NextAttemptAt = at.Add(Backoff[m.Tries-1])
	}
}

// TestInput is a test message: an address and a text, sent at once.
type TestInput struct {
	To      string  `json:"to" api:"minlen=1" doc:"an email address (smtp), a phone (sms_http, sms_aliyun), anything (webhook: sent as to)"`
	Body    string  `json:"body" api:"minlen=1,maxlen=4000"`
	Subject *string `json:"subject,omitempty" api:"maxlen=200"`
	// TemplateID gives an sms_aliyun test its template code and
	// parameters (rendered with no member: empty).
	TemplateID *string `json:"template_id,omitempty" doc:"sms_aliyun: the template whose aliyun_template_code is sent"`
}

// TestSend sends a test message through a channel now, outside any
// transaction, and returns the message to record with RecordTest.
func (s *Service) TestSend(ctx context.Context, a auth.Actor, channelID string, in TestInput) (store.Message, error) {
	c := s.db.Read()
	ch, err := c.Channel(ctx, a.ProgramID, channelID)
	if err != nil {
		return store.Message{}, err
	}
	var fs failure.Fields
	in.To = strings.TrimSpace(in.To)
	input.Required(&fs, "to", in.To != "", "the address to send to")
	input.Text(&fs, "to", in.To, 254)
	if n := len([]rune(in.Body)); n < 1 || n > 4000 {
		fs.Add("body", "must be 1 to 4000 characters")
	}
	switch ch.Kind {
	case KindSMTP:
		if in.To != "" {
			if _, v := identity.Normalize(identity.Email, in.To); v != "" {
				fs.Add("to", "%s", v)
			}
		}
	case KindSMSHTTP, KindSMSAliyun:
		if p, ok := identity.NormalizePhone(in.To); ok {
			in.To = p
		} else {
			fs.Add("to", "must be a phone number, such as +8613800000000")
		}
	}
	m := store.Message{ID: id.New("msg"), ProgramID: a.ProgramID, ChannelID: ch.ID, To: in.To, Body: in.Body,
		Status: Queued, Attempts: json.RawMessage("[]")}
	if in.Subject != nil {
		m.Subject = *in.Subject
	}
	if ch.Kind == KindSMSAliyun {
		if in.TemplateID == nil {
			fs.Add("template_id", "is required for an sms_aliyun channel: the template whose code is sent")
		} else if t, err := c.MessageTemplate(ctx, a.ProgramID, *in.TemplateID); err != nil {
			if failure.KindOf(err) != failure.NotFound {
				return store.Message{}, err
			}
			fs.Add("template_id", "no such message template")
		} else if t.AliyunTemplateCode == "" {
			fs.Add("template_id", "has no aliyun_template_code")
		} else {
			m.TemplateID = null.String(t.ID)
			m.Params = renderParams(t, map[string]string{})
		}
	}
	if err := fs.Err(); err != nil {
		return store.Message{}, err
	}
	now := s.clock.Now()
	m.CreatedAt, m.NextAttemptAt = now, now
	actx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	code, sendErr := s.Senders.Send(actx, ch, delivery(m, now))
	settle(&m, now, code, sendErr, true)
	return m, nil
}

// RecordTest records a test message TestSend sent, in the message log.
func (s *Service) RecordTest(ctx context.Context, tx *store.Tx, a auth.Actor, m store.Message) (Message, error) {
	if m.ProgramID != a.ProgramID {
		return Message{}, failure.New(failure.Internal, "test message of another programme")
	}
	if err := tx.InsertMessage(ctx, m); err != nil {
		return Message{}, err
	}
	return messageOf(m), nil
}
