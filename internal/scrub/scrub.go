// Package scrub takes one person's values out of stored JSON documents:
// the copies of a member's profile that events, idempotency records,
// messages, webhook payloads and audit summaries keep. Erasure collects
// the values and says which documents to rewrite; this package knows no
// table and no member.
package scrub

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// personal are the keys whose values are a person's, wherever they sit
// in a document: the member's profile fields, an identity's value and a
// message's address.
var personal = map[string]bool{
	"name": true, "phone": true, "external_id": true, "birthday": true, "region": true, "attributes": true,
	"value": true, "recipient": true, "to": true, "email": true,
	"address": true, "nickname": true, "real_name": true, "id_card": true,
}

// Values are one person's personal strings (phone, name, external ID,
// birthday, identity values), compared without regard to case.
type Values struct {
	exact []string // every value
	part  []string // those long enough to be looked for inside another string
}

// New collects values; blanks and repeats are dropped. A value shorter
// than two characters only matches a string equal to it: inside other
// strings it would match nearly everything.
func New(values ...string) Values {
	var v Values
	seen := map[string]bool{}
	for _, s := range values {
		s = strings.ToLower(strings.TrimSpace(s))
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		v.exact = append(v.exact, s)
		if utf8.RuneCountInString(s) >= 2 {
			v.part = append(v.part, s)
		}
	}
	return v
}

// Match says whether s is, or contains, one of the values.
func (v Values) Match(s string) bool {
	s = strings.ToLower(s)
	for _, x := range v.exact {
		if s == x {
			return true
		}
	}
	for _, x := range v.part {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

// JSON rewrites a JSON document: the value of a personal key, and any
// string (or number) that is or contains one of the values, becomes null;
// an object member whose key contains one goes. It answers doc itself,
// untouched, when nothing in it is personal; a document that is not JSON
// is answered as null when it contains a value. An empty document stays
// empty.
func (v Values) JSON(doc []byte) []byte {
	if len(bytes.TrimSpace(doc)) == 0 {
		return doc
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil || dec.More() {
		if v.Match(string(doc)) {
			return []byte("null")
		}
		return doc
	}
	x, changed := v.value(x)
	if !changed {
		return doc
	}
	out, err := json.Marshal(x)
	if err != nil { // cannot happen for a decoded value; keep nothing rather than the original
		return []byte("null")
	}
	return out
}

// value answers x with the person's values taken out, and whether it
// changed.
func (v Values) value(x any) (any, bool) {
	switch t := x.(type) {
	case string:
		if v.Match(t) {
			return nil, true
		}
	case json.Number:
		if v.Match(t.String()) {
			return nil, true
		}
	case []any:
		changed := false
		for i, e := range t {
			var c bool
			if t[i], c = v.value(e); c {
				changed = true
			}
		}
		return t, changed
	case map[string]any:
		changed := false
		for k, e := range t {
			switch {
			case v.Match(k):
				delete(t, k)
				changed = true
			case personal[k] && e != nil && !amount(k, e):
				t[k] = nil
				changed = true
			default:
				var c bool
				if t[k], c = v.value(e); c {
					changed = true
				}
			}
		}
		return t, changed
	}
	return x, false
}

// amount says whether e under key k is a figure rather than a person's
// value: a coupon's "value" is a number, an identity's a string.
func amount(k string, e any) bool {
	switch e.(type) {
	case json.Number, bool:
		return k == "value"
	}
	return false
}
