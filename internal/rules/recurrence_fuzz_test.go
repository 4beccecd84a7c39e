package rules_test

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/clock/clocktest"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/rules"
)

// FuzzRecurrence reads recurrences as operators write them: an invalid
// one is a validation failure; a valid one matches a local time exactly
// when an independent reading of it does (yearly ranges walked day by day
// through a leap year, across new year when they wrap). Matching never
// panics, valid or not.
func FuzzRecurrence(f *testing.F) {
	for _, s := range []string{
		`{"kind":"weekly","weekdays":[3]}`,
		`{"kind":"weekly","weekdays":[7],"from":"10:00","to":"12:00"}`,
		`{"kind":"monthly","days":[8,18,31]}`,
		`{"kind":"monthly","days":[29],"from":"00:00","to":"23:59"}`,
		`{"kind":"yearly","dates":["06-18","12-01..12-12"]}`,
		`{"kind":"yearly","dates":["12-20..01-05","02-29"]}`,
		`{"kind":"yearly","dates":["02-29..02-28"]}`,
		`{"kind":"yearly","dates":["03-01..03-01"],"from":"23:30","to":"23:59"}`,
		`{"kind":"weekly","weekdays":[0,8]}`,
		`{"kind":"yearly","dates":["02-30","13-01","1-1"]}`,
		`{"kind":"daily","from":"12:00"}`,
	} {
		f.Add([]byte(s), unix(f, "2026-12-31T16:30:00Z"), uint8(1))
		f.Add([]byte(s), unix(f, "2028-02-29T12:00:00Z"), uint8(3))
	}
	f.Fuzz(func(t *testing.T, js []byte, sec int64, zone uint8) {
		var r rules.Recurrence
		if json.Unmarshal(js, &r) != nil {
			return
		}
		local := apiTime(sec).In(clocktest.Zone(t, zone))
		got := r.Matches(local)
		if err := r.Validate("recurrence"); err != nil {
			if failure.KindOf(err) != failure.Invalid {
				t.Fatalf("Validate(%s) = %v, want Invalid", js, err)
			}
			return
		}
		if want := matches(r, local); got != want {
			t.Fatalf("%s at %s: Matches = %v, want %v", js, local, got, want)
		}
	})
}

// matches is Recurrence.Matches written another way, on numbers.
func matches(r rules.Recurrence, local time.Time) bool {
	minutes := func(hm string) int {
		h, _ := strconv.Atoi(hm[:2])
		m, _ := strconv.Atoi(hm[3:])
		return h*60 + m
	}
	if r.From != "" {
		now := local.Hour()*60 + local.Minute()
		if now < minutes(r.From) || now >= minutes(r.To) {
			return false
		}
	}
	switch r.Kind {
	case "weekly":
		return slices.Contains(r.Weekdays, (int(local.Weekday())+6)%7+1)
	case "monthly":
		return slices.Contains(r.Days, local.Day())
	case "yearly":
		today := [2]int{int(local.Month()), local.Day()}
		for _, d := range r.Dates {
			from, to, ok := strings.Cut(d, "..")
			if !ok {
				to = from
			}
			if slices.Contains(daysFrom(from, to), today) {
				return true
			}
		}
	}
	return false
}

// daysFrom lists the month-days from one "MM-DD" to another, inclusive,
// walking a leap year and wrapping at its end.
func daysFrom(from, to string) [][2]int {
	parse := func(s string) time.Time {
		m, _ := strconv.Atoi(s[:2])
		d, _ := strconv.Atoi(s[3:])
		return time.Date(2024, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	}
	day, end := parse(from), parse(to)
	var out [][2]int
	for i := 0; i < 366; i++ {
		out = append(out, [2]int{int(day.Month()), day.Day()})
		if day.Equal(end) {
			break
		}
		if day = day.AddDate(0, 0, 1); day.Year() > 2024 {
			day = day.AddDate(-1, 0, 0)
		}
	}
	return out
}
