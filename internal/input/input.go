// Package input decodes and checks what clients send, with one message
// per rule wherever the rule applies. Decode is strict: malformed JSON, a
// duplicate key at any depth or invalid UTF-8 is bad_request; a value of
// the wrong JSON type (a number sent as a string) is validation_failed
// naming the field; nothing is coerced. The HTTP API and the NATS ingest
// decode with it, so both refuse the same input the same way. Each
// operation's input has a Validate method built from the checks here.
package input

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/jifen/jifen/internal/failure"
)

// Bounds on numbers a client may send.
const (
	// MaxPoints bounds any one amount of points (an earn, a spend, a
	// price): a trillion, far beyond any real programme and far enough
	// from the int64 limit that sums of them cannot overflow.
	MaxPoints = 1_000_000_000_000
	// MaxAmount bounds an amount of money in fen (an order, a refund, a
	// price): 100 million yuan, beyond any retail order, so that points
	// worked out from it stay far below MaxPoints.
	MaxAmount = 10_000_000_000
)

// Decode reads a JSON body into v (a pointer). An empty body is an empty
// object.
func Decode(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	if err := Check(body); err != nil {
		return err
	}
	err := jsonv2.Unmarshal(body, v)
	if err == nil {
		return nil
	}
	var se *jsonv2.SemanticError
	if errors.As(err, &se) {
		field := FieldOf(se.JSONPointer)
		if field == "" {
			if k := reflect.TypeOf(v).Elem().Kind(); k == reflect.Slice {
				return failure.New(failure.BadRequest, "the request body must be a JSON array")
			}
			return failure.New(failure.BadRequest, "the request body must be a JSON object")
		}
		return failure.Field(field, "must be %s", kindOf(se.GoType))
	}
	return failure.Wrap(failure.BadRequest, err, "malformed JSON: %s", message(err))
}

// Check refuses a body that is not exactly one well-formed JSON value
// with valid UTF-8 and unique object keys at every depth.
func Check(body []byte) error {
	d := jsontext.NewDecoder(bytes.NewReader(body))
	err := d.SkipValue()
	if err == nil {
		if _, err = d.ReadToken(); err == nil {
			err = errors.New("more than one value in the body")
		} else if errors.Is(err, errEOF) {
			return nil
		}
	}
	return failure.Wrap(failure.BadRequest, err, "malformed JSON: %s", message(err))
}

var errEOF = eof()

func eof() error {
	_, err := jsontext.NewDecoder(bytes.NewReader(nil)).ReadToken()
	return err
}

// message is a decoder's error without its package prefix.
func message(err error) string {
	s := err.Error()
	for _, p := range []string{"jsontext: ", "json: "} {
		s = strings.TrimPrefix(s, p)
	}
	if strings.HasSuffix(s, "EOF") {
		return "the body ends early"
	}
	return s
}

// FieldOf turns a JSON pointer (/data/items/0/amount) into the name the
// API gives a field (data.items[0].amount).
func FieldOf(p jsontext.Pointer) string {
	var b strings.Builder
	for tok := range p.Tokens() {
		if tok != "" && strings.Trim(tok, "0123456789") == "" && b.Len() > 0 {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

func kindOf(t reflect.Type) string {
	if t == nil {
		return "of another type"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a JSON value" // json.RawMessage
		}
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "of another type"
}

// Time reads an optional RFC 3339 instant; field names it in the error.
// An empty or absent value is nil.
func Time(field string, v *string) (*time.Time, error) {
	if v == nil || *v == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, *v)
	if err != nil {
		return nil, failure.Field(field, "must be an RFC 3339 time with an offset, such as 2026-11-26T10:00:00+08:00")
	}
	t = t.UTC().Truncate(time.Millisecond)
	if t.Year() < 0 || t.Year() > 9999 {
		// It would be stored, then fail every answer that shows it.
		return nil, failure.Field(field, "must be between years 0000 and 9999 in UTC")
	}
	return &t, nil
}

// TimeInto reads an optional instant into dst, recording a bad one in fs.
func TimeInto(fs *failure.Fields, field string, v *string, dst **time.Time) {
	t, err := Time(field, v)
	if err != nil {
		fs.Merge(err)
		return
	}
	if t != nil {
		*dst = t
	}
}

// Text checks an optional free-text field: at most max characters, no
// control characters but tab.
func Text(fs *failure.Fields, field, v string, max int) {
	if utf8.RuneCountInString(v) > max {
		fs.Add(field, "must be at most %d characters", max)
	}
	if strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }) {
		fs.Add(field, "must not contain control characters")
	}
}

// Name checks a required name: 1 to max characters after trimming, no
// control characters.
func Name(fs *failure.Fields, field, v string, max int) {
	if n := utf8.RuneCountInString(strings.TrimSpace(v)); n < 1 || n > max {
		fs.Add(field, "must be 1 to %d characters", max)
		return
	}
	Text(fs, field, v, max)
}

// Required records that a field must be given.
func Required(fs *failure.Fields, field string, given bool, what string) {
	if !given {
		fs.Add(field, "is required: %s", what)
	}
}

// Points checks an amount of points that must be positive.
func Points(fs *failure.Fields, field string, v int64) {
	if v < 1 || v > MaxPoints {
		fs.Add(field, "must be between 1 and %d", int64(MaxPoints))
	}
}

// OptPoints checks an amount of points that may be left out (0).
func OptPoints(fs *failure.Fields, field string, v int64) {
	if v < 0 || v > MaxPoints {
		fs.Add(field, "must be between 1 and %d", int64(MaxPoints))
	}
}

// Amount checks an amount of money in fen: zero to MaxAmount.
func Amount(fs *failure.Fields, field string, v int64) {
	if v < 0 || v > MaxAmount {
		fs.Add(field, "must be a whole number of fen from 0 to %d", int64(MaxAmount))
	}
}

// Metadata checks a client's free-form metadata: a JSON object of at
// most 4 KiB.
func Metadata(fs *failure.Fields, field string, m json.RawMessage) {
	if len(m) == 0 || string(m) == "null" {
		return
	}
	var obj map[string]any
	if len(m) > 4096 || json.Unmarshal(m, &obj) != nil || obj == nil {
		fs.Add(field, "must be a JSON object of at most 4 KiB")
	}
}

// OneOf checks that v, when given, is one of the allowed values.
func OneOf(fs *failure.Fields, field, v string, allowed ...string) {
	if v == "" {
		return
	}
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	fs.Add(field, "must be one of %s", strings.Join(allowed, ", "))
}

// Errorf is a bad_request error: the request cannot be read at all.
func Errorf(format string, args ...any) error {
	return failure.New(failure.BadRequest, "%s", fmt.Sprintf(format, args...))
}

// DecodeAt decodes a part of a body (an event's data) into v, naming bad
// fields below field (data.amount).
func DecodeAt(field string, raw []byte, v any) error {
	err := Decode(raw, v)
	fe := failure.As(err)
	if fe == nil {
		return err
	}
	if fe.Kind == failure.BadRequest {
		return failure.Field(field, "must be a JSON object")
	}
	out := &failure.Error{Kind: fe.Kind, Message: fe.Message, Cause: fe.Cause}
	for _, f := range fe.Fields {
		out.Fields = append(out.Fields, failure.FieldError{Field: field + "." + f.Field, Message: f.Message})
	}
	return out
}
