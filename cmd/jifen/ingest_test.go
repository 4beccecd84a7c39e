package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/ingest"
)

func postWithKey(t *testing.T, url, key, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var v map[string]any
	json.NewDecoder(res.Body).Decode(&v)
	return res.StatusCode, v
}

// metricSample reads one sample of the server's /metrics.
func metricSample(t *testing.T, base, sample string) string {
	t.Helper()
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), sample+" "); ok {
			return v
		}
	}
	return ""
}

// TestServeIngest runs jifen serve with --ingest: an event published on
// NATS credits the member, and the counter shows it.
func TestServeIngest(t *testing.T) {
	server := os.Getenv("JIFEN_TEST_NATS")
	if server == "" {
		t.Skip("set JIFEN_TEST_NATS=nats://127.0.0.1:4222 (a nats-server with -js) to run it")
	}
	run := id.Secret(8)
	names := ingest.Names{Stream: "JIFEN_TEST_" + strings.ToUpper(run), Prefix: "jifentest." + run, Consumer: "jifen"}
	nc, err := nats.Connect(server)
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		js.DeleteStream(context.Background(), names.Stream)
		nc.Close()
	})
	key := "an-admin-key-of-enough-length-42"
	base, stderr := startServe(t, map[string]string{
		"JIFEN_DB": "sqlite:" + filepath.Join(t.TempDir(), "j.db"), "JIFEN_ADMIN_KEY": key,
		"JIFEN_INGEST": fmt.Sprintf("%s?stream=%s&prefix=%s", server, names.Stream, names.Prefix),
	})
	if code, v := postWithKey(t, base+"/v1/rules", key, `{"name":"ten","event_type":"order.paid","reward":{"kind":"fixed","points":10}}`); code != 201 {
		t.Fatalf("create rule: %d %v", code, v)
	}
	code, m := postWithKey(t, base+"/v1/members", key, `{"external_id":"nats-1"}`)
	if code != 201 {
		t.Fatalf("create member: %d %v", code, m)
	}
	ev := `{"id":"n1","type":"order.paid","member":"ext:nats-1","data":{"order_id":"o1","amount":1000}}`
	if _, err := js.Publish(context.Background(), names.Subject("default"), []byte(ev)); err != nil {
		t.Fatalf("publish: %v", err)
	}
	deadline := time.After(20 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		_, bal := get(t, base+"/v1/members/"+m["id"].(string)+"/balance", key)
		if p, _ := bal["points"].(map[string]any); p != nil && p["available"] == float64(10) {
			break
		}
		select {
		case <-deadline:
			t.Fatalf("the event was not credited: balance %v\n%s", bal, stderr)
		case <-tick.C:
		}
	}
	// The message is counted once it is acked, which is after the commit
	// that made the balance visible: wait for it rather than read at once.
	for {
		got := metricSample(t, base, `jifen_ingest_messages_total{result="ok"}`)
		if got == "1" {
			break
		}
		select {
		case <-deadline:
			t.Fatalf(`jifen_ingest_messages_total{result="ok"} = %q, want 1`, got)
		case <-tick.C:
		}
	}
}

// TestServeIngestUnreachable: a --ingest that cannot be reached stops
// jifen serve at start.
func TestServeIngestUnreachable(t *testing.T) {
	var out, errb bytes.Buffer
	vars := env(map[string]string{"JIFEN_DB": "sqlite:" + filepath.Join(t.TempDir(), "x.db"), "JIFEN_ADDR": freeAddr(t),
		"JIFEN_INGEST": "nats://127.0.0.1:1"})
	if code := run(context.Background(), []string{"serve"}, vars, &out, &errb); code == 0 || !strings.Contains(errb.String(), "ingest: connect") {
		t.Fatalf("unreachable --ingest: exit %d, %s", code, errb.String())
	}
}
