// Package seal encrypts personal values at rest and computes the keyed
// lookups that find them without decrypting anything.
//
// A Keyring holds the data keys of JIFEN_DATA_KEY: the first encrypts,
// every one decrypts. A sealed value is stored as
// "<kid>.<base64url(nonce‖ciphertext‖tag)>": AES-256-GCM with a random
// 96-bit nonce, and the table, column and row it belongs to as associated
// data, so a value copied to another row or column does not open. A nil
// Keyring stores values as they are (encryption off); it still opens
// nothing sealed, so a store written with a key is never read as if it
// were clear.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Env is the variable that holds the data keys.
const Env = "JIFEN_DATA_KEY"

// KeyID is the form of a key's ID.
var KeyID = regexp.MustCompile(`^[a-z0-9-]{1,16}$`)

// ErrMissingKey is wrapped by Open for a value sealed under a key the
// keyring does not hold.
var ErrMissingKey = errors.New("sealed under a key that is not in " + Env)

// Keyring is a list of data keys; the first is the current one.
type Keyring struct {
	keys []*key
	byID map[string]*key
}

type key struct {
	id     string
	aead   cipher.AEAD
	lookup []byte // HKDF-SHA256(key, info "jifen-lookup")
}

// AD names where a value is stored: its associated data.
type AD struct{ Table, Column, Row string }

func (a AD) bytes() []byte {
	return []byte(a.Table + "\x00" + a.Column + "\x00" + a.Row)
}

// Parse reads "<kid>:<base64 of 32 bytes>[,<kid>:<base64>…]". An empty
// string is no keyring (nil): encryption off.
func Parse(s string) (*Keyring, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	k := &Keyring{byID: map[string]*key{}}
	for i, part := range strings.Split(s, ",") {
		kid, b64, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok || !KeyID.MatchString(kid) {
			return nil, fmt.Errorf("%s: key %d: want <kid>:<base64 of 32 bytes>, kid 1–16 of [a-z0-9-]", Env, i+1)
		}
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			raw, err = base64.RawStdEncoding.DecodeString(b64)
		}
		if err != nil || len(raw) != 32 {
			return nil, fmt.Errorf("%s: key %q: want the base64 of 32 random bytes (openssl rand -base64 32)", Env, kid)
		}
		if k.byID[kid] != nil {
			return nil, fmt.Errorf("%s: key %q is listed twice", Env, kid)
		}
		block, err := aes.NewCipher(raw)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		lk, err := hkdf.Key(sha256.New, raw, nil, "jifen-lookup", 32)
		if err != nil {
			return nil, err
		}
		kk := &key{id: kid, aead: aead, lookup: lk}
		k.keys = append(k.keys, kk)
		k.byID[kid] = kk
	}
	return k, nil
}

// Enabled says values are sealed.
func (k *Keyring) Enabled() bool { return k != nil && len(k.keys) > 0 }

// Current is the ID of the key that seals ("" when off).
func (k *Keyring) Current() string {
	if !k.Enabled() {
		return ""
	}
	return k.keys[0].id
}

// Has says the keyring holds key kid.
func (k *Keyring) Has(kid string) bool { return k.Enabled() && k.byID[kid] != nil }

// IDs lists the keys, the current one first.
func (k *Keyring) IDs() []string {
	if !k.Enabled() {
		return nil
	}
	out := make([]string, len(k.keys))
	for i, kk := range k.keys {
		out[i] = kk.id
	}
	return out
}

// Seal encrypts v for ad under the current key. With the keyring off, and
// for "", it answers v: an absent value stays absent.
func (k *Keyring) Seal(ad AD, v string) string {
	if !k.Enabled() || v == "" {
		return v
	}
	kk := k.keys[0]
	nonce := make([]byte, kk.aead.NonceSize(), kk.aead.NonceSize()+len(v)+kk.aead.Overhead())
	rand.Read(nonce) // never fails (crypto/rand panics rather than return short)
	out := kk.aead.Seal(nonce, nonce, []byte(v), ad.bytes())
	return kk.id + "." + base64.RawURLEncoding.EncodeToString(out)
}

// Open decrypts a stored value. A value that is not sealed is answered as
// it is (stored before encryption was turned on, or with it off).
func (k *Keyring) Open(ad AD, stored string) (string, error) {
	kid, body, ok := Split(stored)
	if !ok {
		return stored, nil
	}
	if !k.Has(kid) {
		return "", fmt.Errorf("%s.%s of %s: %w (key %q)", ad.Table, ad.Column, ad.Row, ErrMissingKey, kid)
	}
	kk := k.byID[kid]
	n := kk.aead.NonceSize()
	out, err := kk.aead.Open(nil, body[:n], body[n:], ad.bytes())
	if err != nil {
		return "", fmt.Errorf("%s.%s of %s: the value does not open under key %q (altered, or moved from another row)", ad.Table, ad.Column, ad.Row, kid)
	}
	return string(out), nil
}

// Split parses a sealed value into its key ID and nonce‖ciphertext‖tag;
// ok is false for a value that is not one. A clear value cannot be taken
// for a sealed one unless it is a short lower-case word, a dot and at
// least 38 characters of unpadded base64url — no phone, JSON document or
// name with a space is.
func Split(stored string) (kid string, body []byte, ok bool) {
	i := strings.IndexByte(stored, '.')
	if i <= 0 || i > 16 || len(stored)-i-1 < 38 {
		return "", nil, false
	}
	kid = stored[:i]
	if !KeyID.MatchString(kid) {
		return "", nil, false
	}
	body, err := base64.RawURLEncoding.DecodeString(stored[i+1:])
	if err != nil || len(body) < 12+16 {
		return "", nil, false
	}
	return kid, body, true
}

// Under says stored is sealed under the current key: the values rotation
// leaves alone. An empty value needs no key and counts as under it.
func (k *Keyring) Under(stored string) bool {
	if stored == "" {
		return true
	}
	kid, _, ok := Split(stored)
	if !k.Enabled() {
		return !ok
	}
	return ok && kid == k.keys[0].id
}

// Lookup is what an identity of kind with (normalised) value is found by,
// under the current key: hex HMAC-SHA256(K, kind‖0x00‖value), K derived
// from the key by HKDF-SHA256 with info "jifen-lookup". With the keyring
// off it is a plain SHA-256 of the same bytes.
func (k *Keyring) Lookup(kind, value string) string {
	if !k.Enabled() {
		return plainLookup(kind, value)
	}
	return keyedLookup(k.keys[0].lookup, kind, value)
}

// Lookups are the lookups a value may be stored under while keys rotate:
// one per key, then the plain one of a value not yet sealed.
func (k *Keyring) Lookups(kind, value string) []string {
	if !k.Enabled() {
		return []string{plainLookup(kind, value)}
	}
	out := make([]string, 0, len(k.keys)+1)
	for _, kk := range k.keys {
		out = append(out, keyedLookup(kk.lookup, kind, value))
	}
	return append(out, plainLookup(kind, value))
}

func plainLookup(kind, value string) string {
	h := sha256.New()
	writeLookup(h, kind, value)
	return hex.EncodeToString(h.Sum(nil))
}

func keyedLookup(k []byte, kind, value string) string {
	h := hmac.New(sha256.New, k)
	writeLookup(h, kind, value)
	return hex.EncodeToString(h.Sum(nil))
}

func writeLookup(h interface{ Write([]byte) (int, error) }, kind, value string) {
	h.Write([]byte(kind))
	h.Write([]byte{0})
	h.Write([]byte(value))
}
