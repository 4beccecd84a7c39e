package apidocs_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/jifen/jifen/internal/apidocs"
)

func get(t *testing.T, path string, headers ...string) *http.Response {
	t.Helper()
	return do(t, "GET", path, headers...)
}

func do(t *testing.T, method, path string, headers ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	apidocs.Handler().ServeHTTP(w, req)
	return w.Result()
}

func body(t *testing.T, res *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wantHeaders(t *testing.T, what string, res *http.Response, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := res.Header.Get(k); got != v {
			t.Errorf("%s: %s = %q, want %q", what, k, got, v)
		}
	}
}

var security = map[string]string{
	"Content-Security-Policy": apidocs.ContentSecurityPolicy,
	"X-Frame-Options":         "DENY",
	"X-Content-Type-Options":  "nosniff",
}

var assetURL = regexp.MustCompile(`(?:href|src)="(/docs/[^"?]+\?v=[0-9a-f]+)"`)

func TestPage(t *testing.T) {
	if !strings.HasPrefix(apidocs.ContentSecurityPolicy, "default-src 'self';") ||
		strings.Contains(apidocs.ContentSecurityPolicy, "unsafe") {
		t.Fatalf("CSP %q: want default-src 'self' and nothing unsafe", apidocs.ContentSecurityPolicy)
	}
	var page []byte
	for _, path := range []string{"/docs", "/docs/"} {
		res := get(t, path)
		if res.StatusCode != 200 {
			t.Fatalf("GET %s: %d", path, res.StatusCode)
		}
		wantHeaders(t, "GET "+path, res, security)
		wantHeaders(t, "GET "+path, res, map[string]string{
			"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache",
		})
		page = body(t, res)
	}
	urls := assetURL.FindAllStringSubmatch(string(page), -1)
	if len(urls) != 4 { // Swagger UI's script and stylesheet, init.js, jifen.css
		t.Fatalf("page links %d files, want 4:\n%s", len(urls), page)
	}
	if bytes.Contains(page, []byte("{{")) {
		t.Fatalf("page still holds template actions:\n%s", page)
	}
	for _, m := range urls {
		url := m[1]
		res := get(t, url)
		if res.StatusCode != 200 {
			t.Fatalf("GET %s: %d", url, res.StatusCode)
		}
		wantHeaders(t, "GET "+url, res, security)
		wantHeaders(t, "GET "+url, res, map[string]string{"Cache-Control": "public, max-age=31536000, immutable"})
		ct := res.Header.Get("Content-Type")
		if ext := filepath.Ext(strings.Split(url, "?")[0]); (ext == ".js") != (ct == "text/javascript; charset=utf-8") ||
			(ext == ".css") != (ct == "text/css; charset=utf-8") {
			t.Errorf("GET %s: Content-Type %q", url, ct)
		}
		etag := res.Header.Get("ETag")
		if etag == "" {
			t.Fatalf("GET %s: no ETag", url)
		}
		if res := get(t, url, "If-None-Match", etag); res.StatusCode != 304 {
			t.Errorf("GET %s with If-None-Match %s: %d, want 304", url, etag, res.StatusCode)
		}
		// Without the version the URL may name other bytes after an upgrade.
		bare := strings.Split(url, "?")[0]
		wantHeaders(t, "GET "+bare, get(t, bare), map[string]string{"Cache-Control": "no-cache"})
	}
}

func TestGzip(t *testing.T) {
	plain := get(t, "/docs/swagger-ui.css")
	want := body(t, plain)
	if plain.Header.Get("Content-Encoding") != "" || plain.Header.Get("Vary") != "Accept-Encoding" {
		t.Fatalf("without Accept-Encoding: Content-Encoding %q, Vary %q",
			plain.Header.Get("Content-Encoding"), plain.Header.Get("Vary"))
	}
	res := get(t, "/docs/swagger-ui.css", "Accept-Encoding", "br, gzip;q=0.8")
	if res.Header.Get("Content-Encoding") != "gzip" || res.Header.Get("ETag") == plain.Header.Get("ETag") {
		t.Fatalf("with gzip: Content-Encoding %q, ETag %q (plain %q)",
			res.Header.Get("Content-Encoding"), res.Header.Get("ETag"), plain.Header.Get("ETag"))
	}
	zr, err := gzip.NewReader(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("gzip body decodes to %d bytes (%v), want the %d of the file", len(got), err, len(want))
	}
	if res := get(t, "/docs/swagger-ui.css", "Accept-Encoding", "gzip;q=0"); res.Header.Get("Content-Encoding") != "" {
		t.Errorf("gzip;q=0 was answered with gzip")
	}
}

func TestNotThere(t *testing.T) {
	for _, path := range []string{"/docs/nope.js", "/docs/index.html", "/docs/sub/init.js", "/docsx"} {
		res := get(t, path)
		if res.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", path, res.StatusCode)
		}
		wantHeaders(t, "GET "+path, res, security)
	}
	res := do(t, "POST", "/docs")
	if res.StatusCode != 405 || res.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /docs: %d Allow %q, want 405 GET, HEAD", res.StatusCode, res.Header.Get("Allow"))
	}
	if res := do(t, "HEAD", "/docs/"); res.StatusCode != 200 || len(body(t, res)) != 0 {
		t.Errorf("HEAD /docs/: %d", res.StatusCode)
	}
}

// The page's own files in dist are copies of web/apidocs: an edit there
// that was not rebuilt fails here, without Node.
func TestDistIsBuilt(t *testing.T) {
	for _, name := range []string{"index.html", "init.js", "jifen.css"} {
		src, err := os.ReadFile(filepath.Join("..", "..", "web", "apidocs", name))
		if err != nil {
			t.Fatal(err)
		}
		built, err := os.ReadFile(filepath.Join("dist", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(src, built) {
			t.Errorf("dist/%s differs from web/apidocs/%s: run scripts/build-apidocs.sh", name, name)
		}
	}
}
