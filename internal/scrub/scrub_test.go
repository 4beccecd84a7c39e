package scrub

import "testing"

// Personal keys go whatever they hold; strings equal to or containing a
// value go wherever they are (a one-character value only when equal);
// keys naming a value go; anything else is kept byte for byte.
func TestJSON(t *testing.T) {
	v := New("+8613900139000", "13900139000", "测试张三丰", "Zhang Sanfeng", "x", " ", "")
	tests := []struct {
		name, in, want string
	}{
		{"nothing personal is untouched", `{"points": 10,  "sku":"a"}`, `{"points": 10,  "sku":"a"}`},
		{"personal keys at any depth", `{"a":{"name":"Bob","phone":"1"},"attributes":{"k":1},"region":"上海"}`,
			`{"a":{"name":null,"phone":null},"attributes":null,"region":null}`},
		{"a value inside another string", `{"note":"call 13900139000 today","list":["hi 测试张三丰!","ok"]}`,
			`{"list":[null,"ok"],"note":null}`},
		{"case does not hide a value", `{"greeting":"dear ZHANG SANFENG"}`, `{"greeting":null}`},
		{"a phone as a number", `{"mobile":13900139000,"points":5}`, `{"mobile":null,"points":5}`},
		{"a short value only when equal", `{"a":"x","b":"xyz"}`, `{"a":null,"b":"xyz"}`},
		{"a coupon's value is a figure", `{"value":100,"kind":"amount_off"}`, `{"value":100,"kind":"amount_off"}`},
		{"an identity's value is not", `{"kind":"email","value":"a@b.cn"}`, `{"kind":"email","value":null}`},
		{"a key naming a value goes", `{"13900139000":{"n":1},"k":2}`, `{"k":2}`},
		{"a top-level string", `"测试张三丰"`, `null`},
		{"not JSON, with a value", `call 13900139000`, `null`},
		{"not JSON, without", `plain`, `plain`},
		{"empty stays empty", ``, ``},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(v.JSON([]byte(tc.in))); got != tc.want {
				t.Fatalf("JSON(%s) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}
