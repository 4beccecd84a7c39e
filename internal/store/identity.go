package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/id"
)

// Identity is one way a channel names a member: a kind and its normalised
// value. Lookup is what references find it by (Conn.Lookup: a keyed hash
// once encryption is on), so the value itself is never searched and may be
// sealed.
type Identity struct {
	ID        string
	ProgramID string
	MemberID  string
	Kind      string
	Value     string
	Lookup    string
	Verified  bool
	CreatedAt time.Time
}

const identityColumns = `id, program_id, member_id, kind, value, lookup, verified, created_at`

func (c *Conn) scanIdentity(row interface{ Scan(...any) error }) (Identity, error) {
	var i Identity
	var at int64
	if err := row.Scan(&i.ID, &i.ProgramID, &i.MemberID, &i.Kind, &i.Value, &i.Lookup, &i.Verified, &at); err != nil {
		return i, err
	}
	i.CreatedAt = fromMS(at)
	return i, c.open("identities", "value", &i.Value, i.ID)
}

// insertIdentities stores identities (their lookups computed here) and
// fails on any taken (kind, value): for bulk loads and the backfill, whose
// values come from members' unique columns.
func (tx *Tx) insertIdentities(ctx context.Context, programID string, ids []Identity) error {
	return insertIdentities(ctx, &tx.Conn, programID, ids)
}

func insertIdentities(ctx context.Context, c *Conn, programID string, ids []Identity) error {
	const chunk = 200
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		args := make([]any, 0, 8*len(part))
		for _, i := range part {
			args = append(args, i.ID, programID, i.MemberID, i.Kind, c.seal("identities", "value", i.Value, i.ID),
				c.Lookup(i.Kind, i.Value), i.Verified, ms(i.CreatedAt))
		}
		if _, err := c.exec(ctx, `INSERT INTO identities (`+identityColumns+`) VALUES `+placeholders(len(part), 8), args...); err != nil {
			return fmt.Errorf("insert identities: %w", err)
		}
	}
	return nil
}

// InsertIdentity stores an identity; its lookup is computed here. A
// (kind, value) another member (or this one) has already is
// failure.MemberExists naming field.
func (tx *Tx) InsertIdentity(ctx context.Context, i Identity, field string) (Identity, error) {
	taken := failure.Field(field, "a member with this %s exists", i.Kind).WithKind(failure.MemberExists)
	// While keys rotate, the value may be stored under an older key's
	// lookup, which the primary key below would not see.
	if in, lks := tx.lookupIn("lookup", i.Kind, i.Value); len(lks) > 1 {
		var one int
		err := tx.queryRow(ctx, `SELECT 1 FROM identities WHERE program_id = ? AND `+in, append([]any{i.ProgramID}, lks...)...).Scan(&one)
		if err == nil {
			return i, taken
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return i, classify(fmt.Errorf("insert identity: %w", err))
		}
	}
	i.Lookup = tx.Lookup(i.Kind, i.Value)
	res, err := tx.exec(ctx, `INSERT INTO identities (`+identityColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		i.ID, i.ProgramID, i.MemberID, i.Kind, tx.seal("identities", "value", i.Value, i.ID), i.Lookup, i.Verified, ms(i.CreatedAt))
	if err != nil {
		return i, fmt.Errorf("insert identity: %w", err)
	}
	if affected(res) == 0 {
		return i, taken
	}
	return i, nil
}

// Identities lists a member's identities, oldest first.
func (c *Conn) Identities(ctx context.Context, programID, memberID string) ([]Identity, error) {
	all, err := c.IdentitiesOf(ctx, programID, []string{memberID})
	return all[memberID], err
}

// IdentitiesOf reads the identities of several members, oldest first.
// Every member asked for has a (possibly empty) list.
func (c *Conn) IdentitiesOf(ctx context.Context, programID string, memberIDs []string) (map[string][]Identity, error) {
	out := make(map[string][]Identity, len(memberIDs))
	if len(memberIDs) == 0 {
		return out, nil
	}
	args := []any{programID}
	for _, m := range memberIDs {
		out[m] = []Identity{}
		args = append(args, m)
	}
	rows, err := c.query(ctx, `SELECT `+identityColumns+` FROM identities WHERE program_id = ? AND member_id IN (`+
		strings.TrimSuffix(strings.Repeat("?, ", len(memberIDs)), ", ")+`) ORDER BY created_at, id`, args...)
	if err != nil {
		return nil, classify(fmt.Errorf("identities: %w", err))
	}
	defer rows.Close()
	for rows.Next() {
		i, err := c.scanIdentity(rows)
		if err != nil {
			return nil, err
		}
		out[i.MemberID] = append(out[i.MemberID], i)
	}
	return out, classify(rows.Err())
}

// DeleteIdentity deletes one identity of a member and returns it.
func (tx *Tx) DeleteIdentity(ctx context.Context, programID, memberID, identityID string) (Identity, error) {
	i, err := tx.scanIdentity(tx.queryRow(ctx, `SELECT `+identityColumns+` FROM identities WHERE id = ? AND program_id = ? AND member_id = ?`,
		identityID, programID, memberID))
	if errors.Is(err, sql.ErrNoRows) {
		return i, failure.New(failure.NotFound, "identity %s not found", identityID)
	}
	if err != nil {
		return i, classify(fmt.Errorf("identity: %w", err))
	}
	if _, err := tx.exec(ctx, `DELETE FROM identities WHERE id = ? AND program_id = ?`, identityID, programID); err != nil {
		return i, fmt.Errorf("delete identity: %w", err)
	}
	return i, nil
}

// DeleteIdentities deletes a member's identities of the given kinds (all
// of them when none is given).
func (tx *Tx) DeleteIdentities(ctx context.Context, programID, memberID string, kinds ...string) error {
	q := `DELETE FROM identities WHERE program_id = ? AND member_id = ?`
	args := []any{programID, memberID}
	if len(kinds) > 0 {
		q += ` AND kind IN (` + strings.TrimSuffix(strings.Repeat("?, ", len(kinds)), ", ") + `)`
		for _, k := range kinds {
			args = append(args, k)
		}
	}
	if _, err := tx.exec(ctx, q, args...); err != nil {
		return fmt.Errorf("delete identities: %w", err)
	}
	return nil
}

// MemberByIdentity reads the member the identity (kind, normalised value)
// names, in one query: the identity's member, or the member it was merged
// into (merges keep merged_into pointing at a member that is not itself
// merged).
func (c *Conn) MemberByIdentity(ctx context.Context, programID, kind, value string) (Member, error) {
	in, lks := c.lookupIn("i.lookup", kind, value)
	m, err := c.scanMember(c.queryRow(ctx, `SELECT `+memberColumnsOf("m")+` FROM identities i
		JOIN members m ON m.id = i.member_id AND m.program_id = i.program_id
		WHERE i.program_id = ? AND `+in, append([]any{programID}, lks...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return Member{}, failure.New(failure.NotFound, "member not found")
	}
	if err != nil {
		return Member{}, classify(fmt.Errorf("member by identity: %w", err))
	}
	// A merged member's identities name the member it was merged into
	// (merged_into always names one that is not merged itself). Rare, so
	// a second read rather than a join every lookup pays for.
	if m.MergedInto != "" {
		return c.MemberByID(ctx, programID, string(m.MergedInto))
	}
	return m, nil
}

// MemberIDByIdentity is the ID of the member an identity names: its own,
// or the one it was merged into.
func (c *Conn) MemberIDByIdentity(ctx context.Context, programID, kind, value string) (string, error) {
	var id string
	in, lks := c.lookupIn("i.lookup", kind, value)
	err := c.queryRow(ctx, `SELECT COALESCE(m.merged_into, m.id) FROM identities i
		JOIN members m ON m.id = i.member_id AND m.program_id = i.program_id
		WHERE i.program_id = ? AND `+in, append([]any{programID}, lks...)...).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", failure.New(failure.NotFound, "member not found")
	}
	if err != nil {
		return "", classify(fmt.Errorf("member by identity: %w", err))
	}
	return id, nil
}

// SetMemberContact sets (or, with "", clears) the member field an
// identity kind mirrors: phone or external_id.
func (tx *Tx) SetMemberContact(ctx context.Context, programID, memberID, kind, value string, now time.Time) error {
	col := map[string]string{"phone": "phone", "external_id": "external_id"}[kind]
	if col == "" {
		return nil
	}
	var v any
	if value != "" {
		v = tx.seal("members", col, value, memberID)
	}
	_, err := tx.exec(ctx, `UPDATE members SET `+col+` = ?, updated_at = ? WHERE program_id = ? AND id = ?`, v, ms(now), programID, memberID)
	if err != nil {
		if f := uniqueMemberField(err); f != "" {
			return failure.Field(f, "another member has this %s", f).WithKind(failure.MemberExists)
		}
		return fmt.Errorf("member %s: %w", col, err)
	}
	return nil
}

// identityBackfill (migration 12) gives every member that has a phone or
// an external_id the identities that mirror them, a page of members at a
// time.
func identityBackfill(ctx context.Context, c *Conn) error {
	after := ""
	for {
		rows, err := c.query(ctx, `SELECT id, program_id, external_id, phone, created_at FROM members
			WHERE id > ? AND (external_id IS NOT NULL OR phone IS NOT NULL) ORDER BY id LIMIT 1000`, after)
		if err != nil {
			return fmt.Errorf("identity backfill: %w", err)
		}
		byProgram := map[string][]Identity{}
		n := 0
		for rows.Next() {
			var mid, prog string
			var ext, phone sql.NullString
			var at int64
			if err := rows.Scan(&mid, &prog, &ext, &phone, &at); err != nil {
				rows.Close()
				return err
			}
			n++
			after = mid
			if ext.Valid && ext.String != "" {
				byProgram[prog] = append(byProgram[prog], Identity{ID: id.New("idn"), MemberID: mid, Kind: "external_id", Value: ext.String, CreatedAt: fromMS(at)})
			}
			if phone.Valid && phone.String != "" {
				byProgram[prog] = append(byProgram[prog], Identity{ID: id.New("idn"), MemberID: mid, Kind: "phone", Value: phone.String, CreatedAt: fromMS(at)})
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return err
		}
		for prog, ids := range byProgram {
			if err := insertIdentities(ctx, c, prog, ids); err != nil {
				return err
			}
		}
		if n < 1000 {
			return nil
		}
	}
}
