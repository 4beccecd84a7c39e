package rules_test

import (
	"testing"
	"time"

	"github.com/jifen/jifen/internal/clock/clocktest"
)

// apiTime folds any seconds into the API's range (keeping those already
// in it), so that the invariants are checked on every input.
func apiTime(sec int64) time.Time {
	span := clocktest.MaxAPI - clocktest.MinAPI + 1
	off := (sec%span - clocktest.MinAPI%span + 2*span) % span // sec - clocktest.MinAPI, mod span, without overflow
	return time.Unix(clocktest.MinAPI+off, 0).UTC()
}

func unix(f *testing.F, s string) int64 {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		f.Fatal(err)
	}
	return t.Unix()
}
