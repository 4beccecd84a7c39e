package operator

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/input"
	"github.com/jifen/jifen/internal/store"
)

// Session lifetimes and the lockout.
const (
	IdleTimeout    = 30 * time.Minute
	MaxSession     = 12 * time.Hour
	LockAfter      = 5                // failed logins for one email …
	LockWindow     = 15 * time.Minute // … within this window …
	LockFor        = 15 * time.Minute // … lock it this long
	touchEvery     = time.Minute      // a session's last use is written at most this often
	sessionPrefix  = "jos_"
	failureHorizon = 24 * time.Hour // failed logins older than this are purged
)

// LoginInput is a console login.
type LoginInput struct {
	Email    string `json:"email" api:"maxlen=254"`
	Password string `json:"password" api:"maxlen=256"`
}

// Login is a console session as the API shows it. Token is the cookie's
// secret: it goes in the Set-Cookie header, never in a body.
type Login struct {
	Operator  Operator  `json:"operator"`
	CSRFToken string    `json:"csrf_token"`
	ExpiresAt time.Time `json:"expires_at"`
	Token     string    `json:"-"`

	programID string
}

var token32 = base32.StdEncoding.WithPadding(base32.NoPadding)

func secret(prefix string) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	return prefix + token32.EncodeToString(b)
}

func hashToken(t string) string {
	h := sha256.Sum256([]byte(t))
	return hex.EncodeToString(h[:])
}

// Attempt records a login attempt in the transaction of its outcome:
// the operator tried (zero when the email names none) and the status the
// attempt is answered with.
type Attempt func(ctx context.Context, tx *store.Tx, op store.Operator, status int) error

// Login checks an email and password and opens a session. A wrong email
// or password is invalid_credentials (the same answer for both, in the
// same time); the fifth failure for an email within 15 minutes locks it
// for 15 minutes (account_locked, with when to retry); a disabled operator
// cannot log in. Each failure is recorded in a transaction of its own, so
// it counts although the login fails; record writes every attempt's audit
// entry in the transaction of its outcome.
func (s *Service) Login(ctx context.Context, in LoginInput, record Attempt) (Login, error) {
	email, now := normalEmail(in.Email), s.clock.Now()
	var fs failure.Fields
	input.Required(&fs, "email", email != "", "the operator's email")
	input.Required(&fs, "password", in.Password != "", "the operator's password")
	input.Text(&fs, "email", email, 254)
	if len([]rune(in.Password)) > 256 {
		fs.Add("password", "is too long")
	}
	if err := fs.Err(); err != nil {
		return Login{}, err
	}
	c := s.db.Read()
	fails, err := c.LoginFailures(ctx, email, now.Add(-LockWindow-LockFor))
	if err != nil {
		return Login{}, err
	}
	r, err := c.OperatorByEmail(ctx, email)
	if err != nil && failure.KindOf(err) != failure.NotFound {
		return Login{}, err
	}
	if until, locked := lockedUntil(fails, now); locked {
		if err := s.db.Write(ctx, "login:"+email, func(ctx context.Context, tx *store.Tx) error {
			return record(ctx, tx, r, 423)
		}); err != nil {
			return Login{}, err
		}
		e := failure.New(failure.AccountLocked, "too many failed logins for this email; try again after %s", until.Format(time.RFC3339))
		e.RetryAfter = until.Sub(now)
		return Login{}, e
	}
	hash := r.PasswordHash
	if hash == "" {
		hash = dummyHash
	}
	if !checkPassword(hash, in.Password) || r.ID == "" || r.Status != Active {
		if err := s.db.Write(ctx, "login:"+email, func(ctx context.Context, tx *store.Tx) error {
			if err := tx.AddLoginFailure(ctx, email, now); err != nil {
				return err
			}
			return record(ctx, tx, r, 401)
		}); err != nil {
			return Login{}, err
		}
		return Login{}, failure.New(failure.InvalidCredentials, "the email or password is wrong, or the operator is disabled")
	}
	l := Login{Operator: operatorOf(r), CSRFToken: secret(""), ExpiresAt: now.Add(MaxSession), Token: secret(sessionPrefix),
		programID: r.ProgramID}
	err = s.db.Write(ctx, "login:"+email, func(ctx context.Context, tx *store.Tx) error {
		if err := tx.ClearLoginFailures(ctx, email, now.Add(-failureHorizon)); err != nil {
			return err
		}
		if err := tx.InsertSession(ctx, store.Session{TokenHash: hashToken(l.Token), ProgramID: r.ProgramID, OperatorID: r.ID,
			CSRFToken: l.CSRFToken, CreatedAt: now, LastSeenAt: now, ExpiresAt: l.ExpiresAt}); err != nil {
			return err
		}
		return record(ctx, tx, r, 200)
	})
	return l, err
}

// lockedUntil says whether an email is locked now, and until when: a
// failure that was the fifth within 15 minutes locks it for 15 minutes
// from that failure. fails is newest first; failures are not recorded
// while it is locked.
func lockedUntil(fails []time.Time, now time.Time) (time.Time, bool) {
	for i := 0; i+LockAfter-1 < len(fails); i++ {
		until := fails[i].Add(LockFor)
		if !now.Before(until) {
			break // older ones end sooner
		}
		if !fails[i+LockAfter-1].Before(fails[i].Add(-LockWindow)) {
			return until, true
		}
	}
	return time.Time{}, false
}

// Session reads the live session of a cookie: its operator (active) and
// CSRF token. An unknown, ended, idle or expired session, or one whose
// operator is disabled, is unauthenticated. Its use is recorded at most
// once a minute.
func (s *Service) Session(ctx context.Context, token string) (Login, error) {
	now := s.clock.Now()
	hash := hashToken(token)
	c := s.db.Read()
	sess, err := c.SessionByHash(ctx, hash)
	if failure.KindOf(err) == failure.NotFound {
		return Login{}, failure.New(failure.Unauthenticated, "the console session is not valid; log in again")
	}
	if err != nil {
		return Login{}, err
	}
	if !now.Before(sess.ExpiresAt) || !now.Before(sess.LastSeenAt.Add(IdleTimeout)) {
		return Login{}, failure.New(failure.Unauthenticated, "the console session has ended; log in again")
	}
	r, err := c.Operator(ctx, sess.ProgramID, sess.OperatorID)
	if err != nil {
		return Login{}, err
	}
	if r.Status != Active {
		return Login{}, failure.New(failure.Unauthenticated, "the operator is disabled")
	}
	if now.Sub(sess.LastSeenAt) >= touchEvery {
		if err := s.db.Write(ctx, "session", func(ctx context.Context, tx *store.Tx) error {
			return tx.TouchSession(ctx, hash, now)
		}); err != nil {
			return Login{}, err
		}
	}
	return Login{Operator: operatorOf(r), CSRFToken: sess.CSRFToken, ExpiresAt: sess.ExpiresAt, programID: sess.ProgramID}, nil
}

// Actor is who a session acts for: its operator, with its role's rights
// in its programme.
func (l Login) Actor() auth.Actor {
	return auth.Actor{ProgramID: l.programID, Kind: KindOperator, ID: l.Operator.ID, Name: l.Operator.Email,
		Role: l.Operator.Role, MerchantID: string(l.Operator.MerchantID)}
}

// Authenticate turns a session cookie into its actor; writes (every method
// but GET and HEAD) must carry the session's CSRF token.
func (s *Service) Authenticate(ctx context.Context, token, method, csrf string) (auth.Actor, error) {
	l, err := s.Session(ctx, token)
	if err != nil {
		return auth.Actor{}, err
	}
	if method != "GET" && method != "HEAD" && subtle.ConstantTimeCompare([]byte(csrf), []byte(l.CSRFToken)) != 1 {
		return auth.Actor{}, failure.New(failure.CSRFFailed, "a console write must carry the session's X-CSRF-Token header")
	}
	return l.Actor(), nil
}

// Logout ends a session.
func (s *Service) Logout(ctx context.Context, tx *store.Tx, token string) error {
	return tx.DeleteSession(ctx, hashToken(token))
}
