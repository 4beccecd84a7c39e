// Package auth owns API keys and roles: creating, listing and deleting
// keys, and turning a bearer secret into an Actor. Secrets are shown
// once and stored only as a SHA-256 hash; the service remembers recent
// lookups for a few seconds so that authentication costs no query on the
// hot path, and forgets a key at once when this node deletes it.
package auth

import (
	"context"
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

// Key is an API key as the API shows it. Secret is set only when the key
// is created.
type Key struct {
	ID         string      `json:"id"`
	Name       string      `json:"name"`
	Role       string      `json:"role" api:"enum=admin|merchant|readonly"`
	MerchantID null.String `json:"merchant_id"`
	Secret     string      `json:"secret,omitempty" doc:"shown only in the answer that creates the key; only a hash is stored"`
	CreatedAt  time.Time   `json:"created_at"`
}

func fromStore(k store.APIKey) Key {
	return Key{ID: k.ID, Name: k.Name, Role: k.Role, MerchantID: k.MerchantID, CreatedAt: k.CreatedAt}
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
	a := Actor{ProgramID: k.ProgramID, Kind: KindAPIKey, ID: k.ID, Name: k.Name, Role: k.Role, MerchantID: string(k.MerchantID)}
	s.mu.Lock()
	if len(s.cache) > 100_000 {
		clear(s.cache) // a flood of random secrets must not grow memory
	}
	s.cache[h] = cachedKey{a, err, now}
	s.mu.Unlock()
	return a, err
}

// forget drops a cached key.
func (s *Service) forget(hash string) {
	s.mu.Lock()
	delete(s.cache, hash)
	s.mu.Unlock()
}

// CreateInput is a request for a new key.
type CreateInput struct {
	Name       string `json:"name" api:"minlen=1,maxlen=100"`
	Role       string `json:"role" api:"enum=admin|merchant|readonly"`
	MerchantID string `json:"merchant_id,omitempty" doc:"required for a merchant key, refused for the others"`
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
	return fs.Err()
}

// Create makes a key; the returned Key carries its secret, shown only now.
func (s *Service) Create(ctx context.Context, tx *store.Tx, a Actor, in CreateInput) (Key, error) {
	return create(ctx, tx, a.ProgramID, in, NewSecret(), s.clock.Now())
}

func create(ctx context.Context, tx *store.Tx, programID string, in CreateInput, secret string, now time.Time) (Key, error) {
	if err := in.Validate(); err != nil {
		return Key{}, err
	}
	in.Name = strings.TrimSpace(in.Name)
	var fs failure.Fields
	if in.Role == Merchant {
		if _, err := tx.Merchant(ctx, programID, in.MerchantID); err != nil {
			if failure.KindOf(err) != failure.NotFound {
				return Key{}, err
			}
			fs.Add("merchant_id", "no such merchant")
		}
	}
	if err := fs.Err(); err != nil {
		return Key{}, err
	}
	k := store.APIKey{
		ID: id.New("key"), ProgramID: programID, Name: in.Name, Role: in.Role,
		MerchantID: null.String(in.MerchantID), SecretHash: Hash(secret), CreatedAt: now,
	}
	if err := tx.InsertAPIKey(ctx, k); err != nil {
		return Key{}, err
	}
	out := fromStore(k)
	out.Secret = secret
	return out, nil
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
	tx.After(func() { s.forget(hash) })
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
