package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/jifen/jifen/internal/failure"
)

// readBody reads the whole request body, refusing one over the limit
// without reading further.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > s.maxBody {
		return nil, errTooLarge(s.maxBody)
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errTooLarge(s.maxBody)
		}
		return nil, errBadRequest("the request body could not be read")
	}
	return b, nil
}

// decode reads JSON into v. An empty body is an empty object. Malformed
// JSON is bad_request; a value of the wrong type is validation_failed
// naming the field.
func decode(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			if te.Field == "" {
				if k := reflect.TypeOf(v).Elem().Kind(); k == reflect.Slice {
					return errBadRequest("the request body must be a JSON array")
				}
				return errBadRequest("the request body must be a JSON object")
			}
			return failure.Field(te.Field, "must be %s", jsonKind(te.Type.Kind().String()))
		}
		return errBadRequest("malformed JSON: " + err.Error())
	}
	if dec.More() {
		return errBadRequest("malformed JSON: more than one value in the body")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errBadRequest("malformed JSON: trailing data after the body")
	}
	return nil
}

func jsonKind(goKind string) string {
	switch {
	case strings.HasPrefix(goKind, "int"), strings.HasPrefix(goKind, "uint"):
		return "an integer"
	case strings.HasPrefix(goKind, "float"):
		return "a number"
	case goKind == "string":
		return "a string"
	case goKind == "bool":
		return "true or false"
	case goKind == "slice", goKind == "array":
		return "an array"
	case goKind == "map", goKind == "struct":
		return "an object"
	}
	return "of another type"
}

// decodeBody reads and decodes the request body into a T; it returns the
// raw body too, for the idempotency hash.
func decodeBody[T any](s *Server, w http.ResponseWriter, r *http.Request) (T, []byte, error) {
	var in T
	body, err := s.readBody(w, r)
	if err != nil {
		return in, nil, err
	}
	if err := decode(body, &in); err != nil {
		return in, nil, err
	}
	return in, body, nil
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
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status, buf = http.StatusInternalServerError, *bytes.NewBufferString(`{"code":"internal"}`)
	}
	writeRaw(w, status, contentType, bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}))
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

func encode(w http.ResponseWriter, status int, v any) { writeJSON(w, status, jsonType, v) }

// listBody is the shape of every list.
type listBody[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

func list[T any](w http.ResponseWriter, data []T, next string) {
	if data == nil {
		data = []T{}
	}
	b := listBody[T]{Data: data}
	if next != "" {
		b.NextCursor = &next
	}
	encode(w, http.StatusOK, b)
}
