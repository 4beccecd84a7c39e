package httpapi

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/jifen/jifen/internal/failure"
)

// problems is the only place a domain kind meets a status and a code.
var problems = map[failure.Kind]struct {
	status int
	code   string
	title  string
}{
	failure.Internal:            {500, "internal", "Internal error"},
	failure.Invalid:             {422, "validation_failed", "Validation failed"},
	failure.NotFound:            {404, "not_found", "Not found"},
	failure.Conflict:            {409, "conflict", "Conflict"},
	failure.InsufficientPoints:  {422, "insufficient_points", "Insufficient points"},
	failure.LimitExceeded:       {422, "limit_exceeded", "Limit exceeded"},
	failure.OutOfStock:          {409, "out_of_stock", "Out of stock"},
	failure.NotStarted:          {422, "not_started", "Not started"},
	failure.Ended:               {422, "ended", "Ended"},
	failure.MemberExists:        {409, "member_exists", "Member exists"},
	failure.IdempotencyConflict: {409, "idempotency_conflict", "Idempotency key reused"},
	failure.Forbidden:           {403, "forbidden", "Forbidden"},
	failure.Unavailable:         {503, "unavailable", "Service unavailable"},
}

// The API's own codes, for failures that never reach the domain.
type apiError struct {
	status int
	code   string
	title  string
	detail string
	fields []failure.FieldError
}

func (e *apiError) Error() string { return e.code + ": " + e.detail }

func errUnauthenticated(detail string) error {
	return &apiError{401, "unauthenticated", "Unauthenticated", detail, nil}
}
func errForbidden(detail string) error { return &apiError{403, "forbidden", "Forbidden", detail, nil} }
func errBadRequest(detail string) error {
	return &apiError{400, "bad_request", "Bad request", detail, nil}
}
func errTooLarge(max int64) error {
	return &apiError{413, "payload_too_large", "Payload too large",
		"the request body is larger than " + strconv.FormatInt(max, 10) + " bytes", nil}
}

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type   string               `json:"type"`
	Title  string               `json:"title"`
	Status int                  `json:"status"`
	Detail string               `json:"detail"`
	Code   string               `json:"code"`
	Errors []failure.FieldError `json:"errors"`
}

// problem answers err as problem+json. 5xx answers are logged once, with
// their cause; their detail never shows it.
func (s *Server) problem(w http.ResponseWriter, r *http.Request, err error) {
	p := ProblemOf(err)
	if p.Code == "unavailable" {
		w.Header().Set("Retry-After", "1")
	}
	if p.Status >= 500 {
		requestLogger(r, s.log).Error("request failed", "status", p.Status, "code", p.Code, "err", err)
	}
	writeJSON(w, p.Status, "application/problem+json", p)
}

// ProblemOf is the problem document the API answers err with: the one
// place a failure kind, or the API's own error, becomes a status and a
// code. The NATS ingest uses it to label the events it dead-letters.
func ProblemOf(err error) Problem {
	p := Problem{Errors: []failure.FieldError{}}
	var ae *apiError
	if errors.As(err, &ae) {
		p.Status, p.Code, p.Title, p.Detail = ae.status, ae.code, ae.title, ae.detail
		if ae.fields != nil {
			p.Errors = ae.fields
		}
	} else {
		k := failure.KindOf(err)
		pr := problems[k]
		p.Status, p.Code, p.Title = pr.status, pr.code, pr.title
		if fe := failure.As(err); fe != nil && k != failure.Internal {
			p.Detail = fe.Message
			if fe.Fields != nil {
				p.Errors = fe.Fields
			}
		}
		switch k {
		case failure.Internal:
			p.Detail = "an internal error occurred; it has been logged"
		case failure.Unavailable:
			p.Detail = "the database cannot be reached; retry shortly with the same Idempotency-Key (a write whose commit was cut off may have been applied, and the key replays it)"
		}
	}
	p.Type = "https://jifen.dev/problems/" + p.Code
	return p
}
