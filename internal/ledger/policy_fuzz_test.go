package ledger_test

import (
	"testing"
	"time"

	"github.com/jifen/jifen/internal/clock/clocktest"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/ledger"
)

// apiTime folds any seconds into the API's range (keeping those already
// in it), so that the invariants are checked on every input, not only on
// the few that land there.
func apiTime(sec, nsec int64) time.Time {
	span := clocktest.MaxAPI - clocktest.MinAPI + 1
	off := (sec%span - clocktest.MinAPI%span + 2*span) % span // sec - clocktest.MinAPI, mod span, without overflow
	return time.Unix(clocktest.MinAPI+off, ((nsec%1e9)+1e9)%1e9).UTC()
}

func apiRange(t time.Time) bool { return t.Year() >= 0 && t.Year() <= 9999 }

// FuzzPolicyExpiresAt checks when earned points expire, for any policy,
// earn time and program zone: never for "never"; a rolling policy adds
// exactly its days of 24 hours; an end-of-year policy lands on the last
// second of the program-local year Years after the earn; expiry is never
// before the earn and never earlier for a later earn. (That last one fails
// where clocks were set back across new year's midnight, as in Phoenix on
// 1 January 1944: the local year of the earn goes back. No such zone is
// in the list.)
func FuzzPolicyExpiresAt(f *testing.F) {
	at := func(s string) int64 {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			f.Fatal(err)
		}
		return t.Unix()
	}
	for i := range clocktest.Zones {
		f.Add(uint8(2), 1, at("2026-12-31T17:00:00Z"), int64(0), int64(3600), uint8(i))
	}
	f.Add(uint8(1), 365, at("2027-06-01T00:00:00Z"), int64(0), int64(86400), uint8(1))
	f.Add(uint8(1), 36500, at("9999-01-01T00:00:00Z"), int64(999), int64(1), uint8(0))
	f.Add(uint8(2), 0, at("1994-12-30T12:00:00-10:00"), int64(0), int64(86400), uint8(3))
	f.Add(uint8(2), 0, at("2011-12-29T12:00:00-10:00"), int64(0), int64(86400), uint8(4))
	f.Add(uint8(2), 100, at("9899-12-31T23:59:59Z"), int64(0), int64(1), uint8(9))
	f.Add(uint8(2), 3, int64(-1<<62), int64(-1), int64(1<<62), uint8(5))
	f.Add(uint8(0), 0, at("2026-03-08T07:00:00Z"), int64(0), int64(0), uint8(5))
	f.Fuzz(func(t *testing.T, kind uint8, n int, sec, nsec, delta int64, zone uint8) {
		p := ledger.Policy{Kind: []string{ledger.Never, ledger.Rolling, ledger.EndOfYear, "other"}[kind%4]}
		switch p.Kind {
		case ledger.Rolling:
			p.Days = n
		case ledger.EndOfYear:
			p.Years = n
		}
		loc := clocktest.Zone(t, zone)
		p.ExpiresAt(time.Unix(sec, nsec), loc) // any instant at all: no panic
		earned := apiTime(sec, nsec)
		got := p.ExpiresAt(earned, loc)
		if err := p.Validate("expiry"); err != nil {
			if failure.KindOf(err) != failure.Invalid {
				t.Fatalf("Validate(%+v) = %v, want Invalid", p, err)
			}
			return
		}
		if p.Kind == ledger.Never {
			if got != nil {
				t.Fatalf("never: ExpiresAt(%s) = %s", earned, got)
			}
			return
		}
		if got == nil {
			t.Fatalf("%+v: ExpiresAt(%s) = never", p, earned)
		}
		if got.Location() != time.UTC {
			t.Fatalf("%+v: ExpiresAt(%s) = %s, not in UTC", p, earned, got)
		}
		if !got.After(earned) {
			t.Fatalf("%+v in %s: ExpiresAt(%s) = %s, not after the earn", p, loc, earned, got)
		}
		switch p.Kind {
		case ledger.Rolling:
			if d := got.Sub(earned); d != time.Duration(p.Days)*24*time.Hour {
				t.Fatalf("%+v: ExpiresAt(%s) = %s, %s after the earn", p, earned, got, d)
			}
		case ledger.EndOfYear:
			year := earned.In(loc).Year() + p.Years
			if end := earned.In(loc).Add(time.Second); end.Year() > year && p.Years == 0 {
				year++ // earned in the year's last second: it belongs to the next
			}
			last, next := got.In(loc), got.Add(time.Second).In(loc)
			if last.Year() != year || next.Year() != year+1 || got.Nanosecond() != 0 {
				t.Fatalf("%+v in %s: ExpiresAt(%s) = %s (local %s), want the last second of %d",
					p, loc, earned, got, last, year)
			}
		}
		// A later earn never expires earlier.
		d := time.Duration(delta) % (200 * 365 * 24 * time.Hour)
		later := earned.Add(max(d, -d))
		if !apiRange(later) {
			return
		}
		if got2 := p.ExpiresAt(later, loc); got2.Before(*got) {
			t.Fatalf("%+v in %s: ExpiresAt(%s) = %s, before ExpiresAt(%s) = %s", p, loc, later, got2, earned, got)
		}
	})
}

// FuzzParsePolicy reads stored policies: a policy that parses is valid and
// expires after the earn; anything else is an error, never a panic.
func FuzzParsePolicy(f *testing.F) {
	for _, s := range []string{`{"kind":"never"}`, `{"kind":"rolling","days":365}`, `{"kind":"end_of_year","years":1}`,
		`{"kind":"rolling","days":-1}`, `{"kind":"end_of_year","years":1e9}`, `{"kind":"rolling","days":36500,"years":0}`, `null`, `[]`} {
		f.Add([]byte(s))
	}
	loc, err := time.LoadLocation("Pacific/Kiritimati")
	if err != nil {
		f.Fatal(err)
	}
	earned := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ledger.ParsePolicy(b)
		if err != nil {
			return // a JSON error or a validation failure
		}
		if err := p.Validate("expiry"); err != nil {
			t.Fatalf("ParsePolicy(%q) = %+v, which is not valid: %v", b, p, err)
		}
		if e := p.ExpiresAt(earned, loc); e != nil && !e.After(earned) {
			t.Fatalf("ParsePolicy(%q) = %+v, which expires at %s, before the earn", b, p, e)
		}
	})
}
