// Package member owns members: creating them with their profile, finding
// them by ID or external ID, profile changes, freezing and erasure. Points
// belong to the ledger; member only asks it to forfeit them on erasure.
package member

import (
	"context"
	"encoding/json"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/identity"
	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/store"
)

// Member is a member as the API shows it.
type Member struct {
	ID           string              `json:"id"`
	ExternalID   null.String         `json:"external_id"`
	Phone        null.String         `json:"phone"`
	Name         null.String         `json:"name"`
	Gender       string              `json:"gender" api:"enum=male|female|unknown"`
	Birthday     null.String         `json:"birthday" api:"format=date"`
	Region       null.String         `json:"region"`
	Attributes   json.RawMessage     `json:"attributes"`
	Tags         []string            `json:"tags"`
	Tier         null.String         `json:"tier"`
	Status       string              `json:"status" api:"enum=active|frozen|erased|merged"`
	ReferralCode string              `json:"referral_code"`
	ReferredBy   null.String         `json:"referred_by"`
	MerchantID   null.String         `json:"merchant_id"`
	CreatedAt    time.Time           `json:"created_at"`
	UpdatedAt    time.Time           `json:"updated_at"`
	Identities   []identity.Identity `json:"identities" doc:"every way a channel names the member (GET /v1/members/{member}/identities)"`
	MergedInto   null.String         `json:"merged_into" doc:"status merged: the member this one was merged into"`
}

// memberOf converts a stored member with its identities.
func memberOf(r store.Member, ids []store.Identity) Member {
	return Member{ID: r.ID, ExternalID: r.ExternalID, Phone: r.Phone, Name: r.Name, Gender: r.Gender, Birthday: r.Birthday,
		Region: r.Region, Attributes: r.Attributes, Tags: r.Tags, Tier: r.Tier, Status: r.Status, ReferralCode: r.ReferralCode,
		ReferredBy: r.ReferredBy, MerchantID: r.MerchantID, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		Identities: identity.Of(ids), MergedInto: r.MergedInto}
}

// View converts a stored member, reading its identities on c (for the
// lists other packages answer with members).
func View(ctx context.Context, c *store.Conn, r store.Member) (Member, error) { return view(ctx, c, r) }

// view converts a stored member, reading its identities on c.
func view(ctx context.Context, c *store.Conn, r store.Member) (Member, error) {
	ids, err := c.Identities(ctx, r.ProgramID, r.ID)
	if err != nil {
		return Member{}, err
	}
	return memberOf(r, ids), nil
}

// Statuses.
const (
	Active = "active"
	Frozen = "frozen"
	Erased = "erased"
	Merged = "merged"
)

// Input is the profile of a new member, or the fields a patch sets. nil
// leaves a field as it is.
type Input struct {
	ExternalID   *string         `json:"external_id,omitempty" api:"minlen=1,maxlen=128" doc:"unique in the program"`
	Phone        *string         `json:"phone,omitempty" doc:"E.164 (+8613800000000) or an 11-digit mainland mobile number, stored as E.164; unique in the program; \"\" clears it"`
	Name         *string         `json:"name,omitempty" api:"maxlen=64"`
	Gender       *string         `json:"gender,omitempty" api:"enum=male|female|unknown"`
	Birthday     *string         `json:"birthday,omitempty" api:"format=date" doc:"YYYY-MM-DD, in the past and after 1900; \"\" clears it"`
	Region       *string         `json:"region,omitempty" api:"maxlen=64"`
	Attributes   json.RawMessage `json:"attributes,omitempty" doc:"a JSON object of at most 16 KiB"`
	Tags         []string        `json:"tags,omitempty" api:"maxitems=100" doc:"each 1 to 32 characters without commas; a PATCH replaces the set"`
	ReferralCode *string         `json:"referral_code,omitempty" doc:"the inviter's referral_code: sets referred_by (once)"`
	MerchantID   *string         `json:"merchant_id,omitempty" doc:"the member's merchant; a merchant key is always its own"`
}

func printable(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// Validate checks the input on its own (a birthday in the future is
// refused when the input is applied, against the operation's clock).
func (in Input) Validate() error {
	var m store.Member
	return in.apply(&m, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), time.UTC)
}

// apply validates in and writes its fields into m.
func (in Input) apply(m *store.Member, now time.Time, loc *time.Location) error {
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
		} else if p, ok := identity.NormalizePhone(*in.Phone); ok {
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
