package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/null"
)

// Channel is a way messages go out: its kind and its JSON settings
// (secrets included; the messages package masks them).
type Channel struct {
	ID        string
	ProgramID string
	Name      string
	Kind      string
	Config    json.RawMessage
	CreatedAt time.Time
	UpdatedAt time.Time
}

const channelColumns = `id, program_id, name, kind, config, created_at, updated_at`

// scanChannel reads a channel; its config (secrets and all) is sealed.
func (c *Conn) scanChannel(row interface{ Scan(...any) error }) (Channel, error) {
	var ch Channel
	var cfg string
	var created, updated int64
	if err := row.Scan(&ch.ID, &ch.ProgramID, &ch.Name, &ch.Kind, &cfg, &created, &updated); err != nil {
		return ch, err
	}
	err := c.open("channels", "config", &cfg, ch.ID)
	ch.Config, ch.CreatedAt, ch.UpdatedAt = json.RawMessage(cfg), fromMS(created), fromMS(updated)
	return ch, err
}

// SaveChannel inserts a channel or replaces its name and settings.
func (tx *Tx) SaveChannel(ctx context.Context, c Channel) error {
	_, err := tx.exec(ctx, `INSERT INTO channels (`+channelColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, config = excluded.config, updated_at = excluded.updated_at
		WHERE channels.program_id = excluded.program_id`,
		c.ID, c.ProgramID, c.Name, c.Kind, tx.seal("channels", "config", string(c.Config), c.ID), ms(c.CreatedAt), ms(c.UpdatedAt))
	if err != nil {
		return classify(fmt.Errorf("save channel: %w", err))
	}
	return nil
}

// DeleteChannel removes a channel; NotFound when there is none.
func (tx *Tx) DeleteChannel(ctx context.Context, programID, id string) error {
	res, err := tx.exec(ctx, `DELETE FROM channels WHERE id = ? AND program_id = ?`, id, programID)
	if err != nil {
		return classify(fmt.Errorf("delete channel: %w", err))
	}
	if affected(res) == 0 {
		return failure.New(failure.NotFound, "channel %s not found", id)
	}
	return nil
}

// Channel reads a channel; NotFound when there is none.
func (c *Conn) Channel(ctx context.Context, programID, id string) (Channel, error) {
	ch, err := c.scanChannel(c.queryRow(ctx, `SELECT `+channelColumns+` FROM channels WHERE id = ? AND program_id = ?`, id, programID))
	if errors.Is(err, sql.ErrNoRows) {
		return ch, failure.New(failure.NotFound, "channel %s not found", id)
	}
	if err != nil {
		return ch, classify(fmt.Errorf("channel: %w", err))
	}
	return ch, nil
}

// Channels lists a programme's channels, newest first.
func (c *Conn) Channels(ctx context.Context, programID string, p Page) ([]Channel, string, error) {
	return messagePage(ctx, c, `SELECT `+channelColumns+` FROM channels WHERE program_id = ?`, []any{programID}, p,
		c.scanChannel, func(ch Channel) string { return ch.ID })
}

// MessageTemplate is a stored message template.
type MessageTemplate struct {
	ID                 string
	ProgramID          string
	Name               string
	Subject            string
	Body               string
	AliyunTemplateCode null.String
	AliyunParams       json.RawMessage // a JSON object of strings, or nil
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

const msgTemplateColumns = `id, program_id, name, subject, body, aliyun_template_code, aliyun_params, created_at, updated_at`

func scanMsgTemplate(row interface{ Scan(...any) error }) (MessageTemplate, error) {
	var t MessageTemplate
	var params sql.NullString
	var created, updated int64
	err := row.Scan(&t.ID, &t.ProgramID, &t.Name, &t.Subject, &t.Body, &t.AliyunTemplateCode, &params, &created, &updated)
	t.AliyunParams, t.CreatedAt, t.UpdatedAt = rawJSON(params), fromMS(created), fromMS(updated)
	return t, err
}

// SaveMessageTemplate inserts a template or replaces its contents.
func (tx *Tx) SaveMessageTemplate(ctx context.Context, t MessageTemplate) error {
	_, err := tx.exec(ctx, `INSERT INTO message_templates (`+msgTemplateColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, subject = excluded.subject, body = excluded.body,
		aliyun_template_code = excluded.aliyun_template_code, aliyun_params = excluded.aliyun_params,
		updated_at = excluded.updated_at WHERE message_templates.program_id = excluded.program_id`,
		t.ID, t.ProgramID, t.Name, t.Subject, t.Body, t.AliyunTemplateCode, optJSON(t.AliyunParams), ms(t.CreatedAt), ms(t.UpdatedAt))
	if err != nil {
		return classify(fmt.Errorf("save message template: %w", err))
	}
	return nil
}

// DeleteMessageTemplate removes a template; NotFound when there is none.
// Messages keep what it rendered.
func (tx *Tx) DeleteMessageTemplate(ctx context.Context, programID, id string) error {
	res, err := tx.exec(ctx, `DELETE FROM message_templates WHERE id = ? AND program_id = ?`, id, programID)
	if err != nil {
		return classify(fmt.Errorf("delete message template: %w", err))
	}
	if affected(res) == 0 {
		return failure.New(failure.NotFound, "message template %s not found", id)
	}
	return nil
}

// MessageTemplate reads a template; NotFound when there is none.
func (c *Conn) MessageTemplate(ctx context.Context, programID, id string) (MessageTemplate, error) {
	t, err := scanMsgTemplate(c.queryRow(ctx, `SELECT `+msgTemplateColumns+` FROM message_templates WHERE id = ? AND program_id = ?`, id, programID))
	if errors.Is(err, sql.ErrNoRows) {
		return t, failure.New(failure.NotFound, "message template %s not found", id)
	}
	if err != nil {
		return t, classify(fmt.Errorf("message template: %w", err))
	}
	return t, nil
}

// MessageTemplates lists a programme's templates, newest first.
func (c *Conn) MessageTemplates(ctx context.Context, programID string, p Page) ([]MessageTemplate, string, error) {
	return messagePage(ctx, c, `SELECT `+msgTemplateColumns+` FROM message_templates WHERE program_id = ?`, []any{programID}, p,
		scanMsgTemplate, func(t MessageTemplate) string { return t.ID })
}

// Message is a stored message. Attempts is a JSON array; Params, for
// Alibaba Cloud SMS, the rendered template parameters (a JSON object).
type Message struct {
	ID            string
	ProgramID     string
	MemberID      null.String
	ChannelID     string
	TemplateID    null.String
	CampaignID    null.String
	To            string
	Subject       string
	Body          string
	Params        json.RawMessage
	Status        string
	Attempts      json.RawMessage
	Tries         int
	NextAttemptAt time.Time
	CreatedAt     time.Time
	SentAt        *time.Time
}

const messageColumns = `id, program_id, member_id, channel_id, template_id, campaign_id, recipient, subject, body, params,
	status, attempts, tries, next_attempt_at, created_at, sent_at`

// scanMessage reads a message; its recipient, subject, body and
// parameters are sealed.
func (c *Conn) scanMessage(row interface{ Scan(...any) error }) (Message, error) {
	var m Message
	var params sql.NullString
	var attempts string
	var next, created int64
	var sent sql.NullInt64
	if err := row.Scan(&m.ID, &m.ProgramID, &m.MemberID, &m.ChannelID, &m.TemplateID, &m.CampaignID, &m.To, &m.Subject, &m.Body,
		&params, &m.Status, &attempts, &m.Tries, &next, &created, &sent); err != nil {
		return m, err
	}
	for _, f := range []struct {
		col string
		v   *string
	}{{"recipient", &m.To}, {"subject", &m.Subject}, {"body", &m.Body}, {"params", &params.String}} {
		if err := c.open("messages", f.col, f.v, m.ID); err != nil {
			return m, err
		}
	}
	m.Params, m.Attempts = rawJSON(params), json.RawMessage(attempts)
	m.NextAttemptAt, m.CreatedAt, m.SentAt = fromMS(next), fromMS(created), fromOptMS(sent)
	return m, nil
}

// InsertMessage records a message (queued, or already settled).
func (tx *Tx) InsertMessage(ctx context.Context, m Message) error {
	if len(m.Attempts) == 0 {
		m.Attempts = json.RawMessage("[]")
	}
	_, err := tx.exec(ctx, `INSERT INTO messages (`+messageColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, m.ProgramID, m.MemberID, m.ChannelID, m.TemplateID, m.CampaignID, tx.seal("messages", "recipient", m.To, m.ID),
		tx.seal("messages", "subject", m.Subject, m.ID), tx.seal("messages", "body", m.Body, m.ID), tx.sealOptJSON("messages", "params", m.Params, m.ID),
		m.Status, string(m.Attempts), m.Tries, ms(m.NextAttemptAt), ms(m.CreatedAt), optMS(m.SentAt))
	if err != nil {
		return classify(fmt.Errorf("insert message: %w", err))
	}
	return nil
}

// Message reads a message; NotFound when there is none.
func (c *Conn) Message(ctx context.Context, programID, id string) (Message, error) {
	m, err := c.scanMessage(c.queryRow(ctx, `SELECT `+messageColumns+` FROM messages WHERE id = ? AND program_id = ?`, id, programID))
	if errors.Is(err, sql.ErrNoRows) {
		return m, failure.New(failure.NotFound, "message %s not found", id)
	}
	if err != nil {
		return m, classify(fmt.Errorf("message: %w", err))
	}
	return m, nil
}

// MessageFilter narrows a list of messages.
type MessageFilter struct {
	MemberID, CampaignID, Status string
}

// Messages lists a programme's messages, newest first.
func (c *Conn) Messages(ctx context.Context, programID string, f MessageFilter, p Page) ([]Message, string, error) {
	q := `SELECT ` + messageColumns + ` FROM messages WHERE program_id = ?`
	args := []any{programID}
	if f.MemberID != "" {
		q += ` AND member_id = ?`
		args = append(args, f.MemberID)
	}
	if f.CampaignID != "" {
		q += ` AND campaign_id = ?`
		args = append(args, f.CampaignID)
	}
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, f.Status)
	}
	return messagePage(ctx, c, q, args, p, c.scanMessage, func(m Message) string { return m.ID })
}

// DueMessages lists the IDs of a programme's queued messages due at now
// and not claimed by a sender, oldest due first.
func (c *Conn) DueMessages(ctx context.Context, programID string, now time.Time, limit int) ([]string, error) {
	rows, err := c.query(ctx, `SELECT id FROM messages WHERE program_id = ? AND status = 'queued' AND next_attempt_at <= ?
		AND claimed_until <= ? ORDER BY next_attempt_at, id LIMIT ?`, programID, ms(now), ms(now), limit)
	if err != nil {
		return nil, classify(fmt.Errorf("due messages: %w", err))
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, classify(rows.Err())
}

// ClaimMessage claims a due, queued message for holder until until: a
// conditional update, so of several senders exactly one gets it. It
// returns the message and whether this holder claimed it.
func (tx *Tx) ClaimMessage(ctx context.Context, programID, id, holder string, now, until time.Time) (Message, bool, error) {
	res, err := tx.exec(ctx, `UPDATE messages SET claimed_by = ?, claimed_until = ?
		WHERE id = ? AND program_id = ? AND status = 'queued' AND next_attempt_at <= ? AND claimed_until <= ?`,
		holder, ms(until), id, programID, ms(now), ms(now))
	if err != nil {
		return Message{}, false, classify(fmt.Errorf("claim message: %w", err))
	}
	if affected(res) != 1 {
		return Message{}, false, nil
	}
	m, err := tx.Message(ctx, programID, id)
	return m, err == nil, err
}

// FinishAttempt records the outcome of an attempt on a message holder
// claimed: its new status, attempts, tries, next attempt and sent time,
// and frees the claim. It reports false when the claim was lost (it ran
// out and another sender took the message).
func (tx *Tx) FinishAttempt(ctx context.Context, m Message, holder string) (bool, error) {
	res, err := tx.exec(ctx, `UPDATE messages SET status = ?, attempts = ?, tries = ?, next_attempt_at = ?, sent_at = ?,
		claimed_by = '', claimed_until = 0 WHERE id = ? AND program_id = ? AND claimed_by = ? AND status = 'queued'`,
		m.Status, string(m.Attempts), m.Tries, ms(m.NextAttemptAt), optMS(m.SentAt), m.ID, m.ProgramID, holder)
	if err != nil {
		return false, classify(fmt.Errorf("finish attempt: %w", err))
	}
	return affected(res) == 1, nil
}

// messagePage runs a list query (q filters; messagePage adds the cursor, the order
// and the limit) and cuts the page.
func messagePage[T any](ctx context.Context, c *Conn, q string, args []any, p Page, scan func(interface{ Scan(...any) error }) (T, error), id func(T) string) ([]T, string, error) {
	if p.Cursor != "" {
		q += ` AND id < ?`
		args = append(args, p.Cursor)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, p.Limit+1)
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, "", classify(fmt.Errorf("list: %w", err))
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, "", classify(err)
	}
	out, cur := next(out, p.Limit, id)
	return out, cur, nil
}
