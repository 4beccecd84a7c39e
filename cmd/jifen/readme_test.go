package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestReadmeExamples runs the README's examples, in order, against a fresh
// jifen serve on SQLite, and checks every response the README shows. The
// README's conventions, which this test reads:
//
//   - Every ```sh block is read as a shell script of simple commands:
//     words, '…' and "…" quoting (with $NAME and ${NAME} expanded inside
//     double quotes and outside quotes, no word splitting), backslash-newline
//     continuation, and # comments. An unset variable is an error.
//   - NAME=value and export NAME=value set a variable for the rest of the
//     README. A value written <…> is one the reader fills in: <the admin
//     key> is the key the test server was started with, <the secret above>
//     the "secret" of the latest response that had one. The one command
//     substitution known is $(date -u +%FT%TZ), the time now (UTC, whole
//     seconds); sleep N sleeps.
//   - curl commands are the requests: -X sets the method, else POST when
//     -d is given, else GET; -H adds a header; -d is the body (sent, as
//     curl does, as application/x-www-form-urlencoded unless a header says
//     otherwise); -s is ignored; anything else fails the test. The URL's
//     localhost:8080 is the test server. Other commands (go, nats, …) are
//     not run.
//   - A comment "→ [status] [json]" right after a curl command is its
//     response, continued on the next comment lines while its brackets are
//     open. With a status the response must have it, else any 2xx; a curl
//     without one must answer 2xx. The JSON is matched partially: every
//     field shown must be there and match, fields not shown are ignored.
//     "…" stands for anything: as a field ({…,"a":1}), as a value
//     ("a":"…" is any string, {…} any object), as array elements ([…] or
//     [x,…]: any number of elements there), and inside a string ("hold_…"
//     is any string that starts with hold_).
//   - Generated values are examples. In a request, an ID written with "…"
//     (hold_…, cpt_…, rwd_…) is the ID of that type that the latest
//     response naming one in its "id" returned. A coupon code (12
//     characters of the coupon alphabet) shown in a response matches any
//     code, and later requests that use the example get the code returned.
//     An ID with a name after its "…" (mer_…cafe) is one ID throughout:
//     the response that shows it as its "id" binds the name to the ID it
//     returned, and requests and shown responses after that mean that ID.
//
// ```json blocks that are not requests must be valid JSON.
func TestReadmeExamples(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	const key = "readme-test-admin-key-0123456789"
	base, _ := startServe(t, map[string]string{
		"JIFEN_DB": "sqlite:" + filepath.Join(t.TempDir(), "readme.db"), "JIFEN_ADMIN_KEY": key, "JIFEN_LOG_FORMAT": "json",
	})
	r := &readmeRun{t: t, base: base, key: key, vars: map[string]string{}, ids: map[string]string{}, named: map[string]string{}, codes: map[string]string{}}
	for _, b := range fencedBlocks(string(src)) {
		switch b.lang {
		case "json":
			if !json.Valid([]byte(b.body)) {
				t.Errorf("README.md:%d: the json block is not valid JSON:\n%s", b.line, b.body)
			}
		case "sh":
			items, err := parseShell(b.body, b.line+1)
			if err != nil {
				t.Fatalf("README.md: %v", err)
			}
			r.block(items)
		}
	}
	if r.requests < 10 || r.checked < 5 {
		t.Fatalf("ran %d requests and checked %d responses: the README's examples were not found", r.requests, r.checked)
	}
	t.Logf("ran %d requests, checked %d shown responses", r.requests, r.checked)
}

type fenced struct {
	lang string
	line int // of the opening fence, 1-based
	body string
}

// fencedBlocks returns the README's fenced code blocks.
func fencedBlocks(md string) []fenced {
	var out []fenced
	var cur *fenced
	var body strings.Builder
	for i, line := range strings.Split(md, "\n") {
		fence, ok := strings.CutPrefix(strings.TrimSpace(line), "```")
		switch {
		case !ok && cur != nil:
			body.WriteString(line + "\n")
		case ok && cur == nil:
			cur = &fenced{lang: strings.TrimSpace(fence), line: i + 1}
			body.Reset()
		case ok && cur != nil:
			cur.body = body.String()
			out = append(out, *cur)
			cur = nil
		}
	}
	return out
}

// A shell word is literal text and variable references, expanded when the
// command runs (after the assignments before it).
type wordPart struct {
	lit      string
	variable string // set for $NAME
	command  string // set for $(command)
}

type shellWord []wordPart

type shellItem struct {
	line    int
	words   []shellWord // a command, or
	comment string      // a comment on a line of its own, without '#'
}

var varName = regexp.MustCompile(`^(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))`)

// parseShell splits a block into commands and comment lines.
func parseShell(src string, line int) ([]shellItem, error) {
	var (
		items   []shellItem
		cmd     []shellWord
		cur     shellWord
		lit     strings.Builder
		inWord  bool
		cmdLine = line
	)
	flushLit := func() {
		if lit.Len() > 0 {
			cur = append(cur, wordPart{lit: lit.String()})
			lit.Reset()
		}
	}
	startWord := func() {
		if !inWord && len(cmd) == 0 {
			cmdLine = line
		}
		inWord = true
	}
	endWord := func() {
		flushLit()
		if inWord {
			cmd = append(cmd, cur)
		}
		cur, inWord = nil, false
	}
	endCmd := func() {
		endWord()
		if len(cmd) > 0 {
			items = append(items, shellItem{line: cmdLine, words: cmd})
		}
		cmd = nil
	}
	// variable reads $NAME or ${NAME} at src[i] == '$'; a '$' not followed
	// by a name is a literal '$'.
	variable := func(i int) int {
		if strings.HasPrefix(src[i:], "$(") {
			if end := strings.IndexByte(src[i:], ')'); end > 0 {
				flushLit()
				cur = append(cur, wordPart{command: src[i+2 : i+end]})
				return i + end + 1
			}
		}
		m := varName.FindStringSubmatch(src[i+1:])
		if m == nil {
			lit.WriteByte('$')
			return i + 1
		}
		flushLit()
		cur = append(cur, wordPart{variable: m[1] + m[2]})
		return i + 1 + len(m[0])
	}
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '\n' || c == ';':
			endCmd()
			if c == '\n' {
				line++
			}
			i++
		case c == ' ' || c == '\t':
			endWord()
			i++
		case c == '#' && !inWord:
			end := strings.IndexByte(src[i:], '\n')
			if end < 0 {
				end = len(src) - i
			}
			text := src[i+1 : i+end]
			if len(cmd) == 0 {
				items = append(items, shellItem{line: line, comment: text})
			} else if strings.HasPrefix(strings.TrimSpace(text), "→") {
				return nil, fmt.Errorf("README.md:%d: a response goes on a comment line of its own, after the command", line)
			}
			i += end
		case c == '\\':
			if i+1 < len(src) && src[i+1] == '\n' {
				line++
			} else if i+1 < len(src) {
				startWord()
				lit.WriteByte(src[i+1])
			}
			i += 2
		case c == '\'':
			end := strings.IndexByte(src[i+1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("README.md:%d: unterminated '", line)
			}
			s := src[i+1 : i+1+end]
			startWord()
			lit.WriteString(s)
			line += strings.Count(s, "\n")
			i += end + 2
		case c == '"':
			startWord()
			start := line
			for i++; ; {
				if i >= len(src) {
					return nil, fmt.Errorf(`README.md:%d: unterminated "`, start)
				}
				if src[i] == '"' {
					i++
					break
				}
				switch c := src[i]; {
				case c == '\\' && i+1 < len(src) && strings.IndexByte("\"\\$`", src[i+1]) >= 0:
					lit.WriteByte(src[i+1])
					i += 2
				case c == '\\' && i+1 < len(src) && src[i+1] == '\n':
					line++
					i += 2
				case c == '$':
					i = variable(i)
				default:
					if c == '\n' {
						line++
					}
					lit.WriteByte(c)
					i++
				}
			}
		case c == '$':
			startWord()
			i = variable(i)
		default:
			startWord()
			lit.WriteByte(c)
			i++
		}
	}
	endCmd()
	return items, nil
}

// readmeRun is the state of the README's shell session and server.
type readmeRun struct {
	t         *testing.T
	base, key string
	vars      map[string]string // shell variables
	ids       map[string]string // latest ID returned, by type prefix
	named     map[string]string // named example ID (mer_…cafe) → the ID it stands for
	codes     map[string]string // example coupon code in the README → code returned
	secret    string            // the latest "secret" a response returned

	pending           *curlRequest // the last curl, run when its response lines are in
	requests, checked int
}

type curlRequest struct {
	line    int
	method  string
	url     string
	header  http.Header
	body    string
	hasBody bool

	response string // "→ …" with its continuation lines; "" when none is shown
	open     int    // brackets still open in response
}

var varAssigned = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

var assignment = regexp.MustCompile(`(?s)^([A-Za-z_][A-Za-z0-9_]*)=(.*)$`)

// block runs one ```sh block.
func (r *readmeRun) block(items []shellItem) {
	t := r.t
	for _, it := range items {
		if it.words == nil {
			text := strings.TrimSpace(it.comment)
			switch {
			case r.pending != nil && r.pending.open > 0:
				r.pending.response += " " + text
				r.pending.open += brackets(text)
			case strings.HasPrefix(text, "→"):
				if r.pending == nil || r.pending.response != "" {
					t.Fatalf("README.md:%d: a response (→) that does not follow a curl command", it.line)
				}
				r.pending.response = text
				r.pending.open = brackets(text)
			}
			continue
		}
		r.flush()
		first := literal(it.words[0])
		switch {
		case first == "curl":
			args := make([]string, len(it.words)-1)
			for i, w := range it.words[1:] {
				args[i] = r.expand(it.line, w)
			}
			c, err := parseCurl(args)
			if err != nil {
				t.Fatalf("README.md:%d: %v", it.line, err)
			}
			c.line = it.line
			r.pending = &c
		case first == "export" || (varAssigned.MatchString(first) && (len(it.words) == 1 || strings.Contains(first, "=<"))):
			words := it.words
			if first == "export" {
				words = words[1:]
			}
			text := make([]string, len(words))
			for i, w := range words {
				text[i] = r.expand(it.line, w)
			}
			m := assignment.FindStringSubmatch(strings.Join(text, " "))
			if m == nil {
				t.Fatalf("README.md:%d: not an assignment: %q", it.line, text)
			}
			if strings.HasPrefix(m[2], "<") && strings.HasSuffix(m[2], ">") {
				switch {
				case m[2] == "<the admin key>":
					m[2] = r.key
				case m[2] == "<the secret above>" && r.secret != "":
					m[2] = r.secret
				default:
					t.Fatalf("README.md:%d: %s=%s: the test knows no value for it", it.line, m[1], m[2])
				}
			}
			r.vars[m[1]] = m[2]
		case first == "sleep" && len(it.words) == 2:
			d, err := time.ParseDuration(literal(it.words[1]) + "s")
			if err != nil {
				t.Fatalf("README.md:%d: sleep %q: %v", it.line, literal(it.words[1]), err)
			}
			time.Sleep(d)
		default:
			t.Logf("README.md:%d: not run: %s …", it.line, first)
		}
	}
	r.flush()
}

// literal is a word's text up to its first variable or command.
func literal(w shellWord) string {
	var b strings.Builder
	for _, p := range w {
		if p.variable != "" || p.command != "" {
			break
		}
		b.WriteString(p.lit)
	}
	return b.String()
}

func (r *readmeRun) expand(line int, w shellWord) string {
	var b strings.Builder
	for _, p := range w {
		if p.command != "" {
			if p.command != "date -u +%FT%TZ" {
				r.t.Fatalf("README.md:%d: $(%s): the test runs only $(date -u +%%FT%%TZ)", line, p.command)
			}
			b.WriteString(time.Now().UTC().Format("2006-01-02T15:04:05Z"))
			continue
		}
		if p.variable == "" {
			b.WriteString(p.lit)
			continue
		}
		v, ok := r.vars[p.variable]
		if !ok {
			r.t.Fatalf("README.md:%d: $%s is used before it is set", line, p.variable)
		}
		b.WriteString(v)
	}
	return b.String()
}

func parseCurl(args []string) (curlRequest, error) {
	c := curlRequest{header: http.Header{}}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch a {
		case "-s", "--silent":
			continue
		case "-X", "--request", "-H", "--header", "-d", "--data", "--data-raw":
			if i+1 == len(args) {
				return c, fmt.Errorf("curl %s without a value", a)
			}
			i++
			v := args[i]
			switch a {
			case "-X", "--request":
				c.method = v
			case "-H", "--header":
				name, value, ok := strings.Cut(v, ":")
				if !ok {
					return c, fmt.Errorf("curl -H %q: want Name: value", v)
				}
				c.header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
			default:
				if c.hasBody {
					return c, fmt.Errorf("curl with two -d: give the body once")
				}
				c.body, c.hasBody = v, true
			}
		default:
			if strings.HasPrefix(a, "-") {
				return c, fmt.Errorf("curl %s: an option this test does not know", a)
			}
			if c.url != "" {
				return c, fmt.Errorf("curl with two URLs: %q and %q", c.url, a)
			}
			c.url = a
		}
	}
	rest, ok := strings.CutPrefix(strings.TrimPrefix(c.url, "http://"), "localhost:8080/")
	if !ok {
		return c, fmt.Errorf("curl %q: the examples call localhost:8080", c.url)
	}
	c.url = "/" + rest
	if c.method == "" {
		c.method = "GET"
		if c.hasBody {
			c.method = "POST"
		}
	}
	if c.hasBody && c.header.Get("Content-Type") == "" {
		c.header.Set("Content-Type", "application/x-www-form-urlencoded") // what curl -d sends
	}
	return c, nil
}

// brackets counts the JSON brackets that s opens less those it closes,
// outside strings.
func brackets(s string) int {
	n, inString := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case !inString && (c == '{' || c == '['):
			n++
		case !inString && (c == '}' || c == ']'):
			n--
		}
	}
	return n
}

var (
	idPlaceholder = regexp.MustCompile(`\b([a-z]+)_…`)
	namedID       = regexp.MustCompile(`\b[a-z]+_…[a-z0-9]+`)
	shownNamedID  = regexp.MustCompile(`^\{\s*"id"\s*:\s*"([a-z]+)_…([a-z0-9]+)"`)
	generatedID   = regexp.MustCompile(`^([a-z]+)_[0-9a-z]{26}$`)
	couponCode    = regexp.MustCompile(`^[2-9A-HJKMNP-Z]{12}$`)
	statusPrefix  = regexp.MustCompile(`^→\s*(\d{3})?\s*`)
)

// fill replaces the README's example IDs and codes in s with the ones the
// server returned.
func (r *readmeRun) fill(line int, s string) string {
	s = namedID.ReplaceAllStringFunc(s, func(p string) string {
		id, ok := r.named[p]
		if !ok {
			r.t.Fatalf("README.md:%d: %s: no response before it showed it as its id", line, p)
		}
		return id
	})
	s = idPlaceholder.ReplaceAllStringFunc(s, func(p string) string {
		prefix := strings.TrimSuffix(p, "_…")
		id, ok := r.ids[prefix]
		if !ok {
			r.t.Fatalf("README.md:%d: %s: no response before it returned an ID starting %s_", line, p, prefix)
		}
		return id
	})
	for example, code := range r.codes {
		s = strings.ReplaceAll(s, example, code)
	}
	if strings.Contains(s, "…") {
		r.t.Fatalf("README.md:%d: %q still holds a placeholder the test cannot fill", line, s)
	}
	return s
}

// flush runs the pending curl and checks its response.
func (r *readmeRun) flush() {
	c := r.pending
	if c == nil {
		return
	}
	r.pending = nil
	t := r.t
	if c.open != 0 {
		t.Fatalf("README.md:%d: the response's brackets do not close: %s", c.line, c.response)
	}
	path := r.fill(c.line, c.url)
	body := r.fill(c.line, c.body)
	req, err := http.NewRequest(c.method, r.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatalf("README.md:%d: %v", c.line, err)
	}
	for name, vs := range c.header {
		for _, v := range vs {
			req.Header.Add(name, r.fill(c.line, v))
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("README.md:%d: %s %s: %v", c.line, c.method, path, err)
	}
	raw, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatalf("README.md:%d: %s %s: %v", c.line, c.method, path, err)
	}
	r.requests++
	t.Logf("README.md:%d: %s %s → %d", c.line, c.method, path, res.StatusCode)
	var got any
	if strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
		// A CSV report: checked for its status only (the README shows it
		// in comments, not as a response).
		raw = nil
	}
	if len(bytes.TrimSpace(raw)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&got); err != nil {
			t.Fatalf("README.md:%d: %s %s answered %d with a body that is not JSON: %v\n%s", c.line, c.method, path, res.StatusCode, err, raw)
		}
	}
	wantStatus, pattern := 0, ""
	if c.response != "" {
		m := statusPrefix.FindStringSubmatch(c.response)
		if m[1] != "" {
			fmt.Sscan(m[1], &wantStatus)
		}
		pattern = c.response[len(m[0]):]
	}
	if obj, ok := got.(map[string]any); ok {
		if id, ok := obj["id"].(string); ok {
			if m := generatedID.FindStringSubmatch(id); m != nil {
				r.ids[m[1]] = id
				if n := shownNamedID.FindStringSubmatch(pattern); n != nil && n[1] == m[1] {
					r.named[n[1]+"_…"+n[2]] = id
				}
			}
		}
		if secret, ok := obj["secret"].(string); ok {
			r.secret = secret
		}
	}
	// Named IDs in the shown response are the IDs they stand for.
	for name, id := range r.named {
		pattern = strings.ReplaceAll(pattern, name, id)
	}
	switch {
	case wantStatus != 0 && res.StatusCode != wantStatus:
		t.Fatalf("README.md:%d: %s %s answered %d, the README shows %d:\n%s", c.line, c.method, path, res.StatusCode, wantStatus, raw)
	case wantStatus == 0 && (res.StatusCode < 200 || res.StatusCode > 299):
		t.Fatalf("README.md:%d: %s %s answered %d:\n%s", c.line, c.method, path, res.StatusCode, raw)
	}
	if pattern == "" {
		return
	}
	want, err := parseShown(pattern)
	if err != nil {
		t.Fatalf("README.md:%d: the response shown is not JSON with …: %v\n%s", c.line, err, pattern)
	}
	if err := r.match("", want, got); err != nil {
		t.Fatalf("README.md:%d: %s %s: %v\nthe README shows: %s\nthe server said:  %s", c.line, c.method, path, err, pattern, raw)
	}
	r.checked++
}

// elided is what a bare … in a shown response becomes.
const elided = "\x00…"

// parseShown turns a response as the README shows it into JSON: a bare …
// becomes the string elided, or, where a field's name would be, a field
// named elided.
func parseShown(s string) (any, error) {
	var b strings.Builder
	var stack []rune
	inString, escaped, keyNext := false, false, false
	for _, c := range s {
		if inString {
			b.WriteRune(c)
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			stack = append(stack, c)
			keyNext = c == '{'
		case '}', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			keyNext = false
		case ',':
			keyNext = len(stack) > 0 && stack[len(stack)-1] == '{'
		case ':':
			keyNext = false
		case '…':
			if keyNext {
				b.WriteString(`"\u0000…":null`)
			} else {
				b.WriteString(`"\u0000…"`)
			}
			continue
		}
		b.WriteRune(c)
	}
	dec := json.NewDecoder(strings.NewReader(b.String()))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("more after the JSON value")
	}
	return v, nil
}

// match checks got against a shown response; path names the place for
// the message.
func (r *readmeRun) match(path string, want, got any) error {
	switch w := want.(type) {
	case string:
		if w == elided {
			return nil
		}
		g, ok := got.(string)
		switch {
		case !ok:
			return fmt.Errorf("%s: got %v, the README shows the string %q", where(path), got, w)
		case couponCode.MatchString(w):
			if !couponCode.MatchString(g) {
				return fmt.Errorf("%s: got %q, the README shows a coupon code (%s)", where(path), g, w)
			}
			r.codes[w] = g
		case !glob(w, g):
			return fmt.Errorf("%s: got %q, the README shows %q", where(path), g, w)
		}
		return nil
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: got %v, the README shows an object", where(path), got)
		}
		for _, k := range slices.Sorted(maps.Keys(w)) {
			if k == elided {
				continue
			}
			gv, ok := g[k]
			if !ok {
				return fmt.Errorf("%s.%s: missing", path, k)
			}
			if err := r.match(path+"."+k, w[k], gv); err != nil {
				return err
			}
		}
		return nil
	case []any:
		g, ok := got.([]any)
		if !ok {
			return fmt.Errorf("%s: got %v, the README shows an array", where(path), got)
		}
		if !slices.Contains(w, any(elided)) {
			if len(w) != len(g) {
				return fmt.Errorf("%s: got %d elements, the README shows %d", where(path), len(g), len(w))
			}
			for i := range w {
				if err := r.match(fmt.Sprintf("%s[%d]", path, i), w[i], g[i]); err != nil {
					return err
				}
			}
			return nil
		}
		if !r.matchSeq(w, g) {
			shown, _ := json.Marshal(got)
			return fmt.Errorf("%s: the elements shown do not match, in order, those returned: %s", where(path), shown)
		}
		return nil
	case json.Number:
		if g, ok := got.(json.Number); !ok || g.String() != w.String() {
			return fmt.Errorf("%s: got %v, the README shows %s", where(path), got, w)
		}
		return nil
	default:
		if got != want {
			return fmt.Errorf("%s: got %v, the README shows %v", where(path), got, want)
		}
		return nil
	}
}

// matchSeq matches array elements in order; an elided element stands for
// any number of elements.
func (r *readmeRun) matchSeq(want, got []any) bool {
	if len(want) == 0 {
		return len(got) == 0
	}
	if want[0] == elided {
		for skip := 0; skip <= len(got); skip++ {
			if r.matchSeq(want[1:], got[skip:]) {
				return true
			}
		}
		return false
	}
	if len(got) == 0 || r.match("", want[0], got[0]) != nil {
		return false
	}
	return r.matchSeq(want[1:], got[1:])
}

// glob matches s against a pattern in which … stands for any text.
func glob(pattern, s string) bool {
	parts := strings.Split(pattern, "…")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

func where(path string) string {
	if path == "" {
		return "the response"
	}
	return path
}

// TestReadmeShownResponses checks the matcher itself on the README's
// conventions.
func TestReadmeShownResponses(t *testing.T) {
	tests := []struct {
		shown, got string
		ok         bool
	}{
		{`{"id":"hold_…","status":"held","expires_at":"…",…}`, `{"id":"hold_01","status":"held","expires_at":"2026-01-01T00:00:00Z","points":5}`, true},
		{`{"id":"hold_…","status":"held"}`, `{"id":"hold_01","status":"released"}`, false},
		{`{"id":"hold_…"}`, `{"id":"rdm_01"}`, false},
		{`{"expires_at":"…"}`, `{"expires_at":null}`, false},
		{`{"expires_at":…}`, `{"expires_at":null}`, true},
		{`{"points":{"available":700,…},"growth":{…}}`, `{"points":{"available":700,"held":0},"growth":{"available":0}}`, true},
		{`{"points":{"available":700,…}}`, `{"points":{"available":701}}`, false},
		{`{"growth":{…}}`, `{"growth":1}`, false},
		{`{"a":[{"p":1},{…,"p":2}]}`, `{"a":[{"p":1},{"p":2,"q":3}]}`, true},
		{`{"a":[{"p":1},{…,"p":2}]}`, `{"a":[{"p":1},{"p":2},{"p":3}]}`, false},
		{`{"a":[{"p":1},{…,"p":2},…]}`, `{"a":[{"p":1},{"p":2},{"p":3}]}`, true},
		{`{"a":[…]}`, `{"a":[]}`, true},
		{`{"a":[…,{"p":3}]}`, `{"a":[{"p":1},{"p":3}]}`, true},
		{`{"a":[…,{"p":3}]}`, `{"a":[{"p":3},{"p":1}]}`, false},
		{`{"code":"insufficient_points","detail":"99999 points are needed, 700 are available",…}`, `{"code":"insufficient_points","detail":"99999 points are needed, 700 are available"}`, true},
		{`{"code":"88G8DCR9Q878","status":"active"}`, `{"code":"VU7AKDCN8QVP","status":"active"}`, true},
		{`{"code":"88G8DCR9Q878"}`, `{"code":"not_found"}`, false},
		{`{"ok":true,"x":null}`, `{"ok":true,"x":null}`, true},
		{`{"ok":true}`, `{"ok":false}`, false},
	}
	for _, tt := range tests {
		want, err := parseShown(tt.shown)
		if err != nil {
			t.Fatalf("parseShown(%s): %v", tt.shown, err)
		}
		var got any
		dec := json.NewDecoder(strings.NewReader(tt.got))
		dec.UseNumber()
		if err := dec.Decode(&got); err != nil {
			t.Fatal(err)
		}
		r := &readmeRun{codes: map[string]string{}}
		if err := r.match("", want, got); (err == nil) != tt.ok {
			t.Errorf("%s against %s: %v, want ok=%v", tt.shown, tt.got, err, tt.ok)
		}
	}
}

// TestReadmeShell checks the shell reading on the README's constructs.
func TestReadmeShell(t *testing.T) {
	src := `H="Authorization: Bearer $KEY"
# a comment
ORDER='{"a":1,
  "b":2}'
curl -s localhost:8080/v1/events -H "$H" \
  -d '{"data":'"$ORDER"'}'   # trailing
#   → {"x":[1,
#      2]}
`
	items, err := parseShell(src, 1)
	if err != nil {
		t.Fatal(err)
	}
	r := &readmeRun{t: t, vars: map[string]string{"KEY": "k"}}
	var got []string
	for _, it := range items {
		if it.words == nil {
			got = append(got, fmt.Sprintf("%d #%s", it.line, it.comment))
			continue
		}
		var ws []string
		for _, w := range it.words {
			ws = append(ws, r.expand(it.line, w))
		}
		if len(ws) == 1 {
			if m := assignment.FindStringSubmatch(ws[0]); m != nil {
				r.vars[m[1]] = m[2]
			}
		}
		got = append(got, fmt.Sprintf("%d %q", it.line, ws))
	}
	want := []string{
		`1 ["H=Authorization: Bearer k"]`,
		`2 # a comment`,
		`3 ["ORDER={\"a\":1,\n  \"b\":2}"]`,
		`5 ["curl" "-s" "localhost:8080/v1/events" "-H" "Authorization: Bearer k" "-d" "{\"data\":{\"a\":1,\n  \"b\":2}}"]`,
		`7 #   → {"x":[1,`,
		`8 #      2]}`,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("parseShell:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
