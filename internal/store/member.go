package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/null"
)

// Member is a stored member.
type Member struct {
	ID           string
	ExternalID   null.String
	Phone        null.String
	Name         null.String
	Gender       string
	Birthday     null.String
	Region       null.String
	Attributes   json.RawMessage
	Tags         []string
	Tier         null.String
	Status       string
	ReferralCode string
	ReferredBy   null.String
	MerchantID   null.String
	CreatedAt    time.Time
	UpdatedAt    time.Time
	ProgramID    string
	MergedInto   null.String // the member this one was merged into (status merged)

	scan *scanState
}

// memberColumns are a member's columns; tags travel with the row (the
// member_tags table is for finding members by tag).
const memberColumns = `id, program_id, external_id, phone, name, gender, birthday, region, attributes, tier,
	status, referral_code, referred_by, merchant_id, created_at, updated_at, tags, merged_into`

// memberInsertColumns are memberColumns and what is derived from them.
const memberInsertColumns = memberColumns + `, birthday_md`

func memberColumnsOf(alias string) string {
	return alias + "." + strings.ReplaceAll(strings.Join(strings.Fields(memberColumns), " "), ", ", ", "+alias+".")
}

func (c *Conn) scanMember(row interface{ Scan(...any) error }) (Member, error) {
	var m Member
	var dest []any
	m.scanInto(&dest)
	if err := row.Scan(dest...); err != nil {
		m.scan = nil
		return m, err
	}
	return m, c.finishMember(&m)
}

// scanState holds the raw columns of a member while a row is scanned.
type scanState struct {
	attrs, tags      string
	created, updated int64
}

// scanInto appends the scan destinations of a member's columns.
func (m *Member) scanInto(dest *[]any) {
	m.scan = &scanState{}
	*dest = append(*dest, &m.ID, &m.ProgramID, &m.ExternalID, &m.Phone, &m.Name, &m.Gender, &m.Birthday, &m.Region,
		&m.scan.attrs, &m.Tier, &m.Status, &m.ReferralCode, &m.ReferredBy, &m.MerchantID, &m.scan.created, &m.scan.updated,
		&m.scan.tags, &m.MergedInto)
}

// finishMember converts the scanned columns and opens the sealed ones.
func (c *Conn) finishMember(m *Member) error {
	st := m.scan
	m.scan = nil
	for _, f := range []struct {
		col string
		v   *null.String
	}{{"name", &m.Name}, {"phone", &m.Phone}, {"external_id", &m.ExternalID}, {"birthday", &m.Birthday}} {
		if err := c.openNull("members", f.col, f.v, m.ID); err != nil {
			return err
		}
	}
	if err := c.open("members", "attributes", &st.attrs, m.ID); err != nil {
		return err
	}
	m.Attributes = json.RawMessage(st.attrs)
	m.CreatedAt, m.UpdatedAt = fromMS(st.created), fromMS(st.updated)
	m.Tags = []string{}
	json.Unmarshal([]byte(st.tags), &m.Tags)
	if m.Tags == nil {
		m.Tags = []string{}
	}
	return nil
}

// sealed is m with its personal fields sealed for storing.
func (c *Conn) sealedMember(m Member) Member {
	m.Name = c.sealNull("members", "name", m.Name, m.ID)
	m.Phone = c.sealNull("members", "phone", m.Phone, m.ID)
	m.ExternalID = c.sealNull("members", "external_id", m.ExternalID, m.ID)
	m.Birthday = c.sealNull("members", "birthday", m.Birthday, m.ID)
	m.Attributes = json.RawMessage(c.seal("members", "attributes", attrsText(m.Attributes), m.ID))
	return m
}

// monthDay is the month and day of a birthday (YYYY-MM-DD), kept clear
// beside the sealed birthday for the birthday triggers.
func monthDay(birthday null.String) null.String {
	if len(birthday) < 10 {
		return ""
	}
	return birthday[5:10]
}

func tagsText(tags []string) string {
	if len(tags) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(tags)
	return string(b)
}

func attrsText(a json.RawMessage) string {
	if len(a) == 0 || string(a) == "null" {
		return "{}"
	}
	return string(a)
}

// InsertMember stores a new member. A taken external_id or phone is
// failure.MemberExists; a taken referral code is reported by taken=true so
// that the caller can draw another.
func (tx *Tx) InsertMember(ctx context.Context, m Member) (codeTaken bool, err error) {
	sm := tx.sealedMember(m)
	res, err := tx.exec(ctx, `INSERT INTO members (`+memberInsertColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		m.ID, m.ProgramID, sm.ExternalID, sm.Phone, sm.Name, m.Gender, sm.Birthday, m.Region,
		string(sm.Attributes), m.Tier, m.Status, m.ReferralCode, m.ReferredBy, m.MerchantID,
		ms(m.CreatedAt), ms(m.UpdatedAt), tagsText(m.Tags), m.MergedInto, monthDay(m.Birthday))
	if err != nil {
		return false, fmt.Errorf("insert member: %w", err)
	}
	if affected(res) == 1 {
		tx.signal(SignalJoined, m.ProgramID, m.ID)
		return false, tx.setTags(ctx, m.ProgramID, m.ID, m.Tags)
	}
	// Nothing inserted: find which unique key is taken, in the same
	// transaction, so no other writer can slip in between.
	if m.ExternalID != "" {
		if _, err := tx.MemberByExternalID(ctx, m.ProgramID, string(m.ExternalID)); err == nil {
			return false, failure.Field("external_id", "a member with this external_id exists").WithKind(failure.MemberExists)
		}
	}
	if m.Phone != "" {
		if _, err := tx.MemberByPhone(ctx, m.ProgramID, string(m.Phone)); err == nil {
			return false, failure.Field("phone", "a member with this phone exists").WithKind(failure.MemberExists)
		}
	}
	return true, nil
}

// MemberByID reads a member of the program by ID.
func (c *Conn) MemberByID(ctx context.Context, programID, id string) (Member, error) {
	return c.memberWhere(ctx, `id = ?`, programID, id)
}

// MemberByExternalID reads a member by its external ID (its identity).
func (c *Conn) MemberByExternalID(ctx context.Context, programID, ext string) (Member, error) {
	return c.MemberByIdentity(ctx, programID, "external_id", ext)
}

// MemberByPhone reads a member by its phone (its identity).
func (c *Conn) MemberByPhone(ctx context.Context, programID, phone string) (Member, error) {
	return c.MemberByIdentity(ctx, programID, "phone", phone)
}

// MemberByReferralCode reads a member by its referral code.
func (c *Conn) MemberByReferralCode(ctx context.Context, programID, code string) (Member, error) {
	return c.memberWhere(ctx, `referral_code = ?`, programID, code)
}

func (c *Conn) memberWhere(ctx context.Context, where, programID, v string) (Member, error) {
	m, err := c.scanMember(c.queryRow(ctx, `SELECT `+memberColumns+` FROM members WHERE program_id = ? AND `+where, programID, v))
	if errors.Is(err, sql.ErrNoRows) {
		return Member{}, failure.New(failure.NotFound, "member not found")
	}
	if err != nil {
		return Member{}, classify(fmt.Errorf("member: %w", err))
	}
	return m, nil
}

// MemberTags reads a member's tags, sorted.
func (c *Conn) MemberTags(ctx context.Context, programID, memberID string) ([]string, error) {
	rows, err := c.query(ctx, `SELECT tag FROM member_tags WHERE program_id = ? AND member_id = ? ORDER BY tag`,
		programID, memberID)
	if err != nil {
		return nil, fmt.Errorf("member tags: %w", err)
	}
	defer rows.Close()
	tags := []string{}
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		tags = append(tags, t)
	}
	return tags, classify(rows.Err())
}

// MemberFilter selects members for a list.
type MemberFilter struct {
	ExternalID string
	Phone      string
	Tier       string
	Status     string
	Tags       []string // every one of them
}

// Members lists a program's members, newest first.
func (c *Conn) Members(ctx context.Context, programID string, f MemberFilter, p Page) ([]Member, string, error) {
	q := `SELECT ` + memberColumns + ` FROM members m WHERE program_id = ?`
	args := []any{programID}
	// external_id and phone are found by their identities: sealed, the
	// columns cannot be compared.
	for _, k := range []struct{ kind, v string }{{"external_id", f.ExternalID}, {"phone", f.Phone}} {
		if k.v == "" {
			continue
		}
		in, lks := c.lookupIn("i.lookup", k.kind, k.v)
		q += ` AND EXISTS (SELECT 1 FROM identities i WHERE i.program_id = ? AND i.member_id = m.id AND ` + in + `)`
		args = append(append(args, programID), lks...)
	}
	if f.Tier != "" {
		q += ` AND tier = ?`
		args = append(args, f.Tier)
	}
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, f.Status)
	}
	for _, t := range f.Tags {
		q += ` AND EXISTS (SELECT 1 FROM member_tags t WHERE t.program_id = ? AND t.member_id = m.id AND t.tag = ?)`
		args = append(args, programID, t)
	}
	if p.Cursor != "" {
		q += ` AND id < ?`
		args = append(args, p.Cursor)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, p.Limit+1)
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("members: %w", err)
	}
	defer rows.Close()
	var out []Member
	for rows.Next() {
		m, err := c.scanMember(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, "", classify(err)
	}
	out, cur := next(out, p.Limit, func(m Member) string { return m.ID })
	return out, cur, nil
}

// UpdateMember writes the profile fields of m. A taken external_id or phone
// is failure.MemberExists.
func (tx *Tx) UpdateMember(ctx context.Context, m Member) error {
	for _, k := range []struct {
		field, col string
		v          null.String
	}{{"external_id", "external_id", m.ExternalID}, {"phone", "phone", m.Phone}} {
		if k.v == "" {
			continue
		}
		other, err := tx.MemberIDByIdentity(ctx, m.ProgramID, k.col, string(k.v))
		if err == nil && other != m.ID {
			return failure.Field(k.field, "another member has this %s", k.field).WithKind(failure.MemberExists)
		}
		if err != nil && failure.KindOf(err) != failure.NotFound {
			return fmt.Errorf("update member: %w", err)
		}
	}
	sm := tx.sealedMember(m)
	// Only the profile: status and tier have writers of their own, so a
	// profile change made from an older read cannot undo them.
	_, err := tx.exec(ctx, `UPDATE members SET external_id = ?, phone = ?, name = ?, gender = ?, birthday = ?,
		birthday_md = ?, region = ?, attributes = ?, referred_by = ?, updated_at = ?
		WHERE program_id = ? AND id = ?`,
		sm.ExternalID, sm.Phone, sm.Name, m.Gender, sm.Birthday, monthDay(m.Birthday), m.Region, string(sm.Attributes),
		m.ReferredBy, ms(m.UpdatedAt), m.ProgramID, m.ID)
	if err != nil {
		if f := uniqueMemberField(err); f != "" {
			return failure.Field(f, "another member has this %s", f).WithKind(failure.MemberExists)
		}
		return fmt.Errorf("update member %s: %w", m.ID, err)
	}
	return tx.setTags(ctx, m.ProgramID, m.ID, m.Tags)
}

// SetMemberStatus changes a member's status.
func (tx *Tx) SetMemberStatus(ctx context.Context, programID, memberID, status string, now time.Time) error {
	_, err := tx.exec(ctx, `UPDATE members SET status = ?, updated_at = ? WHERE program_id = ? AND id = ?`,
		status, ms(now), programID, memberID)
	if err != nil {
		return fmt.Errorf("set member status %s: %w", memberID, err)
	}
	return nil
}

// SetMemberTags replaces a member's tags (sorted by the caller).
func (tx *Tx) SetMemberTags(ctx context.Context, programID, memberID string, tags []string) error {
	if tags == nil {
		tags = []string{}
	}
	return tx.setTags(ctx, programID, memberID, tags)
}

func (tx *Tx) setTags(ctx context.Context, programID, memberID string, tags []string) error {
	if tags == nil {
		return nil
	}
	res, err := tx.exec(ctx, `UPDATE members SET tags = ? WHERE id = ? AND program_id = ?`, tagsText(tags), memberID, programID)
	if err != nil {
		return fmt.Errorf("member tags: %w", err)
	}
	if affected(res) == 0 {
		return nil // not a member of this program: its tags are not ours to touch
	}
	if _, err := tx.exec(ctx, `DELETE FROM member_tags WHERE program_id = ? AND member_id = ?`, programID, memberID); err != nil {
		return fmt.Errorf("member tags: %w", err)
	}
	if len(tags) == 0 {
		return nil
	}
	args := make([]any, 0, 3*len(tags))
	for _, t := range tags {
		args = append(args, programID, memberID, t)
	}
	if _, err := tx.exec(ctx, `INSERT INTO member_tags (program_id, member_id, tag) VALUES `+placeholders(len(tags), 3), args...); err != nil {
		return fmt.Errorf("member tags: %w", err)
	}
	return nil
}

// CountMembers counts a program's members.
func (c *Conn) CountMembers(ctx context.Context, programID string) (int64, error) {
	var n int64
	err := c.queryRow(ctx, `SELECT COUNT(*) FROM members WHERE program_id = ?`, programID).Scan(&n)
	return n, classify(err)
}

// uniqueMemberField names the member field whose unique index a
// PostgreSQL error violated, by SQLSTATE and constraint name; "" for any
// other error. (SQLite's single writer makes the check before the write
// final, so it needs no such mapping.)
func uniqueMemberField(err error) string {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
		return ""
	}
	switch pgErr.ConstraintName {
	case "members_external":
		return "external_id"
	case "members_phone":
		return "phone"
	}
	return ""
}
