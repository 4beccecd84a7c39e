// Package lookup computes what an identity is found by: a digest of its
// kind and normalised value, stored in identities.lookup, so that a
// reference is resolved without searching (or being able to read) the
// value itself. Today it is a plain SHA-256 of kind‖0x00‖value; with
// encryption at rest it becomes HMAC-SHA256 under keys derived by HKDF,
// and this package is the one place that changes.
package lookup

import (
	"crypto/sha256"
	"encoding/hex"
)

// Hash is the lookup of an identity: hex SHA-256 of kind, a zero byte and
// the normalised value.
func Hash(kind, value string) string {
	h := sha256.New()
	h.Write([]byte(kind))
	h.Write([]byte{0})
	h.Write([]byte(value))
	return hex.EncodeToString(h.Sum(nil))
}
