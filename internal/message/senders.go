package message

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/webhook"
)

// Senders deliver one message through one channel. Every client has a
// timeout: HTTP requests 10 s (no redirects followed), an SMTP session
// 30 s from dialling to QUIT.
type Senders struct {
	HTTP        *http.Client
	SMTPTimeout time.Duration
	// RootCAs verifies SMTP servers' certificates (the system's when nil).
	RootCAs *x509.CertPool
}

// NewSenders returns the senders with their default timeouts.
func NewSenders() *Senders {
	return &Senders{
		HTTP: &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
		SMTPTimeout: 30 * time.Second,
	}
}

// Delivery is what a sender sends: a rendered message and its address.
type Delivery struct {
	MessageID  string
	MemberID   string
	CampaignID string
	To         string
	Subject    string
	Body       string
	// TemplateCode and Params are the Alibaba Cloud template and its
	// rendered parameters (a JSON object).
	TemplateCode string
	Params       json.RawMessage
	At           time.Time // the attempt's time: signatures' timestamps
}

// Send delivers d through ch. It returns the HTTP status or SMTP reply
// code it got, when it got one, and an error unless the message was
// accepted.
func (s *Senders) Send(ctx context.Context, ch store.Channel, d Delivery) (*int, error) {
	switch ch.Kind {
	case KindWebhook:
		var c WebhookConfig
		if err := json.Unmarshal(ch.Config, &c); err != nil {
			return nil, err
		}
		return s.webhook(ctx, c, d)
	case KindSMTP:
		var c SMTPConfig
		if err := json.Unmarshal(ch.Config, &c); err != nil {
			return nil, err
		}
		return s.smtp(ctx, c, d)
	case KindSMSHTTP:
		var c SMSHTTPConfig
		if err := json.Unmarshal(ch.Config, &c); err != nil {
			return nil, err
		}
		return s.smsHTTP(ctx, c, d)
	case KindSMSAliyun:
		var c AliyunConfig
		if err := json.Unmarshal(ch.Config, &c); err != nil {
			return nil, err
		}
		return s.aliyun(ctx, c, d)
	}
	return nil, fmt.Errorf("unknown channel kind %q", ch.Kind)
}

// do sends req and reads at most 64 KiB of the answer.
func (s *Senders) do(req *http.Request) (int, []byte, error) {
	res, err := s.HTTP.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	return res.StatusCode, b, err
}

func statusError(code int, body []byte) error {
	text := strings.TrimSpace(string(body))
	if len(text) > 200 {
		text = text[:200]
	}
	return fmt.Errorf("HTTP %d: %s", code, text)
}

func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (s *Senders) webhook(ctx context.Context, c WebhookConfig, d Delivery) (*int, error) {
	body, err := json.Marshal(struct {
		MessageID  string  `json:"message_id"`
		MemberID   *string `json:"member_id"`
		CampaignID *string `json:"campaign_id"`
		To         string  `json:"to"`
		Subject    string  `json:"subject"`
		Body       string  `json:"body"`
	}{d.MessageID, orNull(d.MemberID), orNull(d.CampaignID), d.To, d.Subject, d.Body})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", c.URL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	ts := d.At.Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Jifen-Messages/1")
	req.Header.Set("Jifen-Webhook-Id", d.MessageID)
	req.Header.Set("Jifen-Webhook-Timestamp", strconv.FormatInt(ts, 10))
	if c.Secret != "" {
		req.Header.Set("Jifen-Signature", webhook.Sign(ts, body, c.Secret))
	}
	code, b, err := s.do(req)
	if err != nil {
		return nil, err
	}
	if code < 200 || code > 299 {
		return &code, statusError(code, b)
	}
	return &code, nil
}

// smtp sends a plain-text UTF-8 mail with net/smtp: implicit TLS, STARTTLS
// (refused when the server does not offer it) or none; AUTH PLAIN when a
// username is set (net/smtp refuses it without TLS except to localhost).
func (s *Senders) smtp(ctx context.Context, c SMTPConfig, d Delivery) (*int, error) {
	to := strings.TrimSpace(d.To)
	if to == "" || strings.ContainsAny(to, "\r\n<>") {
		return nil, fmt.Errorf("bad recipient %q", to)
	}
	from, err := mail.ParseAddress(c.From)
	if err != nil {
		return nil, fmt.Errorf("config.from: %w", err)
	}
	addr := net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
	deadline := time.Now().Add(s.SMTPTimeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	dialer := &net.Dialer{Deadline: deadline}
	tlsConf := &tls.Config{ServerName: c.Host, RootCAs: s.RootCAs, MinVersion: tls.VersionTLS12}
	var conn net.Conn
	if c.Security == "tls" {
		conn, err = (&tls.Dialer{NetDialer: dialer, Config: tlsConf}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = dialer.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(deadline)
	cl, err := smtp.NewClient(conn, c.Host)
	if err != nil {
		conn.Close()
		return smtpCode(err)
	}
	defer cl.Close()
	if err := cl.Hello("jifen"); err != nil {
		return smtpCode(err)
	}
	if c.Security == "starttls" {
		if ok, _ := cl.Extension("STARTTLS"); !ok {
			return nil, errors.New("the server does not offer STARTTLS")
		}
		if err := cl.StartTLS(tlsConf); err != nil {
			return smtpCode(err)
		}
	}
	if c.Username != "" {
		if err := cl.Auth(smtp.PlainAuth("", c.Username, c.Password, c.Host)); err != nil {
			return smtpCode(err)
		}
	}
	if err := cl.Mail(from.Address); err != nil {
		return smtpCode(err)
	}
	if err := cl.Rcpt(to); err != nil {
		return smtpCode(err)
	}
	w, err := cl.Data()
	if err != nil {
		return smtpCode(err)
	}
	if _, err := w.Write(mailText(from, to, d)); err != nil {
		return smtpCode(err)
	}
	if err := w.Close(); err != nil {
		return smtpCode(err)
	}
	code := 250
	if err := cl.Quit(); err != nil {
		// The message was accepted at the end of DATA.
		return &code, nil
	}
	return &code, nil
}

// smtpCode takes the reply code out of an SMTP error.
func smtpCode(err error) (*int, error) {
	var te *textproto.Error
	if errors.As(err, &te) {
		code := te.Code
		return &code, err
	}
	return nil, err
}

// mailText is the whole mail: headers (the subject RFC 2047-encoded when
// it is not plain ASCII) and the body in base64.
func mailText(from *mail.Address, to string, d Delivery) []byte {
	var b bytes.Buffer
	h := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	h("From", from.String())
	h("To", "<"+to+">")
	h("Subject", mime.QEncoding.Encode("utf-8", d.Subject))
	h("Date", d.At.Format(time.RFC1123Z))
	h("Message-ID", "<"+d.MessageID+"@jifen>")
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "base64")
	b.WriteString("\r\n")
	enc := base64.StdEncoding.EncodeToString([]byte(d.Body))
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
	return b.Bytes()
}

// escapeFor is how {{phone}} and {{text}} are escaped in a gateway's body:
// JSON string contents for JSON, form encoding for a form, as is otherwise.
func escapeFor(contentType string) func(string) string {
	mt, _, _ := mime.ParseMediaType(contentType)
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		return func(v string) string {
			var b bytes.Buffer
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false)
			_ = enc.Encode(v)
			s := strings.TrimSuffix(b.String(), "\n")
			return s[1 : len(s)-1]
		}
	case mt == "application/x-www-form-urlencoded":
		return url.QueryEscape
	}
	return nil
}

func (s *Senders) smsHTTP(ctx context.Context, c SMSHTTPConfig, d Delivery) (*int, error) {
	ct := c.ContentType
	if ct == "" {
		ct = "application/json"
	}
	method := c.Method
	if method == "" {
		method = "POST"
	}
	body := render(c.BodyTemplate, map[string]string{"phone": d.To, "text": d.Body}, escapeFor(ct))
	req, err := http.NewRequestWithContext(ctx, method, c.URL, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range c.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", ct)
	code, b, err := s.do(req)
	if err != nil {
		return nil, err
	}
	if code < 200 || code > 299 {
		return &code, statusError(code, b)
	}
	return &code, nil
}

// AliyunPhone is a phone (E.164) as Alibaba Cloud SMS takes it: a
// mainland number without +86, others with their country code and no +.
func AliyunPhone(e164 string) string {
	if strings.HasPrefix(e164, "+86") {
		return e164[3:]
	}
	return strings.TrimPrefix(e164, "+")
}

// AliyunEncode percent-encodes as Alibaba Cloud's RPC signature wants:
// RFC 3986 unreserved characters (A–Z a–z 0–9 - _ . ~) as they are,
// everything else as %XY of its UTF-8 bytes (a space is %20, * is %2A).
func AliyunEncode(s string) string {
	e := url.QueryEscape(s)
	e = strings.ReplaceAll(e, "+", "%20")
	e = strings.ReplaceAll(e, "*", "%2A")
	return strings.ReplaceAll(e, "%7E", "~")
}

// AliyunCanonical is the canonicalized query string: parameters sorted by
// name, each name=value encoded, joined by &.
func AliyunCanonical(params map[string]string) string {
	names := make([]string, 0, len(params))
	for k := range params {
		if k != "Signature" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = AliyunEncode(k) + "=" + AliyunEncode(params[k])
	}
	return strings.Join(parts, "&")
}

// AliyunSign is the RPC signature (SignatureMethod HMAC-SHA1,
// SignatureVersion 1.0): Base64(HMAC-SHA1(secret + "&", StringToSign))
// with StringToSign = method & %2F & encode(canonicalized query).
func AliyunSign(method string, params map[string]string, secret string) string {
	sts := method + "&" + AliyunEncode("/") + "&" + AliyunEncode(AliyunCanonical(params))
	mac := hmac.New(sha1.New, []byte(secret+"&"))
	mac.Write([]byte(sts))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// aliyun calls SendSms (version 2017-05-25) by POST with the signed
// parameters as a form; the reply's Code "OK" is success.
func (s *Senders) aliyun(ctx context.Context, c AliyunConfig, d Delivery) (*int, error) {
	endpoint := c.Endpoint
	if endpoint == "" {
		endpoint = "https://dysmsapi.aliyuncs.com/"
	}
	region := c.Region
	if region == "" {
		region = "cn-hangzhou"
	}
	params := map[string]string{
		"AccessKeyId":      c.AccessKeyID,
		"Action":           "SendSms",
		"Format":           "JSON",
		"PhoneNumbers":     AliyunPhone(d.To),
		"RegionId":         region,
		"SignName":         c.SignName,
		"SignatureMethod":  "HMAC-SHA1",
		"SignatureNonce":   id.Secret(16),
		"SignatureVersion": "1.0",
		"TemplateCode":     d.TemplateCode,
		"Timestamp":        d.At.UTC().Format("2006-01-02T15:04:05Z"),
		"Version":          "2017-05-25",
	}
	if len(d.Params) > 0 && string(d.Params) != "{}" {
		params["TemplateParam"] = string(d.Params)
	}
	params["Signature"] = AliyunSign("POST", params, c.AccessKeySecret)
	form := url.Values{}
	for k, v := range params {
		form.Set(k, v)
	}
	req, err := http.NewRequestWithContext(ctx, "POST", endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	code, b, err := s.do(req)
	if err != nil {
		return nil, err
	}
	var reply struct{ Code, Message string }
	if json.Unmarshal(b, &reply) != nil {
		return &code, statusError(code, b)
	}
	if reply.Code != "OK" {
		return &code, fmt.Errorf("%s: %s", reply.Code, reply.Message)
	}
	return &code, nil
}
