// Package failure holds the kinds of error the domain returns. It is a leaf
// package (standard library only): domain code returns a kind, and httpapi
// alone turns a kind into a status and a problem+json code.
package failure

import (
	"errors"
	"fmt"
)

// Kind classifies an error for the caller. One kind per domain code in the
// API contract.
type Kind uint8

const (
	Internal            Kind = iota // unclassified; cause logged, never shown
	Invalid                         // validation_failed, with field errors
	NotFound                        // not_found
	Conflict                        // conflict: the state does not allow it
	InsufficientPoints              // insufficient_points
	LimitExceeded                   // limit_exceeded
	OutOfStock                      // out_of_stock
	NotStarted                      // not_started
	Ended                           // ended
	MemberExists                    // member_exists
	IdempotencyConflict             // idempotency_conflict
	Forbidden                       // forbidden: the actor may not do this to this thing
	Unavailable                     // unavailable: the database cannot be reached
)

var names = [...]string{
	Internal:            "internal",
	Invalid:             "invalid",
	NotFound:            "not_found",
	Conflict:            "conflict",
	InsufficientPoints:  "insufficient_points",
	LimitExceeded:       "limit_exceeded",
	OutOfStock:          "out_of_stock",
	NotStarted:          "not_started",
	Ended:               "ended",
	MemberExists:        "member_exists",
	IdempotencyConflict: "idempotency_conflict",
	Forbidden:           "forbidden",
	Unavailable:         "unavailable",
}

func (k Kind) String() string {
	if int(k) < len(names) {
		return names[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// FieldError names one bad field of the input and what is wrong with it.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is a domain error: a kind, a message that is safe to show a client,
// and for Invalid the fields at fault.
type Error struct {
	Kind    Kind
	Message string
	Fields  []FieldError
	Cause   error // optional; logged, never shown
}

func (e *Error) Error() string {
	msg := e.Message
	if len(e.Fields) > 0 {
		msg += ":"
		for _, f := range e.Fields {
			msg += fmt.Sprintf(" %s %s;", f.Field, f.Message)
		}
	}
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Kind, msg, e.Cause)
	}
	return fmt.Sprintf("%s: %s", e.Kind, msg)
}

func (e *Error) Unwrap() error { return e.Cause }

// WithKind returns e with its kind set to k: a field error that is not a
// plain validation failure (member_exists on phone, say).
func (e *Error) WithKind(k Kind) *Error { e.Kind = k; return e }

// New returns an error of kind k with a formatted client-safe message.
func New(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an error of kind k that keeps cause for the log.
func Wrap(k Kind, cause error, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...), Cause: cause}
}

// Field returns an Invalid error naming one field.
func Field(field, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	return &Error{Kind: Invalid, Message: "the request is not valid", Fields: []FieldError{{field, msg}}}
}

// KindOf reports the kind of err: the kind of the first *Error in its chain,
// or Internal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// As returns the first *Error in err's chain, or nil.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// Is reports whether err is of kind k.
func Is(err error, k Kind) bool { return err != nil && KindOf(err) == k }

// Fields collects field errors and turns them into one Invalid error.
type Fields []FieldError

// Add records that field is bad.
func (fs *Fields) Add(field, format string, args ...any) {
	*fs = append(*fs, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Err returns nil when no field was added, else an Invalid error naming them.
func (fs Fields) Err() error {
	if len(fs) == 0 {
		return nil
	}
	return &Error{Kind: Invalid, Message: "the request is not valid", Fields: fs}
}
