package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/store/storetest"
)

// The shipped nginx configuration, tested here as it is, with only its
// addresses, certificate and log paths rewritten.
const nginxConf = "../../deploy/nginx/jifen.conf"

const nginxAdminKey = "nginx-test-admin-key-0000000001"

// TestNginx runs deploy/nginx/jifen.conf in front of two jifen serve nodes
// that share one database (PostgreSQL when JIFEN_TEST_POSTGRES is set),
// and checks what docs/deploy.md says of it: requests reach both nodes
// with their X-Request-Id; writes with an Idempotency-Key replay across
// nodes; bodies up to JIFEN_MAX_BODY pass and larger ones get nginx's 413
// as problem+json; /metrics is not served; when a node stops, requests go
// to the other without a client error; and when a node fails with a
// request in hand, nginx resends it only if it is safe to repeat (an
// Idempotency-Key, or POST /v1/events), never a bare POST.
//
// It skips when nginx is neither on PATH nor /usr/sbin/nginx, unless
// JIFEN_TEST_NGINX_REQUIRED=1.
func TestNginx(t *testing.T) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		bin, err = exec.LookPath("/usr/sbin/nginx") // Debian's, off a user's PATH
	}
	if err != nil {
		msg := "nginx is not on PATH; install it (Debian: apt-get install -y nginx-light) to test deploy/nginx/jifen.conf"
		if os.Getenv("JIFEN_TEST_NGINX_REQUIRED") == "1" {
			t.Fatal(msg + " (JIFEN_TEST_NGINX_REQUIRED=1)")
		}
		t.Skip(msg)
	}
	conf, err := os.ReadFile(nginxConf)
	if err != nil {
		t.Fatal(err)
	}

	// PostgreSQL is what several nodes share in production. Without it the
	// two nodes share one SQLite file: fine for testing the proxy, not a
	// deployment (docs/deploy.md).
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "jifen.db")
	if pg := os.Getenv(storetest.EnvPostgres); pg != "" {
		dsn = storetest.FreshSchema(t, pg)
	} else {
		t.Log("JIFEN_TEST_POSTGRES unset: the two nodes share a SQLite file")
	}
	a := startNginxNode(t, "a", dsn)
	b := startNginxNode(t, "b", dsn)
	nodes := []*nginxNode{a, b}
	ng := startNginx(t, bin, string(conf), []string{a.addr, b.addr})

	t.Run("health", func(t *testing.T) {
		for _, path := range []string{"/healthz", "/readyz"} {
			res := ng.do(t, "GET", path, "", nil)
			if res.status != 200 {
				t.Fatalf("GET %s through nginx = %d %s", path, res.status, res.body)
			}
		}
		res := ng.do(t, "GET", "/metrics", "", nil)
		if res.status != 404 || res.problem(t).Code != "not_found" {
			t.Fatalf("GET /metrics through nginx = %d %s; want 404 problem", res.status, res.body)
		}
		direct, err := http.Get("http://" + a.addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		direct.Body.Close()
		if direct.StatusCode != 200 {
			t.Fatalf("GET /metrics on the node = %d", direct.StatusCode)
		}
		plain, err := ng.client.Get("http://" + ng.httpAddr + "/v1/program")
		if err != nil {
			t.Fatal(err)
		}
		plain.Body.Close()
		if loc := plain.Header.Get("Location"); plain.StatusCode != 308 || !strings.HasPrefix(loc, "https://") || !strings.HasSuffix(loc, "/v1/program") {
			t.Fatalf("plain HTTP = %d Location %q; want 308 to https", plain.StatusCode, loc)
		}
	})

	t.Run("request id", func(t *testing.T) {
		res := ng.do(t, "GET", "/v1/program", "rid-roundtrip-1", nil, nginxHeader("Authorization", "Bearer "+nginxAdminKey))
		if res.status != 200 || res.header.Get("X-Request-Id") != "rid-roundtrip-1" {
			t.Fatalf("GET /v1/program = %d, X-Request-Id %q: %s", res.status, res.header.Get("X-Request-Id"), res.body)
		}
		servedBy(t, nodes, "rid-roundtrip-1")
		// Without one, nginx's $request_id is the ID everywhere.
		res = ng.do(t, "GET", "/v1/program", "", nil, nginxHeader("Authorization", "Bearer "+nginxAdminKey))
		rid := res.header.Get("X-Request-Id")
		if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(rid) {
			t.Fatalf("X-Request-Id without one sent = %q; want nginx's $request_id", rid)
		}
		servedBy(t, nodes, rid)
		ng.accessLine(t, rid)
		// One Jifen would refuse is replaced, so both logs agree.
		res = ng.do(t, "GET", "/v1/ping", "not valid!", nil, nginxHeader("Authorization", "Bearer "+nginxAdminKey))
		if rid = res.header.Get("X-Request-Id"); rid == "not valid!" {
			t.Fatalf("an invalid X-Request-Id came back as %q", rid)
		}
		servedBy(t, nodes, rid)
		ng.accessLine(t, rid)
	})

	t.Run("both nodes", func(t *testing.T) {
		seen := map[string]int{}
		for i := range 10 {
			rid := fmt.Sprintf("spread-%d", i)
			if res := ng.do(t, "GET", "/v1/ping", rid, nil, nginxHeader("Authorization", "Bearer "+nginxAdminKey)); res.status != 200 {
				t.Fatalf("GET /v1/ping = %d %s", res.status, res.body)
			}
			seen[servedBy(t, nodes, rid).name]++
		}
		if seen["a"] == 0 || seen["b"] == 0 {
			t.Fatalf("requests per node %v; want both", seen)
		}
	})

	t.Run("idempotency across nodes", func(t *testing.T) {
		auth := nginxHeader("Authorization", "Bearer "+nginxAdminKey)
		var servers []string
		for i := range 4 {
			rid := fmt.Sprintf("idem-member-%d", i)
			res := ng.do(t, "POST", "/v1/members", rid, []byte(`{"external_id":"u-nginx"}`), auth, nginxHeader("Idempotency-Key", "nginx-member-1"))
			if res.status != 201 || (i > 0) != (res.header.Get("Idempotent-Replayed") == "true") {
				t.Fatalf("POST /v1/members #%d = %d replayed=%q: %s", i, res.status, res.header.Get("Idempotent-Replayed"), res.body)
			}
			servers = append(servers, servedBy(t, nodes, rid).name)
		}
		if !strings.Contains(strings.Join(servers, ""), "a") || !strings.Contains(strings.Join(servers, ""), "b") {
			t.Fatalf("the create and its replays were served by %v; want both nodes", servers)
		}
		earn := []byte(`{"points":1200,"reason":"order 8001","reference":"8001"}`)
		for i := range 3 {
			res := ng.do(t, "POST", "/v1/members/ext:u-nginx/points/earn", "", earn, auth, nginxHeader("Idempotency-Key", "nginx-earn-1"))
			if res.status != 201 {
				t.Fatalf("earn #%d = %d %s", i, res.status, res.body)
			}
		}
		if got := ng.available(t, "u-nginx"); got != 1200 {
			t.Fatalf("available after one earn sent three times = %d; want 1200", got)
		}
	})

	t.Run("body limit", func(t *testing.T) {
		auth := nginxHeader("Authorization", "Bearer "+nginxAdminKey)
		// Exactly JIFEN_MAX_BODY: nginx lets it through and the node decides.
		body := memberBodyOfSize(1 << 20)
		res := ng.do(t, "POST", "/v1/members", "body-at-limit", body, auth)
		if res.status == 413 {
			t.Fatalf("a body of exactly 1 MiB = 413 %s; want nginx to pass it to a node", res.body)
		}
		servedBy(t, nodes, "body-at-limit")
		body = memberBodyOfSize(1<<20 + 1)
		res = ng.do(t, "POST", "/v1/members", "body-over-limit", body, auth)
		if res.status != 413 || res.problem(t).Code != "payload_too_large" || res.header.Get("X-Request-Id") != "body-over-limit" {
			t.Fatalf("a body of 1 MiB + 1 = %d %s; want nginx's 413 problem", res.status, res.body)
		}
		if l := ng.accessLine(t, "body-over-limit"); l.UpstreamAddr != "" || l.Status != 413 {
			t.Fatalf("a body over the limit: access log %+v; want 413 from nginx, no node tried", l)
		}
	})

	t.Run("node stops", func(t *testing.T) {
		auth := nginxHeader("Authorization", "Bearer "+nginxAdminKey)
		b.stop(t)
		for i := range 8 {
			rid := fmt.Sprintf("after-stop-%d", i)
			if res := ng.do(t, "GET", "/v1/program", rid, nil, auth); res.status != 200 {
				t.Fatalf("GET with node b stopped = %d %s", res.status, res.body)
			}
			// A POST without a key too: refused connections never reached
			// a node, so nginx may send them to the next one.
			rid = fmt.Sprintf("after-stop-post-%d", i)
			body := fmt.Appendf(nil, `{"external_id":"after-stop-%d"}`, i)
			if res := ng.do(t, "POST", "/v1/members", rid, body, auth); res.status != 201 {
				t.Fatalf("POST with node b stopped = %d %s", res.status, res.body)
			}
		}
		if !ng.anyTried(t, "after-stop-post-7", b.addr, a.addr) {
			t.Fatal("nginx never tried the stopped node and then the other: the failover was not exercised")
		}
	})

	// A node that takes a request and dies before answering: nginx #2 has
	// it first in its upstream and node a second.
	t.Run("node fails mid-request", func(t *testing.T) {
		auth := nginxHeader("Authorization", "Bearer "+nginxAdminKey)
		drop := startDropNode(t)
		ng2 := startNginx(t, bin, string(conf), []string{drop.addr(), a.addr})
		// untilDropped sends requests until one goes to the failing node
		// (round robin: within a few), and checks each response.
		untilDropped := func(prefix string, send func(rid string) nginxResponse, check func(rid string, res nginxResponse, dropped bool)) {
			t.Helper()
			for i := range 4 {
				rid := fmt.Sprintf("%s-%d", prefix, i)
				before := drop.hits.Load()
				res := send(rid)
				dropped := drop.hits.Load() > before
				check(rid, res, dropped)
				if dropped {
					return
				}
			}
			t.Fatalf("%s: the failing node was never chosen", prefix)
		}

		// Without a key: not resent (the node may have applied it).
		untilDropped("drop-bare", func(rid string) nginxResponse {
			return ng2.do(t, "POST", "/v1/members", rid, fmt.Appendf(nil, `{"external_id":%q}`, rid), auth,
				nginxHeader("X-Forwarded-For", "203.0.113.9"))
		}, func(rid string, res nginxResponse, dropped bool) {
			if !dropped {
				if res.status != 201 {
					t.Fatalf("POST on the healthy node = %d %s", res.status, res.body)
				}
				return
			}
			if res.status != 502 || res.problem(t).Code != "unavailable" || res.header.Get("Retry-After") == "" || res.header.Get("X-Request-Id") != rid {
				t.Fatalf("POST without a key to a failing node = %d %v %s; want a 502 problem with Retry-After and X-Request-Id", res.status, res.header, res.body)
			}
			// What a node receives from nginx.
			got := drop.last()
			want := http.Header{"X-Request-Id": {rid}, "X-Real-Ip": {"127.0.0.1"}, "X-Forwarded-For": {"127.0.0.1"},
				"X-Forwarded-Proto": {"https"}, "Idempotency-Key": nil, "Connection": nil}
			for k, v := range want {
				if !slices.Equal(got.Header.Values(k), v) {
					t.Errorf("the node got %s: %q; want %q", k, got.Header.Values(k), v)
				}
			}
			if got.Proto != "HTTP/1.1" || got.Close {
				t.Errorf("the node got %s, Connection: close %v; want HTTP/1.1 kept alive", got.Proto, got.Close)
			}
			// Asked of node a directly, so nginx's round robin is left as it is.
			if code, _ := get(t, "http://"+a.addr+"/v1/members/ext:"+rid, nginxAdminKey); code != 404 {
				t.Fatalf("the bare POST was resent: member %s exists (%d)", rid, code)
			}
		})

		// With a key: resent to node a, applied once. The member is this
		// case's own, made on node a directly.
		call(t, "POST", "http://"+a.addr+"/v1/members", nginxAdminKey, `{"external_id":"u-drop"}`, 201)
		keyed := 0
		untilDropped("drop-keyed", func(rid string) nginxResponse {
			return ng2.do(t, "POST", "/v1/members/ext:u-drop/points/earn", rid, []byte(`{"points":10,"reason":"keyed"}`), auth,
				nginxHeader("Idempotency-Key", rid))
		}, func(rid string, res nginxResponse, dropped bool) {
			if res.status != 201 || dropped && !ng2.tried(t, rid, drop.addr(), a.addr) {
				t.Fatalf("keyed POST (failing node chosen: %v) = %d %s; want 201, resent to node a", dropped, res.status, res.body)
			}
			keyed++
		})

		// POST /v1/events, idempotent on the event's id: resent too.
		untilDropped("drop-event", func(rid string) nginxResponse {
			ev := fmt.Appendf(nil, `{"id":%q,"type":"order.paid","member":"ext:u-drop","data":{"order_id":%q,"amount":1000}}`, rid, rid)
			return ng2.do(t, "POST", "/v1/events", rid, ev, auth)
		}, func(rid string, res nginxResponse, dropped bool) {
			if res.status != 201 || dropped && !ng2.tried(t, rid, drop.addr(), a.addr) {
				t.Fatalf("POST /v1/events (failing node chosen: %v) = %d %s; want 201, resent to node a", dropped, res.status, res.body)
			}
		})
		if got, want := ng2.available(t, "u-drop"), int64(10*keyed); got != want {
			t.Fatalf("available = %d after %d keyed earns of 10; want %d", got, keyed, want)
		}
	})

	var out bytes.Buffer
	if code := run(context.Background(), []string{"verify", "--db", dsn}, env(nil), &out, &out); code != 0 {
		t.Fatalf("verify after the test: exit %d: %s", code, out.String())
	}
}

// nginxNode is one jifen serve running in this process.
type nginxNode struct {
	name, addr string
	log        *syncBuffer
	cancel     context.CancelFunc
	done       chan int
	once       sync.Once
}

// startNginxNode runs jifen serve on a free port, logging every request (with
// its request ID) as JSON, and waits until it is ready.
func startNginxNode(t *testing.T, name, dsn string) *nginxNode {
	t.Helper()
	n := &nginxNode{name: name, addr: freeAddr(t), log: &syncBuffer{}, done: make(chan int, 1)}
	vars := map[string]string{
		"JIFEN_ADDR": n.addr, "JIFEN_DB": dsn, "JIFEN_ADMIN_KEY": nginxAdminKey,
		"JIFEN_LOG_FORMAT": "json", "JIFEN_LOG_LEVEL": "debug",
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	go func() { n.done <- run(ctx, []string{"serve"}, env(vars), io.Discard, n.log) }()
	t.Cleanup(func() { n.stop(t) })
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get("http://" + n.addr + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return n
			}
		}
		select {
		case code := <-n.done:
			t.Fatalf("node %s exited %d: %s", name, code, n.log)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s not ready: %v\n%s", name, err, n.log)
		}
	}
}

// stop shuts the node down as SIGTERM would and waits for it.
func (n *nginxNode) stop(t *testing.T) {
	n.once.Do(func() {
		n.cancel()
		select {
		case code := <-n.done:
			if code != 0 {
				t.Errorf("node %s exited %d: %s", n.name, code, n.log)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("node %s did not stop within 30s", n.name)
		}
	})
}

func (n *nginxNode) served(rid string) bool {
	return strings.Contains(n.log.String(), `"request_id":"`+rid+`"`)
}

// servedBy returns the node that logged request rid, waiting a moment: a
// node logs a request after it has answered it.
func servedBy(t *testing.T, nodes []*nginxNode, rid string) *nginxNode {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, n := range nodes {
			if n.served(rid) {
				return n
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("request %s is in no node's log", rid)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// nginxProc is nginx running the shipped configuration in a directory of
// its own.
type nginxProc struct {
	dir, tlsAddr, httpAddr string
	client                 *http.Client
}

// startNginx renders the configuration for upstreams, checks it with
// nginx -t and runs nginx in the foreground until the test ends.
func startNginx(t *testing.T, bin, conf string, upstreams []string) *nginxProc {
	t.Helper()
	// Workers run as nobody when the test runs as root: the directory must
	// be theirs to enter (t.TempDir's parents are not).
	dir, err := os.MkdirTemp("", "jifen-nginx-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ng := &nginxProc{dir: dir, tlsAddr: freeAddr(t), httpAddr: freeAddr(t)}
	certPEM, keyPEM := selfSignedCert(t)
	write := func(name string, b []byte, mode os.FileMode) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	crt, key := write("tls.crt", certPEM, 0o644), write("tls.key", keyPEM, 0o600)
	site := write("jifen.conf", []byte(renderNginx(t, conf, upstreams, ng.tlsAddr, ng.httpAddr, crt, key, dir)), 0o644)
	if err := os.Mkdir(filepath.Join(dir, "tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	main := write("nginx.conf", fmt.Appendf(nil, `worker_processes 1;
error_log %[1]s/error.log info;
pid %[1]s/nginx.pid;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path %[1]s/tmp/body;
    proxy_temp_path %[1]s/tmp/proxy;
    fastcgi_temp_path %[1]s/tmp/fastcgi;
    uwsgi_temp_path %[1]s/tmp/uwsgi;
    scgi_temp_path %[1]s/tmp/scgi;
    include %[2]s;
}
`, dir, site), 0o644)
	args := []string{"-p", dir + "/", "-c", main}
	if out, err := exec.Command(bin, append(args, "-t")...).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s\nrendered:\n%s", err, out, readNginxFile(site))
	}
	var stderr syncBuffer
	cmd := exec.Command(bin, append(args, "-g", "daemon off;")...)
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGQUIT) // graceful: finish requests, then exit
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("nginx error log:\n%s%s", readNginxFile(filepath.Join(dir, "error.log")), readNginxFile(filepath.Join(dir, "jifen.error.log")))
		}
	})

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	ng.client = &http.Client{
		Timeout:       15 * time.Second,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	// Ready when it answers /metrics itself (404): a request that touches
	// no node, so the test's nodes see only the test's requests.
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := ng.client.Get("https://" + ng.tlsAddr + "/metrics")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 404 {
				return ng
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("nginx exited: %v\n%s", err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx not answering: %v\n%s", err, stderr.String())
		}
	}
}

// renderNginx points the shipped configuration at the test's nodes,
// ports, certificate and directory. Each rewrite must find its target, so
// a change in the file's shape fails here rather than testing less.
func renderNginx(t *testing.T, conf string, upstreams []string, tlsAddr, httpAddr, crt, key, dir string) string {
	t.Helper()
	replace := func(pattern string, fn func(m []string) string) {
		t.Helper()
		re := regexp.MustCompile(pattern)
		if !re.MatchString(conf) {
			t.Fatalf("%s: nothing matches %s", nginxConf, pattern)
		}
		conf = re.ReplaceAllStringFunc(conf, func(s string) string { return fn(re.FindStringSubmatch(s)) })
	}
	first := true
	replace(`(?m)^([ \t]*)server[ \t]+\d+\.\d+\.\d+\.\d+:\d+([^;\n]*);\n`, func(m []string) string {
		if !first {
			return ""
		}
		first = false
		var b strings.Builder
		for _, u := range upstreams {
			fmt.Fprintf(&b, "%sserver %s%s;\n", m[1], u, m[2])
		}
		return b.String()
	})
	replace(`(?m)^[ \t]*listen[ \t]+\[::\]:\d+[^;\n]*;\n`, func([]string) string { return "" })
	replace(`listen[ \t]+443\b`, func([]string) string { return "listen " + tlsAddr })
	replace(`listen[ \t]+80;`, func([]string) string { return "listen " + httpAddr + ";" })
	replace(`ssl_certificate[ \t]+\S+;`, func([]string) string { return "ssl_certificate " + crt + ";" })
	replace(`ssl_certificate_key[ \t]+\S+;`, func([]string) string { return "ssl_certificate_key " + key + ";" })
	replace(`/var/log/nginx/`, func([]string) string { return dir + "/" })
	return conf
}

type nginxResponse struct {
	status int
	header http.Header
	body   []byte
}

func (r nginxResponse) problem(t *testing.T) (p struct {
	Status int    `json:"status"`
	Code   string `json:"code"`
}) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("Content-Type %q, want application/problem+json: %s", ct, r.body)
	}
	if err := json.Unmarshal(r.body, &p); err != nil || p.Status != r.status {
		t.Fatalf("problem body %s (%v): status %d in it, %d on the nginxResponse", r.body, err, p.Status, r.status)
	}
	return p
}

func nginxHeader(k, v string) [2]string { return [2]string{k, v} }

// do sends a request through nginx over TLS; rid, when set, is its
// X-Request-Id.
func (ng *nginxProc) do(t *testing.T, method, path, rid string, body []byte, headers ...[2]string) nginxResponse {
	t.Helper()
	req, err := http.NewRequest(method, "https://"+ng.tlsAddr+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if rid != "" {
		req.Header.Set("X-Request-Id", rid)
	}
	for _, h := range headers {
		req.Header.Set(h[0], h[1])
	}
	res, err := ng.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return nginxResponse{res.StatusCode, res.Header, b}
}

func (ng *nginxProc) available(t *testing.T, ext string) int64 {
	t.Helper()
	res := ng.do(t, "GET", "/v1/members/ext:"+ext+"/balance", "", nil, nginxHeader("Authorization", "Bearer "+nginxAdminKey))
	var v struct {
		Points struct {
			Available int64 `json:"available"`
		} `json:"points"`
	}
	if res.status != 200 || json.Unmarshal(res.body, &v) != nil {
		t.Fatalf("balance of %s = %d %s", ext, res.status, res.body)
	}
	return v.Points.Available
}

type nginxAccess struct {
	RequestID    string `json:"request_id"`
	Status       int    `json:"status"`
	UpstreamAddr string `json:"upstream_addr"`
}

// accessLog reads nginx's access log for the server (format jifen).
func (ng *nginxProc) accessLog(t *testing.T) []nginxAccess {
	t.Helper()
	f, err := os.Open(filepath.Join(ng.dir, "jifen.access.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []nginxAccess
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l nginxAccess
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("access log line is not JSON: %v: %s", err, sc.Text())
		}
		out = append(out, l)
	}
	return out
}

// accessLine returns the access log line of request rid, waiting a
// moment: nginx logs a request after it has answered it.
func (ng *nginxProc) accessLine(t *testing.T, rid string) nginxAccess {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, l := range ng.accessLog(t) {
			if l.RequestID == rid {
				return l
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("request %s is not in nginx's access log", rid)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// tried reports whether request rid was sent to first and then to second.
func (ng *nginxProc) tried(t *testing.T, rid, first, second string) bool {
	t.Helper()
	return ng.accessLine(t, rid).UpstreamAddr == first+", "+second
}

// anyTried reports whether any request up to and including last was sent
// to first and then to second.
func (ng *nginxProc) anyTried(t *testing.T, last, first, second string) bool {
	t.Helper()
	ng.accessLine(t, last) // requests are sequential: the ones before are logged
	for _, l := range ng.accessLog(t) {
		if l.UpstreamAddr == first+", "+second {
			return true
		}
	}
	return false
}

// dropNode is a node that reads a whole request and closes the connection
// without answering, as a node that crashes mid-request does.
type dropNode struct {
	ln   net.Listener
	hits atomic.Int64
	mu   sync.Mutex
	req  *http.Request // the last one, body read
}

func (d *dropNode) last() *http.Request {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.req
}

func startDropNode(t *testing.T) *dropNode {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &dropNode{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				io.Copy(io.Discard, req.Body)
				d.mu.Lock()
				d.req = req
				d.mu.Unlock()
				d.hits.Add(1)
			}()
		}
	}()
	return d
}

func (d *dropNode) addr() string { return d.ln.Addr().String() }

// memberBodyOfSize is a JSON member of exactly n bytes.
func memberBodyOfSize(n int) []byte {
	head, tail := `{"external_id":"big","name":"`, `"}`
	return []byte(head + strings.Repeat("x", n-len(head)-len(tail)) + tail)
}

// selfSignedCert makes a certificate for 127.0.0.1.
func selfSignedCert(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "points.example.com"},
		DNSNames:     []string{"points.example.com"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

func readNginxFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}
