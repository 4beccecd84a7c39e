package join

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/identity"
	"github.com/jifen/jifen/internal/input"
	"github.com/jifen/jifen/internal/message"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

// The one-time code and its limits.
const (
	CodeTTL      = 5 * time.Minute
	MaxTries     = 5 // wrong tries a code survives
	ResendAfter  = 60 * time.Second
	PerPhoneDay  = 10 // codes per phone per programme-local day
	PerIPHour    = 20 // codes per client IP per hour
	codeDigits   = 6
	sendsKeptFor = 48 * time.Hour
)

// CodeInput asks for a code to a phone.
type CodeInput struct {
	Link  string `json:"link" api:"minlen=1" doc:"the join link's ID (jnl_…)"`
	Phone string `json:"phone" api:"minlen=1" doc:"E.164 (+8613800000000) or an 11-digit mainland mobile number"`
}

// CodeSent answers a code request: the same whether the phone belongs to
// a member or not.
type CodeSent struct {
	ExpiresAt          time.Time `json:"expires_at"`
	ResendAfterSeconds int64     `json:"resend_after_seconds"`
}

// phone checks and normalises a phone field.
func phone(fs *failure.Fields, v string) string {
	p, ok := identity.NormalizePhone(strings.TrimSpace(v))
	if !ok {
		fs.Add("phone", "must be a phone number, such as +8613800000000 or 13800000000")
	}
	return p
}

// SendCode makes a fresh code for a phone, replacing any earlier one, and
// queues it by the programme's SMS channel in tx, within the limits: one
// per phone per minute and PerPhoneDay a day, PerIPHour per client IP an
// hour (rate_limited, with when to try again). ip is the client's address.
func (s *Service) SendCode(ctx context.Context, tx *store.Tx, a auth.Actor, in CodeInput, ip string) (CodeSent, error) {
	var fs failure.Fields
	input.Required(&fs, "link", in.Link != "", "a join link ID")
	ph := phone(&fs, in.Phone)
	if err := fs.Err(); err != nil {
		return CodeSent{}, err
	}
	p, l, err := s.live(ctx, tx, a, in.Link)
	if err != nil {
		return CodeSent{}, err
	}
	now := s.clock.Now()
	phoneKey, ipKey := tx.Lookup(identity.Phone, ph), tx.Lookup("ip", ip)
	code, err := newCode()
	if err != nil {
		return CodeSent{}, err
	}
	// The code row first: it locks the phone's row (PostgreSQL), so two
	// requests for one phone count each other's sends.
	exp := now.Add(CodeTTL)
	if err := tx.PutJoinCode(ctx, store.JoinCode{ProgramID: p.ID, PhoneLookup: phoneKey, LinkID: l.ID,
		CodeHash: hashCode(code), ExpiresAt: exp, CreatedAt: now}); err != nil {
		return CodeSent{}, err
	}
	if err := s.limit(ctx, tx, p, phoneKey, ipKey, now); err != nil {
		return CodeSent{}, err
	}
	if err := tx.InsertJoinSend(ctx, p.ID, id.New("jsd"), phoneKey, ipKey, now, now.Add(-sendsKeptFor)); err != nil {
		return CodeSent{}, err
	}
	q := message.QueueInput{ChannelID: p.Join.SMSChannelID, TemplateID: p.Join.SMSTemplateID, To: ph,
		Values: map[string]string{"join.code": code, "join.minutes": strconv.Itoa(int(CodeTTL / time.Minute))}}
	if m, err := identity.Resolve(ctx, &tx.Conn, a, identity.Phone+":"+ph); err == nil {
		q.MemberID = m.ID // the message log shows it on the member (and erasure blanks it)
	} else if failure.KindOf(err) != failure.NotFound {
		return CodeSent{}, err
	}
	if _, err := s.messages.Queue(ctx, tx, p.ID, q); err != nil {
		return CodeSent{}, err
	}
	if s.Kick != nil {
		tx.After(func() { s.Kick(p.ID) })
	}
	return CodeSent{ExpiresAt: exp, ResendAfterSeconds: int64(ResendAfter / time.Second)}, nil
}

// limit refuses a send over a limit, saying when the next is allowed.
func (s *Service) limit(ctx context.Context, tx *store.Tx, p program.Program, phoneKey, ipKey string, now time.Time) error {
	refuse := func(at time.Time, format string, args ...any) error {
		e := failure.New(failure.RateLimited, format, args...)
		e.RetryAfter = max(at.Sub(now), time.Second)
		return e
	}
	n, first, err := tx.JoinSends(ctx, p.ID, phoneKey, false, now.Add(-ResendAfter+time.Millisecond))
	if err != nil {
		return err
	}
	if n > 0 {
		return refuse(first.Add(ResendAfter), "a code was sent to this phone less than %d seconds ago", int(ResendAfter/time.Second))
	}
	local := now.In(p.Location)
	day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, p.Location)
	if n, _, err = tx.JoinSends(ctx, p.ID, phoneKey, false, day); err != nil {
		return err
	}
	if n >= PerPhoneDay {
		return refuse(day.AddDate(0, 0, 1), "%d codes were sent to this phone today", PerPhoneDay)
	}
	if n, first, err = tx.JoinSends(ctx, p.ID, ipKey, true, now.Add(-time.Hour+time.Millisecond)); err != nil {
		return err
	}
	if n >= PerIPHour {
		return refuse(first.Add(time.Hour), "%d codes were asked for from this address in the last hour", PerIPHour)
	}
	return nil
}

// newCode draws a 6-digit code from crypto/rand.
func newCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%0*d", codeDigits, n.Int64()), nil
}

// hashCode stores a code as salt$SHA-256(salt‖code): no code in clear.
func hashCode(code string) string {
	salt := id.Secret(16)
	sum := sha256.Sum256([]byte(salt + code))
	return salt + "$" + hex.EncodeToString(sum[:])
}

// codeMatches compares a code with its stored hash in constant time.
func codeMatches(stored, code string) bool {
	salt, want, ok := strings.Cut(stored, "$")
	if !ok {
		return false
	}
	sum := sha256.Sum256([]byte(salt + code))
	return subtle.ConstantTimeCompare([]byte(hex.EncodeToString(sum[:])), []byte(want)) == 1
}
