package httpapi_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/jobs"
	"github.com/jifen/jifen/internal/store/storetest"
)

// signer is a key that signs its requests.
type signer struct {
	id   string
	priv ed25519.PrivateKey
}

// signingKey creates a key of role with a fresh public key.
func (e *env) signingKey(role string) signer {
	e.t.Helper()
	pub, priv, _ := ed25519.GenerateKey(nil)
	var k struct {
		ID        string  `json:"id"`
		Secret    *string `json:"secret"`
		PublicKey string  `json:"public_key"`
	}
	r := e.post("/v1/api-keys", map[string]any{"name": "pos", "role": role, "public_key": base64.StdEncoding.EncodeToString(pub)}).want(201, &k)
	if k.Secret != nil || !strings.Contains(string(r.Body), `"secret":null`) || k.PublicKey != base64.StdEncoding.EncodeToString(pub) {
		e.t.Fatalf("signing key: %s", r.Body)
	}
	return signer{k.ID, priv}
}

var nonces atomic.Int64

func newNonce() string { return fmt.Sprintf("nonce-%016d", nonces.Add(1)) }

// signed sends a request signed by s at ts with nonce over body; sent,
// when given, is the body sent instead (an altered body).
func (e *env) signed(s signer, method, target string, body string, ts int64, nonce string, sent ...string) resp {
	e.t.Helper()
	h := auth.Sign(s.priv, s.id, method, target, ts, nonce, []byte(body))
	if len(sent) > 0 {
		body = sent[0]
	}
	var b any
	if body != "" {
		b = body
	}
	return e.call("", method, target, b, "Authorization", h)
}

func (e *env) now() int64 { return e.clock.Now().Unix() }

func TestSigning(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		t.Run("a signed request is accepted", func(t *testing.T) {
			s := e.signingKey(auth.Admin)
			var m struct{ ID string }
			e.signed(s, "POST", "/v1/members", `{"external_id":"signed-1"}`, e.now(), newNonce()).want(201, &m)
			e.signed(s, "POST", "/v1/members/"+m.ID+"/points/earn", `{"points":5}`, e.now(), newNonce()).want(201, nil)
			e.signed(s, "GET", "/v1/members?limit=1&external_id=signed%2D1", "", e.now(), newNonce()).want(200, nil)
			e.signed(s, "GET", "/v1/members/"+m.ID+"/balance", "", e.now(), newNonce()).want(200, nil)
			// The key is listed with its public key and no secret.
			r := e.get("/v1/api-keys").want(200, nil)
			if !strings.Contains(string(r.Body), s.id) || strings.Contains(string(r.Body), `"secret"`) {
				t.Fatalf("keys: %s", r.Body)
			}
		})
		t.Run("roles still apply", func(t *testing.T) {
			s := e.signingKey(auth.ReadOnly)
			e.signed(s, "GET", "/v1/program", "", e.now(), newNonce()).want(200, nil)
			e.signed(s, "POST", "/v1/members", `{"external_id":"ro-signed"}`, e.now(), newNonce()).wantProblem(403, "forbidden")
		})
		t.Run("wrong key", func(t *testing.T) {
			s := e.signingKey(auth.Admin)
			_, other, _ := ed25519.GenerateKey(nil)
			e.signed(signer{s.id, other}, "GET", "/v1/program", "", e.now(), newNonce()).wantProblem(401, "bad_signature")
		})
		t.Run("unknown key or one without a public key", func(t *testing.T) {
			s := e.signingKey(auth.Admin)
			e.signed(signer{"key_nosuchkey", s.priv}, "GET", "/v1/program", "", e.now(), newNonce()).wantProblem(401, "unauthenticated")
			var k struct{ ID string }
			e.post("/v1/api-keys", map[string]any{"name": "bearer", "role": "admin"}).want(201, &k)
			e.signed(signer{k.ID, s.priv}, "GET", "/v1/program", "", e.now(), newNonce()).wantProblem(401, "unauthenticated")
			// A deleted key no longer signs.
			e.call(e.admin, "DELETE", "/v1/api-keys/"+s.id, nil).want(204, nil)
			e.signed(s, "GET", "/v1/program", "", e.now(), newNonce()).wantProblem(401, "unauthenticated")
		})
		t.Run("stale time", func(t *testing.T) {
			s := e.signingKey(auth.Admin)
			for _, d := range []int64{-301, 301, -3600} {
				e.signed(s, "GET", "/v1/program", "", e.now()+d, newNonce()).wantProblem(401, "stale_request")
			}
			for _, d := range []int64{-300, 300} {
				e.signed(s, "GET", "/v1/program", "", e.now()+d, newNonce()).want(200, nil)
			}
		})
		t.Run("replayed nonce", func(t *testing.T) {
			s := e.signingKey(auth.Admin)
			n := newNonce()
			h := auth.Sign(s.priv, s.id, "POST", "/v1/members", e.now(), n, []byte(`{"external_id":"replay-1"}`))
			e.call("", "POST", "/v1/members", `{"external_id":"replay-1"}`, "Authorization", h).want(201, nil)
			e.call("", "POST", "/v1/members", `{"external_id":"replay-1"}`, "Authorization", h).wantProblem(401, "replayed_request")
			// The same nonce signed anew is still a replay; a new one is not.
			e.signed(s, "GET", "/v1/program", "", e.now(), n).wantProblem(401, "replayed_request")
			e.signed(s, "GET", "/v1/program", "", e.now(), newNonce()).want(200, nil)
		})
		t.Run("altered body", func(t *testing.T) {
			s := e.signingKey(auth.Admin)
			e.signed(s, "POST", "/v1/members", `{"external_id":"altered-1"}`, e.now(), newNonce(), `{"external_id":"altered-2"}`).
				wantProblem(401, "bad_signature")
			e.get("/v1/members/ext:altered-2").wantProblem(404, "not_found")
			e.get("/v1/members/ext:altered-1").wantProblem(404, "not_found")
		})
		t.Run("altered query", func(t *testing.T) {
			s := e.signingKey(auth.Admin)
			h := auth.Sign(s.priv, s.id, "GET", "/v1/members?limit=1", e.now(), newNonce(), nil)
			e.call("", "GET", "/v1/members?limit=2", nil, "Authorization", h).wantProblem(401, "bad_signature")
			// Path and query as sent, still percent-encoded.
			h = auth.Sign(s.priv, s.id, "GET", "/v1/members?external_id=a b", e.now(), newNonce(), nil)
			e.call("", "GET", "/v1/members?external_id=a%20b", nil, "Authorization", h).wantProblem(401, "bad_signature")
			h = auth.Sign(s.priv, s.id, "DELETE", "/v1/program", e.now(), newNonce(), nil)
			e.call("", "GET", "/v1/program", nil, "Authorization", h).wantProblem(401, "bad_signature")
		})
		t.Run("malformed headers", func(t *testing.T) {
			s := e.signingKey(auth.Admin)
			good := auth.Sign(s.priv, s.id, "GET", "/v1/program", e.now(), newNonce(), nil)
			params := strings.TrimPrefix(good, auth.SignatureScheme+" ")
			for _, h := range []string{
				good + ", key=" + s.id,                           // duplicate param
				good + ", alg=ed25519",                           // extra param
				strings.Replace(good, "nonce=", "nonce=a.b+", 1), // bad nonce characters
				strings.Replace(good, "nonce=", "x=", 1),
				auth.SignatureScheme + " " + strings.ReplaceAll(params, ", ", "; "),
				auth.SignatureScheme + " ",
				auth.SignatureScheme + " key=" + s.id,
			} {
				e.call("", "GET", "/v1/program", nil, "Authorization", h).wantProblem(401, "bad_signature")
			}
			// The scheme is matched without regard to case; the good header works.
			e.call("", "GET", "/v1/program", nil, "Authorization", "jifen-ed25519 "+params).want(200, nil)
		})
		t.Run("a body over the limit", func(t *testing.T) {
			s := e.signingKey(auth.Admin)
			big := `{"external_id":"` + strings.Repeat("x", 2<<20) + `"}`
			e.signed(s, "POST", "/v1/members", big, e.now(), newNonce()).wantProblem(413, "payload_too_large")
		})
		t.Run("a bad public key", func(t *testing.T) {
			for _, pk := range []string{"not base64!", base64.StdEncoding.EncodeToString(make([]byte, 31)),
				base64.RawURLEncoding.EncodeToString(make([]byte, 32)) + "x"} {
				e.post("/v1/api-keys", map[string]any{"name": "pos", "role": "admin", "public_key": pk}).
					wantProblem(422, "validation_failed", "public_key")
			}
		})
		t.Run("nonces are purged after 15 minutes", func(t *testing.T) {
			s := e.signingKey(auth.Admin)
			n := newNonce()
			e.signed(s, "GET", "/v1/program", "", e.now(), n).want(200, nil)
			if err := jobs.PurgeNonces(context.Background(), e.db, e.clock.Now().Add(14*time.Minute)); err != nil {
				t.Fatal(err)
			}
			e.signed(s, "GET", "/v1/program", "", e.now(), n).wantProblem(401, "replayed_request")
			if err := jobs.PurgeNonces(context.Background(), e.db, e.clock.Now().Add(16*time.Minute)); err != nil {
				t.Fatal(err)
			}
			e.signed(s, "GET", "/v1/program", "", e.now(), n).want(200, nil)
		})
	})
}

// A nonce used on one node is a replay on another: they share it through
// the database.
func TestSigningReplayAcrossNodes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		nodes := newNodes(t, b.DSN(t), 2)
		s := nodes[0].signingKey(auth.Admin)
		h := auth.Sign(s.priv, s.id, "POST", "/v1/members", nodes[0].now(), newNonce(), []byte(`{"external_id":"two-nodes"}`))
		nodes[0].call("", "POST", "/v1/members", `{"external_id":"two-nodes"}`, "Authorization", h).want(201, nil)
		nodes[1].call("", "POST", "/v1/members", `{"external_id":"two-nodes"}`, "Authorization", h).wantProblem(401, "replayed_request")
		nodes[1].signed(s, "GET", "/v1/program", "", nodes[1].now(), newNonce()).want(200, nil)
	})
}
