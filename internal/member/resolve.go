package member

import (
	"github.com/jifen/jifen/internal/id"
)

// newReferralCode draws 8 characters without look-alikes (no 0/O, 1/I/L).
func newReferralCode() string {
	const alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
	raw := id.Secret(8)
	b := make([]byte, len(raw))
	for i := range raw {
		b[i] = alphabet[int(raw[i])%len(alphabet)]
	}
	return string(b)
}
