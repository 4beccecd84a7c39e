package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/jifen/jifen/internal/failure"
)

// Problem is an RFC 9457 problem document: failure.Describe of an error.
type Problem = failure.Problem

// problem answers err as problem+json, with the status and code of its
// kind (failure.Describe: the one table of the API's errors). 5xx answers
// are logged once, with their cause; their detail never shows it.
func (s *Server) problem(w http.ResponseWriter, r *http.Request, err error) {
	p := failure.Describe(err)
	if p.Code == failure.Unavailable.Code() {
		w.Header().Set("Retry-After", "1")
	}
	if e := failure.As(err); e != nil && e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(int64((e.RetryAfter+time.Second-1)/time.Second), 10))
	}
	if p.Status >= 500 {
		requestLogger(r, s.log).Error("request failed", "status", p.Status, "code", p.Code, "err", err)
	}
	writeJSON(w, p.Status, "application/problem+json", p)
}

func errUnauthenticated(detail string) error {
	return failure.New(failure.Unauthenticated, "%s", detail)
}

func errForbidden(detail string) error { return failure.New(failure.Forbidden, "%s", detail) }

func errTooLarge(max int64) error {
	return failure.New(failure.PayloadTooLarge, "the request body is larger than %s bytes", strconv.FormatInt(max, 10))
}
