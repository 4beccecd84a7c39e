package store

import (
	"context"
	"fmt"
	"strings"
)

// copyColumn is a column that can hold a copy of a member's personal
// values: a JSON document written when the member was named (an event's
// data, a stored response, a webhook payload, an audit summary).
type copyColumn struct {
	table, col string
	key        string // the row's key, unique within a programme
	member     string // selects the member's rows; each ? is the member's ID
	blob       bool   // BLOB/BYTEA, not TEXT
}

// memberCopies are every column erasure rewrites. The ledger's own rows
// (transactions, lots, holds) keep IDs and figures only, and are left
// alone so the books still verify.
var memberCopies = []copyColumn{
	{table: "events", col: "data", key: "id", member: "member_id = ?"},
	{table: "events", col: "result", key: "id", member: "member_id = ?", blob: true},
	{table: "idempotency", col: "body", key: "key", member: "member_id = ?", blob: true},
	{table: "messages", col: "params", key: "id", member: "member_id = ?"},
	{table: "messages", col: "attempts", key: "id", member: "member_id = ?"},
	{table: "webhook_events", col: "payload", key: "id", member: "member_id = ?"},
	{table: "webhook_deliveries", col: "attempts", key: "id", member: "member_id = ?"},
	// Entries about the member, and those its own token wrote.
	{table: "audit_log", col: "summary", key: "id",
		member: "((target_type = 'member' AND target_id = ?) OR (actor_kind = 'member' AND actor_id = ?))"},
}

// copyDoc is one stored document of a copy column.
type copyDoc struct {
	key string
	doc []byte
}

// ScrubMemberCopies rewrites, in the erase's transaction, every document
// that may copy the member's personal values with scrub (which answers
// its argument itself when nothing in it is personal: that row is not
// written). The member's messages lose their address, subject and body,
// and one still queued is suppressed, as a message to no address is.
func (tx *Tx) ScrubMemberCopies(ctx context.Context, programID, memberID string, scrub func([]byte) []byte) error {
	for _, c := range memberCopies {
		docs, err := tx.memberCopyDocs(ctx, c, programID, memberID)
		if err != nil {
			return err
		}
		for _, d := range docs {
			out := scrub(d.doc)
			if string(out) == string(d.doc) {
				continue
			}
			if err := tx.putCopyDoc(ctx, c, programID, d.key, out); err != nil {
				return err
			}
		}
	}
	_, err := tx.exec(ctx, `UPDATE messages SET recipient = '', subject = '', body = '',
		status = CASE WHEN status = 'queued' THEN 'suppressed' ELSE status END,
		claimed_by = '', claimed_until = 0
		WHERE program_id = ? AND member_id = ?`, programID, memberID)
	if err != nil {
		return fmt.Errorf("blank messages: %w", err)
	}
	return nil
}

// memberCopyDocs reads the member's documents of one copy column (those
// that are not NULL), all of them before any is rewritten.
func (tx *Tx) memberCopyDocs(ctx context.Context, c copyColumn, programID, memberID string) ([]copyDoc, error) {
	args := []any{programID}
	for range strings.Count(c.member, "?") {
		args = append(args, memberID)
	}
	rows, err := tx.query(ctx, `SELECT `+c.key+`, `+c.col+` FROM `+c.table+` WHERE program_id = ? AND `+c.member+
		` AND `+c.col+` IS NOT NULL`, args...)
	if err != nil {
		return nil, fmt.Errorf("read %s.%s: %w", c.table, c.col, err)
	}
	defer rows.Close()
	var out []copyDoc
	for rows.Next() {
		var d copyDoc
		var stored []byte
		if err := rows.Scan(&d.key, &stored); err != nil {
			return nil, fmt.Errorf("read %s.%s: %w", c.table, c.col, err)
		}
		if d.doc, err = tx.openCopy(c, programID, d.key, stored); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(fmt.Errorf("read %s.%s: %w", c.table, c.col, err))
	}
	return out, nil
}

// putCopyDoc writes one rewritten document back.
func (tx *Tx) putCopyDoc(ctx context.Context, c copyColumn, programID, key string, doc []byte) error {
	_, err := tx.exec(ctx, `UPDATE `+c.table+` SET `+c.col+` = ? WHERE program_id = ? AND `+c.key+` = ?`,
		tx.sealCopy(c, programID, key, doc), programID, key)
	if err != nil {
		return fmt.Errorf("scrub %s.%s %s: %w", c.table, c.col, key, err)
	}
	return nil
}

// openCopy and sealCopy turn a copy column's stored form into its JSON
// and back: opened and sealed (seal.go) when the column is a sealed one,
// bound to its row as every sealed value is.
func (tx *Tx) openCopy(c copyColumn, programID, key string, stored []byte) ([]byte, error) {
	sc, ok := sealedColumnOf(c.table, c.col)
	if !ok {
		return stored, nil
	}
	s := string(stored)
	if err := tx.open(c.table, c.col, &s, sc.row(programID, key)...); err != nil {
		return nil, err
	}
	return []byte(s), nil
}

func (tx *Tx) sealCopy(c copyColumn, programID, key string, doc []byte) any {
	if sc, ok := sealedColumnOf(c.table, c.col); ok {
		doc = tx.sealBytes(c.table, c.col, doc, sc.row(programID, key)...)
	}
	if c.blob {
		return doc
	}
	return string(doc)
}

// SetMessageToLookup records the lookup of the phone a message to no
// member went to (join codes to a phone not yet a member's).
func (tx *Tx) SetMessageToLookup(ctx context.Context, programID, messageID, lookup string) error {
	if _, err := tx.exec(ctx, `UPDATE messages SET to_lookup = ? WHERE program_id = ? AND id = ?`,
		lookup, programID, messageID); err != nil {
		return fmt.Errorf("message %s lookup: %w", messageID, err)
	}
	return nil
}

// ClaimMessagesTo makes the messages to no member sent to an address
// with one of lookups the member's, so that its erasure scrubs them and
// its export shows them.
func (tx *Tx) ClaimMessagesTo(ctx context.Context, programID, memberID string, lookups []string) error {
	if len(lookups) == 0 {
		return nil
	}
	args := append([]any{memberID, programID}, anys(lookups)...)
	if _, err := tx.exec(ctx, `UPDATE messages SET member_id = ? WHERE program_id = ? AND to_lookup IN (`+
		placeholderList(len(lookups))+`) AND member_id IS NULL`, args...); err != nil {
		return fmt.Errorf("claim messages: %w", err)
	}
	return nil
}
