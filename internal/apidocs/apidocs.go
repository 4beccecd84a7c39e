// Package apidocs serves the API reference page at /docs: Swagger UI
// (npm's swagger-ui-dist, copied into dist/ by scripts/build-apidocs.sh and
// committed) reading /openapi.json from the same origin. It owns the page's
// files and their headers: a Content-Security-Policy of the server's own
// origin, caching, compression. httpapi only mounts Handler; the document
// itself is httpapi's.
package apidocs

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"

	"github.com/jifen/jifen/internal/webui"
)

//go:embed dist
var dist embed.FS

// Prefix is where the page is served: the page at /docs and /docs/, its
// files under /docs/.
const Prefix = "/docs"

// ContentSecurityPolicy lets the page load only from the server's own
// origin. Swagger UI needs no inline script, no inline style and no eval;
// its stylesheet draws its icons as data: images, hence img-src data:
// (an image cannot run script). The page may not be framed, and forms and
// <base> cannot point elsewhere.
const ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; object-src 'none'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

type handler struct {
	index *webui.File            // index.html, its asset URLs versioned
	files map[string]*webui.File // by name under /docs/
}

// Handler serves the page. Mount it on "GET /docs" and "GET /docs/".
func Handler() http.Handler { return handlerOnce() }

var handlerOnce = sync.OnceValue(func() *handler {
	h, err := newHandler(dist)
	if err != nil {
		panic(err) // the embedded files are broken: TestHandler fails first
	}
	return h
})

func newHandler(fsys fs.FS) (*handler, error) {
	sub, err := fs.Sub(fsys, "dist")
	if err != nil {
		return nil, err
	}
	h := &handler{files: map[string]*webui.File{}}
	entries, err := fs.ReadDir(sub, ".")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || name == "index.html" {
			continue
		}
		ctype, ok := webui.ContentType(name)
		if !ok {
			return nil, fmt.Errorf("apidocs: dist/%s: no content type for %q", name, path.Ext(name))
		}
		body, err := fs.ReadFile(sub, name)
		if err != nil {
			return nil, err
		}
		h.files[name] = webui.NewFile(body, ctype)
	}
	src, err := fs.ReadFile(sub, "index.html")
	if err != nil {
		return nil, err
	}
	// index.html names its files with {{asset "name"}}: the URL carries the
	// file's hash, so a file can be cached for good and a new binary's page
	// still loads its own files.
	tmpl, err := template.New("index.html").Funcs(template.FuncMap{
		"asset": func(name string) (string, error) {
			f, ok := h.files[name]
			if !ok {
				return "", fmt.Errorf("no file %q in dist", name)
			}
			return Prefix + "/" + name + "?v=" + f.Version, nil
		},
	}).Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("apidocs: index.html: %w", err)
	}
	var page bytes.Buffer
	if err := tmpl.Execute(&page, nil); err != nil {
		return nil, fmt.Errorf("apidocs: index.html: %w", err)
	}
	h.index = webui.NewFile(page.Bytes(), "text/html; charset=utf-8")
	return h, nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	webui.SecurityHeaders(hd, ContentSecurityPolicy)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	if p == Prefix || p == Prefix+"/" {
		// The page is small and names the binary's files: always revalidate.
		h.index.Serve(w, r, "no-cache")
		return
	}
	name, _ := strings.CutPrefix(p, Prefix+"/")
	f := h.files[name]
	if f == nil {
		http.NotFound(w, r)
		return
	}
	if r.URL.Query().Get("v") == f.Version {
		// This URL names these bytes and no others.
		f.Serve(w, r, "public, max-age=31536000, immutable")
		return
	}
	f.Serve(w, r, "no-cache")
}
