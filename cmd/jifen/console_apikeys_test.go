package main

import (
	"crypto/ed25519"
	"encoding/base64"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/browsertest"
)

// TestConsoleAPIKeys: an admin creates a signing-only key with a rate
// limit of its own in the console, sees it marked "signing only" (no
// secret shown), changes its rate limit, and the served node takes a
// request signed with it under the new limit.
func TestConsoleAPIKeys(t *testing.T) {
	page := browsertest.New(t)
	key := "console-apikeys-admin-key-0123456789"
	base, _ := startServe(t, map[string]string{"JIFEN_DB": "sqlite:" + filepath.Join(t.TempDir(), "j.db"), "JIFEN_ADMIN_KEY": key})
	c := consoleClient{t: t, base: base, key: key}
	const email, password = "keys@jifen.test", "the-right-password-42"
	c.must("POST", "/v1/operators", map[string]any{"email": email, "role": "admin", "password": password}, 201, nil)
	consoleUILogin(t, page, base, email, password)

	pub, priv, _ := ed25519.GenerateKey(nil)
	page.Navigate(base + "/console/api-keys")
	page.Click(`[data-testid=key-new]`)
	consoleFill(t, page, `[data-testid=key-name]`, "POS terminal 1")
	consoleFill(t, page, `[data-testid=key-public]`, base64.StdEncoding.EncodeToString(pub))
	page.Click(`[data-testid=key-own-rate]`)
	consoleFill(t, page, `[data-testid=key-per-second] input`, "2")
	consoleFill(t, page, `[data-testid=key-burst] input`, "3")
	page.Screenshot("console-apikey-new")
	page.Click(`[data-testid=key-save]`)

	var list struct {
		Data []auth.Key
	}
	var k auth.Key
	consolePoll(t, page, `!!document.querySelector('[data-testid^=key-signing-]')`, "the new key marked signing only")
	c.must("GET", "/v1/api-keys", nil, 200, &list)
	for _, x := range list.Data {
		if x.PublicKey != "" {
			k = x
		}
	}
	if k.Name != "POS terminal 1" || string(k.PublicKey) != base64.StdEncoding.EncodeToString(pub) ||
		k.RateLimit == nil || k.RateLimit.PerSecond != 2 || k.RateLimit.Burst != 3 {
		t.Fatalf("keys after the form: %+v", list.Data)
	}
	if got := consoleText(t, page, `[data-testid=key-rate-`+k.ID+`]`); got != "2 次/秒，突发 3" {
		t.Errorf("rate shown %q", got)
	}
	consolePoll(t, page, `!document.querySelector('[data-testid=key-secret]') || document.querySelector('[data-testid=key-secret]').offsetParent === null`,
		"no secret shown for a signing key")
	waitStill(t, page)
	page.Screenshot("console-apikeys")

	page.Click(`[data-testid=key-edit-` + k.ID + `]`)
	consoleFill(t, page, `[data-testid=key-edit-per-second] input`, "1")
	consoleFill(t, page, `[data-testid=key-edit-burst] input`, "1")
	page.Click(`[data-testid=key-edit-save]`)
	consolePoll(t, page, `document.querySelector('[data-testid=key-rate-`+k.ID+`]').innerText.trim() === '1 次/秒，突发 1'`, "the new rate limit shown")

	signed := func(nonce string) *http.Response {
		req, _ := http.NewRequest("GET", base+"/v1/program", nil)
		req.Header.Set("Authorization", auth.Sign(priv, k.ID, "GET", "/v1/program", time.Now().Unix(), nonce, nil))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	if res := signed("console-nonce-0001"); res.StatusCode != 200 || res.Header.Get("RateLimit-Limit") != "1" {
		t.Fatalf("signed request: %d, RateLimit-Limit %q", res.StatusCode, res.Header.Get("RateLimit-Limit"))
	}
	if res := signed("console-nonce-0002"); res.StatusCode != 429 || res.Header.Get("Retry-After") == "" {
		t.Fatalf("second signed request within the second: %d", res.StatusCode)
	}
}
