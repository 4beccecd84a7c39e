package auth

import "github.com/jifen/jifen/internal/failure"

// Actor kinds.
const (
	KindAPIKey = "api_key"
	KindSystem = "system" // jobs and ingest: the programme itself
	KindMember = "member" // a member token: one member acting for itself
)

// RoleMember is the role of a member token.
const RoleMember = "member"

// Member token scopes.
const (
	ScopeMember = "member" // read and act
	ScopeRead   = "read"
)

// Actor is who an operation acts for: an API key (and, as they come,
// operators and member tokens), or the system when a job or the ingest
// runs an operation. Operations take the actor and check it themselves:
// which programme they touch, and for a merchant key, which merchant.
type Actor struct {
	ProgramID  string
	Kind       string
	ID         string // the key's ID
	Name       string
	Role       string
	MerchantID string // a merchant key's merchant
	MemberID   string // a member token's member
	Scope      string // a member token's scope: member (read and act) or read
	// RateLimit is an API key's own rate limit; nil: the node's default.
	RateLimit *RateLimit
}

// IsMember says the actor is a member token, held to its own member.
func (a Actor) IsMember() bool { return a.Kind == KindMember }

// System is the actor of jobs and the ingest in a programme: an admin.
func System(programID string) Actor {
	return Actor{ProgramID: programID, Kind: KindSystem, ID: "system", Name: "system", Role: Admin}
}

// IsMerchant says the actor is held to one merchant.
func (a Actor) IsMerchant() bool { return a.Role == Merchant }

// ActingMerchant is the merchant an operation acts as: a merchant key
// always as its own (naming another is forbidden); any other actor as the
// merchant it names, if any.
func (a Actor) ActingMerchant(named string) (string, error) {
	if a.IsMerchant() {
		if named != "" && named != a.MerchantID {
			return "", failure.New(failure.Forbidden, "a merchant key acts only as its own merchant %s", a.MerchantID)
		}
		return a.MerchantID, nil
	}
	return named, nil
}

// OwnMerchant applies ActingMerchant to the optional merchant field of a
// catalogue object being created (a reward, a coupon template, a
// lottery): a merchant key's is always its own merchant's.
func (a Actor) OwnMerchant(field **string) error {
	if !a.IsMerchant() {
		return nil
	}
	named := ""
	if *field != nil {
		named = **field
	}
	mer, err := a.ActingMerchant(named)
	if err == nil {
		*field = &mer
	}
	return err
}

// Sees reports whether the actor may see, or act on, something that
// belongs to merchant owner ("" is the programme itself). Admins and
// read-only keys see the whole programme; a merchant key sees only its
// own merchant's things. Operations answer what it may not see as
// not_found, as they answer another programme's.
func (a Actor) Sees(owner string) bool {
	return !a.IsMerchant() || owner == a.MerchantID
}

// MayEdit fails with Forbidden unless the actor may change a programme
// object (a rule, a reward) that belongs to merchant owner: an admin any,
// a merchant key only its own merchant's.
func (a Actor) MayEdit(owner string) error {
	if a.IsMerchant() && owner != a.MerchantID {
		return failure.New(failure.Forbidden, "a merchant key edits only its own merchant's objects")
	}
	return nil
}
