package gatehouse

import (
	"net/netip"
	"slices"
	"time"
)

// Two-factor states of a signed-in session: which branch of the sign-in
// decision (docs/design.md §4) let the user in.
const (
	TwoFactorNotEnforced    = "not_enforced"
	TwoFactorExempt         = "exempt"
	TwoFactorAllowedNetwork = "allowed_network"
	TwoFactorRemembered     = "remembered"
	TwoFactorFederated      = "federated"
	TwoFactorVerified       = "verified"
)

// Session is a signed-in browser or API client. Only a hash of its token is
// stored; the token itself lives in the client's cookie.
type Session struct {
	TokenHash []byte
	// PublicID names the session to its user (the list of sessions, ending
	// one) without revealing the token or its hash: 128 random bits of its
	// own. CreateSession sets it when empty.
	PublicID       string
	UserID         string
	OrgID          string
	TwoFactorState string
	ClientIP       netip.Addr
	UserAgent      string
	CreatedAt      time.Time // also when the user authenticated
	LastSeenAt     time.Time
	ExpiresAt      time.Time // the absolute timeout
	// ReauthAt is when the user last gave the password again in this
	// session (zero: never since signing in).
	ReauthAt time.Time
}

// PassedTwoFactorPolicy reports whether a session in state was let in by
// an organization that enforced two-factor authentication: by a code, a
// remembered verification, the user's exemption or a skip network. A
// session started while enforcement was off ("not_enforced"), through a
// directory ("federated"), or in a state this version does not know, did
// not, and ends when the organization enforces 2FA.
func PassedTwoFactorPolicy(state string) bool {
	return slices.Contains(TwoFactorPolicyStates, state)
}

// TwoFactorPolicyStates are the states PassedTwoFactorPolicy accepts.
var TwoFactorPolicyStates = []string{TwoFactorVerified, TwoFactorRemembered, TwoFactorExempt, TwoFactorAllowedNetwork}

// MaxListedSessions bounds the list of a user's sessions (the newest by
// last use); ending the others reaches every session, listed or not.
const MaxListedSessions = 100

// LastAuthenticated is when the session's user last proved the password:
// at sign-in or at a later re-authentication.
func (s *Session) LastAuthenticated() time.Time {
	if s.ReauthAt.After(s.CreatedAt) {
		return s.ReauthAt
	}
	return s.CreatedAt
}

// Expired reports whether the session is over at now, by the absolute
// timeout or by being idle for longer than idle.
func (s *Session) Expired(now time.Time, idle time.Duration) bool {
	return !now.Before(s.ExpiresAt) || !now.Before(s.LastSeenAt.Add(idle))
}
