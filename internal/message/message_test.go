package message

import (
	"encoding/json"
	"net/url"
	"testing"

	"github.com/jifen/jifen/internal/webhook"
)

// The example of Alibaba Cloud's signature documentation (RPC, signature
// version 1.0): DescribeRegions with AccessKey ID testid and secret
// testsecret, signed with the key "testsecret&".
func TestAliyunSignDocumentedExample(t *testing.T) {
	params := map[string]string{
		"TimeStamp":        "2016-02-23T12:46:24Z",
		"Format":           "XML",
		"AccessKeyId":      "testid",
		"Action":           "DescribeRegions",
		"SignatureMethod":  "HMAC-SHA1",
		"SignatureNonce":   "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
		"Version":          "2014-05-26",
		"SignatureVersion": "1.0",
	}
	wantCanon := "AccessKeyId=testid&Action=DescribeRegions&Format=XML&SignatureMethod=HMAC-SHA1" +
		"&SignatureNonce=3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf&SignatureVersion=1.0" +
		"&TimeStamp=2016-02-23T12%3A46%3A24Z&Version=2014-05-26"
	if got := AliyunCanonical(params); got != wantCanon {
		t.Fatalf("canonical\n got %s\nwant %s", got, wantCanon)
	}
	if got := AliyunSign("GET", params, "testsecret"); got != "CT9X0VtwR86fNWSnsc6v8YGOjuE=" {
		t.Fatalf("signature %s, want CT9X0VtwR86fNWSnsc6v8YGOjuE=", got)
	}
	// The signature in a URL is itself encoded (= → %3D).
	if got := url.QueryEscape("CT9X0VtwR86fNWSnsc6v8YGOjuE="); got != "CT9X0VtwR86fNWSnsc6v8YGOjuE%3D" {
		t.Fatal(got)
	}
}

func TestAliyunEncode(t *testing.T) {
	for in, want := range map[string]string{
		"a b":   "a%20b",
		"a*b":   "a%2Ab",
		"a~b":   "a~b",
		"-_.":   "-_.",
		"积分":    "%E7%A7%AF%E5%88%86",
		`{"x"}`: "%7B%22x%22%7D",
		"a+b/c": "a%2Bb%2Fc",
	} {
		if got := AliyunEncode(in); got != want {
			t.Errorf("AliyunEncode(%q) = %q, want %q", in, got, want)
		}
	}
	if AliyunPhone("+8613800000000") != "13800000000" || AliyunPhone("+85291234567") != "85291234567" {
		t.Fatal("phones")
	}
}

func TestPlaceholders(t *testing.T) {
	if e := checkPlaceholders("Hi {{ member.name }}, {{points.available}} <&> left", Placeholders); e != "" {
		t.Fatal(e)
	}
	for _, bad := range []string{"{{member.nam}}", "{{member.name", "{{}}", "{{ phone }}"} {
		if checkPlaceholders(bad, Placeholders) == "" {
			t.Errorf("%q accepted", bad)
		}
	}
	got := render("Hi {{ member.name }}, {{points.available}} <&> {{coupon.code}}.", map[string]string{
		"member.name": "<李>", "points.available": "12"}, nil)
	if got != "Hi <李>, 12 <&> ." {
		t.Fatalf("render: %q", got)
	}
}

func TestEscapeFor(t *testing.T) {
	vals := map[string]string{"phone": "+8613800000000", "text": "a \"quote\" & 积分\n<b>"}
	j := render(`{"to":"{{phone}}","msg":"{{text}}"}`, vals, escapeFor("application/json; charset=utf-8"))
	var got map[string]string
	if err := json.Unmarshal([]byte(j), &got); err != nil || got["msg"] != vals["text"] || got["to"] != vals["phone"] {
		t.Fatalf("json body %s: %v %v", j, got, err)
	}
	f := render(`to={{phone}}&msg={{text}}`, vals, escapeFor("application/x-www-form-urlencoded"))
	q, err := url.ParseQuery(f)
	if err != nil || q.Get("msg") != vals["text"] || q.Get("to") != vals["phone"] {
		t.Fatalf("form body %s: %v %v", f, q, err)
	}
	if p := render("{{text}}", vals, escapeFor("text/plain")); p != vals["text"] {
		t.Fatal(p)
	}
}

// A webhook channel signs as webhooks do (webhook.Sign).
func TestSignWebhook(t *testing.T) {
	// HMAC-SHA256("secret", "1700000000.{}"), computed independently.
	got := webhook.Sign(1700000000, []byte("{}"), "secret")
	if got != "v1=b8569b78799ff9e3cbff0fc2d63a33a2b57f3282abd07c37ae5e8e7d79a5f163" {
		t.Fatal(got)
	}
	if got != webhook.Sign(1700000000, []byte("{}"), "secret") || got == webhook.Sign(1700000001, []byte("{}"), "secret") {
		t.Fatal("signature does not depend on the timestamp")
	}
}
