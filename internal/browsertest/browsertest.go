// Package browsertest opens pages in a real browser from go test: a
// headless Chromium (Debian's chromium package) driven by chromedp over a
// pipe. It finds the browser, starts it with flags that keep it off the
// network, records the page's console (errors, uncaught exceptions,
// Content-Security-Policy violations), and takes screenshots.
//
// Without a Chromium the test is skipped with a message that says how to
// get one, unless JIFEN_TEST_BROWSER_REQUIRED=1 (as in CI), where it fails.
// JIFEN_CHROMIUM names another binary; JIFEN_TEST_SCREENSHOTS names a
// directory where Screenshot also writes its PNG files, to look at them.
package browsertest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Timeout bounds each wait of a Page (a navigation, WaitText, a sync of
// the console).
const Timeout = 30 * time.Second

// Chromium returns the browser to use: $JIFEN_CHROMIUM, else
// /usr/bin/chromium, else chromium on PATH. It returns "" when there is
// none, and an error when JIFEN_CHROMIUM names a file that cannot run.
func Chromium(getenv func(string) string) (string, error) {
	if p := getenv("JIFEN_CHROMIUM"); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			return "", fmt.Errorf("JIFEN_CHROMIUM=%s: %w", p, err)
		}
		return p, nil
	}
	for _, p := range []string{"/usr/bin/chromium", "chromium"} {
		if path, err := exec.LookPath(p); err == nil {
			return path, nil
		}
	}
	return "", nil
}

// Page is one tab of a headless Chromium started for one test; both end
// with the test.
type Page struct {
	t   testing.TB
	ctx context.Context

	mu       sync.Mutex
	messages []chromedp.ConsoleMessage
	marks    map[string]chan struct{} // sync marks awaited, closed when seen
	nmarks   int
}

// New starts Chromium for t and opens a blank tab. It skips t when no
// Chromium is installed, unless JIFEN_TEST_BROWSER_REQUIRED=1.
func New(t testing.TB) *Page {
	t.Helper()
	path, err := Chromium(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	if path == "" {
		msg := "no Chromium for the browser tests (looked for $JIFEN_CHROMIUM, /usr/bin/chromium, chromium on PATH): " +
			"install Debian's chromium (apt-get install chromium) or set JIFEN_CHROMIUM to run them"
		if os.Getenv("JIFEN_TEST_BROWSER_REQUIRED") == "1" {
			t.Fatal(msg + "; JIFEN_TEST_BROWSER_REQUIRED=1 makes this a failure")
		}
		t.Skip(msg)
	}
	// The browser's own output (it complains about D-Bus and the like) is
	// shown only when the test fails.
	var output syncBuffer
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true), // root in CI; tests open only their own pages
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), // a fresh profile
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(&output),
	)
	allocCtx, stopBrowser := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, closeTab := chromedp.NewContext(allocCtx)
	// Cleanups run last-in first-out: the tab, then the browser (waiting
	// for it to exit), then the profile directory of t.TempDir above.
	t.Cleanup(stopBrowser)
	t.Cleanup(closeTab)
	t.Cleanup(func() {
		if t.Failed() && output.Len() > 0 {
			t.Logf("chromium's output:\n%s", output.String())
		}
	})
	p := &Page{t: t, ctx: ctx, marks: map[string]chan struct{}{}}
	// The first Do starts the browser and the tab, which live as long as
	// the context it is given: so ctx itself, with no timeout of its own.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v\n%s", path, err, output.String())
	}
	// Console subscribes here, before any page runs; the goroutine ends
	// with the tab.
	console := chromedp.Console(ctx)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			p.record(m)
		}
	}()
	return p
}

const markPrefix = "browsertest:sync:"

func (p *Page) record(m chromedp.ConsoleMessage) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if mark, ok := strings.CutPrefix(m.Text, markPrefix); ok {
		if c := p.marks[mark]; c != nil {
			close(c)
			delete(p.marks, mark)
		}
		return
	}
	p.messages = append(p.messages, m)
}

// Context is the tab's chromedp context, for any other action. Wrap it in
// a timeout.
func (p *Page) Context() context.Context { return p.ctx }

// do runs actions with the Page's timeout and fails the test on an error.
func (p *Page) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, Timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

// Navigate opens url and waits for its load event.
func (p *Page) Navigate(url string) {
	p.t.Helper()
	p.do("navigate to "+url, chromedp.Navigate(url))
}

// Click clicks the first element that the CSS selector finds, once it is
// visible.
func (p *Page) Click(selector string) {
	p.t.Helper()
	p.do("click "+selector, chromedp.Click(chromedp.CSS(selector), chromedp.NodeVisible))
}

// WaitText waits until the page's visible text contains text, as a person
// waits for a page to render. It fails the test after Timeout with the
// text there is.
func (p *Page) WaitText(text string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, Timeout)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.PollFunction[bool](
		`(want) => document.body !== null && document.body.innerText.includes(want)`,
		chromedp.WithPollingArgs(text), chromedp.WithPollingInterval(50*time.Millisecond),
		chromedp.WithPollingTimeout(Timeout)))
	if err != nil {
		body := p.Text()
		if len(body) > 2000 {
			body = body[:2000] + "…"
		}
		p.t.Fatalf("waiting for %q on the page: %v\nthe page says:\n%s", text, err, body)
	}
}

// Text is the page's visible text.
func (p *Page) Text() string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, Timeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if err != nil {
		p.t.Fatalf("read the page's text: %v", err)
	}
	return s
}

// Console returns what the page wrote to the console so far: calls of the
// console API, uncaught exceptions and the browser's log (where resource
// errors and Content-Security-Policy violations appear).
func (p *Page) Console() []chromedp.ConsoleMessage {
	p.t.Helper()
	p.sync()
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]chromedp.ConsoleMessage(nil), p.messages...)
}

// sync waits until the console messages the page wrote before now are
// recorded: it logs a mark, and the browser sends messages in order.
func (p *Page) sync() {
	p.t.Helper()
	p.mu.Lock()
	p.nmarks++
	mark := fmt.Sprint(p.nmarks)
	seen := make(chan struct{})
	p.marks[mark] = seen
	p.mu.Unlock()
	p.do("mark the console", chromedp.Evaluate[chromedp.Void](fmt.Sprintf("console.debug(%q)", markPrefix+mark)))
	select {
	case <-seen:
	case <-time.After(Timeout):
		p.t.Fatalf("the console mark %s did not come back within %v", mark, Timeout)
	}
}

// Problems are the console messages that mean the page is broken: errors
// (a failed load, a blocked resource), uncaught exceptions, and anything
// that mentions the Content-Security-Policy whatever its level.
func (p *Page) Problems() []chromedp.ConsoleMessage {
	p.t.Helper()
	var out []chromedp.ConsoleMessage
	for _, m := range p.Console() {
		if m.Type == chromedp.ConsoleError || m.IsException() || strings.Contains(m.Text, "Content Security Policy") {
			out = append(out, m)
		}
	}
	return out
}

// CheckConsole fails the test once for each of Problems.
func (p *Page) CheckConsole() {
	p.t.Helper()
	for _, m := range p.Problems() {
		where := m.URL
		if where != "" {
			where = fmt.Sprintf(" (%s:%d)", m.URL, m.Line+1)
		}
		p.t.Errorf("console %s%s: %s", m.Type, where, m.Text)
	}
}

// Screenshot returns a PNG of what the tab shows. With
// JIFEN_TEST_SCREENSHOTS set it also writes it there as <name>.png.
func (p *Page) Screenshot(name string) []byte {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, Timeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Fatalf("screenshot %s: %v", name, err)
	}
	if dir := os.Getenv("JIFEN_TEST_SCREENSHOTS"); dir != "" {
		file := filepath.Join(dir, name+".png")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			p.t.Fatal(err)
		}
		if err := os.WriteFile(file, png, 0o644); err != nil {
			p.t.Fatal(err)
		}
		p.t.Logf("screenshot: %s", file)
	}
	return png
}

// syncBuffer is a bytes.Buffer that the browser's output and the test may
// use at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(b)
}

func (s *syncBuffer) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Len()
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
