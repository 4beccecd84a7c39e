package store

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/seal"
)

// Encryption at rest happens here, in the store: a sealed column is sealed
// by the function that writes it and opened by the one that reads it, so
// the services above never see ciphertext. sealedColumns lists every one;
// rotation and the key check walk that list, so a column added to it is
// rotated and counted with the rest.

// sealedColumn is a column whose values are sealed, and the columns that
// name its row (the row part of the associated data, joined by "/").
type sealedColumn struct {
	table, column string
	key           []string
}

var sealedColumns = []sealedColumn{
	{"members", "name", []string{"id"}},
	{"members", "phone", []string{"id"}},
	{"members", "external_id", []string{"id"}},
	{"members", "birthday", []string{"id"}},
	{"members", "attributes", []string{"id"}},
	{"identities", "value", []string{"id"}},
	{"messages", "recipient", []string{"id"}},
	{"messages", "subject", []string{"id"}},
	{"messages", "body", []string{"id"}},
	{"messages", "params", []string{"id"}},
	{"channels", "config", []string{"id"}},
	{"webhooks", "secret", []string{"id"}},
	{"webhooks", "prev_secret", []string{"id"}},
	{"events", "data", []string{"program_id", "id"}},
	{"events", "result", []string{"program_id", "id"}},
	{"idempotency", "body", []string{"program_id", "key"}},
	{"webhook_events", "payload", []string{"id"}},
	{"audit_log", "summary", []string{"program_id", "id"}},
}

// sealedColumnOf finds a sealed column.
func sealedColumnOf(table, column string) (sealedColumn, bool) {
	for _, sc := range sealedColumns {
		if sc.table == table && sc.column == column {
			return sc, true
		}
	}
	return sealedColumn{}, false
}

// row is the row part of a value's AD, for a row of the programme whose
// own key (id, or idempotency's key) is key.
func (sc sealedColumn) row(programID, key string) []string {
	out := make([]string, len(sc.key))
	for i, k := range sc.key {
		out[i] = key
		if k == "program_id" {
			out[i] = programID
		}
	}
	return out
}

// Sealed says personal values are encrypted at rest: SQL cannot compare
// or search them, so what reads them (segments) does so after opening.
func (c *Conn) Sealed() bool { return c.keys.Enabled() }

// Lookup is what an identity of kind with value is stored under (the
// current key's).
func (c *Conn) Lookup(kind, value string) string { return c.keys.Lookup(kind, value) }

// Lookups are what an identity of kind with value may be stored under
// while keys rotate: every key's, then the unkeyed one.
func (c *Conn) Lookups(kind, value string) []string { return c.keys.Lookups(kind, value) }

// lookupIn is the condition "col is one of the lookups of (kind, value)"
// and its arguments: a reference finds an identity stored under any
// listed key.
func (c *Conn) lookupIn(col, kind, value string) (string, []any) {
	lks := c.Lookups(kind, value)
	return col + ` IN (` + placeholderList(len(lks)) + `)`, anys(lks)
}

func ad(table, column string, row ...string) seal.AD {
	return seal.AD{Table: table, Column: column, Row: strings.Join(row, "/")}
}

// seal encrypts v for its place (table, column, row).
func (c *Conn) seal(table, column string, v string, row ...string) string {
	return c.keys.Seal(ad(table, column, row...), v)
}

// sealNull seals an optional value; absent stays NULL.
func (c *Conn) sealNull(table, column string, v null.String, row ...string) null.String {
	return null.String(c.keys.Seal(ad(table, column, row...), string(v)))
}

// sealBytes seals a JSON document or response body.
func (c *Conn) sealBytes(table, column string, v []byte, row ...string) []byte {
	if !c.keys.Enabled() {
		return v
	}
	return []byte(c.keys.Seal(ad(table, column, row...), string(v)))
}

// open decrypts a stored value into *v. A value stored before encryption
// was turned on is answered as it is.
func (c *Conn) open(table, column string, v *string, row ...string) error {
	out, err := c.keys.Open(ad(table, column, row...), *v)
	if err != nil {
		return fmt.Errorf("open %w", err)
	}
	*v = out
	return nil
}

func (c *Conn) openNull(table, column string, v *null.String, row ...string) error {
	s := string(*v)
	if err := c.open(table, column, &s, row...); err != nil {
		return err
	}
	*v = null.String(s)
	return nil
}

func (c *Conn) openBytes(table, column string, v *[]byte, row ...string) error {
	if _, _, ok := seal.Split(string(*v)); !ok {
		return nil
	}
	s := string(*v)
	if err := c.open(table, column, &s, row...); err != nil {
		return err
	}
	*v = []byte(s)
	return nil
}

// sealOptJSON seals an optional JSON document; absent stays NULL.
func (c *Conn) sealOptJSON(table, column string, v json.RawMessage, row ...string) any {
	o := optJSON(v)
	if o == nil {
		return nil
	}
	return c.seal(table, column, o.(string), row...)
}
