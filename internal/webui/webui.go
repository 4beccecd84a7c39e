// Package webui serves the two single-page applications the binary
// carries: the operator console at /console/ and the member page at /m/.
// Each is a Vite build of web/console and web/member, written by
// scripts/build-web.sh into dist/ and committed, so neither go run nor go
// test needs Node. It owns the pages' headers: a Content-Security-Policy
// that allows only the server's own origin, no framing, caching (the
// build's hashed assets for good, the page itself revalidated) and gzip.
package webui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

//go:embed all:dist
var dist embed.FS

// ContentSecurityPolicy lets a page load script, style, images, fonts and
// API calls only from the server's own origin: no inline script, no eval,
// no CDN. Images may also be data: URLs (component libraries draw small
// icons that way; an image cannot run script). The page may not be
// framed, and forms and <base> cannot point elsewhere.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// types are the content types of the files a build may hold, by
// extension. A file of another kind fails the handler's build (and so its
// test).
var types = map[string]string{
	".html":  "text/html; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".txt":   "text/plain; charset=utf-8",
	".json":  "application/json",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".ico":   "image/x-icon",
	".woff2": "font/woff2",
	".woff":  "font/woff",
	".ttf":   "font/ttf",
}

// Console is the operator console, mounted at /console.
func Console() http.Handler { return console() }

// Member is the member page, mounted at /m.
func Member() http.Handler { return member() }

var (
	console = sync.OnceValue(func() *App { return mustApp("console", "/console") })
	member  = sync.OnceValue(func() *App { return mustApp("m", "/m") })
)

func mustApp(dir, prefix string) *App {
	sub, err := fs.Sub(dist, "dist/"+dir)
	if err != nil {
		panic(err)
	}
	a, err := NewApp(sub, prefix)
	if err != nil {
		panic(err) // the embedded build is broken: TestApps fails first
	}
	return a
}

// App is one single-page application: its index.html and the files
// beside it, held in memory for the life of the process.
type App struct {
	prefix string
	index  *File
	files  map[string]*File // by path under prefix+"/"
}

// NewApp reads a build from fsys, which has index.html at its root. The
// application routes in the browser (history mode), so a path under
// prefix that names no file is answered with index.html.
func NewApp(fsys fs.FS, prefix string) (*App, error) {
	a := &App{prefix: prefix, files: map[string]*File{}}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ctype, ok := types[path.Ext(name)]
		if !ok {
			return fmt.Errorf("webui: %s: no content type for %q", name, path.Ext(name))
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		a.files[name] = NewFile(body, ctype)
		return nil
	})
	if err != nil {
		return nil, err
	}
	a.index = a.files["index.html"]
	if a.index == nil {
		return nil, fmt.Errorf("webui: %s: no index.html", prefix)
	}
	return a, nil
}

func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	SecurityHeaders(hd, ContentSecurityPolicy)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	if p == a.prefix {
		http.Redirect(w, r, a.prefix+"/", http.StatusMovedPermanently)
		return
	}
	name, _ := strings.CutPrefix(p, a.prefix+"/")
	f, ok := a.files[name]
	switch {
	case ok && strings.HasPrefix(name, "assets/"):
		// Vite names each asset by a hash of its content.
		f.Serve(w, r, "public, max-age=31536000, immutable")
	case ok && name != "index.html":
		f.Serve(w, r, "no-cache")
	case ok || path.Ext(name) == "":
		// The page, under any of its routes: small, always revalidated,
		// and naming the assets of this binary.
		a.index.Serve(w, r, "no-cache")
	default:
		http.NotFound(w, r) // a missing file, not a route
	}
}

// SecurityHeaders sets the headers every page of the binary sends.
func SecurityHeaders(hd http.Header, csp string) {
	hd.Set("Content-Security-Policy", csp)
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
}

// File is one static file held in memory, with a strong ETag and a gzip
// copy made at the first request that accepts one.
type File struct {
	body    []byte
	ctype   string
	Version string // a hash of the body: its ETag

	gzipOnce sync.Once
	gz       []byte
}

// NewFile holds body as a file of content type ctype.
func NewFile(body []byte, ctype string) *File {
	sum := sha256.Sum256(body)
	return &File{body: body, ctype: ctype, Version: hex.EncodeToString(sum[:8])}
}

// ContentType is the content type of a file name's extension.
func ContentType(name string) (string, bool) {
	t, ok := types[path.Ext(name)]
	return t, ok
}

// compressible files are worth gzip: text of some size (images and fonts
// are compressed already).
func (f *File) compressible() bool {
	return len(f.body) > 1024 && (strings.HasPrefix(f.ctype, "text/") || f.ctype == "application/json" ||
		f.ctype == "image/svg+xml")
}

func (f *File) gzipped() []byte {
	f.gzipOnce.Do(func() {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b) // BestCompression would save 0.3% for 2-3 times the work
		zw.Write(f.body)
		zw.Close()
		f.gz = b.Bytes()
	})
	return f.gz
}

// Serve writes the file with the Cache-Control given, compressed when the
// request accepts gzip; http.ServeContent answers If-None-Match (304),
// HEAD and ranges.
func (f *File) Serve(w http.ResponseWriter, r *http.Request, cacheControl string) {
	hd := w.Header()
	hd.Set("Cache-Control", cacheControl)
	hd.Set("Content-Type", f.ctype)
	body, etag := f.body, `"`+f.Version+`"`
	if f.compressible() {
		hd.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			body, etag = f.gzipped(), `"`+f.Version+`-gz"`
			hd.Set("Content-Encoding", "gzip")
		}
	}
	hd.Set("ETag", etag)
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
