package tenant

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
)

// Store key prefixes.
const (
	AccountsPrefix  = "/stargate/accounts/"
	usersPrefix     = AccountsPrefix + "users/"
	usernamesPrefix = AccountsPrefix + "usernames/"
	emailsPrefix    = AccountsPrefix + "emails/"
	orgsPrefix      = AccountsPrefix + "orgs/"
	membersPrefix   = AccountsPrefix + "members/"
	tokensPrefix    = AccountsPrefix + "tokens/"
	invitesPrefix   = AccountsPrefix + "invites/"
	OwnersPrefix    = "/stargate/owners"
	AuditPrefix     = "/stargate/audit/"
)

// Errors. The admin API maps them to statuses; check with errors.Is.
var (
	ErrNotFound     = errors.New("tenant: not found")
	ErrExists       = errors.New("tenant: already exists")
	ErrInvalid      = errors.New("tenant: invalid")
	ErrForbidden    = errors.New("tenant: forbidden")
	ErrBadLogin     = errors.New("tenant: invalid username or password")
	ErrDisabled     = errors.New("tenant: account disabled")
	ErrRateLimited  = errors.New("tenant: too many attempts")
	ErrTokenExpired = errors.New("tenant: token expired")
)

// invalid wraps ErrInvalid with a message meant for the client.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Role is a member's role in an organization.
type Role string

// Roles, weakest first. A viewer reads; an editor also changes resources;
// an admin also manages members, invitations, the org's tokens and child
// organizations; the owner (one per organization) also deletes the
// organization and transfers ownership.
const (
	RoleNone   Role = ""
	RoleViewer Role = "viewer"
	RoleEditor Role = "editor"
	RoleAdmin  Role = "admin"
	RoleOwner  Role = "owner"
)

// Rank orders roles; 0 is no role.
func (r Role) Rank() int {
	switch r {
	case RoleViewer:
		return 1
	case RoleEditor:
		return 2
	case RoleAdmin:
		return 3
	case RoleOwner:
		return 4
	}
	return 0
}

// AtLeast reports whether r grants everything min grants.
func (r Role) AtLeast(min Role) bool { return r.Rank() >= min.Rank() && r.Rank() > 0 }

// ParseRole accepts the four role names.
func ParseRole(s string) (Role, bool) {
	r := Role(s)
	return r, r.Rank() > 0
}

// User is an account. PasswordHash never leaves this package's callers'
// control: View strips it.
type User struct {
	ID           string   `json:"id"`
	Username     string   `json:"username"`
	Email        string   `json:"email,omitempty"`
	Name         string   `json:"name,omitempty"`
	PasswordHash string   `json:"password_hash"`
	Disabled     bool     `json:"disabled"`
	ACL          []string `json:"acl,omitempty"`
	CreateTime   int64    `json:"create_time"`
	UpdateTime   int64    `json:"update_time"`
}

// UserView is a user as the API shows it.
type UserView struct {
	ID         string   `json:"id"`
	Username   string   `json:"username"`
	Email      string   `json:"email,omitempty"`
	Name       string   `json:"name,omitempty"`
	Disabled   bool     `json:"disabled"`
	ACL        []string `json:"acl"`
	CreateTime int64    `json:"create_time"`
	UpdateTime int64    `json:"update_time"`
}

// View strips secrets.
func (u *User) View() UserView {
	acl := u.ACL
	if acl == nil {
		acl = []string{}
	}
	return UserView{ID: u.ID, Username: u.Username, Email: u.Email, Name: u.Name, Disabled: u.Disabled, ACL: acl, CreateTime: u.CreateTime, UpdateTime: u.UpdateTime}
}

// Org is an organization; ParentID makes it a child (a reseller's
// sub-account) whose parent's members keep their roles in it.
type Org struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	ParentID   string `json:"parent_id,omitempty"`
	CreateTime int64  `json:"create_time"`
	UpdateTime int64  `json:"update_time"`
}

// Member is one user's role in one organization.
type Member struct {
	OrgID      string `json:"org_id"`
	UserID     string `json:"user_id"`
	Role       Role   `json:"role"`
	CreateTime int64  `json:"create_time"`
	UpdateTime int64  `json:"update_time"`
}

// Token kinds.
const (
	KindSession = "session"
	KindPAT     = "pat"
)

// Token is a login session or a personal access token. The secret is not
// stored: the key is its SHA-256.
type Token struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	UserID string `json:"user_id"`
	// OrgID binds the token to one organization (and its children): the
	// token then selects it without a header and can act nowhere else.
	OrgID      string `json:"org_id,omitempty"`
	Notes      string `json:"notes,omitempty"`
	CreateTime int64  `json:"create_time"`
	// ExpiresAt is Unix seconds; 0 is never.
	ExpiresAt int64 `json:"expires_at"`
}

// Invite is a pending invitation into an organization, accepted with a
// one-time code (the key is the code's SHA-256).
type Invite struct {
	ID         string `json:"id"`
	OrgID      string `json:"org_id"`
	Email      string `json:"email"`
	Role       Role   `json:"role"`
	InvitedBy  string `json:"invited_by,omitempty"`
	CreateTime int64  `json:"create_time"`
	ExpiresAt  int64  `json:"expires_at"`
}

var (
	usernameRe = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{1,63}$`)
	idRe       = regexp.MustCompile(`^[a-z]_[a-z0-9]{6,40}$`)
)

// ValidUsername: 2-64 of letters, digits, '_', '.', '-', starting with a
// letter or digit; never containing '@' so it cannot pass for an email.
func ValidUsername(s string) error {
	if !usernameRe.MatchString(s) {
		return invalid("username must be 2-64 letters, digits, '_', '.' or '-', starting with a letter or digit")
	}
	return nil
}

// ValidEmail checks the shape of an address.
func ValidEmail(s string) error {
	if len(s) > 254 {
		return invalid("email is too long")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || !strings.Contains(s, "@") {
		return invalid("email %q is not an address", s)
	}
	return nil
}

// ValidPassword: 8-512 characters.
func ValidPassword(s string) error {
	if len(s) < 8 {
		return invalid("password must be at least 8 characters")
	}
	if len(s) > 512 {
		return invalid("password must be at most 512 characters")
	}
	return nil
}

// ValidName checks a display name or organization name.
func ValidName(field, s string, required bool) error {
	if required && strings.TrimSpace(s) == "" {
		return invalid("%s is required", field)
	}
	if len(s) > 128 {
		return invalid("%s must be at most 128 characters", field)
	}
	for _, c := range s {
		if c < ' ' || c == 0x7f {
			return invalid("%s must not contain control characters", field)
		}
	}
	return nil
}

// ValidID tells whether s has the shape of a generated id; anything else
// cannot exist and is simply not found.
func ValidID(s string) bool { return idRe.MatchString(s) }

const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// newID is a random id with a one-letter kind prefix: u_, o_, t_, i_.
func newID(kind byte) string {
	b := make([]byte, 14)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	out := []byte{kind, '_'}
	for _, c := range b {
		out = append(out, idAlphabet[int(c)%len(idAlphabet)])
	}
	return string(out)
}
