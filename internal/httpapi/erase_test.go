package httpapi_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/store/storetest"
)

// Erasing a member leaves none of its personal values anywhere in the
// database — profile, identities, event data, stored responses, messages,
// webhook outbox and deliveries, audit summaries, join codes — while its
// books still verify: points forfeited by an expire transaction (reason
// erased), holds released, coupons voided, its token refused; and it can
// be repeated.
func TestEraseLeavesNoTrace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		t.Run("clear", func(t *testing.T) { eraseRoundTrip(t, b.DSN(t), store.Options{}) })
		// With a data key the raw search finds nothing at any time; the
		// member's values are looked for in the opened sealed columns too.
		t.Run("sealed", func(t *testing.T) { eraseRoundTrip(t, b.DSN(t), store.Options{Keys: keyring(t, testKey1)}) })
	})
}

// The member's personal values: distinctive, so that a match in the
// database is theirs.
const (
	erasePhone    = "+8613912345678"
	erasePhoneCN  = "13912345678" // as dialled, the way a client may send it
	eraseName     = "测试张三丰"
	eraseEmail    = "zhang.sanfeng@wudang.example"
	eraseExternal = "wudang-sanfeng-77"
	eraseBirthday = "1987-04-09"
)

// eraseRoundTrip runs the round trip on the fresh database at dsn, opened
// with opt (a data key for encryption at rest, or none).
func eraseRoundTrip(t *testing.T, dsn string, opt store.Options) {
	j := joinEnvOn(t, newEnvAt(t, dsn, opt))
	e := j.env
	// find is which values the database holds: in its bytes, and, with a
	// data key, in its sealed values opened (the bytes must hold none).
	find := func(values []string) []string {
		t.Helper()
		found := searchDatabase(t, dsn, values)
		if !opt.Keys.Enabled() {
			return found
		}
		if len(found) > 0 {
			t.Fatalf("with a data key the database holds %v in clear", found)
		}
		return searchSealed(t, e.db, values)
	}
	rc := newReceiver(t)
	var hook webhookObj
	e.post("/v1/webhooks", map[string]any{"url": rc.URL, "events": []string{"*"}}).want(201, &hook)

	// One-step join: a code to the phone, the member created with a gift
	// (points and a coupon) and a member token.
	j.otp(erasePhone, "").want(202, nil)
	var joined joinedObj
	j.confirm(erasePhone, j.code(erasePhone)).want(201, &joined)
	id := joined.Member.ID

	// The profile, through a write with an Idempotency-Key whose stored
	// response shows it; an email identity.
	e.call(e.admin, "PATCH", "/v1/members/"+id, map[string]any{"name": eraseName, "external_id": eraseExternal,
		"birthday": eraseBirthday, "region": "湖北",
		"attributes": map[string]any{"nickname": eraseName, "note": "VIP " + erasePhoneCN}}, "Idempotency-Key", "erase-patch").
		want(200, nil)
	e.post("/v1/members/"+id+"/identities", map[string]any{"kind": "email", "value": eraseEmail}).want(201, nil)

	// An event whose data copies the phone and the name, with its own key.
	e.call(e.admin, "POST", "/v1/events", map[string]any{"id": "erase-ev-1", "type": "review.posted", "member": id,
		"data": map[string]any{"text": "好评 from " + eraseName, "contact": map[string]any{"mobile": erasePhoneCN}}},
		"Idempotency-Key", "erase-ev").want(201, nil)

	// Points: available, pending, held; a coupon besides the join gift.
	e.earn(id, 500)
	e.post("/v1/members/"+id+"/points/earn", map[string]any{"points": 70,
		"available_at": e.clock.Now().Add(30 * 24 * time.Hour).Format(time.RFC3339)}).want(201, nil)
	var hold holdObj
	e.post("/v1/members/"+id+"/holds", map[string]any{"points": 100}).want(201, &hold)
	var tpl struct{ ID string }
	e.post("/v1/coupon-templates", map[string]any{"name": "gift", "kind": "amount_off", "value": 100}).want(201, &tpl)
	e.post("/v1/coupon-templates/"+tpl.ID+"/claim", map[string]any{"member": id}).want(201, nil)

	// A message to the member, sent; the webhook's deliveries, made.
	var mt struct{ ID string }
	e.post("/v1/message-templates", map[string]any{"name": "hi", "subject": "致 {{member.name}}",
		"body": "{{member.name}} 您好，积分 {{points.available}}"}).want(201, &mt)
	var msg msgObj
	e.post("/v1/messages", map[string]any{"member": id, "channel_id": j.channel, "template_id": mt.ID}).want(202, &msg)
	e.sendDue(e.app)
	if got := e.message(msg.ID); got.Status != "sent" || !strings.Contains(got.Body, eraseName) {
		t.Fatalf("the message before the erase: %+v", got)
	}
	e.deliver(e.worker())
	if len(rc.take()) == 0 {
		t.Fatal("the webhook got nothing")
	}

	bal := e.balance(id)
	if bal.Available == 0 || bal.Pending != 70 || bal.Held != 100 {
		t.Fatalf("balance before the erase: %+v", bal)
	}
	// The search can fail: every value is in the database now.
	secrets := []string{erasePhone, erasePhoneCN, eraseName, eraseEmail, eraseExternal}
	if found := find(secrets); len(found) != len(secrets) {
		t.Fatalf("before the erase the database holds only %v of %v", found, secrets)
	}

	e.get("/v1/members/"+id+"/export").want(200, nil)
	var erased memberObj
	e.post("/v1/members/"+id+"/erase", nil).want(200, &erased)
	if erased.Status != "erased" || erased.Name != nil || erased.Phone != nil || erased.ExternalID != nil || len(erased.Tags) != 0 {
		t.Fatalf("the erased member: %+v", erased)
	}
	if found := find(secrets); len(found) > 0 {
		t.Fatalf("after the erase the database still holds %v", found)
	}

	// The books: nothing left, one expire transaction (reason erased);
	// the hold released, the coupons void, the token refused.
	e.verify()
	if bal := e.balance(id); bal.Available != 0 || bal.Pending != 0 || bal.Held != 0 {
		t.Fatalf("balance after the erase: %+v", bal)
	}
	var txns listObj[struct {
		Points int64   `json:"points"`
		Reason *string `json:"reason"`
	}]
	e.get("/v1/members/"+id+"/transactions?type=expire").want(200, &txns)
	if len(txns.Data) != 1 || txns.Data[0].Reason == nil || *txns.Data[0].Reason != "erased" || txns.Data[0].Points != bal.Available+bal.Pending+bal.Held {
		t.Fatalf("the erase's expire transactions: %+v (balance was %+v)", txns.Data, bal)
	}
	var h holdObj
	e.get("/v1/holds/"+hold.ID).want(200, &h)
	if h.Status != "released" {
		t.Fatalf("the hold is %s", h.Status)
	}
	var coupons listObj[struct{ Status string }]
	e.get("/v1/members/"+id+"/coupons").want(200, &coupons)
	if len(coupons.Data) != 2 {
		t.Fatalf("%d coupons, want the join gift and the claimed one", len(coupons.Data))
	}
	for _, c := range coupons.Data {
		if c.Status != "void" {
			t.Fatalf("coupons after the erase: %+v", coupons.Data)
		}
	}
	e.call(joined.Token, "GET", "/v1/members/me", nil).wantProblem(401, "unauthenticated")
	if got := e.message(msg.ID); got.To != "" || got.Body != "" || got.Subject != "" {
		t.Fatalf("the message after the erase: %+v", got)
	}

	// Again: nothing changes, nothing comes back.
	var again memberObj
	e.post("/v1/members/"+id+"/erase", nil).want(200, &again)
	if again.Status != "erased" {
		t.Fatalf("erased again: %+v", again)
	}
	if found := find(secrets); len(found) > 0 {
		t.Fatalf("after erasing again the database holds %v", found)
	}
	e.verify()
}

// searchDatabase answers which of values the database at dsn holds
// anywhere. SQLite: the database file's bytes, after a checkpoint that
// empties the WAL into it, and whatever the WAL still holds. PostgreSQL:
// every row of every table of the schema, as text (bytea shows as hex,
// so that is searched for too).
func searchDatabase(t *testing.T, dsn string, values []string) []string {
	t.Helper()
	var hay [][]byte
	if path, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		db, err := sql.Open("sqlite", "file:"+path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var busy, log, done int
		if err := db.QueryRow(`PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &log, &done); err != nil || busy != 0 {
			t.Fatalf("checkpoint: busy %d, %v", busy, err)
		}
		for _, f := range []string{path, path + "-wal"} {
			b, err := os.ReadFile(f)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			hay = append(hay, b)
		}
	} else {
		hay = append(hay, postgresRows(t, dsn))
	}
	var found []string
	for _, v := range values {
		forms := [][]byte{[]byte(v), []byte(hex.EncodeToString([]byte(v)))}
		for _, h := range hay {
			if i := max(bytes.Index(h, forms[0]), bytes.Index(h, forms[1])); i >= 0 {
				found = append(found, v)
				t.Logf("%s found: …%q…", v, h[max(0, i-120):min(len(h), i+60)])
				break
			}
		}
	}
	return found
}

// searchSealed answers which of values the sealed columns hold, opened.
func searchSealed(t *testing.T, db *store.DB, values []string) []string {
	t.Helper()
	seen := map[string]bool{}
	err := db.EachSealed(context.Background(), func(table, column, v string) error {
		for _, x := range values {
			if !seen[x] && strings.Contains(v, x) {
				seen[x] = true
				t.Logf("%s found in %s.%s: %q", x, table, column, v)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, x := range values {
		if seen[x] {
			found = append(found, x)
		}
	}
	return found
}

// postgresRows is every row of every table of the schema dsn names, as
// text, one a line.
func postgresRows(t *testing.T, dsn string) []byte {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	rows, err := db.QueryContext(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	if err := rows.Err(); err != nil || len(tables) < 10 {
		t.Fatalf("tables %v: %v", tables, err)
	}
	var out bytes.Buffer
	for _, table := range tables {
		rs, err := db.QueryContext(ctx, `SELECT t::text FROM "`+table+`" t`)
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		for rs.Next() {
			var row string
			if err := rs.Scan(&row); err != nil {
				t.Fatal(err)
			}
			out.WriteString(table + ": " + row + "\n") // a match names its table
		}
		if err := rs.Err(); err != nil {
			t.Fatal(err)
		}
		rs.Close()
	}
	return out.Bytes()
}
