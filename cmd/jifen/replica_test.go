package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/store/storetest"
)

// The replica test needs a primary and a hot standby made from it, which
// scripts/pg-replica-test.sh creates (pg_createcluster, pg_basebackup -R)
// and removes; .ci/run runs it.
const (
	envReplicaPrimary = "JIFEN_TEST_REPLICA_PRIMARY" // postgres://… of the primary
	envReplicaStandby = "JIFEN_TEST_REPLICA_STANDBY" // postgres://… of its standby
	envReplicaCluster = "JIFEN_TEST_REPLICA_CLUSTER" // "<version> <name>" of the standby, for pg_ctlcluster
)

func TestReplica(t *testing.T) {
	primary, standby := os.Getenv(envReplicaPrimary), os.Getenv(envReplicaStandby)
	if primary == "" || standby == "" {
		t.Skip("replica test skipped: run scripts/pg-replica-test.sh, which creates a primary and a hot standby and runs it")
	}
	const key = "jk_replica_test_admin_key_0123456789abcdef"
	dsn := storetest.FreshSchema(t, primary)
	// The schema exists on the standby once it has replayed its creation;
	// the standby DSN must name the same search_path.
	standbyDSN := withSearchPath(t, standby, dsn)
	base, _ := startServe(t, map[string]string{
		"JIFEN_DB": dsn, "JIFEN_DB_REPLICA": standbyDSN, "JIFEN_ADMIN_KEY": key, "JIFEN_LOG_FORMAT": "json",
	})
	waitFor(t, "replica up", func() bool { return readyReplica(t, base) == "up" })

	a := call(t, "POST", base+"/v1/members", key, `{"external_id":"a"}`, 201)["id"].(string)
	waitFor(t, "member a listed from the replica", func() bool { return listed(t, base, key, "a") })

	// With replay paused, a new member is on the primary only: its balance
	// (a primary read) is there at once, the list (a replica read) does not
	// have it until replay resumes.
	sdb, err := sql.Open("pgx", standby)
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	if _, err := sdb.Exec(`SELECT pg_wal_replay_pause()`); err != nil {
		t.Fatal(err)
	}
	defer sdb.Exec(`SELECT pg_wal_replay_resume()`)
	b := call(t, "POST", base+"/v1/members", key, `{"external_id":"b"}`, 201)["id"].(string)
	call(t, "POST", base+"/v1/members/"+b+"/points/earn", key, `{"points":100,"reason":"replica test"}`, 201)
	if bal := call(t, "GET", base+"/v1/members/"+b+"/balance", key, "", 200); balanceOf(bal) != 100 {
		t.Fatalf("balance on the primary = %v, want 100", bal)
	}
	// Spends check against the primary too: b can spend the points the
	// replica has not seen.
	call(t, "POST", base+"/v1/members/"+b+"/points/spend", key, `{"points":40,"reason":"replica test"}`, 201)
	time.Sleep(300 * time.Millisecond)
	if listed(t, base, key, "b") {
		t.Fatal("member b listed while the replica's replay is paused: lists do not read from the replica")
	}
	if txns := call(t, "GET", base+"/v1/members/"+b+"/transactions", key, "", 200); len(txns["data"].([]any)) != 0 {
		t.Fatalf("b's transactions listed from a paused replica: %v", txns)
	}
	if _, err := sdb.Exec(`SELECT pg_wal_replay_resume()`); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "member b listed after replay resumed", func() bool { return listed(t, base, key, "b") })
	waitFor(t, "b's transactions on the replica", func() bool {
		return len(call(t, "GET", base+"/v1/members/"+b+"/transactions", key, "", 200)["data"].([]any)) == 2
	})

	// Losing the replica costs capacity, not availability: lists fall back
	// to the primary and the node stays ready.
	cluster := strings.Fields(os.Getenv(envReplicaCluster))
	if len(cluster) != 2 {
		t.Logf("%s unset: not stopping the standby", envReplicaCluster)
		return
	}
	pgctl(t, cluster, "stop")
	stopped := true
	defer func() {
		if stopped {
			pgctl(t, cluster, "start")
		}
	}()
	waitFor(t, "replica marked down", func() bool { return readyReplica(t, base) == "down" })
	c := call(t, "POST", base+"/v1/members", key, `{"external_id":"c"}`, 201)["id"].(string)
	if !listed(t, base, key, "c") {
		t.Fatal("with the replica down, the list does not come from the primary")
	}
	call(t, "POST", base+"/v1/members/"+c+"/points/earn", key, `{"points":5,"reason":"replica down"}`, 201)
	pgctl(t, cluster, "start")
	stopped = false
	waitFor(t, "replica back up", func() bool { return readyReplica(t, base) == "up" })
	waitFor(t, "member c listed from the replica", func() bool { return listed(t, base, key, "c") })
	_ = a

	var out bytes.Buffer
	if code := run(context.Background(), []string{"verify", "--db", dsn}, env(nil), &out, &out); code != 0 {
		t.Fatalf("verify exited %d: %s", code, out.String())
	}
}

// withSearchPath gives the standby DSN the search_path of the fresh schema.
func withSearchPath(t *testing.T, standby, primary string) string {
	t.Helper()
	i := strings.Index(primary, "search_path=")
	if i < 0 {
		t.Fatalf("fresh schema DSN has no search_path: %s", primary)
	}
	sp := primary[i:]
	if j := strings.IndexByte(sp, '&'); j >= 0 {
		sp = sp[:j]
	}
	sep := "?"
	if strings.Contains(standby, "?") {
		sep = "&"
	}
	return standby + sep + sp
}

func pgctl(t *testing.T, cluster []string, action string) {
	t.Helper()
	args := []string{"--skip-systemctl-redirect", cluster[0], cluster[1], action}
	if action == "stop" {
		args = append(args, "-m", "fast")
	}
	if out, err := exec.Command("pg_ctlcluster", args...).CombinedOutput(); err != nil {
		t.Fatalf("pg_ctlcluster %s: %v\n%s", action, err, out)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func readyReplica(t *testing.T, base string) string {
	t.Helper()
	res, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("/readyz = %d", res.StatusCode)
	}
	var v struct{ Replica string }
	json.NewDecoder(res.Body).Decode(&v)
	return v.Replica
}

func listed(t *testing.T, base, key, ext string) bool {
	t.Helper()
	return len(call(t, "GET", base+"/v1/members?external_id="+ext, key, "", 200)["data"].([]any)) == 1
}

func balanceOf(v map[string]any) float64 {
	if p, ok := v["points"].(map[string]any); ok {
		if n, ok := p["available"].(float64); ok {
			return n
		}
	}
	return -1
}

func call(t *testing.T, method, url, key, body string, want int) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", fmt.Sprintf("k-%d", time.Now().UnixNano()))
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var v map[string]any
	json.NewDecoder(res.Body).Decode(&v)
	if res.StatusCode != want {
		t.Fatalf("%s %s = %d %v, want %d", method, url, res.StatusCode, v, want)
	}
	return v
}
