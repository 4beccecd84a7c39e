package httpapi_test

import (
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/httpapi"
	"github.com/jifen/jifen/internal/store/storetest"
)

// Secrets never reach the log, even at debug level: key secrets (right
// and wrong), signatures, passwords, member tokens, channel secrets.
func TestSecretsNotLogged(t *testing.T) {
	e := newEnv(t, storetest.SQLite)
	var logs lockedBuffer
	d := *e
	d.api = httpapi.New(httpapi.Config{App: e.app, Registry: prometheus.NewRegistry(), Version: "test",
		Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	d.srv = httptest.NewServer(d.api)
	t.Cleanup(d.srv.Close)
	d.client = d.srv.Client()

	secret := d.key(auth.Admin, "")
	d.call(secret, "GET", "/v1/program", nil).want(200, nil)
	d.call("jk_wrongwrongwrongwrongwrongwrong", "GET", "/v1/program", nil).wantProblem(401, "unauthenticated")
	s := d.signingKey(auth.Admin)
	h := auth.Sign(s.priv, s.id, "GET", "/v1/program", d.now(), newNonce(), nil)
	d.call("", "GET", "/v1/program", nil, "Authorization", h).want(200, nil)
	d.call("", "GET", "/v1/program", nil, "Authorization", h).wantProblem(401, "replayed_request")
	const password = "a-very-secret-password-42"
	d.post("/v1/operators", map[string]any{"email": "log@jifen.test", "role": "admin", "password": password}).want(201, nil)
	d.call("", "POST", "/v1/console/login", map[string]any{"email": "log@jifen.test", "password": password}).want(200, nil)
	d.call("", "POST", "/v1/console/login", map[string]any{"email": "log@jifen.test", "password": password + "x"}).wantProblem(401, "invalid_credentials")
	m := d.newMember(map[string]any{"external_id": "log-1", "phone": "13912345678"})
	var tok struct{ Token string }
	d.post("/v1/members/"+m.ID+"/tokens", nil).want(201, &tok)
	d.call(tok.Token, "GET", "/v1/members/me", nil).want(200, nil)

	out := logs.take()
	if !strings.Contains(out, `"msg":"request"`) {
		t.Fatalf("nothing logged; the test would prove nothing: %q", out)
	}
	sig := h[strings.Index(h, "sig=")+4:]
	for name, v := range map[string]string{"key secret": secret, "wrong secret": "jk_wrongwrong", "signature": sig,
		"password": password, "member token": tok.Token, "phone": "13912345678", "Authorization": "Bearer"} {
		if strings.Contains(out, v) {
			t.Errorf("the log holds the %s: %s", name, out)
		}
	}
}
