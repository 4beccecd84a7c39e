package audit

import (
	"strings"
	"testing"
)

// Personal values are redacted and secrets left out at any depth; a
// member named by ID stays, by identity it is redacted; a name is
// personal only where the target is a person; a long body keeps its keys.
func TestSummary(t *testing.T) {
	for _, c := range []struct {
		body, target, want string
	}{
		{`{"name":"王小明","phone":"13800138000","tags":["vip"]}`, "member", `{"name":"[redacted]","phone":"[redacted]","tags":["vip"]}`},
		{`{"name":"Double points","reward":{"points":2}}`, "rule", `{"name":"Double points","reward":{"points":2}}`},
		{`{"member":"phone:13800138000","points":5}`, "member", `{"member":"[redacted]","points":5}`},
		{`{"member":"mem_01abc","points":5}`, "member", `{"member":"mem_01abc","points":5}`},
		{`{"config":{"host":"smtp","password":"p","access_key_secret":"s","headers":{"X-Token":"t"}}}`, "channel",
			`{"config":{"headers":{},"host":"smtp"}}`},
		{`{"email":"a@b.cn","password":"x","role":"admin"}`, "operator", `{"email":"[redacted]","role":"admin"}`},
		{`{"link":"jnl_1","phone":"13800138000","otp":"123456"}`, "join", `{"link":"jnl_1","phone":"[redacted]"}`},
		{`{"items":[{"sku":"a","address":"上海"}],"code":"ABC-123","referral_code":"R1"}`, "member", `{"items":[{"address":"[redacted]","sku":"a"}]}`},
		{`{"birthday":null}`, "member", `{"birthday":null}`},
		{`not json`, "member", `{}`},
		{``, "member", `{}`},
		{`[1,2]`, "member", `{}`},
	} {
		if got := Summary([]byte(c.body), c.target); got != c.want {
			t.Errorf("Summary(%s, %s) = %s, want %s", c.body, c.target, got, c.want)
		}
	}
	long := `{"note":"` + strings.Repeat("x", MaxSummary) + `"}`
	if got := Summary([]byte(long), "member"); got != `{"keys":["note"],"truncated":true}` {
		t.Errorf("a long body: %s", got)
	}
}
