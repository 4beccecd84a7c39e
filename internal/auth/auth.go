// Package auth owns API keys and roles: creating, listing and deleting
// keys, and turning a bearer secret into an Actor. Secrets are shown
// once and stored only as a SHA-256 hash; the service remembers recent
// lookups for a few seconds so that authentication costs no query on the
// hot path, and forgets a key at once when this node deletes it.
package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"
	"time"

	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/input"
	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/store"
)

// Roles.
const (
	Admin    = "admin"    // everything in its program
	Merchant = "merchant" // operations and reads, as its own merchant
	ReadOnly = "readonly" // reads
)

// Key is an API key as the API shows it.
type Key struct {
	ID         string      `json:"id"`
	Name       string      `json:"name"`
	Role       string      `json:"role" api:"enum=admin|merchant|readonly"`
	MerchantID null.String `json:"merchant_id"`
	PublicKey  null.String `json:"public_key" doc:"base64 Ed25519 public key of a key that signs its requests (docs/security.md); null for a key with a secret"`
	RateLimit  *RateLimit  `json:"rate_limit" doc:"the key's own token bucket; null: the node's default (JIFEN_RATE_LIMIT)"`
	CreatedAt  time.Time   `json:"created_at"`
}

// KeyCreated is a new key with its secret, shown only this once; a key
// with a public key has none (null).
type KeyCreated struct {
	Key
	Secret *string `json:"secret" doc:"shown only in the answer that creates the key; only a hash is stored; null for a key that signs"`
}

// RateLimit is a token bucket: per_second tokens a second, at most burst
// at once. per_second 0 is no limit.
type RateLimit struct {
	PerSecond float64 `json:"per_second" api:"min=0,max=1000000"`
	Burst     int     `json:"burst" api:"min=0,max=1000000"`
}

// validate checks a rate limit given as field.
func (r *RateLimit) validate(fs *failure.Fields, field string) {
	switch {
	case r == nil:
	case r.PerSecond < 0 || r.PerSecond > 1_000_000:
		fs.Add(field+".per_second", "must be 0 (no limit) to 1000000")
	case r.Burst < 0 || r.Burst > 1_000_000:
		fs.Add(field+".burst", "must be 1 to 1000000")
	case r.PerSecond > 0 && r.Burst < 1:
		fs.Add(field+".burst", "must be at least 1 when per_second is more than 0")
	}
}

func (r *RateLimit) store() *store.Rate {
	if r == nil {
		return nil
	}
	return &store.Rate{PerSecond: r.PerSecond, Burst: r.Burst}
}

func rateOf(r *store.Rate) *RateLimit {
	if r == nil {
		return nil
	}
	return &RateLimit{PerSecond: r.PerSecond, Burst: r.Burst}
}

func fromStore(k store.APIKey) Key {
	return Key{ID: k.ID, Name: k.Name, Role: k.Role, MerchantID: k.MerchantID, PublicKey: k.PublicKey,
		RateLimit: rateOf(k.Rate), CreatedAt: k.CreatedAt}
}

func actorOf(k store.APIKey) Actor {
	return Actor{ProgramID: k.ProgramID, Kind: KindAPIKey, ID: k.ID, Name: k.Name, Role: k.Role,
		MerchantID: string(k.MerchantID), RateLimit: rateOf(k.Rate)}
}

// Hash is what is stored of a secret.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// NewSecret draws a fresh key secret: "jk_" and 40 base32 characters
// (200 bits).
func NewSecret() string { return "jk_" + id.Secret(40) }

// MinSecretLen is the shortest secret accepted from JIFEN_ADMIN_KEY.
const MinSecretLen = 24

// Service authenticates requests and manages keys.
type Service struct {
	db    *store.DB
	clock clock.Clock
	ttl   time.Duration

	mu    sync.Mutex
	cache map[string]cachedKey // by secret hash
}

type cachedKey struct {
	a   Actor
	pub ed25519.PublicKey // a signing key's
	err error
	at  time.Time
}

// NewService returns a service that remembers lookups for ttl.
func NewService(db *store.DB, clk clock.Clock, ttl time.Duration) *Service {
	return &Service{db: db, clock: clk, ttl: ttl, cache: make(map[string]cachedKey)}
}

// Authenticate finds the live key with this secret. An unknown or deleted
// key is failure.NotFound.
func (s *Service) Authenticate(ctx context.Context, secret string) (Actor, error) {
	h := Hash(secret)
	now := time.Now()
	s.mu.Lock()
	c, ok := s.cache[h]
	s.mu.Unlock()
	if ok && now.Sub(c.at) < s.ttl {
		return c.a, c.err
	}
	k, err := s.db.Read().APIKeyByHash(ctx, h)
	if err != nil && failure.KindOf(err) != failure.NotFound {
		return Actor{}, err // the database is away: do not remember that
	}
	a := actorOf(k)
	s.remember(h, cachedKey{a: a, err: err, at: now})
	return a, err
}

// AuthenticateSigned finds the live key a signed request names, with its
// public key. An unknown key, or one without a public key, is
// failure.NotFound.
func (s *Service) AuthenticateSigned(ctx context.Context, keyID string) (Actor, ed25519.PublicKey, error) {
	ck := "id:" + keyID
	now := time.Now()
	s.mu.Lock()
	c, ok := s.cache[ck]
	s.mu.Unlock()
	if ok && now.Sub(c.at) < s.ttl {
		return c.a, c.pub, c.err
	}
	k, err := s.db.Read().APIKeyByID(ctx, keyID)
	if err != nil && failure.KindOf(err) != failure.NotFound {
		return Actor{}, nil, err
	}
	var pub ed25519.PublicKey
	if err == nil {
		if pub, err = ParsePublicKey(string(k.PublicKey)); err != nil {
			err = failure.New(failure.NotFound, "key %s does not sign", keyID)
		}
	}
	a := actorOf(k)
	s.remember(ck, cachedKey{a: a, pub: pub, err: err, at: now})
	return a, pub, err
}

func (s *Service) remember(k string, c cachedKey) {
	s.mu.Lock()
	if len(s.cache) > 100_000 {
		clear(s.cache) // a flood of random secrets must not grow memory
	}
	s.cache[k] = c
	s.mu.Unlock()
}

// forget drops a cached key, by the hash of its secret and by its ID.
func (s *Service) forget(hash, keyID string) {
	s.mu.Lock()
	delete(s.cache, hash)
	delete(s.cache, "id:"+keyID)
	s.mu.Unlock()
}

// CreateInput is a request for a new key.
type CreateInput struct {
	Name       string     `json:"name" api:"minlen=1,maxlen=100"`
	Role       string     `json:"role" api:"enum=admin|merchant|readonly"`
	MerchantID string     `json:"merchant_id,omitempty" doc:"required for a merchant key, refused for the others"`
	PublicKey  string     `json:"public_key,omitempty" doc:"base64 of a 32-byte Ed25519 public key: the key then has no secret and authenticates only by signing its requests"`
	RateLimit  *RateLimit `json:"rate_limit,omitempty" doc:"the key's own token bucket; without it the node's default (JIFEN_RATE_LIMIT) applies"`
}

// Validate checks the input on its own.
func (in CreateInput) Validate() error {
	var fs failure.Fields
	input.Name(&fs, "name", in.Name, 100)
	switch in.Role {
	case Admin, ReadOnly:
		if in.MerchantID != "" {
			fs.Add("merchant_id", "only merchant keys name a merchant")
		}
	case Merchant:
		if in.MerchantID == "" {
			fs.Add("merchant_id", "a merchant key names its merchant")
		}
	default:
		fs.Add("role", "must be admin, merchant or readonly")
	}
	if in.PublicKey != "" {
		if _, err := ParsePublicKey(in.PublicKey); err != nil {
			fs.Add("public_key", "%s", err.Error())
		}
	}
	in.RateLimit.validate(&fs, "rate_limit")
	return fs.Err()
}

// Create makes a key; the answer carries its secret, shown only now (none
// for a key with a public key).
func (s *Service) Create(ctx context.Context, tx *store.Tx, a Actor, in CreateInput) (KeyCreated, error) {
	return create(ctx, tx, a.ProgramID, in, NewSecret(), s.clock.Now())
}

func create(ctx context.Context, tx *store.Tx, programID string, in CreateInput, secret string, now time.Time) (KeyCreated, error) {
	if err := in.Validate(); err != nil {
		return KeyCreated{}, err
	}
	in.Name = strings.TrimSpace(in.Name)
	var fs failure.Fields
	if in.Role == Merchant {
		if _, err := tx.Merchant(ctx, programID, in.MerchantID); err != nil {
			if failure.KindOf(err) != failure.NotFound {
				return KeyCreated{}, err
			}
			fs.Add("merchant_id", "no such merchant")
		}
	}
	if err := fs.Err(); err != nil {
		return KeyCreated{}, err
	}
	k := store.APIKey{
		ID: id.New("key"), ProgramID: programID, Name: in.Name, Role: in.Role,
		MerchantID: null.String(in.MerchantID), SecretHash: Hash(secret), PublicKey: null.String(in.PublicKey),
		Rate: in.RateLimit.store(), CreatedAt: now,
	}
	out := KeyCreated{Secret: &secret}
	if in.PublicKey != "" {
		// No secret: a hash no secret has (Hash gives 64 hex digits).
		k.SecretHash, out.Secret = "signing:"+k.ID, nil
	}
	if err := tx.InsertAPIKey(ctx, k); err != nil {
		return KeyCreated{}, err
	}
	out.Key = fromStore(k)
	return out, nil
}

// Patch changes a key: its name, its rate limit (which this node applies
// from the next request).
type Patch struct {
	Name      *string    `json:"name,omitempty" api:"minlen=1,maxlen=100"`
	RateLimit *RateLimit `json:"rate_limit,omitempty" doc:"the key's own token bucket from now on; per_second 0: not limited"`
}

// Update applies a patch to a key.
func (s *Service) Update(ctx context.Context, tx *store.Tx, a Actor, keyID string, p Patch) (Key, error) {
	var fs failure.Fields
	if p.Name != nil {
		input.Name(&fs, "name", *p.Name, 100)
	}
	p.RateLimit.validate(&fs, "rate_limit")
	if err := fs.Err(); err != nil {
		return Key{}, err
	}
	k, err := tx.APIKey(ctx, a.ProgramID, keyID)
	if err != nil {
		return Key{}, err
	}
	name, rate := k.Name, k.Rate
	if p.Name != nil {
		name = strings.TrimSpace(*p.Name)
	}
	if p.RateLimit != nil {
		rate = p.RateLimit.store()
	}
	k, err = tx.SetAPIKey(ctx, a.ProgramID, keyID, name, rate)
	if err != nil {
		return Key{}, err
	}
	tx.After(func() { s.forget(k.SecretHash, k.ID) })
	return fromStore(k), nil
}

// List returns a program's keys, newest first.
func (s *Service) List(ctx context.Context, a Actor, p store.Page) ([]Key, string, error) {
	ks, next, err := s.db.Read().APIKeys(ctx, a.ProgramID, p)
	if err != nil {
		return nil, "", err
	}
	out := make([]Key, len(ks))
	for i, k := range ks {
		out[i] = fromStore(k)
	}
	return out, next, nil
}

// Delete removes a key; this node refuses it from the moment the
// transaction commits.
func (s *Service) Delete(ctx context.Context, tx *store.Tx, a Actor, keyID string) error {
	hash, err := tx.DeleteAPIKey(ctx, a.ProgramID, keyID, s.clock.Now())
	if err != nil {
		return err
	}
	tx.After(func() { s.forget(hash, keyID) })
	return nil
}

// Bootstrap makes sure the program has a key: on a database without one
// it creates an admin key named "bootstrap" whose secret is adminSecret,
// or a fresh one when that is empty. It returns the secret it created, or
// "" when keys existed.
func Bootstrap(ctx context.Context, tx *store.Tx, programID, adminSecret string, now time.Time) (string, error) {
	n, err := tx.CountAPIKeys(ctx, programID)
	if err != nil || n > 0 {
		return "", err
	}
	secret := adminSecret
	if secret == "" {
		secret = NewSecret()
	}
	if _, err := create(ctx, tx, programID, CreateInput{Name: "bootstrap", Role: Admin}, secret, now); err != nil {
		return "", err
	}
	return secret, nil
}
