package auth

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// SignatureScheme is the Authorization scheme of a signed request.
const SignatureScheme = "Jifen-Ed25519"

// SignatureWindow is how far a signed request's ts may be from now.
const SignatureWindow = 300 * time.Second

// Signature is a parsed Authorization: Jifen-Ed25519 header.
type Signature struct {
	KeyID string
	TS    int64
	Nonce string
	Sig   []byte
}

var errSignatureHeader = errors.New("the Authorization header must be: Jifen-Ed25519 key=<key id>, ts=<Unix seconds>, nonce=<16–64 of A-Z a-z 0-9 _ ->, sig=<unpadded base64url signature>")

// ParseSignature parses the parameters after the scheme of a signed
// request's Authorization header: key, ts, nonce and sig, in any order,
// each once, separated by commas (spaces around them allowed), and
// nothing else.
func ParseSignature(params string) (Signature, error) {
	var s Signature
	var seen [4]bool
	parts := strings.Split(params, ",")
	if len(parts) != 4 {
		return Signature{}, errSignatureHeader
	}
	for _, p := range parts {
		name, value, ok := strings.Cut(strings.Trim(p, " \t"), "=")
		if !ok || value == "" {
			return Signature{}, errSignatureHeader
		}
		var i int
		switch name {
		case "key":
			i = 0
			if len(value) > 64 || !token(value) {
				return Signature{}, errSignatureHeader
			}
			s.KeyID = value
		case "ts":
			i = 1
			ts, err := strconv.ParseInt(value, 10, 64)
			if err != nil || ts < 0 || value[0] == '+' || len(value) > 1 && value[0] == '0' {
				return Signature{}, errSignatureHeader
			}
			s.TS = ts
		case "nonce":
			i = 2
			if len(value) < 16 || len(value) > 64 || !token(value) {
				return Signature{}, errSignatureHeader
			}
			s.Nonce = value
		case "sig":
			i = 3
			b, err := base64.RawURLEncoding.Strict().DecodeString(value)
			if err != nil || len(b) != ed25519.SignatureSize {
				return Signature{}, errSignatureHeader
			}
			s.Sig = b
		default:
			return Signature{}, errSignatureHeader
		}
		if seen[i] {
			return Signature{}, errSignatureHeader
		}
		seen[i] = true
	}
	return s, nil
}

// token says s is only of [A-Za-z0-9_-].
func token(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// SigningString is what a request's signature signs: six lines joined by
// "\n" — the version, the method in upper case, the path and query as on
// the request line (still percent-encoded), ts, the nonce, and the
// lower-case hex SHA-256 of the raw body.
func SigningString(method, requestURI string, ts int64, nonce string, body []byte) string {
	sum := sha256.Sum256(body)
	return strings.Join([]string{"JIFEN-ED25519-V1", strings.ToUpper(method), requestURI,
		strconv.FormatInt(ts, 10), nonce, hex.EncodeToString(sum[:])}, "\n")
}

// Sign signs a request with priv and returns its Authorization header
// value. Clients in Go can use it as it is (see docs/security.md).
func Sign(priv ed25519.PrivateKey, keyID, method, requestURI string, ts int64, nonce string, body []byte) string {
	sig := ed25519.Sign(priv, []byte(SigningString(method, requestURI, ts, nonce, body)))
	return SignatureScheme + " key=" + keyID + ", ts=" + strconv.FormatInt(ts, 10) +
		", nonce=" + nonce + ", sig=" + base64.RawURLEncoding.EncodeToString(sig)
}

// Verify says whether the signature is pub's over the request.
func (s Signature) Verify(pub ed25519.PublicKey, method, requestURI string, body []byte) bool {
	return len(pub) == ed25519.PublicKeySize &&
		ed25519.Verify(pub, []byte(SigningString(method, requestURI, s.TS, s.Nonce, body)), s.Sig)
}

// Fresh says whether ts is within SignatureWindow of now.
func (s Signature) Fresh(now time.Time) bool {
	d := now.Unix() - s.TS
	return d >= -int64(SignatureWindow/time.Second) && d <= int64(SignatureWindow/time.Second)
}

// ParsePublicKey decodes a public key as the API takes it: standard
// base64 (padded) of 32 bytes.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, errors.New("must be the base64 of a 32-byte Ed25519 public key")
	}
	return ed25519.PublicKey(b), nil
}
