package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/store"
)

var pageParams = []param{
	{name: "limit", desc: "page size, 1–500 (default 50)"},
	{name: "cursor", desc: "next_cursor of the previous page"},
}

// page reads ?limit= and ?cursor=.
func page(r *http.Request) (store.Page, error) {
	p := store.Page{Limit: 50, Cursor: r.URL.Query().Get("cursor")}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return p, failure.Field("limit", "must be an integer from 1 to 500")
		}
		p.Limit = n
	}
	if len(p.Cursor) > 64 {
		return p, failure.Field("cursor", "is not a cursor this API gave out")
	}
	return p, nil
}

// parseTime reads an optional RFC 3339 instant from a request field.
func parseTime(field string, v *string) (*time.Time, error) { return clock.Parse(field, v) }

// asOf reads a job's as_of: default now; in the future it is refused.
func asOf(v *string, now time.Time) (time.Time, error) {
	t, err := parseTime("as_of", v)
	if err != nil || t == nil {
		return now, err
	}
	if t.After(now) {
		return now, failure.Field("as_of", "must not be in the future")
	}
	return *t, nil
}

// checkText checks an optional free-text field.
func checkText(fs *failure.Fields, field, v string, max int) {
	if utf8.RuneCountInString(v) > max {
		fs.Add(field, "must be at most %d characters", max)
	}
	if strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 && r != '\t' }) {
		fs.Add(field, "must not contain control characters")
	}
}

// checkMetadata accepts a JSON object of at most 4 KiB.
func checkMetadata(fs *failure.Fields, m json.RawMessage) {
	if len(m) == 0 || string(m) == "null" {
		return
	}
	var obj map[string]any
	if len(m) > 4096 || json.Unmarshal(m, &obj) != nil || obj == nil {
		fs.Add("metadata", "must be a JSON object of at most 4 KiB")
	}
}
