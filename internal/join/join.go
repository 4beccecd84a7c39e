// Package join is one-step join (一键扫码入会): join links (a QR code at a
// merchant's counter), the one-time code sent to a shopper's phone, and
// the confirmation that makes the shopper a member at the link's merchant
// with the programme's gift, answering a member token for the member page.
package join

import (
	"context"
	"strings"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/input"
	"github.com/jifen/jifen/internal/member"
	"github.com/jifen/jifen/internal/message"
	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/points"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

// Service runs the join operations.
type Service struct {
	db       *store.DB
	programs *program.Service
	members  *member.Service
	points   *points.Service
	messages *message.Service
	clock    clock.Clock
	// PublicURL is where shoppers reach this installation
	// (JIFEN_PUBLIC_URL): a link's url is PublicURL + /m/join?l=<id>.
	PublicURL string
	// Kick, when set, is called after a code's message commits, so the
	// sender sends it now rather than at its next tick: a shopper waits.
	Kick func(programID string)
}

// NewService returns the join service.
func NewService(db *store.DB, programs *program.Service, members *member.Service, pts *points.Service,
	messages *message.Service, clk clock.Clock) *Service {
	return &Service{db: db, programs: programs, members: members, points: pts, messages: messages, clock: clk}
}

// KindPublic is the actor kind of the join routes: a shopper without a
// key, in the programme its join link names.
const KindPublic = "public"

// Actor is who the join routes act for: nobody, in the link's programme.
// It may do nothing but join (no route takes it but the join routes).
func Actor(programID string) auth.Actor {
	return auth.Actor{ProgramID: programID, Kind: KindPublic, ID: "public", Name: "public", Role: auth.ReadOnly}
}

// Link is a join link.
type Link struct {
	ID           string      `json:"id"`
	URL          string      `json:"url" doc:"JIFEN_PUBLIC_URL + /m/join?l=<id>: what the QR code encodes"`
	MerchantID   string      `json:"merchant_id"`
	Store        null.String `json:"store"`
	ReferralCode null.String `json:"referral_code" doc:"the inviter whose referral code members joining here get"`
	CreatedAt    time.Time   `json:"created_at"`
}

// URL is what a join link's QR code encodes.
func (s *Service) URL(linkID string) string {
	return strings.TrimRight(s.PublicURL, "/") + "/m/join?l=" + linkID
}

func (s *Service) linkOf(r store.JoinLink) Link {
	return Link{ID: r.ID, URL: s.URL(r.ID), MerchantID: r.MerchantID, Store: r.Store, ReferralCode: r.ReferralCode, CreatedAt: r.CreatedAt}
}

// LinkInput creates a join link.
type LinkInput struct {
	MerchantID   string  `json:"merchant_id" api:"minlen=1" doc:"the merchant members join at; a merchant key's own"`
	Store        *string `json:"store,omitempty" api:"maxlen=100" doc:"the store the link is displayed in, for the operator"`
	ReferralCode *string `json:"referral_code,omitempty" doc:"an inviter's referral code applied to every member joining here"`
}

// Validate checks the input on its own.
func (in LinkInput) Validate() error {
	var fs failure.Fields
	if in.Store != nil {
		input.Text(&fs, "store", *in.Store, 100)
	}
	if in.ReferralCode != nil {
		input.Text(&fs, "referral_code", *in.ReferralCode, 32)
	}
	return fs.Err()
}

// CreateLink adds a join link at a merchant (a merchant key's own).
func (s *Service) CreateLink(ctx context.Context, tx *store.Tx, a auth.Actor, in LinkInput) (Link, error) {
	if err := in.Validate(); err != nil {
		return Link{}, err
	}
	mer, err := program.ActingMerchant(ctx, tx, a, in.MerchantID)
	if err != nil {
		return Link{}, err
	}
	if mer == "" {
		return Link{}, failure.Field("merchant_id", "is required: the merchant members join at")
	}
	l := store.JoinLink{ID: id.New("jnl"), ProgramID: a.ProgramID, MerchantID: mer, CreatedAt: s.clock.Now()}
	if in.Store != nil {
		l.Store = null.String(strings.TrimSpace(*in.Store))
	}
	if in.ReferralCode != nil && strings.TrimSpace(*in.ReferralCode) != "" {
		code := strings.ToUpper(strings.TrimSpace(*in.ReferralCode))
		if _, err := tx.MemberByReferralCode(ctx, a.ProgramID, code); err != nil {
			if failure.KindOf(err) == failure.NotFound {
				return Link{}, failure.Field("referral_code", "no member has this referral code")
			}
			return Link{}, err
		}
		l.ReferralCode = null.String(code)
	}
	if err := tx.InsertJoinLink(ctx, l); err != nil {
		return Link{}, err
	}
	return s.linkOf(l), nil
}

// Links lists the join links (a merchant key's own), newest first.
func (s *Service) Links(ctx context.Context, a auth.Actor, pg store.Page) ([]Link, string, error) {
	rs, next, err := s.db.Read().JoinLinks(ctx, a.ProgramID, merchantOf(a), pg)
	out := make([]Link, len(rs))
	for i, r := range rs {
		out[i] = s.linkOf(r)
	}
	return out, next, err
}

// GetLink reads a join link (another merchant's is not found to a
// merchant key).
func (s *Service) GetLink(ctx context.Context, a auth.Actor, linkID string) (Link, error) {
	r, err := s.db.Read().JoinLink(ctx, a.ProgramID, linkID)
	if err == nil && a.IsMerchant() && r.MerchantID != a.MerchantID {
		err = failure.New(failure.NotFound, "join link %s not found", linkID)
	}
	return s.linkOf(r), err
}

// DeleteLink removes a join link: its QR code stops working.
func (s *Service) DeleteLink(ctx context.Context, tx *store.Tx, a auth.Actor, linkID string) error {
	return tx.DeleteJoinLink(ctx, a.ProgramID, merchantOf(a), linkID)
}

func merchantOf(a auth.Actor) string {
	if a.IsMerchant() {
		return a.MerchantID
	}
	return ""
}

// Program is the programme a shopper's join link belongs to, as the
// actor of the join routes: not_found when the link is unknown or the
// programme has join off.
func (s *Service) Program(ctx context.Context, linkID string) (auth.Actor, error) {
	if !strings.HasPrefix(linkID, "jnl_") {
		return auth.Actor{}, failure.New(failure.NotFound, "join link %q not found", linkID)
	}
	l, err := s.db.Read().FindJoinLink(ctx, linkID)
	if err != nil {
		return auth.Actor{}, err
	}
	p, err := s.programs.Get(ctx, l.ProgramID)
	if err != nil {
		return auth.Actor{}, err
	}
	if !p.Join.Enabled {
		return auth.Actor{}, failure.New(failure.NotFound, "join link %s not found", linkID)
	}
	return Actor(p.ID), nil
}

// live reads a join link for the join routes in tx: not_found when it is
// gone or join is off.
func (s *Service) live(ctx context.Context, tx *store.Tx, a auth.Actor, linkID string) (program.Program, store.JoinLink, error) {
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return p, store.JoinLink{}, err
	}
	l, err := tx.JoinLink(ctx, a.ProgramID, linkID)
	if err != nil {
		return p, l, err
	}
	if !p.Join.Enabled {
		return p, l, failure.New(failure.NotFound, "join link %s not found", linkID)
	}
	return p, l, nil
}
