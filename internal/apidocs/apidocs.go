// Package apidocs serves the API reference page at /docs: Swagger UI
// (npm's swagger-ui-dist, copied into dist/ by scripts/build-apidocs.sh and
// committed) reading /openapi.json from the same origin. It owns the page's
// files and their headers: a Content-Security-Policy of the server's own
// origin, caching, compression. httpapi only mounts Handler; the document
// itself is httpapi's.
package apidocs

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
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

// types are the content types of the files in dist, by extension. A file
// of another kind fails the build of the handler (and so its test).
var types = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".txt":  "text/plain; charset=utf-8",
}

// file is one file of the page, held in memory for the life of the process.
type file struct {
	body    []byte
	ctype   string
	version string // a hash of body: the strong ETag and the ?v= of its URL

	gzipOnce sync.Once
	gz       []byte // body compressed, made at the first request that accepts it
}

// compressible files are worth gzip (all are text): Swagger UI's bundle
// goes from 1.8 MB to about 0.5 MB.
func (f *file) compressible() bool { return len(f.body) > 1024 }

func (f *file) gzipped() []byte {
	f.gzipOnce.Do(func() {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b) // BestCompression would save 0.3% for 2-3 times the work
		zw.Write(f.body)
		zw.Close()
		f.gz = b.Bytes()
	})
	return f.gz
}

type handler struct {
	index *file            // index.html, its asset URLs versioned
	files map[string]*file // by name under /docs/
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
	h := &handler{files: map[string]*file{}}
	entries, err := fs.ReadDir(sub, ".")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || name == "index.html" {
			continue
		}
		ctype, ok := types[path.Ext(name)]
		if !ok {
			return nil, fmt.Errorf("apidocs: dist/%s: no content type for %q", name, path.Ext(name))
		}
		body, err := fs.ReadFile(sub, name)
		if err != nil {
			return nil, err
		}
		h.files[name] = newFile(body, ctype)
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
			return Prefix + "/" + name + "?v=" + f.version, nil
		},
	}).Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("apidocs: index.html: %w", err)
	}
	var page bytes.Buffer
	if err := tmpl.Execute(&page, nil); err != nil {
		return nil, fmt.Errorf("apidocs: index.html: %w", err)
	}
	h.index = newFile(page.Bytes(), types[".html"])
	return h, nil
}

func newFile(body []byte, ctype string) *file {
	sum := sha256.Sum256(body)
	return &file{body: body, ctype: ctype, version: hex.EncodeToString(sum[:8])}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", ContentSecurityPolicy)
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	var f *file
	switch p := r.URL.Path; p {
	case Prefix, Prefix + "/":
		f = h.index
		// The page is small and names the binary's files: always revalidate.
		hd.Set("Cache-Control", "no-cache")
	default:
		name, ok := strings.CutPrefix(p, Prefix+"/")
		if ok {
			f = h.files[name]
		}
		if f == nil {
			http.NotFound(w, r)
			return
		}
		if r.URL.Query().Get("v") == f.version {
			// This URL names these bytes and no others.
			hd.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			hd.Set("Cache-Control", "no-cache")
		}
	}
	hd.Set("Content-Type", f.ctype)
	body, etag := f.body, `"`+f.version+`"`
	if f.compressible() {
		hd.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			body, etag = f.gzipped(), `"`+f.version+`-gz"`
			hd.Set("Content-Encoding", "gzip")
		}
	}
	hd.Set("ETag", etag)
	// ServeContent answers If-None-Match (304), HEAD and ranges.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// acceptsGzip reports whether the request's Accept-Encoding lists gzip
// without q=0.
func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for part := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
				continue
			}
			if q, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
				if v, err := strconv.ParseFloat(q, 64); err == nil && v == 0 {
					return false
				}
			}
			return true
		}
	}
	return false
}
