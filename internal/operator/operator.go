// Package operator is the console's people: operators who log in with an
// email and a password (Argon2id), their sessions (a cookie whose secret
// only the client keeps, a CSRF token, 30 minutes idle or 12 hours at
// most), and the lockout after repeated failed logins. An operator acts
// with its role's rights in its programme, exactly as an API key of that
// role: Authenticate turns a session into the same auth.Actor.
package operator

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/input"
	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

// Operator statuses.
const (
	Active   = "active"
	Disabled = "disabled"
)

// KindOperator is the auth.Actor kind of a console session.
const KindOperator = "operator"

// Operator is a console operator as the API shows it (never its password).
type Operator struct {
	ID         string      `json:"id"`
	Email      string      `json:"email"`
	Name       null.String `json:"name"`
	Role       string      `json:"role" api:"enum=admin|merchant|readonly"`
	MerchantID null.String `json:"merchant_id"`
	Status     string      `json:"status" api:"enum=active|disabled"`
	CreatedAt  time.Time   `json:"created_at"`
	UpdatedAt  time.Time   `json:"updated_at"`
}

func operatorOf(r store.Operator) Operator {
	return Operator{ID: r.ID, Email: r.Email, Name: r.Name, Role: r.Role, MerchantID: r.MerchantID, Status: r.Status,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// Service runs the operator operations.
type Service struct {
	db    *store.DB
	clock clock.Clock
}

// NewService returns the operator service.
func NewService(db *store.DB, clk clock.Clock) *Service {
	return &Service{db: db, clock: clk}
}

// MinPassword is the shortest password accepted.
const MinPassword = 12

var emailPattern = regexp.MustCompile(`^[^\s@]+@[^\s@]+\.[^\s@]+$`)

// ValidEmail reports whether s (trimmed, lower-cased) is an email
// address an operator may log in with.
func ValidEmail(s string) bool {
	e := normalEmail(s)
	return len(e) <= 254 && emailPattern.MatchString(e)
}

// normalEmail is an email as stored and looked up: trimmed, lower-cased.
func normalEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// CreateInput makes an operator.
type CreateInput struct {
	Email      string `json:"email" api:"maxlen=254,format=email"`
	Name       string `json:"name,omitempty" api:"maxlen=100"`
	Role       string `json:"role" api:"enum=admin|merchant|readonly"`
	MerchantID string `json:"merchant_id,omitempty" doc:"required for a merchant operator"`
	Password   string `json:"password" api:"minlen=12,maxlen=256"`
}

// Validate checks the input on its own.
func (in CreateInput) Validate() error {
	var fs failure.Fields
	if !ValidEmail(in.Email) {
		fs.Add("email", "must be an email address")
	}
	input.Text(&fs, "name", in.Name, 100)
	input.OneOf(&fs, "role", in.Role, auth.Admin, auth.Merchant, auth.ReadOnly)
	input.Required(&fs, "role", in.Role != "", "admin, merchant or readonly")
	if in.Role == auth.Merchant && in.MerchantID == "" {
		fs.Add("merchant_id", "is required for a merchant operator")
	}
	if in.Role != auth.Merchant && in.MerchantID != "" {
		fs.Add("merchant_id", "only a merchant operator has a merchant")
	}
	checkPasswordRule(&fs, in.Password)
	return fs.Err()
}

func checkPasswordRule(fs *failure.Fields, p string) {
	if n := len([]rune(p)); n < MinPassword || n > 256 {
		fs.Add("password", "must be %d to 256 characters", MinPassword)
	}
}

// Create adds an operator to the actor's programme.
func (s *Service) Create(ctx context.Context, tx *store.Tx, a auth.Actor, in CreateInput) (Operator, error) {
	if err := in.Validate(); err != nil {
		return Operator{}, err
	}
	if in.MerchantID != "" {
		if _, err := program.ActingMerchant(ctx, tx, a, in.MerchantID); err != nil {
			return Operator{}, err
		}
	}
	return s.insert(ctx, tx, a.ProgramID, in)
}

func (s *Service) insert(ctx context.Context, tx *store.Tx, programID string, in CreateInput) (Operator, error) {
	hash, err := hashPassword(in.Password)
	if err != nil {
		return Operator{}, err
	}
	now := s.clock.Now()
	r := store.Operator{ID: id.New("opr"), ProgramID: programID, Email: normalEmail(in.Email), Name: null.String(in.Name),
		Role: in.Role, MerchantID: null.String(in.MerchantID), PasswordHash: hash, Status: Active, CreatedAt: now, UpdatedAt: now}
	if err := tx.InsertOperator(ctx, r); err != nil {
		return Operator{}, err
	}
	return operatorOf(r), nil
}

// Bootstrap makes the first operator of an installation (an admin of
// programID) unless there is one: jifen serve with JIFEN_ADMIN_EMAIL and
// JIFEN_ADMIN_PASSWORD. It reports whether it made one.
func (s *Service) Bootstrap(ctx context.Context, tx *store.Tx, programID, email, password string) (bool, error) {
	n, err := tx.CountOperators(ctx)
	if err != nil || n > 0 {
		return false, err
	}
	in := CreateInput{Email: email, Role: auth.Admin, Password: password}
	if err := in.Validate(); err != nil {
		return false, err
	}
	_, err = s.insert(ctx, tx, programID, in)
	return err == nil, err
}

// Add makes an operator of a programme from the command line (jifen
// operator add), as the system.
func (s *Service) Add(ctx context.Context, tx *store.Tx, programID string, in CreateInput) (Operator, error) {
	return s.Create(ctx, tx, auth.System(programID), in)
}

// List lists the programme's operators, newest first.
func (s *Service) List(ctx context.Context, a auth.Actor, pg store.Page) ([]Operator, string, error) {
	rows, next, err := s.db.Read().Operators(ctx, a.ProgramID, pg)
	out := make([]Operator, len(rows))
	for i, r := range rows {
		out[i] = operatorOf(r)
	}
	return out, next, err
}

// UpdateInput changes the fields it names. A new password ends the
// operator's sessions.
type UpdateInput struct {
	Name     *string `json:"name,omitempty" api:"maxlen=100"`
	Role     *string `json:"role,omitempty" api:"enum=admin|merchant|readonly"`
	Password *string `json:"password,omitempty" api:"minlen=12,maxlen=256"`
}

// Validate checks the input on its own.
func (in UpdateInput) Validate() error {
	var fs failure.Fields
	if in.Name != nil {
		input.Text(&fs, "name", *in.Name, 100)
	}
	if in.Role != nil {
		input.OneOf(&fs, "role", *in.Role, auth.Admin, auth.Merchant, auth.ReadOnly)
		input.Required(&fs, "role", *in.Role != "", "admin, merchant or readonly")
	}
	if in.Password != nil {
		checkPasswordRule(&fs, *in.Password)
	}
	return fs.Err()
}

// Update changes an operator of the actor's programme.
func (s *Service) Update(ctx context.Context, tx *store.Tx, a auth.Actor, operatorID string, in UpdateInput) (Operator, error) {
	if err := in.Validate(); err != nil {
		return Operator{}, err
	}
	r, err := tx.Operator(ctx, a.ProgramID, operatorID)
	if err != nil {
		return Operator{}, err
	}
	if in.Name != nil {
		r.Name = null.String(*in.Name)
	}
	if in.Role != nil {
		if *in.Role == auth.Merchant && r.MerchantID == "" {
			return Operator{}, failure.Field("role", "an operator made without a merchant cannot become a merchant operator")
		}
		if *in.Role != auth.Merchant {
			r.MerchantID = ""
		}
		r.Role = *in.Role
	}
	if in.Password != nil {
		if r.PasswordHash, err = hashPassword(*in.Password); err != nil {
			return Operator{}, err
		}
		if err := tx.DeleteOperatorSessions(ctx, r.ProgramID, r.ID); err != nil {
			return Operator{}, err
		}
	}
	r.UpdatedAt = s.clock.Now()
	return operatorOf(r), tx.UpdateOperator(ctx, r)
}

// SetStatus enables or disables an operator; disabling ends its sessions.
func (s *Service) SetStatus(ctx context.Context, tx *store.Tx, a auth.Actor, operatorID, status string) (Operator, error) {
	r, err := tx.Operator(ctx, a.ProgramID, operatorID)
	if err != nil {
		return Operator{}, err
	}
	if status == Disabled {
		if r.ID == a.ID && a.Kind == KindOperator {
			return Operator{}, failure.New(failure.Conflict, "an operator cannot disable itself")
		}
		if err := tx.DeleteOperatorSessions(ctx, r.ProgramID, r.ID); err != nil {
			return Operator{}, err
		}
	}
	r.Status, r.UpdatedAt = status, s.clock.Now()
	return operatorOf(r), tx.UpdateOperator(ctx, r)
}
