package rules_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/clock/clocktest"
	"github.com/jifen/jifen/internal/rules"
)

// FuzzPeriods checks the cap periods of an instant in a program zone: the
// day and month are its local date, the week is the ISO week of that date
// (worked out here from the week's Thursday), instants of one local day
// share their week and month, and while the zone's offset holds a later
// instant is never in an earlier period.
func FuzzPeriods(f *testing.F) {
	for i := range clocktest.Zones {
		f.Add(unix(f, "2026-12-31T15:59:59Z"), int64(2*time.Hour), uint8(i))
	}
	f.Add(unix(f, "2026-03-01T15:59:00Z"), int64(2*time.Minute), uint8(1))
	f.Add(unix(f, "2027-01-01T04:00:00Z"), int64(-time.Hour), uint8(1))
	f.Add(unix(f, "1994-12-31T09:59:59Z"), int64(time.Second), uint8(3))
	f.Add(unix(f, "2011-12-30T09:59:59Z"), int64(time.Second), uint8(4))
	f.Add(unix(f, "2026-03-08T05:30:00Z"), int64(time.Hour), uint8(2))
	f.Add(unix(f, "0000-01-01T00:00:00Z"), int64(-time.Hour), uint8(5))
	f.Add(unix(f, "9999-12-31T23:59:59Z"), int64(time.Hour), uint8(3))
	f.Add(int64(-1<<63), int64(1<<63-1), uint8(0))
	f.Fuzz(func(t *testing.T, sec, delta int64, zone uint8) {
		loc := clocktest.Zone(t, zone)
		rules.Periods(time.Unix(sec, 0), loc) // any instant at all: no panic
		at := apiTime(sec)
		day, week, month := rules.Periods(at, loc)
		l := at.In(loc)
		if day != "day:"+l.Format(time.DateOnly) || month != "month:"+l.Format("2006-01") {
			t.Fatalf("Periods(%s in %s) = %s, %s; local time %s", at, loc, day, month, l)
		}
		civil := time.Date(l.Year(), l.Month(), l.Day(), 12, 0, 0, 0, time.UTC)
		thursday := civil.AddDate(0, 0, 3-(int(civil.Weekday())+6)%7)
		if want := fmt.Sprintf("week:%04d-W%02d", thursday.Year(), (thursday.YearDay()-1)/7+1); week != want {
			t.Fatalf("Periods(%s in %s) = %s, want %s (local %s)", at, loc, week, want, l)
		}

		at2 := at.Add(time.Duration(delta) % (48 * time.Hour))
		day2, week2, month2 := rules.Periods(at2, loc)
		if day2 == day && (week2 != week || month2 != month) {
			t.Fatalf("%s and %s in %s are both %s, yet in %s/%s and %s/%s", at, at2, loc, day, week, week2, month, month2)
		}
		first, second := at, at2
		p1, p2 := [3]string{day, week, month}, [3]string{day2, week2, month2}
		if at2.Before(at) {
			first, second, p1, p2 = at2, at, p2, p1
		}
		start, end := first.In(loc).ZoneBounds()
		sameOffset := !first.Before(start) && (end.IsZero() || second.Before(end))
		fourDigits := func(t time.Time) bool { y := t.In(loc).Year(); return y >= 1 && y <= 9998 }
		if sameOffset && fourDigits(first) && fourDigits(second) {
			for i := range p1 {
				if p2[i] < p1[i] {
					t.Fatalf("%s in %s is in %s, after %s in %s", second, loc, p2[i], first, p1[i])
				}
			}
		}
	})
}
