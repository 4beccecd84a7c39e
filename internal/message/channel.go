package message

import (
	"context"
	"encoding/json"
	"net/mail"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/input"
	"github.com/jifen/jifen/internal/store"
)

// The kinds of channel.
const (
	KindWebhook   = "webhook"
	KindSMTP      = "smtp"
	KindSMSHTTP   = "sms_http"
	KindSMSAliyun = "sms_aliyun"
)

// Masked is what a secret reads back as. A PATCH that sends it keeps the
// stored secret.
const Masked = "***"

// Channel is a way messages go out. Config is the kind's settings with
// its secrets read back as "***".
type Channel struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Kind      string          `json:"kind"`
	Config    json.RawMessage `json:"config"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// WebhookConfig posts {message_id, member_id, campaign_id, subject, body}
// to URL, signed with Secret as webhooks are.
type WebhookConfig struct {
	URL    string `json:"url"`
	Secret string `json:"secret,omitempty"`
}

// SMTPConfig sends mail to the member's email identity.
type SMTPConfig struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Security string `json:"security"` // starttls | tls | none
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	From     string `json:"from"`
}

// SMSHTTPConfig sends a text through a generic HTTP gateway: BodyTemplate
// with {{phone}} and {{text}}, escaped for ContentType.
type SMSHTTPConfig struct {
	URL          string            `json:"url"`
	Method       string            `json:"method,omitempty"`
	Headers      map[string]string `json:"headers,omitempty"`
	ContentType  string            `json:"content_type,omitempty"`
	BodyTemplate string            `json:"body_template"`
}

// AliyunConfig sends through Alibaba Cloud SMS (SendSms).
type AliyunConfig struct {
	AccessKeyID     string `json:"access_key_id"`
	AccessKeySecret string `json:"access_key_secret"`
	SignName        string `json:"sign_name"`
	Region          string `json:"region,omitempty"`
	Endpoint        string `json:"endpoint,omitempty"`
}

// configFields are each kind's config fields, and which are secret.
var configFields = map[string]map[string]bool{
	KindWebhook:   {"url": false, "secret": true},
	KindSMTP:      {"host": false, "port": false, "security": false, "username": false, "password": true, "from": false},
	KindSMSHTTP:   {"url": false, "method": false, "headers": false, "content_type": false, "body_template": false},
	KindSMSAliyun: {"access_key_id": false, "access_key_secret": true, "sign_name": false, "region": false, "endpoint": false},
}

// ChannelInput creates a channel.
type ChannelInput struct {
	Name   string          `json:"name" api:"minlen=1,maxlen=100"`
	Kind   string          `json:"kind" api:"enum=webhook|smtp|sms_http|sms_aliyun"`
	Config json.RawMessage `json:"config" doc:"the kind's settings: webhook {url, secret?}; smtp {host, port, security: starttls|tls|none, username?, password?, from}; sms_http {url, method?, headers?, content_type?, body_template} with {{phone}} and {{text}}; sms_aliyun {access_key_id, access_key_secret, sign_name, region?, endpoint?}. Secrets read back as \"***\"."`
}

// ChannelPatch changes a channel's name or settings (its kind is fixed).
// A secret sent as "***" keeps the stored one.
type ChannelPatch struct {
	Name   *string         `json:"name,omitempty" api:"minlen=1,maxlen=100"`
	Config json.RawMessage `json:"config,omitempty" doc:"the whole settings object of the channel's kind; a secret sent as \"***\" keeps the stored one"`
}

// checkConfig decodes and checks a kind's config; old, when not nil, is
// the stored config whose secrets a "***" keeps. It returns the config to
// store.
func checkConfig(kind string, raw, old json.RawMessage) (json.RawMessage, error) {
	fields, ok := configFields[kind]
	if !ok {
		return nil, failure.Field("kind", "must be one of webhook, smtp, sms_http, sms_aliyun")
	}
	if len(raw) == 0 || string(raw) == "null" {
		return nil, failure.Field("config", "is required: the %s settings", kind)
	}
	var keys map[string]json.RawMessage
	if err := input.DecodeAt("config", raw, &keys); err != nil {
		return nil, err
	}
	var fs failure.Fields
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if _, ok := fields[k]; !ok {
			fs.Add("config."+k, "is not a setting of a %s channel", kind)
		}
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	var oldKeys map[string]json.RawMessage
	if old != nil {
		_ = json.Unmarshal(old, &oldKeys)
	}
	for k, secret := range fields {
		if secret && string(keys[k]) == `"`+Masked+`"` {
			if v, ok := oldKeys[k]; ok {
				keys[k] = v
			} else {
				fs.Add("config."+k, "\"***\" keeps a stored secret, and there is none")
			}
		}
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	merged, err := json.Marshal(keys)
	if err != nil {
		return nil, err
	}
	var cfg any
	switch kind {
	case KindWebhook:
		c := &WebhookConfig{}
		cfg = c
		if err := input.DecodeAt("config", merged, c); err != nil {
			return nil, err
		}
		httpURL(&fs, "config.url", c.URL)
		input.Text(&fs, "config.secret", c.Secret, 200)
	case KindSMTP:
		c := &SMTPConfig{}
		cfg = c
		if err := input.DecodeAt("config", merged, c); err != nil {
			return nil, err
		}
		input.Required(&fs, "config.host", strings.TrimSpace(c.Host) != "", "the SMTP server's host name")
		input.Text(&fs, "config.host", c.Host, 253)
		if c.Port < 1 || c.Port > 65535 {
			fs.Add("config.port", "must be a port from 1 to 65535")
		}
		input.Required(&fs, "config.security", c.Security != "", "starttls, tls or none")
		input.OneOf(&fs, "config.security", c.Security, "starttls", "tls", "none")
		input.Text(&fs, "config.username", c.Username, 200)
		input.Text(&fs, "config.password", c.Password, 200)
		if c.Password != "" && c.Username == "" {
			fs.Add("config.username", "is required with a password")
		}
		if a, err := mail.ParseAddress(c.From); err != nil || strings.ContainsAny(a.Address, "\r\n") {
			fs.Add("config.from", "must be an email address, such as Tea House <no-reply@example.com>")
		}
	case KindSMSHTTP:
		c := &SMSHTTPConfig{}
		cfg = c
		if err := input.DecodeAt("config", merged, c); err != nil {
			return nil, err
		}
		httpURL(&fs, "config.url", c.URL)
		input.OneOf(&fs, "config.method", c.Method, "POST", "PUT")
		for k, v := range c.Headers {
			if k == "" || strings.ContainsAny(k, " :\r\n") || strings.ContainsAny(v, "\r\n") {
				fs.Add("config.headers."+k, "must be a header name and a value on one line")
			}
		}
		input.Text(&fs, "config.content_type", c.ContentType, 100)
		input.Required(&fs, "config.body_template", c.BodyTemplate != "", "the request body with {{phone}} and {{text}}")
		if len(c.BodyTemplate) > 8192 {
			fs.Add("config.body_template", "must be at most 8 KiB")
		}
		if err := checkPlaceholders(c.BodyTemplate, []string{"phone", "text"}); err != "" {
			fs.Add("config.body_template", "%s", err)
		}
	case KindSMSAliyun:
		c := &AliyunConfig{}
		cfg = c
		if err := input.DecodeAt("config", merged, c); err != nil {
			return nil, err
		}
		input.Required(&fs, "config.access_key_id", c.AccessKeyID != "", "the AccessKey ID")
		input.Required(&fs, "config.access_key_secret", c.AccessKeySecret != "", "the AccessKey secret")
		input.Required(&fs, "config.sign_name", c.SignName != "", "the approved SMS signature name")
		input.Text(&fs, "config.access_key_id", c.AccessKeyID, 200)
		input.Text(&fs, "config.access_key_secret", c.AccessKeySecret, 200)
		input.Text(&fs, "config.sign_name", c.SignName, 100)
		input.Text(&fs, "config.region", c.Region, 50)
		if c.Endpoint != "" {
			httpURL(&fs, "config.endpoint", c.Endpoint)
		}
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	return json.Marshal(cfg)
}

func httpURL(fs *failure.Fields, field, v string) {
	u, err := url.Parse(v)
	if v == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(v) > 2000 {
		fs.Add(field, "must be an http or https URL")
	}
}

// mask replaces the secrets of a stored config with "***".
func mask(kind string, cfg json.RawMessage) json.RawMessage {
	var keys map[string]json.RawMessage
	if json.Unmarshal(cfg, &keys) != nil {
		return cfg
	}
	for k, secret := range configFields[kind] {
		if v, ok := keys[k]; secret && ok && string(v) != `""` {
			keys[k] = json.RawMessage(`"` + Masked + `"`)
		}
	}
	b, _ := json.Marshal(keys)
	return b
}

func channelOf(c store.Channel) Channel {
	return Channel{ID: c.ID, Name: c.Name, Kind: c.Kind, Config: mask(c.Kind, c.Config),
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

// CreateChannel adds a channel.
func (s *Service) CreateChannel(ctx context.Context, tx *store.Tx, a auth.Actor, in ChannelInput) (Channel, error) {
	var fs failure.Fields
	input.Name(&fs, "name", in.Name, 100)
	input.Required(&fs, "kind", in.Kind != "", "webhook, smtp, sms_http or sms_aliyun")
	input.OneOf(&fs, "kind", in.Kind, KindWebhook, KindSMTP, KindSMSHTTP, KindSMSAliyun)
	if err := fs.Err(); err != nil {
		return Channel{}, err
	}
	cfg, err := checkConfig(in.Kind, in.Config, nil)
	if err != nil {
		return Channel{}, err
	}
	now := s.clock.Now()
	c := store.Channel{ID: id.New("chn"), ProgramID: a.ProgramID, Name: strings.TrimSpace(in.Name), Kind: in.Kind,
		Config: cfg, CreatedAt: now, UpdatedAt: now}
	if err := tx.SaveChannel(ctx, c); err != nil {
		return Channel{}, err
	}
	return channelOf(c), nil
}

// PatchChannel changes a channel's name or settings.
func (s *Service) PatchChannel(ctx context.Context, tx *store.Tx, a auth.Actor, channelID string, in ChannelPatch) (Channel, error) {
	c, err := tx.Channel(ctx, a.ProgramID, channelID)
	if err != nil {
		return Channel{}, err
	}
	if in.Name != nil {
		var fs failure.Fields
		input.Name(&fs, "name", *in.Name, 100)
		if err := fs.Err(); err != nil {
			return Channel{}, err
		}
		c.Name = strings.TrimSpace(*in.Name)
	}
	if len(in.Config) > 0 && string(in.Config) != "null" {
		if c.Config, err = checkConfig(c.Kind, in.Config, c.Config); err != nil {
			return Channel{}, err
		}
	}
	c.UpdatedAt = s.clock.Now()
	if err := tx.SaveChannel(ctx, c); err != nil {
		return Channel{}, err
	}
	return channelOf(c), nil
}

// DeleteChannel removes a channel. Its queued messages fail at their next
// attempt.
func (s *Service) DeleteChannel(ctx context.Context, tx *store.Tx, a auth.Actor, channelID string) error {
	return tx.DeleteChannel(ctx, a.ProgramID, channelID)
}

// GetChannel reads a channel.
func (s *Service) GetChannel(ctx context.Context, a auth.Actor, channelID string) (Channel, error) {
	c, err := s.db.Read().Channel(ctx, a.ProgramID, channelID)
	return channelOf(c), err
}

// Channels lists the programme's channels, newest first.
func (s *Service) Channels(ctx context.Context, a auth.Actor, pg store.Page) ([]Channel, string, error) {
	cs, next, err := s.db.Read().Channels(ctx, a.ProgramID, pg)
	out := make([]Channel, len(cs))
	for i, c := range cs {
		out[i] = channelOf(c)
	}
	return out, next, err
}
