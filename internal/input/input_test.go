package input_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/input"
)

type order struct {
	ID     string `json:"order_id"`
	Amount *int64 `json:"amount"`
	Items  []struct {
		SKU    string `json:"sku"`
		Amount int64  `json:"amount"`
	} `json:"items"`
}

type body struct {
	Points   int64           `json:"points"`
	Reason   string          `json:"reason"`
	Metadata json.RawMessage `json:"metadata"`
	Data     *order          `json:"data"`
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		kind  failure.Kind
		field string
	}{
		{"empty is an empty object", ``, 0, ""},
		{"well formed", `{"points":5,"reason":"x","metadata":{"a":1}}`, 0, ""},
		{"unknown fields are ignored", `{"points":5,"colour":"red"}`, 0, ""},
		{"duplicate key", `{"points":1,"points":1000000}`, failure.BadRequest, ""},
		{"duplicate key, deep", `{"data":{"order_id":"a","amount":1,"amount":2}}`, failure.BadRequest, ""},
		{"duplicate key, escaped", `{"points":1,"p\u006fints":2}`, failure.BadRequest, ""},
		{"duplicate key in metadata", `{"points":1,"metadata":{"a":1,"a":2}}`, failure.BadRequest, ""},
		{"invalid UTF-8", "{\"reason\":\"\xff\xfe\"}", failure.BadRequest, ""},
		{"lone surrogate", `{"reason":"\ud800"}`, failure.BadRequest, ""},
		{"trailing data", `{"points":1} {}`, failure.BadRequest, ""},
		{"malformed", `{"points":`, failure.BadRequest, ""},
		{"not an object", `[1,2]`, failure.BadRequest, ""},
		{"number as a string", `{"points":"1000"}`, failure.Invalid, "points"},
		{"amount as a string, deep", `{"data":{"order_id":"a","amount":"10000"}}`, failure.Invalid, "data.amount"},
		{"fraction for an integer", `{"points":1.5}`, failure.Invalid, "points"},
		{"beyond int64", `{"points":9223372036854775808}`, failure.Invalid, "points"},
		{"item amount as a string", `{"data":{"items":[{"sku":"a","amount":1},{"sku":"b","amount":"2"}]}}`, failure.Invalid, "data.items[1].amount"},
		{"string for an object", `{"data":"x"}`, failure.Invalid, "data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b body
			err := input.Decode([]byte(tt.body), &b)
			if tt.kind == 0 {
				if err != nil {
					t.Fatalf("Decode(%s) = %v, want nil", tt.body, err)
				}
				return
			}
			if failure.KindOf(err) != tt.kind {
				t.Fatalf("Decode(%s) = %v, want %s", tt.body, err, tt.kind)
			}
			if tt.field != "" {
				fe := failure.As(err)
				if len(fe.Fields) != 1 || fe.Fields[0].Field != tt.field {
					t.Fatalf("Decode(%s) fields = %+v, want %s", tt.body, fe.Fields, tt.field)
				}
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"points":1,"reason":"x","data":{"order_id":"a","amount":1,"items":[{"sku":"a","amount":1}]}}`))
	f.Add([]byte(`{"points":1,"points":2}`))
	f.Add([]byte("{\"reason\":\"\xff\"}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var v body
		err := input.Decode(b, &v)
		if err != nil {
			if k := failure.KindOf(err); k != failure.BadRequest && k != failure.Invalid {
				t.Fatalf("Decode(%q) = %v (%s), want bad_request or validation_failed", b, err, k)
			}
			return
		}
		// Whatever was accepted is one JSON value with unique keys.
		if len(bytes.TrimSpace(b)) > 0 && input.Check(b) != nil {
			t.Fatalf("Decode accepted %q that Check refuses", b)
		}
	})
}
