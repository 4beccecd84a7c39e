// Package failure holds the kinds of error Jifen returns and the one table
// that gives each kind its stable code, its HTTP status and its title. It
// is a leaf package (standard library only): domain code returns a kind;
// the HTTP API writes Describe(err) as problem+json, and the NATS ingest
// writes the same description into a dead letter's headers, so both doors
// refuse the same input with the same code.
package failure

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an error for the caller. One kind per code of the API
// contract.
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
	BadRequest                      // bad_request: malformed JSON, a duplicate key, invalid UTF-8
	PayloadTooLarge                 // payload_too_large
	Unauthenticated                 // unauthenticated
	MethodNotAllowed                // method_not_allowed
	InvalidCredentials              // invalid_credentials: a console login's email or password
	AccountLocked                   // account_locked: too many failed logins; Retry-After
	CSRFFailed                      // csrf_failed: a session's write without its X-CSRF-Token
	TokenExpired                    // token_expired: a member token past its expiry
	RateLimited                     // rate_limited: over a rate limit; Retry-After
	BadSignature                    // bad_signature: a signed request's header or signature is wrong
	StaleRequest                    // stale_request: a signed request's ts is more than 300 s from now
	ReplayedRequest                 // replayed_request: a signed request's nonce was used before
	OTPInvalid                      // otp_invalid: a join code that does not match
	OTPExpired                      // otp_expired: a join code expired, used or tried too often
)

// kinds is the API's error vocabulary: code, status and title per kind.
var kinds = [...]struct {
	code   string
	status int
	title  string
}{
	Internal:            {"internal", 500, "Internal error"},
	Invalid:             {"validation_failed", 422, "Validation failed"},
	NotFound:            {"not_found", 404, "Not found"},
	Conflict:            {"conflict", 409, "Conflict"},
	InsufficientPoints:  {"insufficient_points", 422, "Insufficient points"},
	LimitExceeded:       {"limit_exceeded", 422, "Limit exceeded"},
	OutOfStock:          {"out_of_stock", 409, "Out of stock"},
	NotStarted:          {"not_started", 422, "Not started"},
	Ended:               {"ended", 422, "Ended"},
	MemberExists:        {"member_exists", 409, "Member exists"},
	IdempotencyConflict: {"idempotency_conflict", 409, "Idempotency key reused"},
	Forbidden:           {"forbidden", 403, "Forbidden"},
	Unavailable:         {"unavailable", 503, "Service unavailable"},
	BadRequest:          {"bad_request", 400, "Bad request"},
	PayloadTooLarge:     {"payload_too_large", 413, "Payload too large"},
	Unauthenticated:     {"unauthenticated", 401, "Unauthenticated"},
	MethodNotAllowed:    {"method_not_allowed", 405, "Method not allowed"},
	InvalidCredentials:  {"invalid_credentials", 401, "Invalid credentials"},
	AccountLocked:       {"account_locked", 423, "Account locked"},
	CSRFFailed:          {"csrf_failed", 403, "CSRF check failed"},
	TokenExpired:        {"token_expired", 401, "Token expired"},
	RateLimited:         {"rate_limited", 429, "Rate limited"},
	BadSignature:        {"bad_signature", 401, "Bad signature"},
	StaleRequest:        {"stale_request", 401, "Stale request"},
	ReplayedRequest:     {"replayed_request", 401, "Replayed request"},
	OTPInvalid:          {"otp_invalid", 422, "Wrong code"},
	OTPExpired:          {"otp_expired", 422, "Code expired"},
}

// Code is the kind's stable machine-readable code (validation_failed, …).
func (k Kind) Code() string {
	if int(k) < len(kinds) {
		return kinds[k].code
	}
	return kinds[Internal].code
}

// Status is the HTTP status the API answers the kind with.
func (k Kind) Status() int {
	if int(k) < len(kinds) {
		return kinds[k].status
	}
	return kinds[Internal].status
}

func (k Kind) String() string { return k.Code() }

// Kinds lists every kind, for tests and the OpenAPI document.
func Kinds() []Kind {
	out := make([]Kind, len(kinds))
	for i := range kinds {
		out[i] = Kind(i)
	}
	return out
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
	// RetryAfter, when set, is when the client may try again (the HTTP
	// API sends it as Retry-After).
	RetryAfter time.Duration
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

// Merge adds the field errors of err (an Invalid error); any other error
// is returned for the caller to fail with.
func (fs *Fields) Merge(err error) error {
	if err == nil {
		return nil
	}
	if e := As(err); e != nil && e.Kind == Invalid {
		*fs = append(*fs, e.Fields...)
		return nil
	}
	return err
}

// Err returns nil when no field was added, else an Invalid error naming them.
func (fs Fields) Err() error {
	if len(fs) == 0 {
		return nil
	}
	return &Error{Kind: Invalid, Message: "the request is not valid", Fields: fs}
}

// Problem is how an error is shown to a client: RFC 9457's fields and the
// API's code and field errors.
type Problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail"`
	Code   string       `json:"code"`
	Errors []FieldError `json:"errors"`
}

// Describe is the problem err is answered with. An Internal error shows
// nothing of its cause.
func Describe(err error) Problem {
	k := KindOf(err)
	p := Problem{Status: k.Status(), Code: k.Code(), Title: kinds[k].title, Errors: []FieldError{}}
	if fe := As(err); fe != nil && k != Internal {
		p.Detail = fe.Message
		if fe.Fields != nil {
			p.Errors = fe.Fields
		}
	}
	switch k {
	case Internal:
		p.Detail = "an internal error occurred; it has been logged"
	case Unavailable:
		p.Detail = "the database cannot be reached; retry shortly with the same Idempotency-Key (a write whose commit was cut off may have been applied, and the key replays it)"
	}
	p.Type = "https://jifen.dev/problems/" + p.Code
	return p
}
