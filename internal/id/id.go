// Package id makes the opaque, type-prefixed identifiers that the API
// hands out (mem_…, txn_…). An ID is the prefix, an underscore and 26
// characters of Crockford base32 over 48 bits of milliseconds and 80 bits
// of randomness, so IDs made later sort later: lists order by ID for
// "newest first" and page with the last ID as cursor. Within one process
// IDs are strictly increasing even inside one millisecond.
package id

import (
	crand "crypto/rand"
	"encoding/binary"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
)

const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"

var gen struct {
	sync.Mutex
	ms     uint64
	hi     uint16 // top 16 of the 80 random bits
	lo     uint64 // low 64 of the 80 random bits
	source *rand.ChaCha8
}

func init() {
	var seed [32]byte
	if _, err := crand.Read(seed[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	gen.source = rand.NewChaCha8(seed)
}

// New returns a fresh ID with the given prefix ("mem", "txn", …).
func New(prefix string) string {
	gen.Lock()
	ms := uint64(time.Now().UnixMilli())
	if ms > gen.ms {
		gen.ms = ms
		gen.lo = gen.source.Uint64()
		gen.hi = uint16(gen.source.Uint64())
	} else {
		// Same (or earlier, if the wall clock stepped back) millisecond:
		// count up from the last value so the order still holds.
		gen.lo++
		if gen.lo == 0 {
			gen.hi++
		}
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[0:8], gen.ms<<16|uint64(gen.hi))
	binary.BigEndian.PutUint64(b[8:16], gen.lo)
	gen.Unlock()

	var sb strings.Builder
	sb.Grow(len(prefix) + 1 + 26)
	sb.WriteString(prefix)
	sb.WriteByte('_')
	// 128 bits as 26 base32 digits: the first digit carries the top 3 bits.
	hi := binary.BigEndian.Uint64(b[0:8])
	lo := binary.BigEndian.Uint64(b[8:16])
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = alphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	sb.Write(out[:])
	return sb.String()
}

// Secret returns n characters of base32 from crypto/rand, for API key
// secrets and similar values that must not be guessed.
func Secret(n int) string {
	buf := make([]byte, n)
	if _, err := crand.Read(buf); err != nil {
		panic(err)
	}
	for i, c := range buf {
		buf[i] = alphabet[c&31]
	}
	return string(buf)
}

// HasPrefix reports whether s looks like an ID of the given prefix.
func HasPrefix(s, prefix string) bool {
	return len(s) == len(prefix)+27 && strings.HasPrefix(s, prefix) && s[len(prefix)] == '_'
}
