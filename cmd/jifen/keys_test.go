package main

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/store/storetest"
)

// jifen runs the command line as main would and returns its exit code,
// stdout and stderr.
func jifen(t *testing.T, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, env(vars), &out, &errb)
	return code, out.String(), errb.String()
}

// waitStatus polls GET path with key until it answers want, for at most
// the deadline.
func waitStatus(t *testing.T, url, key string, want int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		code, _ := get(t, url, key)
		if code == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s answered %d for %v, want %d", url, code, within, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestKeys: keys made, listed and revoked on the database of a running
// server; the server takes a new key at once and refuses a revoked one
// within its cache TTL.
func TestKeys(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		dsn := b.DSN(t)
		db := map[string]string{"JIFEN_DB": dsn}
		const ttl = 300 * time.Millisecond
		base, stderr := startServe(t, map[string]string{"JIFEN_DB": dsn, "JIFEN_CACHE_TTL": ttl.String(), "JIFEN_LOG_FORMAT": "json"})
		boot := printedKey.FindString(stderr.String())

		code, out, errs := jifen(t, db, "keys", "create", "--role", "admin")
		secret := strings.TrimSpace(out)
		if code != 0 || !printedKey.MatchString(secret) || secret != printedKey.FindString(out) {
			t.Fatalf("keys create: exit %d, stdout %q (want the secret alone), stderr %q", code, out, errs)
		}
		if !strings.Contains(errs, "Created admin key key_") || !strings.Contains(errs, "only this once") {
			t.Errorf("keys create said %q", errs)
		}
		if code, _ := get(t, base+"/v1/program", secret); code != 200 {
			t.Fatalf("a key from jifen keys create: %d on the running server", code)
		}
		keyID := strings.Fields(strings.SplitAfter(errs, "admin key ")[1])[0]

		// A merchant key names its merchant.
		_, m := postWithKey(t, base+"/v1/merchants", secret, `{"name":"Store 12"}`)
		merchant, _ := m["id"].(string)
		code, out, errs = jifen(t, db, "keys", "create", "--role", "merchant", "--merchant", merchant, "--name", "till 3", "--db", dsn)
		if code != 0 {
			t.Fatalf("keys create --role merchant: exit %d %s %s", code, out, errs)
		}
		if code, p := get(t, base+"/v1/merchants/"+merchant, strings.TrimSpace(out)); code != 200 || p["id"] != merchant {
			t.Fatalf("merchant key: %d %v", code, p)
		}

		for _, tc := range []struct {
			args []string
			code int
			says string
		}{
			{[]string{"keys", "create", "--role", "boss"}, 2, "--role: must be admin, merchant or readonly"},
			{[]string{"keys", "create"}, 2, "--role"},
			{[]string{"keys", "create", "--role", "merchant"}, 2, "--merchant: a merchant key names its merchant"},
			{[]string{"keys", "create", "--role", "merchant", "--merchant", "mer_nope"}, 2, "--merchant: no such merchant"},
			{[]string{"keys", "create", "--role", "admin", "--merchant", merchant}, 2, "--merchant: only merchant keys"},
			{[]string{"keys", "create", "--role", "admin", "--program", "nope"}, 1, `no program "nope"`},
			{[]string{"keys", "create", "--role", "admin", "extra"}, 2, `unexpected argument "extra"`},
			{[]string{"keys", "revoke"}, 2, "name one key ID"},
			{[]string{"keys", "revoke", "key_nope"}, 1, `program "default" has no key key_nope`},
			{[]string{"keys", "rotate"}, 2, `unknown command "rotate"`},
			{[]string{"keys"}, 2, "jifen keys create"},
		} {
			code, out, errs := jifen(t, db, tc.args...)
			if code != tc.code || !strings.Contains(errs, tc.says) {
				t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d saying %q", tc.args, code, out, errs, tc.code, tc.says)
			}
		}

		code, out, errs = jifen(t, db, "keys", "list")
		if code != 0 {
			t.Fatalf("keys list: exit %d %s", code, errs)
		}
		for _, want := range []string{"ID", keyID, "admin key from jifen keys", "till 3", merchant, "bootstrap"} {
			if !strings.Contains(out, want) {
				t.Errorf("keys list lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, secret) || strings.Contains(out, boot) {
			t.Errorf("keys list shows a secret:\n%s", out)
		}

		// Flags may follow the key ID.
		code, out, errs = jifen(t, nil, "keys", "revoke", keyID, "--db", dsn)
		if code != 0 || !strings.Contains(out, "Revoked "+keyID) || !strings.Contains(out, "--cache-ttl") {
			t.Fatalf("keys revoke: exit %d %q %q", code, out, errs)
		}
		if strings.Contains(errs, "no admin key left") {
			t.Errorf("keys revoke warned of no admin key while the bootstrap key is there: %q", errs)
		}
		waitStatus(t, base+"/v1/program", secret, http.StatusUnauthorized, ttl+5*time.Second)
		if code, _ := get(t, base+"/v1/program", boot); code != 200 {
			t.Errorf("the other admin key: %d after revoking %s", code, keyID)
		}
		if code, out, _ := jifen(t, db, "keys", "list"); code != 0 || strings.Contains(out, keyID) {
			t.Errorf("revoked key still listed: %s", out)
		}
		if code, _, errs := jifen(t, db, "keys", "revoke", keyID); code != 1 || !strings.Contains(errs, "has no key") {
			t.Errorf("revoking twice: exit %d %q", code, errs)
		}

		// Revoking the last admin key says how to make one.
		bootID := ""
		for _, line := range strings.Split(func() string { _, out, _ := jifen(t, db, "keys", "list"); return out }(), "\n") {
			if strings.HasSuffix(line, "bootstrap") {
				bootID = strings.Fields(line)[0]
			}
		}
		code, _, errs = jifen(t, db, "keys", "revoke", bootID)
		if code != 0 || !strings.Contains(errs, "no admin key left") || !strings.Contains(errs, "jifen keys create --role admin") {
			t.Errorf("revoking the last admin key: exit %d %q", code, errs)
		}
		waitStatus(t, base+"/v1/program", boot, http.StatusUnauthorized, ttl+5*time.Second)
	})
}

// TestKeysNeedsJifenDatabase: keys refuses a database that is not
// migrated rather than creating anything in it.
func TestKeysNeedsJifenDatabase(t *testing.T) {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "empty.db")
	code, _, errs := jifen(t, map[string]string{"JIFEN_DB": dsn}, "keys", "create", "--role", "admin")
	if code != 1 || !strings.Contains(errs, "jifen migrate") {
		t.Fatalf("keys create on an empty file: exit %d %q", code, errs)
	}
}

// TestServeAdminKeyIgnored: JIFEN_ADMIN_KEY set on a database that has
// keys is reported, unless it is the secret of one of its admin keys (the
// same variable on every start).
func TestServeAdminKeyIgnored(t *testing.T) {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "j.db")
	const first, other = "the-first-admin-key-0123456789", "another-admin-key-0123456789"
	const warning = "JIFEN_ADMIN_KEY ignored"
	// Three starts in turn on one database: each stops before the next.
	start := func(name, key string) (base, stderr string) {
		t.Helper()
		b, errs, stop := serveTest(t, map[string]string{"JIFEN_DB": dsn, "JIFEN_ADMIN_KEY": key, "JIFEN_LOG_FORMAT": "json"})
		defer stop()
		code, _ := get(t, b+"/v1/program", key)
		return b, errs.String() + "\nGET /v1/program with JIFEN_ADMIN_KEY: " + http.StatusText(code)
	}
	if _, errs := start("empty database", first); strings.Contains(errs, warning) || !strings.Contains(errs, "with JIFEN_ADMIN_KEY: OK") {
		t.Fatalf("first start: %s", errs)
	}
	if _, errs := start("same key again", first); strings.Contains(errs, warning) || !strings.Contains(errs, "with JIFEN_ADMIN_KEY: OK") {
		t.Fatalf("restart with the same JIFEN_ADMIN_KEY: %s", errs)
	}
	_, errs := start("another key", other)
	if !strings.Contains(errs, warning) || !strings.Contains(errs, "jifen keys create --role admin") || !strings.Contains(errs, "Unauthorized") {
		t.Fatalf("JIFEN_ADMIN_KEY on a database with other keys: %s", errs)
	}
	if strings.Contains(errs, other) || strings.Contains(errs, first) {
		t.Fatalf("a secret was logged: %s", errs)
	}
}
