package rules

import (
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/jifen/jifen/internal/failure"
)

// Recurrence limits a rule to recurring local days and hours, the way
// promotions repeat: a member day (会员日) every Wednesday or on the 8th of
// each month, a holiday every year (618, Double 12). Times are the
// program's local time of the event.
//
//	{"kind":"weekly","weekdays":[3]}                      every Wednesday (1 = Monday … 7 = Sunday)
//	{"kind":"monthly","days":[8,18]}                      the 8th and 18th of each month
//	{"kind":"yearly","dates":["06-18","12-01..12-12"]}    every 18 June and 1–12 December
//
// Any kind may add "from" and "to" ("HH:MM", local, to excluded) to keep
// to part of the day.
type Recurrence struct {
	Kind     string   `json:"kind"`
	Weekdays []int    `json:"weekdays,omitempty"`
	Days     []int    `json:"days,omitempty"`
	Dates    []string `json:"dates,omitempty"`
	From     string   `json:"from,omitempty"`
	To       string   `json:"to,omitempty"`
}

var (
	monthDay  = regexp.MustCompile(`^(\d\d)-(\d\d)$`)
	dateRange = regexp.MustCompile(`^(\d\d-\d\d)\.\.(\d\d-\d\d)$`)
	clockTime = regexp.MustCompile(`^([01]\d|2[0-3]):([0-5]\d)$`)
)

func validMonthDay(s string) bool {
	if !monthDay.MatchString(s) {
		return false
	}
	_, err := time.Parse("2006-01-02", "2024-"+s) // a leap year, so 02-29 is allowed
	return err == nil
}

// Validate checks the recurrence; field names it in errors.
func (r Recurrence) Validate(field string) error {
	var fs failure.Fields
	switch r.Kind {
	case "weekly":
		if len(r.Weekdays) == 0 {
			fs.Add(field+".weekdays", "name at least one weekday, 1 (Monday) to 7 (Sunday)")
		}
		for _, d := range r.Weekdays {
			if d < 1 || d > 7 {
				fs.Add(field+".weekdays", "weekdays are 1 (Monday) to 7 (Sunday)")
				break
			}
		}
	case "monthly":
		if len(r.Days) == 0 {
			fs.Add(field+".days", "name at least one day of the month, 1 to 31")
		}
		for _, d := range r.Days {
			if d < 1 || d > 31 {
				fs.Add(field+".days", "days are 1 to 31")
				break
			}
		}
	case "yearly":
		if len(r.Dates) == 0 {
			fs.Add(field+".dates", `name at least one date "MM-DD" or range "MM-DD..MM-DD"`)
		}
		for _, d := range r.Dates {
			if m := dateRange.FindStringSubmatch(d); m != nil {
				if !validMonthDay(m[1]) || !validMonthDay(m[2]) {
					fs.Add(field+".dates", "%q is not a date range MM-DD..MM-DD", d)
				}
			} else if !validMonthDay(d) {
				fs.Add(field+".dates", "%q is not a date MM-DD", d)
			}
		}
	default:
		fs.Add(field+".kind", "must be weekly, monthly or yearly")
	}
	if (r.From == "") != (r.To == "") {
		fs.Add(field+".from", "from and to go together")
	}
	if r.From != "" && (!clockTime.MatchString(r.From) || !clockTime.MatchString(r.To) || r.From >= r.To) {
		fs.Add(field+".from", `from and to are local times "HH:MM" with from before to`)
	}
	return fs.Err()
}

// Matches reports whether local (the event's time in the program's zone)
// falls in the recurrence.
func (r Recurrence) Matches(local time.Time) bool {
	if r.From != "" {
		hm := fmt.Sprintf("%02d:%02d", local.Hour(), local.Minute())
		if hm < r.From || hm >= r.To {
			return false
		}
	}
	switch r.Kind {
	case "weekly":
		wd := int(local.Weekday())
		if wd == 0 {
			wd = 7
		}
		return slices.Contains(r.Weekdays, wd)
	case "monthly":
		return slices.Contains(r.Days, local.Day())
	case "yearly":
		md := local.Format("01-02")
		for _, d := range r.Dates {
			if m := dateRange.FindStringSubmatch(d); m != nil {
				from, to := m[1], m[2]
				if from <= to && md >= from && md <= to {
					return true
				}
				if from > to && (md >= from || md <= to) { // across new year: 12-20..01-05
					return true
				}
			} else if md == d {
				return true
			}
		}
	}
	return false
}
