package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/browsertest"
	"github.com/jifen/jifen/internal/webhook"
)

// TestConsoleWebhooks: an admin creates a webhook in the console, sees
// its secret once, sends a test event that the served worker delivers
// (signed with that secret) to a receiver, and finds it delivered in the
// delivery log, with its payload.
func TestConsoleWebhooks(t *testing.T) {
	page := browsertest.New(t)
	var mu sync.Mutex
	var sigs []string
	var bodies [][]byte
	var stamps []string
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		sigs, bodies, stamps = append(sigs, r.Header.Get("Jifen-Signature")), append(bodies, b), append(stamps, r.Header.Get("Jifen-Webhook-Timestamp"))
		mu.Unlock()
	}))
	defer recv.Close()
	key := "console-webhooks-admin-key-0123456789"
	base, _ := startServe(t, map[string]string{"JIFEN_DB": "sqlite:" + filepath.Join(t.TempDir(), "j.db"), "JIFEN_ADMIN_KEY": key})
	c := consoleClient{t: t, base: base, key: key}
	const email, password = "hooks@jifen.test", "the-right-password-42"
	c.must("POST", "/v1/operators", map[string]any{"email": email, "role": "admin", "password": password}, 201, nil)
	consoleUILogin(t, page, base, email, password)

	page.Navigate(base + "/console/webhooks")
	page.Click(`[data-testid=webhook-new]`)
	consoleFill(t, page, `[data-testid=webhook-url]`, recv.URL+"/jifen")
	page.Click(`[data-testid=webhook-save]`)
	secret := consoleText(t, page, `[data-testid=webhook-secret]`)
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("the secret shown is %q", secret)
	}
	page.Screenshot("console-webhook-secret")
	page.Click(`[data-testid=webhook-secret-ok]`)
	consolePoll(t, page, `(() => { const el = document.querySelector('[data-testid=webhook-secret]'); return !el || el.offsetParent === null })()`,
		"the secret's dialog closed")

	var list struct {
		Data []struct{ ID, URL string }
	}
	c.must("GET", "/v1/webhooks", nil, 200, &list)
	if len(list.Data) != 1 || list.Data[0].URL != recv.URL+"/jifen" {
		t.Fatalf("webhooks after the form: %+v", list.Data)
	}
	id := list.Data[0].ID
	page.Click(`[data-testid=webhook-test-` + id + `]`)
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(bodies)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the test event did not arrive within 20 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	mu.Lock()
	if want := webhook.Sign(atoi(t, stamps[0]), bodies[0], secret); sigs[0] != want || !strings.Contains(string(bodies[0]), `"webhook.test"`) {
		t.Fatalf("delivery signed %q, want %q: %s", sigs[0], want, bodies[0])
	}
	mu.Unlock()

	page.Click(`[data-testid=webhook-log-` + id + `]`)
	page.WaitText("webhook.test")
	page.WaitText("已送达")
	page.Screenshot("console-webhook-deliveries")
	consoleCheck(t, page)
}

func atoi(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	for _, r := range s {
		if r < '0' || r > '9' {
			t.Fatalf("not a number: %q", s)
		}
		n = n*10 + int64(r-'0')
	}
	return n
}
