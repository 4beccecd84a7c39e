// Package member owns members: creating them with their profile, finding
// them by ID or external ID, profile changes, freezing and erasure. Points
// belong to the ledger; member only asks it to forfeit them on erasure.
package member

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/store"
)

// Member is a stored member.
type Member = store.Member

// Statuses.
const (
	Active = "active"
	Frozen = "frozen"
	Erased = "erased"
)

// Input is the profile of a new member, or the fields a patch sets. nil
// leaves a field as it is.
type Input struct {
	ExternalID   *string         `json:"external_id,omitempty"`
	Phone        *string         `json:"phone,omitempty"`
	Name         *string         `json:"name,omitempty"`
	Gender       *string         `json:"gender,omitempty"`
	Birthday     *string         `json:"birthday,omitempty"`
	Region       *string         `json:"region,omitempty"`
	Attributes   json.RawMessage `json:"attributes,omitempty"`
	Tags         []string        `json:"tags,omitempty"`
	ReferralCode *string         `json:"referral_code,omitempty"`
	MerchantID   *string         `json:"merchant_id,omitempty"`
}

var (
	e164     = regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)
	mainland = regexp.MustCompile(`^1[3-9][0-9]{9}$`)
)

// NormalizePhone turns an 11-digit mainland mobile number into E.164 and
// checks an E.164 one; ok is false for anything else.
func NormalizePhone(s string) (string, bool) {
	s = strings.TrimSpace(s)
	switch {
	case mainland.MatchString(s):
		return "+86" + s, true
	case e164.MatchString(s):
		return s, true
	}
	return "", false
}

func printable(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// apply validates in and writes its fields into m.
func (in Input) apply(m *Member, now time.Time, loc *time.Location) error {
	var fs failure.Fields
	text := func(field string, v *string, max int, dst *null.String) {
		if v == nil {
			return
		}
		s := strings.TrimSpace(*v)
		switch {
		case utf8.RuneCountInString(s) > max:
			fs.Add(field, "must be at most %d characters", max)
		case !printable(s):
			fs.Add(field, "must not contain control characters")
		default:
			*dst = null.String(s)
		}
	}
	if in.ExternalID != nil && strings.TrimSpace(*in.ExternalID) == "" {
		fs.Add("external_id", "must not be empty")
	} else {
		text("external_id", in.ExternalID, 128, &m.ExternalID)
	}
	if in.Phone != nil {
		if *in.Phone == "" {
			m.Phone = ""
		} else if p, ok := NormalizePhone(*in.Phone); ok {
			m.Phone = null.String(p)
		} else {
			fs.Add("phone", "must be E.164 (+8613800000000) or an 11-digit mainland mobile number")
		}
	}
	text("name", in.Name, 64, &m.Name)
	text("region", in.Region, 64, &m.Region)
	if in.Gender != nil {
		switch *in.Gender {
		case "male", "female", "unknown":
			m.Gender = *in.Gender
		default:
			fs.Add("gender", "must be male, female or unknown")
		}
	}
	if in.Birthday != nil {
		if *in.Birthday == "" {
			m.Birthday = ""
		} else if d, err := time.ParseInLocation(time.DateOnly, *in.Birthday, loc); err != nil {
			fs.Add("birthday", "must be a date YYYY-MM-DD")
		} else if d.After(now) || d.Year() < 1900 {
			fs.Add("birthday", "must be a past date after 1900")
		} else {
			m.Birthday = null.String(*in.Birthday)
		}
	}
	if in.Attributes != nil {
		var obj map[string]any
		switch {
		case len(in.Attributes) > 16<<10:
			fs.Add("attributes", "must be at most 16 KiB")
		case json.Unmarshal(in.Attributes, &obj) != nil || obj == nil:
			fs.Add("attributes", "must be a JSON object")
		default:
			m.Attributes, _ = json.Marshal(obj)
		}
	}
	if in.Tags != nil {
		tags, err := normalizeTags(in.Tags)
		if err != nil {
			fs = append(fs, failure.As(err).Fields...)
		} else {
			m.Tags = tags
		}
	}
	return fs.Err()
}

func normalizeTags(in []string) ([]string, error) {
	seen := make(map[string]bool, len(in))
	out := make([]string, 0, len(in))
	if len(in) > 100 {
		return nil, failure.Field("tags", "at most 100 tags")
	}
	for _, t := range in {
		t = strings.TrimSpace(t)
		if n := utf8.RuneCountInString(t); n < 1 || n > 32 || strings.Contains(t, ",") || !printable(t) {
			return nil, failure.Field("tags", "each tag is 1 to 32 characters without commas or control characters")
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out, nil
}

// Create adds a member. A referral code names the inviter; an unknown code
// is a validation failure.
func Create(ctx context.Context, tx *store.Tx, programID string, in Input, now time.Time, loc *time.Location) (Member, error) {
	m := Member{
		ID: id.New("mem"), ProgramID: programID, Gender: "unknown", Status: Active,
		Attributes: json.RawMessage(`{}`), Tags: []string{}, CreatedAt: now, UpdatedAt: now,
	}
	if err := in.apply(&m, now, loc); err != nil {
		return Member{}, err
	}
	if in.MerchantID != nil && *in.MerchantID != "" {
		if _, err := tx.Merchant(ctx, programID, *in.MerchantID); err != nil {
			return Member{}, failure.Field("merchant_id", "no such merchant")
		}
		m.MerchantID = null.String(*in.MerchantID)
	}
	if in.ReferralCode != nil && *in.ReferralCode != "" {
		inviter, err := tx.MemberByReferralCode(ctx, programID, strings.ToUpper(strings.TrimSpace(*in.ReferralCode)))
		if err != nil {
			if failure.KindOf(err) == failure.NotFound {
				return Member{}, failure.Field("referral_code", "no member has this referral code")
			}
			return Member{}, err
		}
		m.ReferredBy = null.String(inviter.ID)
	}
	for attempt := 0; ; attempt++ {
		m.ReferralCode = newReferralCode()
		taken, err := tx.InsertMember(ctx, m)
		if err != nil {
			return Member{}, err
		}
		if !taken {
			// The points balance row is the member's lock (see
			// ledger.LockMember): it exists from the start, so freezing
			// and erasing always have it to take.
			if _, err := tx.CreateBalance(ctx, programID, m.ID, ledger.Points, now); err != nil {
				return Member{}, err
			}
			return m, nil
		}
		if attempt == 5 {
			return Member{}, failure.New(failure.Internal, "no free referral code")
		}
	}
}

// newReferralCode draws 8 characters without look-alikes (no 0/O, 1/I/L).
func newReferralCode() string {
	const alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
	raw := id.Secret(8)
	b := make([]byte, len(raw))
	for i := range raw {
		b[i] = alphabet[int(raw[i])%len(alphabet)]
	}
	return string(b)
}

// Resolve turns a member reference — "mem_…" or "ext:<external_id>" — into
// a member of the program.
func Resolve(ctx context.Context, c *store.Conn, programID, ref string) (Member, error) {
	var m Member
	var err error
	switch {
	case strings.HasPrefix(ref, "ext:") && len(ref) > 4:
		m, err = c.MemberByExternalID(ctx, programID, ref[4:])
	case strings.HasPrefix(ref, "external_id:") && len(ref) > 12:
		m, err = c.MemberByExternalID(ctx, programID, ref[12:])
	case strings.HasPrefix(ref, "phone:"):
		p, ok := NormalizePhone(ref[6:])
		if !ok {
			return Member{}, failure.New(failure.NotFound, "member %s not found", ref)
		}
		m, err = c.MemberByPhone(ctx, programID, p)
	case strings.HasPrefix(ref, "mem_"):
		m, err = c.MemberByID(ctx, programID, ref)
	default:
		return Member{}, failure.New(failure.NotFound, "member %s not found", ref)
	}
	if failure.KindOf(err) == failure.NotFound {
		return Member{}, failure.New(failure.NotFound, "member %s not found", ref)
	}
	return m, err
}

// ID is the ID of the member a reference names. A member ID is taken as
// it is, without a query: the operation that uses it reads the member
// under its lock and answers not_found then.
func ID(ctx context.Context, c *store.Conn, programID, ref string) (string, error) {
	if strings.HasPrefix(ref, "mem_") {
		return ref, nil
	}
	m, err := Resolve(ctx, c, programID, ref)
	return m.ID, err
}

// Get resolves a member and reads its tags.
func Get(ctx context.Context, c *store.Conn, programID, ref string) (Member, error) {
	return Resolve(ctx, c, programID, ref)
}

// Update applies a patch to a member. Erased members cannot change. A
// member that joined without a referral code may be given one later (once):
// referring itself, or anyone up its inviter's chain, is refused.
func Update(ctx context.Context, tx *store.Tx, programID, memberID string, in Input, now time.Time, loc *time.Location) (Member, error) {
	if in.MerchantID != nil {
		return Member{}, failure.Field("merchant_id", "cannot be changed")
	}
	// The member's lock first: an erase, a freeze or another profile change
	// running at the same time finishes before this one reads.
	if _, err := tx.LockMemberBalances(ctx, programID, memberID); err != nil {
		return Member{}, err
	}
	m, err := Get(ctx, &tx.Conn, programID, memberID)
	if err != nil {
		return Member{}, err
	}
	if m.Status == Erased {
		return Member{}, failure.New(failure.Conflict, "member %s is erased", m.ID)
	}
	if in.ReferralCode != nil {
		if m.ReferredBy != "" {
			return Member{}, failure.New(failure.Conflict, "member %s was already referred by %s", m.ID, m.ReferredBy)
		}
		inviter, err := tx.MemberByReferralCode(ctx, programID, strings.ToUpper(strings.TrimSpace(*in.ReferralCode)))
		if failure.KindOf(err) == failure.NotFound {
			return Member{}, failure.Field("referral_code", "no member has this referral code")
		}
		if err != nil {
			return Member{}, err
		}
		if err := checkReferrer(ctx, &tx.Conn, programID, m.ID, inviter.ID); err != nil {
			return Member{}, err
		}
		m.ReferredBy = null.String(inviter.ID)
	}
	if err := in.apply(&m, now, loc); err != nil {
		return Member{}, err
	}
	if in.Tags == nil {
		m.Tags = nil // keep the stored ones
	}
	m.UpdatedAt = now
	if err := tx.UpdateMember(ctx, m); err != nil {
		return Member{}, err
	}
	return Get(ctx, &tx.Conn, programID, m.ID)
}

// SetFrozen freezes or unfreezes a member. It is idempotent; an erased
// member cannot be either.
func SetFrozen(ctx context.Context, tx *store.Tx, programID, memberID string, frozen bool, now time.Time) (Member, error) {
	if _, err := tx.LockMemberBalances(ctx, programID, memberID); err != nil {
		return Member{}, err
	}
	m, err := Get(ctx, &tx.Conn, programID, memberID)
	if err != nil {
		return Member{}, err
	}
	if m.Status == Erased {
		return Member{}, failure.New(failure.Conflict, "member %s is erased", m.ID)
	}
	want := Active
	if frozen {
		want = Frozen
	}
	if m.Status == want {
		return m, nil
	}
	if err := tx.SetMemberStatus(ctx, programID, m.ID, want, now); err != nil {
		return Member{}, err
	}
	return Get(ctx, &tx.Conn, programID, m.ID)
}

// Erase blanks a member's personal data and forfeits its points with an
// expire transaction (reason "erased"); its holds are released first. The
// ledger, the IDs and the statistics stay, so the books still balance.
// Erasing an erased member changes nothing.
func Erase(ctx context.Context, tx *store.Tx, p ledger.Program, memberID string, now time.Time) (Member, error) {
	bals, err := tx.LockMemberBalances(ctx, p.ID, memberID)
	if err != nil {
		return Member{}, err
	}
	m, err := Get(ctx, &tx.Conn, p.ID, memberID)
	if err != nil {
		return Member{}, err
	}
	if m.Status == Erased {
		return m, nil
	}
	for _, b := range bals {
		if _, err := ledger.Forfeit(ctx, tx, p, m.ID, b.Currency, "erased", now); err != nil {
			return Member{}, err
		}
	}
	m.ExternalID, m.Phone, m.Name, m.Birthday, m.Region = "", "", "", "", ""
	m.Gender, m.Attributes, m.Tags = "unknown", json.RawMessage(`{}`), []string{}
	m.Status, m.UpdatedAt = Erased, now
	if err := tx.UpdateMember(ctx, m); err != nil {
		return Member{}, err
	}
	if err := tx.SetMemberStatus(ctx, p.ID, m.ID, Erased, now); err != nil {
		return Member{}, err
	}
	return m, nil
}

// checkReferrer refuses a referral that would make a cycle: the member may
// not be its own inviter, nor anyone up the inviter's chain of referrers.
func checkReferrer(ctx context.Context, c *store.Conn, programID, memberID, inviterID string) error {
	for depth, cur := 0, inviterID; cur != ""; depth++ {
		if cur == memberID {
			if depth == 0 {
				return failure.Field("referral_code", "a member cannot refer itself")
			}
			return failure.Field("referral_code", "this referral would make a cycle")
		}
		if depth > 1000 {
			return failure.Field("referral_code", "the referral chain is too long")
		}
		inv, err := c.MemberByID(ctx, programID, cur)
		if err != nil {
			return err
		}
		cur = string(inv.ReferredBy)
	}
	return nil
}
