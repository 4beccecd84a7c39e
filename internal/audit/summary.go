package audit

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Redacted stands for a personal value in a summary.
const Redacted = "[redacted]"

// MaxSummary is the most of a body a summary keeps (bytes of JSON); a
// longer one keeps its top-level keys only.
const MaxSummary = 4096

// personal are the fields whose values name or describe a person.
var personal = map[string]bool{
	"phone": true, "email": true, "birthday": true, "attributes": true, "external_id": true,
	"value":   true, // an identity's value
	"to":      true, // a message's address
	"address": true, "id_card": true, "real_name": true, "nickname": true, "region": true,
}

// memberRefs are the fields that name a member: a member ID stays, a
// reference by identity (phone:…, ext:…) is personal.
var memberRefs = map[string]bool{"member": true, "member_id": true, "source": true, "target": true, "inviter": true}

// secret says whether a field is left out: passwords, secrets, tokens,
// one-time codes and any other code.
func secret(key string) bool {
	k := strings.ToLower(key)
	return k == "code" || k == "otp" || strings.HasSuffix(k, "_code") || strings.Contains(k, "password") ||
		strings.Contains(k, "secret") || strings.Contains(k, "token") || k == "authorization" || k == "private_key"
}

// Summary is body (JSON) as an audit entry keeps it: personal values
// "[redacted]" (and a name, where the target is a person), secrets left
// out, at any depth. A body that is not a JSON object is kept as none.
func Summary(body []byte, targetType string) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v map[string]any
	if len(bytes.TrimSpace(body)) == 0 || dec.Decode(&v) != nil || v == nil {
		return "{}"
	}
	person := targetType == "member" || targetType == "operator" || targetType == "join"
	clean(v, person)
	out, err := json.Marshal(v)
	if err != nil {
		return "{}"
	}
	if len(out) > MaxSummary {
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		out, _ = json.Marshal(map[string]any{"truncated": true, "keys": keys})
	}
	return string(out)
}

func clean(m map[string]any, person bool) {
	for k, v := range m {
		switch {
		case secret(k):
			delete(m, k)
		case personal[k] || (person && k == "name"):
			if v != nil {
				m[k] = Redacted
			}
		case memberRefs[k]:
			if s, ok := v.(string); ok && !strings.HasPrefix(s, "mem_") {
				m[k] = Redacted
			}
		default:
			cleanValue(v, person)
		}
	}
}

func cleanValue(v any, person bool) {
	switch x := v.(type) {
	case map[string]any:
		clean(x, person)
	case []any:
		for _, e := range x {
			cleanValue(e, person)
		}
	}
}

// Decode reads a stored summary back.
func Decode(s string) map[string]any {
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if dec.Decode(&m) != nil || m == nil {
		return map[string]any{}
	}
	return m
}
