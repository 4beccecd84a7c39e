package webui_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/jifen/jifen/internal/webui"
)

func serve(h http.Handler, method, path string, headers ...string) *http.Response {
	req := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Result()
}

func read(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The embedded builds load: each has its page, every asset its page names
// is there, and every answer carries the security headers.
func TestApps(t *testing.T) {
	asset := regexp.MustCompile(`(?:href|src)="(/[^"]+)"`)
	for prefix, h := range map[string]http.Handler{"/console": webui.Console(), "/m": webui.Member()} {
		res := serve(h, "GET", prefix+"/")
		page := read(t, res)
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("GET %s/: %d %s", prefix, res.StatusCode, res.Header.Get("Content-Type"))
		}
		for k, v := range map[string]string{
			"Content-Security-Policy": webui.ContentSecurityPolicy, "X-Frame-Options": "DENY",
			"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache",
		} {
			if got := res.Header.Get(k); got != v {
				t.Errorf("GET %s/: %s = %q, want %q", prefix, k, got, v)
			}
		}
		for _, m := range asset.FindAllStringSubmatch(page, -1) {
			res := serve(h, "GET", m[1])
			read(t, res)
			if res.StatusCode != 200 {
				t.Errorf("%s names %s: %d", prefix, m[1], res.StatusCode)
			}
			if res.Header.Get("Content-Security-Policy") == "" {
				t.Errorf("%s: no CSP", m[1])
			}
		}
		// A route of the application is the page; a missing file is not.
		if res := serve(h, "GET", prefix+"/members/mem_1"); res.StatusCode != 200 || read(t, res) != page {
			t.Errorf("GET %s/members/mem_1: %d, want the page", prefix, res.StatusCode)
		}
		if res := serve(h, "GET", prefix+"/assets/nothing.js"); res.StatusCode != 404 {
			t.Errorf("GET %s/assets/nothing.js: %d, want 404", prefix, res.StatusCode)
		}
		if res := serve(h, "GET", prefix); res.StatusCode != 301 || res.Header.Get("Location") != prefix+"/" {
			t.Errorf("GET %s: %d to %q, want 301 to %s/", prefix, res.StatusCode, res.Header.Get("Location"), prefix)
		}
		if res := serve(h, "POST", prefix+"/"); res.StatusCode != 405 {
			t.Errorf("POST %s/: %d, want 405", prefix, res.StatusCode)
		}
	}
}

func TestCaching(t *testing.T) {
	js := strings.Repeat("console.log(1);\n", 200)
	app, err := webui.NewApp(fstest.MapFS{
		"index.html":         {Data: []byte(`<script type="module" src="/x/assets/app-1a2b.js"></script>`)},
		"assets/app-1a2b.js": {Data: []byte(js)},
		"favicon.svg":        {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)},
	}, "/x")
	if err != nil {
		t.Fatal(err)
	}
	res := serve(app, "GET", "/x/assets/app-1a2b.js", "Accept-Encoding", "gzip")
	read(t, res)
	if res.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" || res.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("asset: Cache-Control %q, Content-Encoding %q", res.Header.Get("Cache-Control"), res.Header.Get("Content-Encoding"))
	}
	etag := res.Header.Get("ETag")
	if res := serve(app, "GET", "/x/assets/app-1a2b.js", "Accept-Encoding", "gzip", "If-None-Match", etag); res.StatusCode != 304 {
		t.Errorf("If-None-Match %s: %d, want 304", etag, res.StatusCode)
	}
	if res := serve(app, "GET", "/x/favicon.svg"); res.StatusCode != 200 || res.Header.Get("Cache-Control") != "no-cache" ||
		res.Header.Get("Content-Type") != "image/svg+xml" {
		t.Errorf("favicon: %d %q %q", res.StatusCode, res.Header.Get("Cache-Control"), res.Header.Get("Content-Type"))
	}
	if _, err := webui.NewApp(fstest.MapFS{"index.html": {}, "x.exe": {}}, "/x"); err == nil {
		t.Error("a build with an .exe loaded")
	}
	if _, err := webui.NewApp(fstest.MapFS{"a.js": {}}, "/x"); err == nil {
		t.Error("a build without index.html loaded")
	}
}
