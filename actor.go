package gatehouse

import (
	"net/netip"
	"slices"
	"time"
)

// ReauthWindow is how recent the actor's last authentication must be for a
// change of sign-in policy, federation, exemptions, roles, disabling or a
// user's contact details (a stolen session cookie alone cannot make them).
const ReauthWindow = 10 * time.Minute

// Actor is who makes an administrative change: a signed-in admin, with the
// moment their session last proved who they are, or the operator at the
// command line. The services check the actor, so every way in (pages, API,
// command line) shares the same rules.
type Actor struct {
	UserID string // "" for the operator
	OrgID  string // the organization of the actor's session
	Role   Role
	// ManagedOrgIDs and GroupIDs are the organizations the actor
	// administers through organization groups, and those groups.
	ManagedOrgIDs []string
	GroupIDs      []string
	ClientIP      netip.Addr
	// AuthenticatedAt is when the actor's session last proved the
	// password (and, where the organization asks, a code): at sign-in or at
	// a later re-authentication (Session.LastAuthenticated).
	AuthenticatedAt time.Time
	// SessionHash is the token hash of the actor's own session (nil for the
	// operator): an admin's change of their own contact details ends their
	// other sessions but not this one.
	SessionHash []byte

	// operator is set only by OperatorActor and TokenActor: no request
	// can claim it. token is the name of the API token acting.
	operator bool
	token    string
}

// TokenActor is an operator's API token at the JSON API: trusted like the
// operator within the scopes the web layer checks, and named in the audit
// log.
func TokenActor(name string, ip netip.Addr) Actor {
	return Actor{operator: true, token: name, ClientIP: ip}
}

// Token is the name of the API token acting, or "".
func (a Actor) Token() string { return a.token }

// AuditID is what the audit log records as the actor: the user, or
// "token:NAME" for an API token ("" for the operator at the command line).
func (a Actor) AuditID() string {
	if a.token != "" {
		return AuditTokenPrefix + a.token
	}
	return a.UserID
}

// AuditTokenPrefix starts the actor of an event that an API token made.
const AuditTokenPrefix = "token:"

// OperatorActor is the operator at the command line, who holds the server
// and its database and is trusted: no re-authentication applies.
func OperatorActor() Actor { return Actor{operator: true} }

// Operator reports whether the actor is the trusted operator.
func (a Actor) Operator() bool { return a.operator }

// RequireRecent returns nil for the operator or an actor who authenticated
// within ReauthWindow before now, and EREAUTHREQUIRED otherwise: also for
// the zero Actor, and for an authentication further in the future than the
// window (a clock gone wrong fails closed).
func (a Actor) RequireRecent(now time.Time) error {
	if a.operator {
		return nil
	}
	if !a.AuthenticatedAt.IsZero() {
		if d := now.Sub(a.AuthenticatedAt); d <= ReauthWindow && d >= -ReauthWindow {
			return nil
		}
	}
	return &Error{Code: EREAUTHREQUIRED,
		Message: "This change needs a recent sign-in: confirm your password (and a code, when asked) and try again."}
}

// RequireAdmin returns nil for the operator, an admin of the organization
// orgID or an admin of its group, and EFORBIDDEN otherwise.
func (a Actor) RequireAdmin(orgID string) error {
	if a.operator || (a.UserID != "" && orgID != "" &&
		((a.Role == RoleAdmin && a.OrgID == orgID) || slices.Contains(a.ManagedOrgIDs, orgID))) {
		return nil
	}
	return Reasoned(EFORBIDDEN, ReasonAdminOnly, "Only admins of this organization may do that.")
}
