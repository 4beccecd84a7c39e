package store

import (
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"time"
)

// OptString is a string that may be absent: empty is NULL in the database
// and null in JSON.
type OptString string

// MarshalJSON writes null for the empty string.
func (s OptString) MarshalJSON() ([]byte, error) {
	if s == "" {
		return []byte("null"), nil
	}
	return json.Marshal(string(s))
}

// UnmarshalJSON reads null as the empty string.
func (s *OptString) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*s = ""
		return nil
	}
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = OptString(v)
	return nil
}

// Scan reads NULL as the empty string.
func (s *OptString) Scan(src any) error {
	var ns sql.NullString
	if err := ns.Scan(src); err != nil {
		return err
	}
	*s = OptString(ns.String)
	return nil
}

// Value writes the empty string as NULL.
func (s OptString) Value() (driver.Value, error) {
	if s == "" {
		return nil, nil
	}
	return string(s), nil
}

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
