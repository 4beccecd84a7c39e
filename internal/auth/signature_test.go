package auth_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/auth"
)

// The first three test vectors of RFC 8032, section 7.1: the primitive a
// signed request rests on signs and verifies as the RFC says.
func TestEd25519RFC8032(t *testing.T) {
	vectors := []struct{ name, secret, public, message, signature string }{
		{"test 1",
			"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
			"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
			"",
			"e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
		{"test 2",
			"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
			"3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
			"72",
			"92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
		{"test 3",
			"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
			"fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
			"af82",
			"6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
	}
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			seed, pub, msg, sig := unhex(t, v.secret), unhex(t, v.public), unhex(t, v.message), unhex(t, v.signature)
			priv := ed25519.NewKeyFromSeed(seed)
			if got := priv.Public().(ed25519.PublicKey); !got.Equal(ed25519.PublicKey(pub)) {
				t.Fatalf("public key %x, want %x", got, pub)
			}
			if got := ed25519.Sign(priv, msg); hex.EncodeToString(got) != v.signature {
				t.Fatalf("signature %x, want %s", got, v.signature)
			}
			if !ed25519.Verify(pub, msg, sig) {
				t.Fatal("the RFC's signature does not verify")
			}
			// The API takes the public key as standard base64.
			if k, err := auth.ParsePublicKey(base64.StdEncoding.EncodeToString(pub)); err != nil || !k.Equal(ed25519.PublicKey(pub)) {
				t.Fatalf("ParsePublicKey: %x, %v", k, err)
			}
		})
	}
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSigningString(t *testing.T) {
	got := auth.SigningString("post", "/v1/members/m%201/points/earn?x=1", 1700000000, "abcdefghijklmnop", []byte(`{"points":1}`))
	sum := sha256.Sum256([]byte(`{"points":1}`))
	want := "JIFEN-ED25519-V1\nPOST\n/v1/members/m%201/points/earn?x=1\n1700000000\nabcdefghijklmnop\n" + hex.EncodeToString(sum[:])
	if got != want {
		t.Fatalf("signing string %q, want %q", got, want)
	}
	// The last line is the lower-case hex SHA-256 of the body; of "" when none.
	if empty := auth.SigningString("GET", "/v1/program", 1, "abcdefghijklmnop", nil); !strings.HasSuffix(empty,
		"\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") {
		t.Fatalf("empty body: %q", empty)
	}
}

func TestParseSignature(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	header := auth.Sign(priv, "key_abc", "POST", "/v1/x?a=1", 1700000000, "nonce-0123456789_", []byte("{}"))
	params, ok := strings.CutPrefix(header, auth.SignatureScheme+" ")
	if !ok {
		t.Fatalf("header %q", header)
	}
	s, err := auth.ParseSignature(params)
	if err != nil {
		t.Fatal(err)
	}
	if s.KeyID != "key_abc" || s.TS != 1700000000 || s.Nonce != "nonce-0123456789_" {
		t.Fatalf("parsed %+v", s)
	}
	if !s.Verify(pub, "POST", "/v1/x?a=1", []byte("{}")) {
		t.Fatal("a good signature does not verify")
	}
	for _, bad := range []struct{ method, uri, body string }{
		{"GET", "/v1/x?a=1", "{}"}, {"POST", "/v1/x?a=2", "{}"}, {"POST", "/v1/x", "{}"}, {"POST", "/v1/x?a=1", "{ }"},
	} {
		if s.Verify(pub, bad.method, bad.uri, []byte(bad.body)) {
			t.Errorf("verifies for %+v", bad)
		}
	}
	other, _, _ := ed25519.GenerateKey(nil)
	if s.Verify(other, "POST", "/v1/x?a=1", []byte("{}")) {
		t.Error("verifies with another key")
	}

	sig := params[strings.Index(params, "sig="):]
	good := []string{
		"key=key_abc, ts=1700000000, nonce=abcdefghijklmnop, " + sig,
		sig + ",nonce=abcdefghijklmnop,ts=1700000000,key=key_abc", // any order, no spaces
		"ts=1700000000 , key=key_abc,\tnonce=" + strings.Repeat("a", 64) + ", " + sig,
	}
	for _, g := range good {
		if _, err := auth.ParseSignature(g); err != nil {
			t.Errorf("%q: %v", g, err)
		}
	}
	bad := map[string]string{
		"duplicate key":     "key=key_abc, key=key_abc, ts=1700000000, nonce=abcdefghijklmnop, " + sig,
		"duplicate ts":      "key=key_abc, ts=1700000000, ts=1700000000, " + sig,
		"extra param":       "key=key_abc, ts=1700000000, nonce=abcdefghijklmnop, " + sig + ", alg=ed25519",
		"unknown param":     "key=key_abc, ts=1700000000, nonce=abcdefghijklmnop, sign=" + sig[4:],
		"missing nonce":     "key=key_abc, ts=1700000000, " + sig,
		"nonce short":       "key=key_abc, ts=1700000000, nonce=abcdefghijklmno, " + sig,
		"nonce long":        "key=key_abc, ts=1700000000, nonce=" + strings.Repeat("a", 65) + ", " + sig,
		"nonce dot":         "key=key_abc, ts=1700000000, nonce=abcdefgh.ijklmnop, " + sig,
		"nonce plus":        "key=key_abc, ts=1700000000, nonce=abcdefgh+ijklmnop, " + sig,
		"nonce quoted":      `key=key_abc, ts=1700000000, nonce="abcdefghijklmnop", ` + sig,
		"ts not a number":   "key=key_abc, ts=17e8, nonce=abcdefghijklmnop, " + sig,
		"ts negative":       "key=key_abc, ts=-1, nonce=abcdefghijklmnop, " + sig,
		"ts plus":           "key=key_abc, ts=+1700000000, nonce=abcdefghijklmnop, " + sig,
		"ts milliseconds":   "key=key_abc, ts=1700000000.5, nonce=abcdefghijklmnop, " + sig,
		"sig padded":        "key=key_abc, ts=1700000000, nonce=abcdefghijklmnop, " + sig + "==",
		"sig std base64":    "key=key_abc, ts=1700000000, nonce=abcdefghijklmnop, sig=" + base64.RawStdEncoding.EncodeToString(make([]byte, 64)) + "+",
		"sig short":         "key=key_abc, ts=1700000000, nonce=abcdefghijklmnop, sig=" + base64.RawURLEncoding.EncodeToString(make([]byte, 63)),
		"empty value":       "key=, ts=1700000000, nonce=abcdefghijklmnop, " + sig,
		"no equals":         "key key_abc, ts=1700000000, nonce=abcdefghijklmnop, " + sig,
		"upper-case name":   "KEY=key_abc, ts=1700000000, nonce=abcdefghijklmnop, " + sig,
		"trailing comma":    "key=key_abc, ts=1700000000, nonce=abcdefghijklmnop, " + sig + ",",
		"empty":             "",
		"key with a space":  "key=key abc, ts=1700000000, nonce=abcdefghijklmnop, " + sig,
		"semicolon for one": "key=key_abc; ts=1700000000, nonce=abcdefghijklmnop, " + sig,
	}
	for name, b := range bad {
		t.Run(name, func(t *testing.T) {
			if s, err := auth.ParseSignature(b); err == nil {
				t.Fatalf("%q parsed: %+v", b, s)
			}
		})
	}
}

// The window is 300 seconds either side of now, inclusive.
func TestSignatureFresh(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	for _, c := range []struct {
		ts    int64
		fresh bool
	}{{1_700_000_000, true}, {1_700_000_000 - 300, true}, {1_700_000_000 + 300, true},
		{1_700_000_000 - 301, false}, {1_700_000_000 + 301, false}, {0, false}} {
		if got := (auth.Signature{TS: c.ts}).Fresh(now); got != c.fresh {
			t.Errorf("ts %d: fresh %v, want %v", c.ts, got, c.fresh)
		}
	}
}

// FuzzSignatureHeader: the header parser never panics, and what it
// accepts is well formed.
func FuzzSignatureHeader(f *testing.F) {
	_, priv, _ := ed25519.GenerateKey(nil)
	h := auth.Sign(priv, "key_abc", "GET", "/", 1700000000, "abcdefghijklmnop", nil)
	f.Add(strings.TrimPrefix(h, auth.SignatureScheme+" "))
	f.Add("key=a, ts=1, nonce=abcdefghijklmnop, sig=" + strings.Repeat("A", 86))
	f.Add("key=a,key=a,key=a,key=a")
	f.Add(",,,")
	f.Add("ts=01, key=a, nonce=abcdefghijklmnop, sig=x")
	f.Fuzz(func(t *testing.T, params string) {
		s, err := auth.ParseSignature(params)
		if err != nil {
			return
		}
		if s.KeyID == "" || len(s.Nonce) < 16 || len(s.Nonce) > 64 || s.TS < 0 || len(s.Sig) != ed25519.SignatureSize {
			t.Fatalf("%q parsed to %+v", params, s)
		}
		again := "key=" + s.KeyID + ", ts=" + strconv.FormatInt(s.TS, 10) +
			", nonce=" + s.Nonce + ", sig=" + base64.RawURLEncoding.EncodeToString(s.Sig)
		if s2, err := auth.ParseSignature(again); err != nil || s2.KeyID != s.KeyID || s2.TS != s.TS || s2.Nonce != s.Nonce {
			t.Fatalf("%q parsed to %+v; rewritten %q: %+v, %v", params, s, again, s2, err)
		}
	})
}

// BenchmarkSignatureVerify is the parse and the Ed25519 verification of
// one signed request's header (no database).
func BenchmarkSignatureVerify(b *testing.B) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	body := []byte(`{"points":100,"reason":"order 1"}`)
	h := auth.Sign(priv, "key_abc", "POST", "/v1/members/m/points/earn", 1700000000, "abcdefghijklmnop", body)
	params := strings.TrimPrefix(h, auth.SignatureScheme+" ")
	for b.Loop() {
		s, err := auth.ParseSignature(params)
		if err != nil || !s.Verify(pub, "POST", "/v1/members/m/points/earn", body) {
			b.Fatal("does not verify")
		}
	}
}
