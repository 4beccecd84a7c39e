package httpapi_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/store/storetest"
)

// sign is docs/security.md's example, verbatim (TestSecurityDocSnippet
// checks that the page shows this text).
func sign(req *http.Request, body []byte, keyID string, priv ed25519.PrivateKey) {
	b := make([]byte, 18)
	rand.Read(b)
	nonce := base64.RawURLEncoding.EncodeToString(b) // 24 characters
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	sum := sha256.Sum256(body)
	msg := strings.Join([]string{"JIFEN-ED25519-V1", req.Method, req.URL.RequestURI(),
		ts, nonce, hex.EncodeToString(sum[:])}, "\n")
	sig := base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, []byte(msg)))
	req.Header.Set("Authorization", "Jifen-Ed25519 key="+keyID+", ts="+ts+", nonce="+nonce+", sig="+sig)
}

// The Go example of docs/security.md is the function above, and a request
// it signs is accepted.
func TestSecurityDocSnippet(t *testing.T) {
	doc, err := os.ReadFile("../../docs/security.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("security_doc_test.go")
	if err != nil {
		t.Fatal(err)
	}
	hooks, err := os.ReadFile("webhooks_test.go")
	if err != nil {
		t.Fatal(err)
	}
	// Each Go example of the page is a function of this package's tests:
	// sign here, verifyWebhook in webhooks_test.go (TestWebhooks checks
	// every delivery with it).
	for fn, file := range map[string][]byte{"func sign(": src, "func verifyWebhook(": hooks} {
		found := false
		for _, block := range strings.Split(string(doc), "```go\n")[1:] {
			block, _, _ = strings.Cut(block, "```")
			if i := strings.Index(block, fn); i >= 0 {
				found = true
				if !strings.Contains(string(file), block[i:]) {
					t.Errorf("docs/security.md's %s… is not the tests':\n%s", fn, block)
				}
			}
		}
		if !found {
			t.Errorf("docs/security.md shows no %s…", fn)
		}
	}

	e := newEnv(t, storetest.SQLite)
	e.clock.Set(time.Now()) // sign uses the real time
	s := e.signingKey(auth.Admin)
	body := []byte(`{"external_id":"signed by the doc"}`)
	req, err := http.NewRequest("POST", e.srv.URL+"/v1/members?note=a%20b", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	sign(req, body, s.id, s.priv)
	res, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if b, _ := io.ReadAll(res.Body); res.StatusCode != 201 {
		t.Fatalf("signed by the doc's example: %d %s", res.StatusCode, b)
	}
}
