package httpapi_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jifen/jifen/internal/app"
	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/httpapi"
	"github.com/jifen/jifen/internal/message"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/store/storetest"
	"github.com/jifen/jifen/internal/webhook"
)

// newMsgEnv is newEnv keeping the app, whose sender the tests run.
func newMsgEnv(t *testing.T, b storetest.Backend) (*env, *app.App) {
	t.Helper()
	db := storetest.Open(t, b, store.Options{})
	e := &env{t: t, db: db, clock: clock.NewFake(time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)), admin: adminKey}
	err := db.Write(context.Background(), "", func(ctx context.Context, tx *store.Tx) error {
		if _, err := program.Create(ctx, tx, program.DefaultID, program.DefaultID, e.clock.Now()); err != nil {
			return err
		}
		_, err := auth.Bootstrap(ctx, tx, program.DefaultID, adminKey, e.clock.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	a := app.New(app.Config{DB: db, Clock: e.clock, CacheTTL: time.Nanosecond})
	e.api = httpapi.New(httpapi.Config{App: a, Registry: prometheus.NewRegistry(), Version: "test"})
	e.srv = httptest.NewServer(e.api)
	t.Cleanup(e.srv.Close)
	e.client = e.srv.Client()
	return e, a
}

type msgObj struct {
	ID         string  `json:"id"`
	MemberID   *string `json:"member_id"`
	ChannelID  string  `json:"channel_id"`
	TemplateID *string `json:"template_id"`
	CampaignID *string `json:"campaign_id"`
	To         string  `json:"to"`
	Subject    string  `json:"subject"`
	Body       string  `json:"body"`
	Status     string  `json:"status"`
	Attempts   []struct {
		At         time.Time `json:"at"`
		OK         bool      `json:"ok"`
		StatusCode *int      `json:"status_code"`
		Error      *string   `json:"error"`
	} `json:"attempts"`
	CreatedAt time.Time  `json:"created_at"`
	SentAt    *time.Time `json:"sent_at"`
}

type channelObj struct {
	ID     string         `json:"id"`
	Name   string         `json:"name"`
	Kind   string         `json:"kind"`
	Config map[string]any `json:"config"`
}

// mailIn is a mail the test SMTP server accepted.
type mailIn struct {
	From, To, Auth string
	TLS            bool
	Data           string
}

// smtpServer is a small SMTP server (RFC 5321: EHLO, STARTTLS, AUTH
// PLAIN, MAIL, RCPT, DATA, QUIT) on 127.0.0.1. mode: none, starttls or tls.
type smtpServer struct {
	addr string
	port int
	mu   sync.Mutex
	got  []mailIn
}

func startSMTP(t *testing.T, mode string, cert tls.Certificate) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tlsConf := &tls.Config{Certificates: []tls.Certificate{cert}}
	if mode == "tls" {
		ln = tls.NewListener(ln, tlsConf)
	}
	t.Cleanup(func() { ln.Close() })
	s := &smtpServer{addr: ln.Addr().String(), port: ln.Addr().(*net.TCPAddr).Port}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c, mode, tlsConf)
		}
	}()
	return s
}

func (s *smtpServer) serve(c net.Conn, mode string, tlsConf *tls.Config) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	rd := bufio.NewReader(c)
	say := func(l string) { io.WriteString(c, l+"\r\n") }
	m := mailIn{TLS: mode == "tls"}
	say("220 test ESMTP")
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		switch verb {
		case "EHLO":
			say("250-test")
			if mode == "starttls" && !m.TLS {
				say("250-STARTTLS")
			}
			say("250 AUTH PLAIN")
		case "STARTTLS":
			say("220 go ahead")
			tc := tls.Server(c, tlsConf)
			if tc.Handshake() != nil {
				return
			}
			c, rd, m.TLS = tc, bufio.NewReader(tc), true
		case "AUTH":
			b, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(line, "AUTH PLAIN "))
			m.Auth = string(b)
			say("235 ok")
		case "MAIL":
			m.From = strings.Trim(strings.TrimPrefix(line, "MAIL FROM:"), "<> ")
			say("250 ok")
		case "RCPT":
			m.To = strings.Trim(strings.TrimPrefix(line, "RCPT TO:"), "<> ")
			say("250 ok")
		case "DATA":
			say("354 end with .")
			var data strings.Builder
			for {
				l, err := rd.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(strings.TrimPrefix(l, "."))
			}
			m.Data = data.String()
			s.mu.Lock()
			s.got = append(s.got, m)
			s.mu.Unlock()
			say("250 queued")
		case "QUIT":
			say("221 bye")
			return
		default:
			say("502 unknown")
		}
	}
}

func (s *smtpServer) mails() []mailIn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]mailIn(nil), s.got...)
}

// selfSigned is a certificate for 127.0.0.1 and the pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// mailBody decodes a received mail's subject and text.
func mailBody(t *testing.T, data string) (subject, text string) {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(msg.Body)
	raw, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(strings.TrimSpace(string(b)), "\r\n", ""))
	if err != nil {
		t.Fatal(err)
	}
	subject, err = new(mimeDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	return subject, string(raw)
}

func (e *env) sendDue(a *app.App) int {
	e.t.Helper()
	n, err := a.Messages.SendDue(context.Background(), program.DefaultID)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) message(id string) msgObj {
	e.t.Helper()
	var m msgObj
	e.get("/v1/messages/"+id).want(200, &m)
	return m
}

func TestMessaging(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e, a := newMsgEnv(t, b)
		cert, pool := selfSigned(t)
		a.Messages.Senders.RootCAs = pool

		e.call(e.admin, "PUT", "/v1/tiers", []map[string]any{{"code": "silver", "name": "白银", "threshold": 0}}).want(200, nil)
		m := e.newMember(map[string]any{"name": "李雷", "phone": "13800000000"})
		e.post("/v1/members/"+m.ID+"/identities", map[string]any{"kind": "email", "value": "lilei@example.com"}).want(201, nil)
		e.earn(m.ID, 100)
		e.post("/v1/members/"+m.ID+"/points/earn", map[string]any{"points": 50, "expires_at": "2026-04-01T00:00:00+08:00"}).want(201, nil)
		bare := e.newMember(map[string]any{"name": "No Contact"})

		// Templates: every placeholder; an unknown one is refused.
		e.post("/v1/message-templates", map[string]any{"name": "x", "body": "Hi {{member.nickname}}"}).
			wantProblem(422, "validation_failed", "body")
		e.post("/v1/message-templates", map[string]any{"name": "x", "body": "ok", "subject": "{{member.name"}).
			wantProblem(422, "validation_failed", "subject")
		e.post("/v1/message-templates", map[string]any{"name": "x", "body": "ok", "aliyun_params": map[string]string{"c": "{{nope}}"}}).
			wantProblem(422, "validation_failed", "aliyun_params.c")
		all := "{{member.name}}|{{member.tier}}|{{member.referral_code}}|{{points.available}}|{{points.expiring}}|" +
			"{{points.expiring_on}}|{{coupon.code}}|{{coupon.name}}|{{coupon.valid_until}}|{{campaign.name}}|" +
			"{{program.name}}|{{join.code}}|{{ join.minutes }}|<&>"
		var tpl struct {
			ID string `json:"id"`
		}
		e.post("/v1/message-templates", map[string]any{"name": "all", "subject": "积分提醒 {{member.name}}", "body": all,
			"aliyun_template_code": "SMS_123", "aliyun_params": map[string]string{"name": "{{member.name}}", "points": "{{points.available}}"}}).
			want(201, &tpl)
		var rendered struct{ Subject, Body string }
		e.call(e.admin, "POST", "/v1/message-templates/"+tpl.ID+"/render", map[string]any{"member": "phone:+8613800000000",
			"values": map[string]string{"coupon.code": "C1"}}).want(200, &rendered)
		want := "李雷|白银|" + m.ReferralCode + "|150|50|2026-03-31|C1||||default|||<&>"
		if rendered.Subject != "积分提醒 李雷" || rendered.Body != want {
			t.Fatalf("render: %+v, want body %q", rendered, want)
		}
		e.call(e.admin, "POST", "/v1/message-templates/"+tpl.ID+"/render", map[string]any{"member": "mem_nope"}).wantProblem(404, "not_found")

		// Receivers: a webhook, two SMS gateways, the Aliyun stand-in, SMTP.
		type hook struct {
			body []byte
			h    http.Header
		}
		hooks := make(chan hook, 10)
		wh := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			hooks <- hook{b, r.Header}
		}))
		defer wh.Close()
		var smsMu sync.Mutex
		var smsBodies []string
		failFirst := 2
		gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			smsMu.Lock()
			defer smsMu.Unlock()
			if r.URL.Path == "/down" {
				w.WriteHeader(503)
				return
			}
			if r.URL.Path == "/flaky" && failFirst > 0 {
				failFirst--
				w.WriteHeader(500)
				io.WriteString(w, "try later")
				return
			}
			smsBodies = append(smsBodies, r.Header.Get("Content-Type")+" "+r.Header.Get("X-Token")+" "+string(b))
		}))
		defer gw.Close()
		var aliMu sync.Mutex
		var aliGot []url.Values
		ali := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = r.ParseForm()
			params := map[string]string{}
			for k := range r.PostForm {
				params[k] = r.PostForm.Get(k)
			}
			if message.AliyunSign(r.Method, params, "ali-secret") != params["Signature"] {
				w.WriteHeader(400)
				io.WriteString(w, `{"Code":"SignatureDoesNotMatch","Message":"bad signature"}`)
				return
			}
			aliMu.Lock()
			aliGot = append(aliGot, r.PostForm)
			aliMu.Unlock()
			io.WriteString(w, `{"Code":"OK","Message":"OK","BizId":"1","RequestId":"r"}`)
		}))
		defer ali.Close()
		mailer := startSMTP(t, "starttls", cert)

		// Channels, with their config checked and their secrets masked.
		e.post("/v1/channels", map[string]any{"name": "x", "kind": "fax", "config": map[string]any{}}).wantProblem(422, "validation_failed", "kind")
		e.post("/v1/channels", map[string]any{"name": "x", "kind": "smtp", "config": map[string]any{"host": "h", "port": 0, "security": "ssl", "from": "nope", "extra": 1}}).
			wantProblem(422, "validation_failed", "config.extra")
		e.post("/v1/channels", map[string]any{"name": "x", "kind": "smtp", "config": map[string]any{"host": "h", "port": 0, "security": "ssl", "from": "nope"}}).
			wantProblem(422, "validation_failed", "config.port", "config.security", "config.from")
		e.post("/v1/channels", map[string]any{"name": "x", "kind": "smtp", "config": map[string]any{"host": "h", "port": "25", "security": "none", "from": "a@b.c"}}).
			wantProblem(422, "validation_failed", "config.port")
		e.post("/v1/channels", map[string]any{"name": "x", "kind": "sms_http", "config": map[string]any{"url": "ftp://x", "body_template": "{{phone}} {{member.name}}"}}).
			wantProblem(422, "validation_failed", "config.url", "config.body_template")
		mk := func(name, kind string, cfg map[string]any) channelObj {
			var c channelObj
			e.post("/v1/channels", map[string]any{"name": name, "kind": kind, "config": cfg}).want(201, &c)
			if !strings.HasPrefix(c.ID, "chn_") || c.Kind != kind {
				t.Fatalf("channel %+v", c)
			}
			return c
		}
		chHook := mk("hook", "webhook", map[string]any{"url": wh.URL, "secret": "whsec_first"})
		chMail := mk("mail", "smtp", map[string]any{"host": "127.0.0.1", "port": mailer.port, "security": "starttls",
			"username": "jifen", "password": "pw-secret", "from": "Tea House <no-reply@example.com>"})
		chJSON := mk("sms json", "sms_http", map[string]any{"url": gw.URL + "/json", "headers": map[string]string{"X-Token": "t1"},
			"body_template": `{"to":"{{phone}}","text":"{{text}}"}`})
		chForm := mk("sms form", "sms_http", map[string]any{"url": gw.URL + "/form", "content_type": "application/x-www-form-urlencoded",
			"body_template": `to={{phone}}&text={{text}}`})
		chAli := mk("aliyun", "sms_aliyun", map[string]any{"access_key_id": "ak", "access_key_secret": "ali-secret",
			"sign_name": "茶馆", "endpoint": ali.URL + "/"})
		chFlaky := mk("flaky", "sms_http", map[string]any{"url": gw.URL + "/flaky", "body_template": `{{text}}`, "content_type": "text/plain"})
		chDown := mk("down", "sms_http", map[string]any{"url": gw.URL + "/down", "body_template": `{{text}}`})
		var got channelObj
		e.get("/v1/channels/"+chMail.ID).want(200, &got)
		if got.Config["password"] != "***" || got.Config["username"] != "jifen" {
			t.Fatalf("smtp config read back %v", got.Config)
		}
		e.get("/v1/channels/"+chAli.ID).want(200, &got)
		if got.Config["access_key_secret"] != "***" || got.Config["access_key_id"] != "ak" {
			t.Fatalf("aliyun config read back %v", got.Config)
		}
		var chans listObj[channelObj]
		e.get("/v1/channels").want(200, &chans)
		if len(chans.Data) != 7 || strings.Contains(string(e.get("/v1/channels").Body), "whsec_first") {
			t.Fatalf("channel list: %d, or a secret shown", len(chans.Data))
		}
		// A PATCH with "***" keeps the stored secret (the webhook below is
		// still signed with it); a new name is taken.
		e.patch("/v1/channels/"+chHook.ID, map[string]any{"name": "hook 2", "config": map[string]any{"url": wh.URL, "secret": "***"}}).want(200, &got)
		if got.Name != "hook 2" || got.Config["secret"] != "***" {
			t.Fatalf("patched %+v", got)
		}
		e.patch("/v1/channels/"+chJSON.ID, map[string]any{"config": map[string]any{"url": gw.URL, "body_template": "{{nope}}"}}).
			wantProblem(422, "validation_failed", "config.body_template")

		// Messages: queued (202), then sent by the sender.
		send := func(member, ch string) msgObj {
			var mo msgObj
			e.post("/v1/messages", map[string]any{"member": member, "channel_id": ch, "template_id": tpl.ID}).want(202, &mo)
			return mo
		}
		e.post("/v1/messages", map[string]any{"member": m.ID, "channel_id": "chn_nope", "template_id": tpl.ID}).
			wantProblem(422, "validation_failed", "channel_id")
		queued := map[string]msgObj{}
		for _, c := range []channelObj{chHook, chMail, chJSON, chForm, chAli} {
			mo := send(m.ID, c.ID)
			if mo.Status != "queued" || !strings.HasPrefix(mo.ID, "msg_") || !strings.HasPrefix(mo.Body, "李雷|白银|") || mo.Subject != "积分提醒 李雷" {
				t.Fatalf("queued %+v", mo)
			}
			queued[c.Kind+c.Name] = mo
		}
		suppressed := send(bare.ID, chMail.ID)
		if suppressed.Status != "suppressed" || suppressed.To != "" {
			t.Fatalf("no email: %+v", suppressed)
		}
		if n := e.sendDue(a); n != 5 {
			t.Fatalf("sent %d, want 5", n)
		}
		for k, mo := range queued {
			got := e.message(mo.ID)
			if got.Status != "sent" || len(got.Attempts) != 1 || !got.Attempts[0].OK || got.SentAt == nil {
				t.Fatalf("%s: %+v", k, got)
			}
		}
		if e.message(suppressed.ID).Status != "suppressed" {
			t.Fatal("suppressed message sent")
		}

		// The webhook: signed with the first secret over "<timestamp>.<body>".
		h := <-hooks
		ts := h.h.Get("Jifen-Webhook-Timestamp")
		n, _ := strconv.ParseInt(ts, 10, 64)
		if h.h.Get("Jifen-Signature") != webhook.Sign(n, h.body, "whsec_first") || n != e.clock.Now().Unix() ||
			h.h.Get("Jifen-Webhook-Id") != queued["webhookhook"].ID {
			t.Fatalf("webhook headers %v", h.h)
		}
		var payload map[string]any
		_ = json.Unmarshal(h.body, &payload)
		if payload["message_id"] != queued["webhookhook"].ID || payload["member_id"] != m.ID || payload["campaign_id"] != nil ||
			payload["subject"] != "积分提醒 李雷" {
			t.Fatalf("webhook payload %s", h.body)
		}
		// The mail: over STARTTLS, authenticated, to the email identity.
		mails := mailer.mails()
		if len(mails) != 1 || mails[0].To != "lilei@example.com" || !mails[0].TLS || mails[0].Auth != "\x00jifen\x00pw-secret" ||
			mails[0].From != "no-reply@example.com" {
			t.Fatalf("mails %+v", mails)
		}
		subj, text := mailBody(t, mails[0].Data)
		if subj != "积分提醒 李雷" || !strings.HasPrefix(text, "李雷|白银|") || !strings.HasSuffix(text, "<&>") {
			t.Fatalf("mail %q %q", subj, text)
		}
		// The SMS gateways: JSON- and form-escaped.
		smsMu.Lock()
		bodies := append([]string(nil), smsBodies...)
		smsMu.Unlock()
		var sawJSON, sawForm bool
		for _, sb := range bodies {
			ct, rest, _ := strings.Cut(sb, " ")
			tok, body, _ := strings.Cut(rest, " ")
			switch ct {
			case "application/json":
				var v map[string]string
				if err := json.Unmarshal([]byte(body), &v); err != nil || v["to"] != "+8613800000000" || !strings.HasSuffix(v["text"], "<&>") || tok != "t1" {
					t.Fatalf("json sms %s: %v", body, err)
				}
				sawJSON = true
			case "application/x-www-form-urlencoded":
				q, err := url.ParseQuery(body)
				if err != nil || q.Get("to") != "+8613800000000" || !strings.HasPrefix(q.Get("text"), "李雷|") {
					t.Fatalf("form sms %s: %v", body, err)
				}
				sawForm = true
			}
		}
		if !sawJSON || !sawForm {
			t.Fatalf("sms bodies %q", bodies)
		}
		// Alibaba Cloud: signed (checked by the stand-in), mainland number
		// without +86, the template code and its rendered parameters.
		aliMu.Lock()
		if len(aliGot) != 1 {
			t.Fatalf("aliyun got %d", len(aliGot))
		}
		f := aliGot[0]
		aliMu.Unlock()
		if f.Get("Action") != "SendSms" || f.Get("Version") != "2017-05-25" || f.Get("PhoneNumbers") != "13800000000" ||
			f.Get("SignName") != "茶馆" || f.Get("TemplateCode") != "SMS_123" || f.Get("TemplateParam") != `{"name":"李雷","points":"150"}` ||
			f.Get("SignatureMethod") != "HMAC-SHA1" || f.Get("SignatureVersion") != "1.0" || f.Get("Format") != "JSON" ||
			f.Get("Timestamp") != e.clock.Now().Format("2006-01-02T15:04:05Z") {
			t.Fatalf("aliyun request %v", f)
		}
		// A wrong secret fails the attempt with the stand-in's code.
		e.patch("/v1/channels/"+chAli.ID, map[string]any{"config": map[string]any{"access_key_id": "ak", "access_key_secret": "wrong",
			"sign_name": "茶馆", "endpoint": ali.URL + "/"}}).want(200, nil)
		bad := send(m.ID, chAli.ID)
		e.sendDue(a)
		if got := e.message(bad.ID); got.Status != "queued" || len(got.Attempts) != 1 || got.Attempts[0].OK ||
			got.Attempts[0].Error == nil || !strings.Contains(*got.Attempts[0].Error, "SignatureDoesNotMatch") {
			t.Fatalf("bad signature: %+v", got)
		}

		// Retries after 1, 2, 4, 8, 16 minutes: fail, fail, succeed.
		flaky := send(m.ID, chFlaky.ID)
		down := send(m.ID, chDown.ID)
		e.sendDue(a) // first attempts
		if e.sendDue(a) != 0 {
			t.Fatal("a message retried before its time")
		}
		e.clock.Advance(time.Minute)
		e.sendDue(a)
		if got := e.message(flaky.ID); got.Status != "queued" || len(got.Attempts) != 2 || *got.Attempts[1].StatusCode != 500 {
			t.Fatalf("flaky after 2: %+v", got)
		}
		e.clock.Advance(2*time.Minute - time.Second)
		if e.sendDue(a) != 0 {
			t.Fatal("retried before 2 minutes")
		}
		e.clock.Advance(time.Second)
		e.sendDue(a)
		if got := e.message(flaky.ID); got.Status != "sent" || len(got.Attempts) != 3 || !got.Attempts[2].OK {
			t.Fatalf("flaky after 3: %+v", got)
		}
		for _, d := range []time.Duration{4, 8, 16} {
			e.clock.Advance(d * time.Minute)
			e.sendDue(a)
		}
		got6 := e.message(down.ID)
		if got6.Status != "failed" || len(got6.Attempts) != 6 {
			t.Fatalf("down: %+v", got6)
		}
		start := got6.Attempts[0].At
		for i, mins := range []int{0, 1, 3, 7, 15, 31} {
			if got6.Attempts[i].At.Sub(start) != time.Duration(mins)*time.Minute {
				t.Fatalf("attempt %d at %v", i, got6.Attempts[i].At)
			}
		}
		e.clock.Advance(time.Hour)
		if e.sendDue(a) != 0 {
			t.Fatal("a failed message was retried")
		}

		// The log: filters and 404s.
		var l listObj[msgObj]
		e.get("/v1/messages?status=failed").want(200, &l)
		if len(l.Data) != 2 || l.Data[0].ID != down.ID || l.Data[1].ID != bad.ID { // newest first
			t.Fatalf("failed: %+v", l.Data)
		}
		e.get("/v1/messages?member="+bare.ID).want(200, &l)
		if len(l.Data) != 1 || l.Data[0].ID != suppressed.ID {
			t.Fatalf("member filter: %+v", l.Data)
		}
		e.get("/v1/messages?status=lost").wantProblem(422, "validation_failed", "status")
		e.get("/v1/messages/msg_nope").wantProblem(404, "not_found")

		// A test send: at once, logged, over STARTTLS again.
		var ts1 msgObj
		e.call(e.admin, "POST", "/v1/channels/"+chMail.ID+"/test", map[string]any{"to": "ops@example.com", "body": "hello"},
			"Idempotency-Key", "t-1").want(200, &ts1)
		if ts1.Status != "sent" || ts1.To != "ops@example.com" || len(ts1.Attempts) != 1 || *ts1.Attempts[0].StatusCode != 250 {
			t.Fatalf("test send %+v", ts1)
		}
		e.call(e.admin, "POST", "/v1/channels/"+chMail.ID+"/test", map[string]any{"to": "ops@example.com", "body": "hello"},
			"Idempotency-Key", "t-1").want(200, nil)
		if n := len(mailer.mails()); n != 2 {
			t.Fatalf("mails after a replayed test: %d", n)
		}
		e.post("/v1/channels/"+chMail.ID+"/test", map[string]any{"to": "nope", "body": "x"}).wantProblem(422, "validation_failed", "to")
		e.post("/v1/channels/"+chAli.ID+"/test", map[string]any{"to": "+8613800000000", "body": "x"}).wantProblem(422, "validation_failed", "template_id")
		var td msgObj
		e.post("/v1/channels/"+chDown.ID+"/test", map[string]any{"to": "13800000001", "body": "x"}).want(200, &td)
		if td.Status != "failed" || td.To != "+8613800000001" || *td.Attempts[0].StatusCode != 503 {
			t.Fatalf("failed test %+v", td)
		}

		// Implicit TLS and no security, by test sends.
		for _, mode := range []string{"tls", "none"} {
			srv := startSMTP(t, mode, cert)
			c := mk("mail "+mode, "smtp", map[string]any{"host": "127.0.0.1", "port": srv.port, "security": mode, "from": "a@example.com"})
			var r msgObj
			e.post("/v1/channels/"+c.ID+"/test", map[string]any{"to": "x@example.com", "body": "hi " + mode, "subject": "s"}).want(200, &r)
			ms := srv.mails()
			if r.Status != "sent" || len(ms) != 1 || ms[0].TLS != (mode == "tls") || ms[0].To != "x@example.com" {
				t.Fatalf("%s: %+v %+v", mode, r, ms)
			}
			if _, text := mailBody(t, ms[0].Data); text != "hi "+mode {
				t.Fatalf("%s body %q", mode, text)
			}
		}

		// Deleting: the channel is gone; a queued message for it fails.
		late := send(m.ID, chJSON.ID)
		e.call(e.admin, "DELETE", "/v1/channels/"+chJSON.ID, nil).want(204, nil)
		e.get("/v1/channels/"+chJSON.ID).wantProblem(404, "not_found")
		e.sendDue(a)
		if got := e.message(late.ID); got.Status != "failed" || *got.Attempts[0].Error != "the channel was deleted" {
			t.Fatalf("late: %+v", got)
		}
		e.call(e.admin, "DELETE", "/v1/message-templates/"+tpl.ID, nil).want(204, nil)
		e.get("/v1/message-templates/"+tpl.ID).wantProblem(404, "not_found")
	})
}

// Two senders (two nodes) on one database never send a message twice.
func TestSendersShareTheQueue(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e, a := newMsgEnv(t, b)
		other := message.NewService(e.db, a.Programs, e.clock)
		var mu sync.Mutex
		seen := map[string]int{}
		gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen[r.Header.Get("Jifen-Webhook-Id")]++
			mu.Unlock()
		}))
		defer gw.Close()
		var ch channelObj
		e.post("/v1/channels", map[string]any{"name": "h", "kind": "webhook", "config": map[string]any{"url": gw.URL}}).want(201, &ch)
		var tpl struct{ ID string }
		e.post("/v1/message-templates", map[string]any{"name": "t", "body": "hi {{member.name}}"}).want(201, &tpl)
		for i := 0; i < 30; i++ {
			mem := e.newMember(nil)
			e.post("/v1/messages", map[string]any{"member": mem.ID, "channel_id": ch.ID, "template_id": tpl.ID}).want(202, nil)
		}
		var wg sync.WaitGroup
		for _, s := range []*message.Service{a.Messages, other} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.SendDue(context.Background(), program.DefaultID); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		var l listObj[msgObj]
		e.get("/v1/messages?status=sent&limit=100").want(200, &l)
		if len(seen) != 30 || len(l.Data) != 30 {
			t.Fatalf("delivered %d, sent %d", len(seen), len(l.Data))
		}
		for id, n := range seen {
			if n != 1 {
				t.Fatalf("%s delivered %d times", id, n)
			}
		}
	})
}

type mimeDecoder = mime.WordDecoder
