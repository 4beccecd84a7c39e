// Package null holds String, a string that may be absent: NULL in the
// database and null in JSON when empty. Like time.Time it is a value type
// that both store records and the API's types carry, so the two map field
// by field.
package null

import (
	"database/sql"
	"database/sql/driver"
	"encoding/json"
)

// String is an optional string; the empty string is absent.
type String string

// MarshalJSON writes null for the empty string.
func (s String) MarshalJSON() ([]byte, error) {
	if s == "" {
		return []byte("null"), nil
	}
	return json.Marshal(string(s))
}

// UnmarshalJSON reads null as the empty string.
func (s *String) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*s = ""
		return nil
	}
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = String(v)
	return nil
}

// Scan reads NULL as the empty string.
func (s *String) Scan(src any) error {
	var ns sql.NullString
	if err := ns.Scan(src); err != nil {
		return err
	}
	*s = String(ns.String)
	return nil
}

// Value writes the empty string as NULL.
func (s String) Value() (driver.Value, error) {
	if s == "" {
		return nil, nil
	}
	return string(s), nil
}

// Ptr is s as a pointer: nil when absent.
func (s String) Ptr() *string {
	if s == "" {
		return nil
	}
	v := string(s)
	return &v
}

// From is a pointer as a String: absent when nil.
func From(p *string) String {
	if p == nil {
		return ""
	}
	return String(*p)
}
