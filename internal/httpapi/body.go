package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/jifen/jifen/internal/input"
)

// readBody reads the whole request body, refusing one over the limit
// without reading further. The raw body is kept with the request for the
// idempotency hash (see write).
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if st := stateOf(r); st != nil && st.read {
		return st.body, nil
	}
	if r.ContentLength > s.maxBody {
		return nil, errTooLarge(s.maxBody)
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errTooLarge(s.maxBody)
		}
		return nil, input.Errorf("the request body could not be read")
	}
	if st := stateOf(r); st != nil {
		st.body, st.read = b, true
	}
	return b, nil
}

// decode reads the request body into a T, strictly (input.Decode).
func decode[T any](s *Server, w http.ResponseWriter, r *http.Request) (T, error) {
	var in T
	body, err := s.readBody(w, r)
	if err != nil {
		return in, err
	}
	return in, input.Decode(body, &in)
}

// marshal writes v as JSON without escaping <, > and & (condition text such
// as "order.amount >= 100" reads as written).
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	b, err := marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"code":"internal"}`)
	}
	writeRaw(w, status, contentType, b)
}

func writeRaw(w http.ResponseWriter, status int, contentType string, b []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", fmt.Sprint(len(b)+1))
	w.WriteHeader(status)
	w.Write(b)
	w.Write([]byte{'\n'})
}

const jsonType = "application/json; charset=utf-8"

// encode answers v as JSON.
func encode(w http.ResponseWriter, status int, v any) error {
	writeJSON(w, status, jsonType, v)
	return nil
}

// listBody is the shape of every list.
type listBody[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

// list answers a page of a list.
func list[T any](w http.ResponseWriter, data []T, next string) error {
	if data == nil {
		data = []T{}
	}
	b := listBody[T]{Data: data}
	if next != "" {
		b.NextCursor = &next
	}
	return encode(w, http.StatusOK, b)
}
