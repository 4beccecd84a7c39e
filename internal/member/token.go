package member

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/identity"
	"github.com/jifen/jifen/internal/input"
	"github.com/jifen/jifen/internal/store"
)

// Member tokens: what a merchant's backend gives its app, so that the
// member page acts for one member. A token carries its programme, member,
// scope and expiry under HMAC-SHA256 with the programme's secret (in the
// database, so any node checks it); nothing is stored per token.
const (
	tokenPrefix     = "jmt_"
	DefaultTokenTTL = 900
	MinTokenTTL     = 60
	MaxTokenTTL     = 86400
)

// TokenInput asks for a member token.
type TokenInput struct {
	TTLSeconds int64  `json:"ttl_seconds,omitempty" api:"min=60,max=86400,default=900"`
	Scope      string `json:"scope,omitempty" api:"enum=member|read" doc:"member (read and act, the default) or read"`
}

// Validate checks the input on its own.
func (in TokenInput) Validate() error {
	var fs failure.Fields
	if in.TTLSeconds != 0 && (in.TTLSeconds < MinTokenTTL || in.TTLSeconds > MaxTokenTTL) {
		fs.Add("ttl_seconds", "must be %d to %d", MinTokenTTL, MaxTokenTTL)
	}
	input.OneOf(&fs, "scope", in.Scope, auth.ScopeMember, auth.ScopeRead)
	return fs.Err()
}

// Token is a member token as issued.
type Token struct {
	Token     string    `json:"token"`
	MemberID  string    `json:"member_id"`
	Scope     string    `json:"scope"`
	ExpiresAt time.Time `json:"expires_at"`
}

type tokenClaims struct {
	Program string `json:"p"`
	Member  string `json:"m"`
	Scope   string `json:"s"`
	Expires int64  `json:"e"` // Unix milliseconds
}

var b64url = base64.RawURLEncoding

// tokenKeys caches the programmes' secrets: they never change.
type tokenKeys struct {
	mu sync.Mutex
	m  map[string][]byte
}

// IssueToken makes a member token for an active member of the actor's
// programme.
func (s *Service) IssueToken(ctx context.Context, tx *store.Tx, a auth.Actor, ref string, in TokenInput) (Token, error) {
	if err := in.Validate(); err != nil {
		return Token{}, err
	}
	m, err := identity.Resolve(ctx, &tx.Conn, a, ref)
	if err != nil {
		return Token{}, err
	}
	if m.Status != Active {
		return Token{}, failure.New(failure.Conflict, "member %s is %s", m.ID, m.Status)
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return Token{}, err
	}
	now := s.clock.Now()
	secret, err := tx.EnsureMemberTokenSecret(ctx, a.ProgramID, hex.EncodeToString(fresh), now)
	if err != nil {
		return Token{}, err
	}
	ttl := in.TTLSeconds
	if ttl == 0 {
		ttl = DefaultTokenTTL
	}
	scope := in.Scope
	if scope == "" {
		scope = auth.ScopeMember
	}
	exp := now.Add(time.Duration(ttl) * time.Second)
	c := tokenClaims{Program: a.ProgramID, Member: m.ID, Scope: scope, Expires: exp.UnixMilli()}
	payload, _ := json.Marshal(c)
	body := b64url.EncodeToString(payload)
	return Token{Token: tokenPrefix + body + "." + b64url.EncodeToString(sign(secret, body)), MemberID: m.ID, Scope: scope,
		ExpiresAt: exp}, nil
}

func sign(secret, body string) []byte {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	return mac.Sum(nil)
}

// IsToken reports whether a bearer secret is a member token.
func IsToken(s string) bool { return strings.HasPrefix(s, tokenPrefix) }

// Authenticate checks a member token and returns its actor: a forged or
// unknown one is unauthenticated, an expired one token_expired, and one
// whose member is erased or merged unauthenticated.
func (s *Service) Authenticate(ctx context.Context, token string) (auth.Actor, error) {
	bad := failure.New(failure.Unauthenticated, "the member token is not valid")
	body, sig, ok := strings.Cut(strings.TrimPrefix(token, tokenPrefix), ".")
	if !ok {
		return auth.Actor{}, bad
	}
	payload, err1 := b64url.DecodeString(body)
	mac, err2 := b64url.DecodeString(sig)
	var c tokenClaims
	if err1 != nil || err2 != nil || json.Unmarshal(payload, &c) != nil || c.Program == "" {
		return auth.Actor{}, bad
	}
	secret, err := s.tokenSecret(ctx, c.Program)
	if err != nil {
		return auth.Actor{}, err
	}
	if secret == "" || !hmac.Equal(mac, sign(secret, body)) {
		return auth.Actor{}, bad
	}
	if !s.clock.Now().Before(time.UnixMilli(c.Expires)) {
		return auth.Actor{}, failure.New(failure.TokenExpired, "the member token expired at %s", time.UnixMilli(c.Expires).UTC().Format(time.RFC3339))
	}
	m, err := s.db.Read().MemberByID(ctx, c.Program, c.Member)
	if failure.KindOf(err) == failure.NotFound || m.Status == Erased || m.Status == "merged" {
		return auth.Actor{}, failure.New(failure.Unauthenticated, "the member token's member is gone")
	}
	if err != nil {
		return auth.Actor{}, err
	}
	return auth.Actor{ProgramID: c.Program, Kind: auth.KindMember, ID: m.ID, Name: m.ID, Role: auth.RoleMember,
		MemberID: m.ID, Scope: c.Scope}, nil
}

func (s *Service) tokenSecret(ctx context.Context, programID string) (string, error) {
	s.keys.mu.Lock()
	k, ok := s.keys.m[programID]
	s.keys.mu.Unlock()
	if ok {
		return string(k), nil
	}
	secret, err := s.db.Read().MemberTokenSecret(ctx, programID)
	if err != nil || secret == "" {
		return secret, err
	}
	s.keys.mu.Lock()
	if s.keys.m == nil {
		s.keys.m = map[string][]byte{}
	}
	s.keys.m[programID] = []byte(secret)
	s.keys.mu.Unlock()
	return secret, nil
}
