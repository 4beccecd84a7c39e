package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

const (
	k1 = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	k2 = "k-2:Hx4dHBsaGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQA="
)

func ring(t *testing.T, s string) *Keyring {
	t.Helper()
	k, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealOpen(t *testing.T) {
	k := ring(t, k1)
	at := AD{"members", "phone", "mem_1"}
	s := k.Seal(at, "+8613800000000")
	if !strings.HasPrefix(s, "k1.") || strings.Contains(s, "138") {
		t.Fatalf("sealed = %q", s)
	}
	if s2 := k.Seal(at, "+8613800000000"); s2 == s {
		t.Fatal("two seals of one value are equal: the nonce is not random")
	}
	got, err := k.Open(at, s)
	if err != nil || got != "+8613800000000" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	// The layout is the contract's: kid "." base64url(nonce‖ciphertext‖tag),
	// so another implementation opens it with AES-256-GCM and the AD.
	raw, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(s, "k1."))
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(k1, "k1:"))
	block, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(block)
	plain, err := gcm.Open(nil, raw[:12], raw[12:], []byte("members\x00phone\x00mem_1"))
	if err != nil || string(plain) != "+8613800000000" {
		t.Fatalf("independent open = %q, %v", plain, err)
	}
	// Moved to another row, column or table, it does not open.
	for _, other := range []AD{{"members", "phone", "mem_2"}, {"members", "name", "mem_1"}, {"identities", "phone", "mem_1"}} {
		if _, err := k.Open(other, s); err == nil {
			t.Errorf("opened under %+v", other)
		}
	}
	// Altered (a bit of the ciphertext or of the tag), it does not open.
	for _, i := range []int{12, len(raw) - 1} {
		b := append([]byte(nil), raw...)
		b[i] ^= 1
		if _, err := k.Open(at, "k1."+base64.RawURLEncoding.EncodeToString(b)); err == nil {
			t.Errorf("a value altered at byte %d opened", i)
		}
	}
	if k.Seal(at, "") != "" {
		t.Error("an absent value was sealed")
	}
}

func TestKeys(t *testing.T) {
	old, both, next := ring(t, k1), ring(t, k2+","+k1), ring(t, k2)
	at := AD{"messages", "body", "msg_1"}
	s := old.Seal(at, "你好")
	if got, err := both.Open(at, s); err != nil || got != "你好" {
		t.Fatalf("every listed key decrypts: %q, %v", got, err)
	}
	if both.Current() != "k-2" || !strings.HasPrefix(both.Seal(at, "x"), "k-2.") {
		t.Fatal("the first key encrypts")
	}
	if _, err := next.Open(at, s); !errors.Is(err, ErrMissingKey) {
		t.Fatalf("a value under a key not listed: %v", err)
	}
	var off *Keyring
	if _, err := off.Open(at, s); !errors.Is(err, ErrMissingKey) {
		t.Fatalf("with the keyring off, a sealed value: %v", err)
	}
	if off.Seal(at, "clear") != "clear" {
		t.Fatal("off seals")
	}
	if !both.Under(both.Seal(at, "x")) || both.Under(s) || both.Under("clear") || !both.Under("") {
		t.Fatal("Under")
	}
}

func TestClearValuesAreNotSealed(t *testing.T) {
	for _, v := range []string{"+8613800000000", `{"a":1}`, "张三", "J. R. R. Tolkien", "a.b", "bob@example.com",
		"wx.oAbCdEfGhIjKlMnOpQrStUvWxYz", "2024-05-01", "k1.short"} {
		if _, _, ok := Split(v); ok {
			t.Errorf("%q taken for a sealed value", v)
		}
		if got, err := ring(t, k1).Open(AD{}, v); err != nil || got != v {
			t.Errorf("Open(%q) = %q, %v", v, got, err)
		}
	}
}

func TestLookup(t *testing.T) {
	var off *Keyring
	// Unkeyed, sha256("phone\x00+8613800000000"), computed independently:
	// the lookups stored before encryption was turned on.
	if got, want := off.Lookup("phone", "+8613800000000"), "46c0158522c8e45622c14705a71c8c11c367bb6d57a06a13611e4d9638a70b43"; got != want {
		t.Fatalf("plain lookup = %s, want %s", got, want)
	}
	if off.Lookup("ab", "c") == off.Lookup("a", "bc") {
		t.Fatal("kind and value run together")
	}
	a, b := ring(t, k1), ring(t, k2+","+k1)
	if a.Lookup("phone", "x") == off.Lookup("phone", "x") || a.Lookup("phone", "x") == b.Lookup("phone", "x") {
		t.Fatal("a lookup does not depend on the key")
	}
	if a.Lookup("phone", "x") == a.Lookup("email", "x") {
		t.Fatal("the kind is not part of the lookup")
	}
	got := b.Lookups("phone", "x")
	if len(got) != 3 || got[0] != b.Lookup("phone", "x") || got[1] != a.Lookup("phone", "x") || got[2] != off.Lookup("phone", "x") {
		t.Fatalf("Lookups = %v", got)
	}
}

func TestParse(t *testing.T) {
	if k, err := Parse(" "); k != nil || err != nil {
		t.Fatalf("empty: %v, %v", k, err)
	}
	for _, bad := range []string{"k1", "K1:" + strings.TrimPrefix(k1, "k1:"), "k1:c2hvcnQ=", "seventeen-chars-x:" + strings.TrimPrefix(k1, "k1:"),
		k1 + "," + k1, "k1:not base64!"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		} else if strings.Contains(err.Error(), strings.TrimPrefix(k1, "k1:")) {
			t.Errorf("the error shows the key: %v", err)
		}
	}
	if got := ring(t, k2+", "+k1).IDs(); strings.Join(got, ",") != "k-2,k1" {
		t.Fatalf("IDs = %v", got)
	}
}

// BenchmarkSeal and BenchmarkOpen: a member's attributes-sized value
// (about 100 bytes); an event seals about four values and opens about
// six (docs/benchmarks.md).
func BenchmarkSeal(b *testing.B) {
	k, _ := Parse(k1)
	at := AD{"events", "data", "default/evt_01J"}
	v := strings.Repeat("x", 100)
	for b.Loop() {
		k.Seal(at, v)
	}
}

func BenchmarkOpen(b *testing.B) {
	k, _ := Parse(k1)
	at := AD{"events", "data", "default/evt_01J"}
	s := k.Seal(at, strings.Repeat("x", 100))
	for b.Loop() {
		if _, err := k.Open(at, s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLookup(b *testing.B) {
	k, _ := Parse(k1)
	for b.Loop() {
		k.Lookup("phone", "+8613800000000")
	}
}
