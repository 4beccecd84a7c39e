package httpapi

import (
	"net/http"
	"strconv"
	"time"

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

// asOf reads a job's as_of: default now; in the future it is refused.
func asOf(v *string, now time.Time) (time.Time, error) {
	t, err := clock.Parse("as_of", v)
	if err != nil || t == nil {
		return now, err
	}
	if t.After(now) {
		return now, failure.Field("as_of", "must not be in the future")
	}
	return *t, nil
}
