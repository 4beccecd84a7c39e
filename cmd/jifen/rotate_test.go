package main

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// A key is rotated the way docs/security.md says: serve with the new key
// listed first, run rotate-data-key, then serve with the new key alone.
// Serve refuses to start without a key stored values need.
func TestRotateDataKey(t *testing.T) {
	const (
		k1 = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
		k2 = "k2:Hx4dHBsaGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQA="
	)
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "j.db")
	admin := "rotate-admin-key-0123456789abcdef"
	vars := func(keys string) map[string]string {
		return map[string]string{"JIFEN_DB": dsn, "JIFEN_ADMIN_KEY": admin, "JIFEN_DATA_KEY": keys}
	}
	base, _, stop := serveTest(t, vars(k1))
	req, _ := http.NewRequest("POST", base+"/v1/members", strings.NewReader(`{"phone":"13800001111","name":"轮换"}`))
	req.Header.Set("Authorization", "Bearer "+admin)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("create member: %v %v", res, err)
	}
	res.Body.Close()
	stop()

	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"serve", "--addr", freeAddr(t)}, env(vars(k2)), &out, &errb); code == 0 ||
		!strings.Contains(errb.String(), "k1") {
		t.Fatalf("serve without k1: exit %d, %s", code, errb.String())
	}
	errb.Reset()
	if code := run(context.Background(), []string{"serve"}, env(vars("k1:short")), &out, &errb); code != 2 ||
		!strings.Contains(errb.String(), "JIFEN_DATA_KEY") || strings.Contains(errb.String(), "short") {
		t.Fatalf("malformed key: exit %d, %s", code, errb.String())
	}

	both := env(vars(k2 + "," + k1))
	out.Reset()
	if code := run(context.Background(), []string{"rotate-data-key", "--dry-run"}, both, &out, &errb); code != 0 ||
		!strings.Contains(out.String(), "members.phone: k1 1") || strings.Contains(out.String(), " 0 to re-seal") {
		t.Fatalf("dry run: exit %d\n%s%s", code, out.String(), errb.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"rotate-data-key", "--batch", "2"}, both, &out, &errb); code != 0 ||
		!strings.Contains(out.String(), "keys still holding values: k2") {
		t.Fatalf("rotate: exit %d\n%s%s", code, out.String(), errb.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"rotate-data-key", "--dry-run"}, both, &out, &errb); code != 0 ||
		!strings.Contains(out.String(), ` 0 to re-seal under "k2"`) {
		t.Fatalf("dry run after: exit %d\n%s", code, out.String())
	}

	base, _ = startServe(t, vars(k2))
	code, m := get(t, base+"/v1/members/phone:13800001111", admin)
	if code != 200 || m["name"] != "轮换" {
		t.Fatalf("after rotation, by phone: %d %v", code, m)
	}
}
