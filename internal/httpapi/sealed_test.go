package httpapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jifen/jifen/internal/seal"
	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/store/storetest"
)

// testKeys, when set, seal personal values in every env newEnv makes.
var testKeys *seal.Keyring

const (
	testKey1 = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	testKey2 = "k2:Hx4dHBsaGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQA="
)

func keyring(t testing.TB, s string) *seal.Keyring {
	t.Helper()
	k, err := seal.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// The suites that read and write personal values pass unchanged with
// encryption at rest on: members, identities and merges, events,
// idempotent replays, messages, webhooks, one-step join, the audit log,
// export and erase.
func TestSealedSuites(t *testing.T) {
	testKeys = keyring(t, testKey1)
	t.Cleanup(func() { testKeys = nil })
	for _, s := range []struct {
		name string
		fn   func(*testing.T)
	}{
		{"members", TestMembers}, {"identities", TestIdentities}, {"merge", TestMerge}, {"events", TestEvents},
		{"idempotency", TestIdempotency}, {"messaging", TestMessaging}, {"webhooks", TestWebhooks},
		{"join", TestJoin}, {"audit", TestAuditLog}, {"export", TestMemberExport}, {"birthdays", TestBirthdays},
		{"campaign triggers", TestCampaignTriggers}, {"referral", TestReferral},
	} {
		t.Run(s.name, s.fn)
	}
}

// With a data key, no personal value is stored in clear: not the
// member's fields, not its identities, not the copies in events,
// idempotency records, messages, outbox and audit summaries. Lookups
// still find the member, and rotation moves every value to a new key.
func TestEncryptionAtRest(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		testKeys = keyring(t, testKey1)
		t.Cleanup(func() { testKeys = nil })
		e := newEnv(t, b)
		const phone, name, email = "13912345678", "加密测试王小明", "sealed.person@example.com"
		e.post("/v1/webhooks", map[string]any{"url": "http://127.0.0.1:9/hook", "events": []string{"*"}}).want(201, nil)
		var m memberObj
		e.call(e.admin, "POST", "/v1/members", map[string]any{"name": name, "phone": phone, "external_id": "ext-sealed-1",
			"birthday": "1990-03-01", "attributes": map[string]any{"nickname": name}}, "Idempotency-Key", "sealed-1").want(201, &m)
		e.post("/v1/members/"+m.ID+"/identities", map[string]any{"kind": "email", "value": email}).want(201, nil)
		e.post("/v1/events", map[string]any{"id": "evt-sealed-1", "type": "order.paid", "member": "phone:+86" + phone,
			"data": map[string]any{"order_id": "o-1", "amount": 1000, "contact": name}}).want(201, nil)

		// Lookups find it by phone, external ID and email; filters too.
		for _, ref := range []string{"phone:+86" + phone, "ext:ext-sealed-1", "email:" + email} {
			var got memberObj
			e.get("/v1/members/"+ref).want(200, &got)
			if got.ID != m.ID {
				t.Fatalf("%s found %s, want %s", ref, got.ID, m.ID)
			}
		}
		var list struct{ Data []memberObj }
		e.get("/v1/members?phone=%2B86"+phone).want(200, &list)
		if len(list.Data) != 1 || list.Data[0].ID != m.ID {
			t.Fatalf("?phone= found %+v", list.Data)
		}
		// A replay answers the response it stored, opened.
		e.call(e.admin, "POST", "/v1/members", map[string]any{"name": name, "phone": phone, "external_id": "ext-sealed-1",
			"birthday": "1990-03-01", "attributes": map[string]any{"nickname": name}}, "Idempotency-Key", "sealed-1").want(201, nil)
		// A phone is still one member's.
		e.post("/v1/members", map[string]any{"phone": phone}).wantProblem(409, "member_exists", "phone")

		if found := searchDatabase(t, e.dsn, []string{phone, name, email, "ext-sealed-1", "1990-03-01"}); len(found) > 0 {
			t.Errorf("stored in clear: %v", found)
		}
		counts, err := e.db.CountSealed(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range counts {
			if c.ByKey[""] > 0 {
				t.Errorf("%s.%s: %d values in clear", c.Table, c.Column, c.ByKey[""])
			}
		}

		// Rotation: every value moves to k2, lookups follow, k1 retires.
		dsn := e.dsn
		both, err := store.Open(context.Background(), dsn, store.Options{Keys: keyring(t, testKey2+","+testKey1)})
		if err != nil {
			t.Fatal(err)
		}
		defer both.Close()
		n, err := both.RotateDataKeys(context.Background(), 3, nil)
		if err != nil || n == 0 {
			t.Fatalf("rotate: %d, %v", n, err)
		}
		if again, err := both.RotateDataKeys(context.Background(), 3, nil); err != nil || again != 0 {
			t.Fatalf("a second rotation re-sealed %d (%v)", again, err)
		}
		only2, err := store.Open(context.Background(), dsn, store.Options{Keys: keyring(t, testKey2)})
		if err != nil {
			t.Fatal(err)
		}
		defer only2.Close()
		if err := only2.CheckDataKeys(context.Background()); err != nil {
			t.Fatalf("after rotation, k2 alone: %v", err)
		}
		got, err := only2.Read().MemberByIdentity(context.Background(), "default", "email", email)
		if err != nil || got.ID != m.ID || string(got.Name) != name {
			t.Fatalf("after rotation, by email: %+v, %v", got, err)
		}
		// A key that values still need is refused at start.
		only1, err := store.Open(context.Background(), dsn, store.Options{Keys: keyring(t, testKey1)})
		if err != nil {
			t.Fatal(err)
		}
		defer only1.Close()
		if err := only1.CheckDataKeys(context.Background()); err == nil || !strings.Contains(err.Error(), "k2") {
			t.Fatalf("k1 alone after rotation to k2: %v", err)
		}
		clear, err := store.Open(context.Background(), dsn, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer clear.Close()
		if err := clear.CheckDataKeys(context.Background()); err == nil {
			t.Fatal("no key at all over sealed values: started")
		}
	})
}
