package store

import (
	"database/sql"
	"encoding/json"
	"time"
)

// ms converts a time to the stored Unix milliseconds.
func ms(t time.Time) int64 { return t.UnixMilli() }

// optMS converts an optional time to a nullable column value.
func optMS(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func fromOptMS(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

// rawJSON returns stored JSON text as a message, null when there is none.
func rawJSON(v sql.NullString) json.RawMessage {
	if !v.Valid || v.String == "" {
		return nil
	}
	return json.RawMessage(v.String)
}

func optJSON(m json.RawMessage) any {
	if len(m) == 0 || string(m) == "null" {
		return nil
	}
	return string(m)
}

// Page is how a list is cut: at most Limit rows with IDs below Cursor
// (newest first).
type Page struct {
	Limit  int
	Cursor string
}

// next returns the cursor for the page after rows, or "" when there is
// none: the query fetched Limit+1 rows to know.
func next[T any](rows []T, limit int, id func(T) string) ([]T, string) {
	if len(rows) > limit {
		rows = rows[:limit]
		return rows, id(rows[len(rows)-1])
	}
	return rows, ""
}

// anys converts strings to query arguments.
func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
