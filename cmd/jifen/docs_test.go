package main

import (
	"net/http"
	"path/filepath"
	"testing"

	"github.com/jifen/jifen/internal/apidocs"
	"github.com/jifen/jifen/internal/browsertest"
)

// TestDocsInBrowser opens /docs of a real jifen serve in Chromium, as a
// person would: the reference renders from /openapi.json under the page's
// Content-Security-Policy, with nothing in the console.
func TestDocsInBrowser(t *testing.T) {
	page := browsertest.New(t) // first: skips before a server starts
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "j.db")
	base, _ := startServe(t, map[string]string{"JIFEN_DB": dsn, "JIFEN_ADMIN_KEY": "an-admin-key-of-enough-length-42"})

	res, err := http.Get(base + "/docs")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Security-Policy") != apidocs.ContentSecurityPolicy {
		t.Fatalf("GET /docs: %d, CSP %q", res.StatusCode, res.Header.Get("Content-Security-Policy"))
	}

	// Swagger UI renders only the tags near the viewport once a document
	// has this many operations: the points tag's deep link scrolls to it
	// (and so renders it).
	page.Navigate(base + "/docs#/points")
	page.WaitText("Jifen API")   // the document's title
	page.WaitText("Earn points") // a route's summary
	page.WaitText("/v1/members/{member}/points/earn")
	page.Screenshot("docs")

	// An operation opens on a click, with its parameters and schemas.
	page.Click("#operations-points-post_members_member_points_earn .opblock-summary-control")
	page.WaitText("Idempotency-Key")
	page.WaitText("Request body")
	page.Screenshot("docs-earn")
	page.CheckConsole()
}
