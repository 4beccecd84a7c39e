package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/null"
)

// JoinLink is a join link: where a shopper who scans it becomes a member.
type JoinLink struct {
	ID           string
	ProgramID    string
	MerchantID   string
	Store        null.String
	ReferralCode null.String
	CreatedAt    time.Time
}

const joinLinkColumns = `id, program_id, merchant_id, store, referral_code, created_at`

func scanJoinLink(row interface{ Scan(...any) error }) (JoinLink, error) {
	var l JoinLink
	var created int64
	err := row.Scan(&l.ID, &l.ProgramID, &l.MerchantID, &l.Store, &l.ReferralCode, &created)
	l.CreatedAt = fromMS(created)
	return l, err
}

// InsertJoinLink stores a new join link.
func (tx *Tx) InsertJoinLink(ctx context.Context, l JoinLink) error {
	_, err := tx.exec(ctx, `INSERT INTO join_links (`+joinLinkColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
		l.ID, l.ProgramID, l.MerchantID, l.Store, l.ReferralCode, ms(l.CreatedAt))
	if err != nil {
		return classify(fmt.Errorf("insert join link: %w", err))
	}
	return nil
}

// DeleteJoinLink removes a join link (a merchant's only, when merchantID
// is set); NotFound when there is none.
func (tx *Tx) DeleteJoinLink(ctx context.Context, programID, merchantID, id string) error {
	q, args := `DELETE FROM join_links WHERE id = ? AND program_id = ?`, []any{id, programID}
	if merchantID != "" {
		q, args = q+` AND merchant_id = ?`, append(args, merchantID)
	}
	res, err := tx.exec(ctx, q, args...)
	if err != nil {
		return classify(fmt.Errorf("delete join link: %w", err))
	}
	if affected(res) == 0 {
		return failure.New(failure.NotFound, "join link %s not found", id)
	}
	return nil
}

// JoinLink reads a programme's join link; NotFound when there is none.
func (c *Conn) JoinLink(ctx context.Context, programID, id string) (JoinLink, error) {
	l, err := scanJoinLink(c.queryRow(ctx, `SELECT `+joinLinkColumns+` FROM join_links WHERE id = ? AND program_id = ?`, id, programID))
	return l, joinLinkErr(err, id)
}

// FindJoinLink reads a join link by its ID alone: the one query that does
// not name its programme, because a link is how a shopper without a key
// names it (IDs are unique across programmes).
func (c *Conn) FindJoinLink(ctx context.Context, id string) (JoinLink, error) {
	l, err := scanJoinLink(c.queryRow(ctx, `SELECT `+joinLinkColumns+` FROM join_links WHERE id = ?`, id))
	return l, joinLinkErr(err, id)
}

func joinLinkErr(err error, id string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return failure.New(failure.NotFound, "join link %s not found", id)
	}
	if err != nil {
		return classify(fmt.Errorf("join link: %w", err))
	}
	return nil
}

// JoinLinks lists a programme's join links (a merchant's only, when
// merchantID is set), newest first.
func (c *Conn) JoinLinks(ctx context.Context, programID, merchantID string, p Page) ([]JoinLink, string, error) {
	q, args := `SELECT `+joinLinkColumns+` FROM join_links WHERE program_id = ?`, []any{programID}
	if merchantID != "" {
		q, args = q+` AND merchant_id = ?`, append(args, merchantID)
	}
	return messagePage(ctx, c, q, args, p, scanJoinLink, func(l JoinLink) string { return l.ID })
}

// JoinCode is the live one-time code of a phone.
type JoinCode struct {
	ProgramID   string
	PhoneLookup string
	LinkID      string
	CodeHash    string
	ExpiresAt   time.Time
	Tries       int
	UsedAt      *time.Time
	MemberID    null.String
	CreatedAt   time.Time
}

// PutJoinCode stores a phone's code, replacing any earlier one.
func (tx *Tx) PutJoinCode(ctx context.Context, j JoinCode) error {
	_, err := tx.exec(ctx, `INSERT INTO join_codes (program_id, phone_lookup, link_id, code_hash, expires_at, tries, used_at, member_id, created_at)
		VALUES (?, ?, ?, ?, ?, 0, NULL, NULL, ?)
		ON CONFLICT (program_id, phone_lookup) DO UPDATE SET link_id = excluded.link_id, code_hash = excluded.code_hash,
		expires_at = excluded.expires_at, tries = 0, used_at = NULL, member_id = NULL, created_at = excluded.created_at`,
		j.ProgramID, j.PhoneLookup, j.LinkID, j.CodeHash, ms(j.ExpiresAt), ms(j.CreatedAt))
	if err != nil {
		return classify(fmt.Errorf("put join code: %w", err))
	}
	return nil
}

// LockJoinCode reads a phone's code, locked for the transaction;
// NotFound when none was sent.
func (tx *Tx) LockJoinCode(ctx context.Context, programID, phoneLookup string) (JoinCode, error) {
	j := JoinCode{ProgramID: programID, PhoneLookup: phoneLookup}
	var expires, created int64
	var used sql.NullInt64
	err := tx.queryRow(ctx, `SELECT link_id, code_hash, expires_at, tries, used_at, member_id, created_at FROM join_codes
		WHERE program_id = ? AND phone_lookup = ? /*lock*/`, programID, phoneLookup).
		Scan(&j.LinkID, &j.CodeHash, &expires, &j.Tries, &used, &j.MemberID, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return j, failure.New(failure.NotFound, "no join code was sent to this phone")
	}
	if err != nil {
		return j, classify(fmt.Errorf("join code: %w", err))
	}
	j.ExpiresAt, j.CreatedAt = fromMS(expires), fromMS(created)
	if used.Valid {
		t := fromMS(used.Int64)
		j.UsedAt = &t
	}
	return j, nil
}

// CountJoinTry records one wrong try of a phone's code.
func (tx *Tx) CountJoinTry(ctx context.Context, programID, phoneLookup string) error {
	_, err := tx.exec(ctx, `UPDATE join_codes SET tries = tries + 1 WHERE program_id = ? AND phone_lookup = ?`, programID, phoneLookup)
	if err != nil {
		return classify(fmt.Errorf("count join try: %w", err))
	}
	return nil
}

// UseJoinCode marks a phone's code used by a member; false when it was
// already used (a concurrent confirm won).
func (tx *Tx) UseJoinCode(ctx context.Context, programID, phoneLookup, memberID string, at time.Time) (bool, error) {
	res, err := tx.exec(ctx, `UPDATE join_codes SET used_at = ?, member_id = ? WHERE program_id = ? AND phone_lookup = ? AND used_at IS NULL`,
		ms(at), memberID, programID, phoneLookup)
	if err != nil {
		return false, classify(fmt.Errorf("use join code: %w", err))
	}
	return affected(res) == 1, nil
}

// InsertJoinSend records a code sent, for the rate limits, and purges
// the programme's sends older than purgeBefore.
func (tx *Tx) InsertJoinSend(ctx context.Context, programID, id, phoneLookup, ipLookup string, at, purgeBefore time.Time) error {
	if _, err := tx.exec(ctx, `DELETE FROM join_sends WHERE at < ? AND program_id = ?`, ms(purgeBefore), programID); err != nil {
		return classify(fmt.Errorf("purge join sends: %w", err))
	}
	_, err := tx.exec(ctx, `INSERT INTO join_sends (id, program_id, phone_lookup, ip_lookup, at) VALUES (?, ?, ?, ?, ?)`,
		id, programID, phoneLookup, ipLookup, ms(at))
	if err != nil {
		return classify(fmt.Errorf("insert join send: %w", err))
	}
	return nil
}

// JoinSends counts the sends to a phone (or, with byIP, from a client IP)
// at or after since, and answers the earliest of them.
func (c *Conn) JoinSends(ctx context.Context, programID, lookup string, byIP bool, since time.Time) (int, time.Time, error) {
	col := "phone_lookup"
	if byIP {
		col = "ip_lookup"
	}
	var n int
	var first sql.NullInt64
	err := c.queryRow(ctx, `SELECT COUNT(*), MIN(at) FROM join_sends WHERE program_id = ? AND `+col+` = ? AND at >= ?`,
		programID, lookup, ms(since)).Scan(&n, &first)
	if err != nil {
		return 0, time.Time{}, classify(fmt.Errorf("join sends: %w", err))
	}
	return n, fromMS(first.Int64), nil
}

// DeleteJoinCodes removes what one-step join keeps of an erased member:
// its phone's code and sends (by the phone's lookup), and any code it used.
func (tx *Tx) DeleteJoinCodes(ctx context.Context, programID, memberID, phoneLookup string) error {
	if _, err := tx.exec(ctx, `DELETE FROM join_codes WHERE program_id = ? AND (member_id = ? OR phone_lookup = ?)`,
		programID, memberID, phoneLookup); err != nil {
		return classify(fmt.Errorf("delete join codes: %w", err))
	}
	if _, err := tx.exec(ctx, `DELETE FROM join_sends WHERE program_id = ? AND phone_lookup = ?`, programID, phoneLookup); err != nil {
		return classify(fmt.Errorf("delete join sends: %w", err))
	}
	return nil
}
