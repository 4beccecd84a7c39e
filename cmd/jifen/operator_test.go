package main

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// consoleLogin posts a console login and returns its status.
func consoleLogin(t *testing.T, base, email, password string) int {
	t.Helper()
	res, err := http.Post(base+"/v1/console/login", "application/json",
		strings.NewReader(`{"email":"`+email+`","password":"`+password+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// The first operator comes from JIFEN_ADMIN_EMAIL and JIFEN_ADMIN_PASSWORD
// on a database without one; without them, serve says how to make one, and
// jifen operator add makes one on the database.
func TestFirstOperator(t *testing.T) {
	t.Run("from the environment", func(t *testing.T) {
		dsn := "sqlite:" + filepath.Join(t.TempDir(), "j.db")
		base, errs, stop := serveTest(t, map[string]string{"JIFEN_DB": dsn,
			"JIFEN_ADMIN_EMAIL": "boss@brand.cn", "JIFEN_ADMIN_PASSWORD": "a long enough password"})
		if code := consoleLogin(t, base, "boss@brand.cn", "a long enough password"); code != 200 {
			t.Fatalf("login as the first operator: %d\n%s", code, errs)
		}
		if strings.Contains(errs.String(), "a long enough password") {
			t.Fatal("the password was logged")
		}
		stop()
		// On the next start the variables are ignored: the operator stays.
		base, errs, _ = serveTest(t, map[string]string{"JIFEN_DB": dsn,
			"JIFEN_ADMIN_EMAIL": "other@brand.cn", "JIFEN_ADMIN_PASSWORD": "another long password"})
		if code := consoleLogin(t, base, "other@brand.cn", "another long password"); code != 401 {
			t.Fatalf("a second JIFEN_ADMIN_EMAIL made an operator: %d", code)
		}
		if !strings.Contains(errs.String(), "JIFEN_ADMIN_EMAIL ignored") {
			t.Fatalf("not told that JIFEN_ADMIN_EMAIL was ignored:\n%s", errs)
		}
	})
	t.Run("with jifen operator add", func(t *testing.T) {
		dsn := "sqlite:" + filepath.Join(t.TempDir(), "j.db")
		base, errs, stop := serveTest(t, map[string]string{"JIFEN_DB": dsn})
		if !strings.Contains(errs.String(), "jifen operator add --email") {
			t.Fatalf("serve does not say how to make the first operator:\n%s", errs)
		}
		code, _, stderr := jifen(t, map[string]string{"JIFEN_DB": dsn, "JIFEN_OPERATOR_PASSWORD": "short"},
			"operator", "add", "--email", "me@brand.cn", "--role", "admin")
		if code != 2 || !strings.Contains(stderr, "JIFEN_OPERATOR_PASSWORD") {
			t.Fatalf("a short password: exit %d %q", code, stderr)
		}
		code, out, stderr := jifen(t, map[string]string{"JIFEN_DB": dsn, "JIFEN_OPERATOR_PASSWORD": "a long enough password"},
			"operator", "add", "--email", "me@brand.cn", "--role", "admin")
		if code != 0 || !strings.Contains(out, "Created admin operator opr_") {
			t.Fatalf("operator add: exit %d %q %q", code, out, stderr)
		}
		if code := consoleLogin(t, base, "me@brand.cn", "a long enough password"); code != 200 {
			t.Fatalf("login as the added operator: %d", code)
		}
		stop()
	})
	t.Run("half the pair refuses to start", func(t *testing.T) {
		code, _, stderr := jifen(t, map[string]string{"JIFEN_DB": "sqlite:" + filepath.Join(t.TempDir(), "j.db"),
			"JIFEN_ADMIN_EMAIL": "x@brand.cn"}, "serve")
		if code != 2 || !strings.Contains(stderr, "JIFEN_ADMIN_PASSWORD") {
			t.Fatalf("JIFEN_ADMIN_EMAIL alone: exit %d %q", code, stderr)
		}
	})
}
