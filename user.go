package gatehouse

import (
	"net/mail"
	"strings"
	"time"
)

// Role is a user's role within one organization.
type Role string

const (
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleMember }

// User is a person who signs in to one organization. The same e-mail address
// in two organizations is two users.
type User struct {
	ID    string
	OrgID string
	Email string // normalized: trimmed and lower-case
	Name  string
	Phone string // E.164, or "" when none is on the profile
	Role  Role
	// Disabled users cannot sign in; their sessions end.
	Disabled bool
	// TwoFactorExempt is the admin's per-user exemption from 2FA.
	TwoFactorExempt bool
	// PasswordHash is a PHC string; "" for users of LDAP or SAML2
	// organizations, who have no local password.
	PasswordHash string
	// OTPFailures counts consecutive wrong codes across sign-ins, the last
	// at OTPLastFailureAt; at OTPLockFailures the user is locked.
	OTPFailures      int
	OTPLastFailureAt time.Time
	// LastVerifiedAt is the last time a code was entered right.
	LastVerifiedAt time.Time
	// Locale is the user's language for pages ("en", "fi"), or "" for the
	// browser's.
	Locale    string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// MaxEmailLength bounds an e-mail address (RFC 5321's path limit).
const MaxEmailLength = 254

// NormalizeEmail trims and lower-cases an e-mail address and checks that it
// is one plain address. It returns an EINVALID error naming the "email"
// field otherwise.
func NormalizeEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return "", FieldReason("email", ReasonEmailRequired, "The e-mail address is required.")
	}
	if len(s) > MaxEmailLength {
		return "", FieldReason("email", ReasonEmailTooLong, "The e-mail address is longer than %d characters.", MaxEmailLength)
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || strings.Count(s, "@") != 1 {
		return "", FieldReason("email", ReasonEmailInvalid, "%q is not an e-mail address.", s)
	}
	return s, nil
}

// MaxUserName bounds a user's display name, in bytes.
const MaxUserName = 200

// ValidateUserName checks a user's display name, which may be empty.
func ValidateUserName(name string) error {
	if len(name) > MaxUserName {
		return FieldReason("name", ReasonUserNameTooLong, "The name is longer than %d characters.", MaxUserName)
	}
	if strings.ContainsAny(name, "\r\n\x00") {
		return FieldReason("name", ReasonUserNameOneLine, "The name must be on one line.")
	}
	return nil
}

// UserPatch is a change of some of a user's fields: only the fields that
// are set are written, so two admins (or an admin and the user) changing
// different fields at once cannot undo each other's change, and a disable
// cannot be lost to an edit made from an earlier read.
type UserPatch struct {
	Email           *string
	Name            *string
	Phone           *string // "" removes the phone
	Role            *Role
	Disabled        *bool
	TwoFactorExempt *bool
	Locale          *string
}

// Empty reports whether the patch sets no field.
func (p UserPatch) Empty() bool { return p == UserPatch{} }

// ErrLastAdmin is the refusal to delete the last admin of an organization
// who can sign in (UserStore.DeleteUser): nobody would be left to manage it
// but the operator. ECONFLICT with Field "role".
func ErrLastAdmin() *Error {
	return &Error{Code: ECONFLICT, Field: "role", Reason: ReasonLastAdmin,
		Message: "This is the organization's last admin who can sign in: make another user an admin first."}
}
