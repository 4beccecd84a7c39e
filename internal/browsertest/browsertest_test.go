package browsertest_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jifen/jifen/internal/browsertest"
)

func TestChromiumFromEnv(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-chromium")
	_, err := browsertest.Chromium(func(k string) string {
		if k == "JIFEN_CHROMIUM" {
			return missing
		}
		return ""
	})
	if err == nil || !strings.Contains(err.Error(), "JIFEN_CHROMIUM") {
		t.Fatalf("Chromium with JIFEN_CHROMIUM=%s: err %v, want one naming JIFEN_CHROMIUM", missing, err)
	}
}

// The console checks must see what they are there to catch, or a page
// that passes proves nothing.
func TestProblems(t *testing.T) {
	p := browsertest.New(t)
	pages := map[string]string{
		"/clean":  `<p>all good</p><script src="/ok.js"></script>`,
		"/inline": `<p>inline</p><script>document.title = "ran"</script>`,
		"/throws": `<p>throws</p><script src="/throw.js"></script>`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'")
		switch r.URL.Path {
		case "/ok.js":
			w.Header().Set("Content-Type", "text/javascript")
			fmt.Fprint(w, `console.log("loaded")`)
		case "/throw.js":
			w.Header().Set("Content-Type", "text/javascript")
			fmt.Fprint(w, `throw new Error("boom")`)
		case "/favicon.ico":
			w.WriteHeader(http.StatusNoContent)
		default:
			body, ok := pages[r.URL.Path]
			if !ok {
				http.NotFound(w, r)
				return
			}
			fmt.Fprintf(w, "<!doctype html><title>t</title>%s", body)
		}
	}))
	defer srv.Close()

	tests := []struct {
		path, text string
		want       string // in the one problem expected; "" for none
	}{
		{"/clean", "all good", ""},
		{"/inline", "inline", "Content Security Policy"},
		{"/throws", "throws", "boom"},
		{"/missing", "404 page not found", "404"},
	}
	seen := 0
	for _, tt := range tests {
		p.Navigate(srv.URL + tt.path)
		p.WaitText(tt.text)
		all := p.Problems()
		got := all[seen:] // Problems keeps what earlier pages wrote
		seen = len(all)
		switch {
		case tt.want == "" && len(got) != 0:
			t.Errorf("%s: problems %v, want none", tt.path, got)
		case tt.want != "" && (len(got) != 1 || !strings.Contains(got[0].Text, tt.want)):
			t.Errorf("%s: problems %v, want one saying %q", tt.path, got, tt.want)
		}
	}
	if png := p.Screenshot("browsertest"); !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("screenshot is not a PNG: % x", png[:min(8, len(png))])
	}
}
