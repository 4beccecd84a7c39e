package httpapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/store/storetest"
)

func TestAuth(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		t.Run("every v1 route refuses a missing key", func(t *testing.T) {
			n := 0
			for _, rt := range e.api.Routes() {
				if !strings.HasPrefix(rt.Path, "/v1/") || rt.Public {
					continue
				}
				path := strings.NewReplacer("{member}", "ext:someone", "{id}", "x_1").Replace(rt.Path)
				e.call("", rt.Method, path, map[string]any{}).wantProblem(401, "unauthenticated")
				e.call("not-a-key", rt.Method, path, map[string]any{}).wantProblem(401, "unauthenticated")
				n++
			}
			if n < 25 {
				t.Fatalf("only %d /v1 routes checked", n)
			}
			e.call("", "GET", "/v1/no/such/route", nil).wantProblem(401, "unauthenticated")
			e.call("Basic abc", "GET", "/v1/program", nil).wantProblem(401, "unauthenticated")
		})
		t.Run("roles", func(t *testing.T) {
			var mer struct{ ID string }
			e.post("/v1/merchants", map[string]any{"name": "Shop A"}).want(201, &mer)
			ro := e.key(auth.ReadOnly, "")
			mk := e.key(auth.Merchant, mer.ID)
			m := e.newMember(map[string]any{"external_id": "roles-1"})
			e.call(ro, "GET", "/v1/members/"+m.ID, nil).want(200, nil)
			e.call(ro, "POST", "/v1/members/"+m.ID+"/points/earn", map[string]any{"points": 5}).wantProblem(403, "forbidden")
			e.call(ro, "POST", "/v1/members", map[string]any{}).wantProblem(403, "forbidden")
			e.call(mk, "PATCH", "/v1/program", map[string]any{"name": "x"}).wantProblem(403, "forbidden")
			e.call(mk, "POST", "/v1/api-keys", map[string]any{"name": "k", "role": "admin"}).wantProblem(403, "forbidden")
			e.call(mk, "POST", "/v1/members/"+m.ID+"/points/adjust", map[string]any{"points": 5, "reason": "x"}).wantProblem(403, "forbidden")
			e.call(mk, "GET", "/v1/books/verify", nil).wantProblem(403, "forbidden")
			e.call(mk, "POST", "/v1/jobs/expire", map[string]any{}).wantProblem(403, "forbidden")

			// A merchant key acts as its own merchant; naming another is forbidden.
			var txn txnObj
			e.call(mk, "POST", "/v1/members/"+m.ID+"/points/earn", map[string]any{"points": 5}).want(201, &txn)
			if txn.MerchantID == nil || *txn.MerchantID != mer.ID {
				t.Fatalf("merchant key earn: merchant_id %v, want %s", txn.MerchantID, mer.ID)
			}
			var other struct{ ID string }
			e.post("/v1/merchants", map[string]any{"name": "Shop B"}).want(201, &other)
			e.call(mk, "POST", "/v1/members/"+m.ID+"/points/earn", map[string]any{"points": 5, "merchant_id": other.ID}).
				wantProblem(403, "forbidden")
			// An admin names any merchant of the program, but not one that does not exist.
			e.post("/v1/members/"+m.ID+"/points/earn", map[string]any{"points": 5, "merchant_id": other.ID}).want(201, nil)
			e.post("/v1/members/"+m.ID+"/points/earn", map[string]any{"points": 5, "merchant_id": "mer_nope"}).
				wantProblem(422, "validation_failed", "merchant_id")
		})
		t.Run("a deleted key is refused at once", func(t *testing.T) {
			var k struct{ ID, Secret string }
			e.post("/v1/api-keys", map[string]any{"name": "temp", "role": "admin"}).want(201, &k)
			e.call(k.Secret, "GET", "/v1/program", nil).want(200, nil)
			var keys listObj[map[string]any]
			e.get("/v1/api-keys").want(200, &keys)
			for _, key := range keys.Data {
				if _, ok := key["secret"]; ok {
					t.Fatalf("key list shows a secret: %v", key)
				}
			}
			e.call(e.admin, "DELETE", "/v1/api-keys/"+k.ID, nil).want(204, nil)
			e.call(k.Secret, "GET", "/v1/program", nil).wantProblem(401, "unauthenticated")
			e.call(e.admin, "DELETE", "/v1/api-keys/"+k.ID, nil).wantProblem(404, "not_found")
		})
		t.Run("key validation", func(t *testing.T) {
			e.post("/v1/api-keys", map[string]any{"name": "", "role": "boss"}).wantProblem(422, "validation_failed", "name", "role")
			e.post("/v1/api-keys", map[string]any{"name": "m", "role": "merchant"}).wantProblem(422, "validation_failed", "merchant_id")
		})
		t.Run("a key never sees another program", func(t *testing.T) {
			otherKey := "other-program-key-0123456789abcdef"
			err := e.db.Write(context.Background(), "", func(ctx context.Context, tx *store.Tx) error {
				if _, err := program.Create(ctx, tx, "other", "other", e.clock.Now()); err != nil {
					return err
				}
				_, err := auth.Bootstrap(ctx, tx, "other", otherKey, e.clock.Now())
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			m := e.newMember(map[string]any{"external_id": "iso-1"})
			earned := e.earn(m.ID, 50)
			var h holdObj
			e.post("/v1/members/"+m.ID+"/holds", map[string]any{"points": 10}).want(201, &h)
			for _, path := range []string{"/v1/members/" + m.ID, "/v1/members/ext:iso-1", "/v1/members/" + m.ID + "/balance",
				"/v1/transactions/" + earned.ID, "/v1/holds/" + h.ID, "/v1/members/" + m.ID + "/transactions"} {
				e.call(otherKey, "GET", path, nil).wantProblem(404, "not_found")
			}
			e.call(otherKey, "POST", "/v1/members/"+m.ID+"/points/earn", map[string]any{"points": 5}).wantProblem(404, "not_found")
			e.call(otherKey, "POST", "/v1/transactions/"+earned.ID+"/reverse", map[string]any{}).wantProblem(404, "not_found")
			e.call(otherKey, "POST", "/v1/holds/"+h.ID+"/capture", map[string]any{}).wantProblem(404, "not_found")
			var list listObj[memberObj]
			e.call(otherKey, "GET", "/v1/members", nil).want(200, &list)
			if len(list.Data) != 0 {
				t.Fatalf("other program lists %d members", len(list.Data))
			}
			// The same external_id may exist in both programs.
			e.call(otherKey, "POST", "/v1/members", map[string]any{"external_id": "iso-1"}).want(201, nil)
			if got := e.balance(m.ID); got.Available != 40 || got.Held != 10 {
				t.Fatalf("balance changed: %+v", got)
			}
		})
	})
}
