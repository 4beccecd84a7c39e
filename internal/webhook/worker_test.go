package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	for _, tt := range []struct {
		n      int64
		jitter float64
		want   time.Duration
	}{
		{1, 0.5, 30 * time.Second},
		{2, 0.5, time.Minute},
		{3, 0.5, 2 * time.Minute},
		{1, 0, 27 * time.Second},
		{1, 0.999999, 33 * time.Second},
		{8, 0.5, time.Hour}, // 64 min, capped
		{30, 0.999, time.Hour},
	} {
		got := Backoff(tt.n, tt.jitter).Round(time.Second)
		want := min(tt.want, MaxBackoff)
		if got != want {
			t.Errorf("Backoff(%d, %v) = %v, want %v", tt.n, tt.jitter, got, want)
		}
	}
}

func TestSign(t *testing.T) {
	body := []byte(`{"id":"wev_1"}`)
	m := hmac.New(sha256.New, []byte("whsec_a"))
	m.Write([]byte("1700000000." + string(body)))
	want := "v1=" + hex.EncodeToString(m.Sum(nil))
	if got := Sign(1700000000, body, "whsec_a"); got != want {
		t.Fatalf("Sign = %q, want %q", got, want)
	}
	two := strings.Fields(Sign(1700000000, body, "whsec_a", "whsec_b"))
	if len(two) != 2 || two[0] != want || two[1] == want || !strings.HasPrefix(two[1], "v1=") {
		t.Fatalf("two secrets: %v", two)
	}
}

func TestDenyPrivate(t *testing.T) {
	for a, want := range map[string]bool{
		"127.0.0.1": true, "10.1.2.3": true, "192.168.0.1": true, "172.16.5.5": true, "169.254.169.254": true,
		"100.64.0.1": true, "::1": true, "fd00::1": true, "0.0.0.0": true, "::ffff:127.0.0.1": true,
		"8.8.8.8": false, "2606:4700::1111": false,
	} {
		if got := Private(netip.MustParseAddr(a)); got != want {
			t.Errorf("Private(%s) = %v", a, got)
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	if _, err := NewClient(true).Post(srv.URL, "application/json", nil); err == nil || !strings.Contains(err.Error(), "private address") {
		t.Fatalf("a loopback server was reached with private addresses denied: %v", err)
	}
	res, err := NewClient(false).Post(srv.URL, "application/json", nil)
	if err != nil {
		t.Fatalf("loopback refused by default: %v", err)
	}
	res.Body.Close()
	redirect := httptest.NewServer(http.RedirectHandler(srv.URL, http.StatusFound))
	defer redirect.Close()
	res, err = NewClient(false).Post(redirect.URL, "application/json", nil)
	if err != nil || res.StatusCode != http.StatusFound {
		t.Fatalf("a redirect was followed: %v %v", res, err)
	}
	res.Body.Close()
}
