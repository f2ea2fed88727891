package signin

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"net/netip"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// Reauth is a signed-in user's re-authentication: the password again and,
// where signing in from here would ask for one, a fresh code. Changes of
// sign-in policy, federation, exemptions, roles and contact details need it
// within ReauthWindow (gatehouse.Actor.RequireRecent).
type Reauth struct {
	// Done is true once the session counts as freshly authenticated.
	Done bool
	// ChallengeID names the code step in VerifyReauth and ResendReauth
	// while Done is false.
	ChallengeID string
	// Pending says where the code went.
	Pending Pending
}

// ReauthNeedsCode reports whether re-authenticating from ip takes a code
// besides the password: when the organization enforces two-factor
// authentication and a sign-in by this user from this address would ask
// for one (not exempt, not in a skip network). A remembered browser does
// not count: the point is a factor that a stolen session cookie does not
// carry.
func (s *Service) ReauthNeedsCode(ctx context.Context, cur *Current, ip netip.Addr) (_ bool, err error) {
	defer s.failure(&err, "ReauthNeedsCode")
	org, user, _, err := s.policyFor(ctx, cur.Organization, cur.User)
	if err != nil {
		return false, s.unavailable("find managed organizations", err)
	}
	d, err := Decide(org, user, ip, nil)
	if err != nil {
		return false, s.unavailable("decide re-authentication", err)
	}
	return !d.SignedIn(), nil
}

// StartReauth checks the signed-in user's password again. When no code is
// needed (ReauthNeedsCode) the session is recorded as freshly authenticated
// and Done is set; otherwise a code goes to the user's phone (SMS
// organizations, when there is one) or e-mail address, and the result
// names the challenge to verify. The code step belongs to this session
// alone.
//
// Returns ESSOREQUIRED for a SAML2 organization (sign in again at its
// Location), EINVALID for an empty password, EINVALIDCREDENTIALS for a wrong
// one (counted like a failed sign-in), ETOOMANYATTEMPTS while backing off or
// locked by wrong codes, EBUSY, and EUNAVAILABLE. A code that could not be
// sent is the result's Pending.NotSent, so the client can resend.
func (s *Service) StartReauth(ctx context.Context, cur *Current, password string, ip netip.Addr) (_ *Reauth, err error) {
	defer s.failure(&err, "StartReauth")
	if cur.Organization.Settings.AuthMethod == gatehouse.AuthSAML2 {
		// No password here: a new sign-in through the identity provider
		// starts a fresh session.
		return nil, &gatehouse.Error{Code: gatehouse.ESSOREQUIRED, Location: "/saml/" + cur.Organization.Slug + "/login",
			Message: "This organization signs in through its identity provider."}
	}
	if password == "" {
		return nil, gatehouse.FieldReason("password", gatehouse.ReasonPasswordRequired, "The password is required.")
	}
	now := s.now()
	check := s.reauthPassword
	if cur.Organization.Settings.AuthMethod == gatehouse.AuthLDAP {
		check = s.reauthDirectory
	}
	if err := check(ctx, cur, password, ip, now); err != nil {
		return nil, err
	}
	needCode, err := s.ReauthNeedsCode(ctx, cur, ip)
	if err != nil {
		return nil, err
	}
	if !needCode {
		if err := s.recordReauth(ctx, cur, ip, now, "password"); err != nil {
			return nil, err
		}
		return &Reauth{Done: true}, nil
	}
	user := cur.User
	if wait, locked := gatehouse.OTPWait(user.OTPFailures, user.OTPLastFailureAt, now); locked || wait > 0 {
		return nil, otpLocked(wait, locked)
	}
	c := &gatehouse.Challenge{ID: gatehouse.NewID(), Kind: gatehouse.ChallengeReauth, OrgID: cur.Organization.ID, UserID: user.ID,
		NewValue: hex.EncodeToString(cur.Session.TokenHash), Step: 1, ClientIP: ip, CreatedAt: now,
		ExpiresAt: now.Add(gatehouse.ChallengeLifetime), Channel: gatehouse.OTPEmail, Destination: user.Email}
	if cur.Organization.Settings.OTPMethod == gatehouse.OTPSMS && user.Phone != "" {
		c.Channel, c.Destination = gatehouse.OTPSMS, user.Phone
	}
	if err := s.codes.CreateChallenge(ctx, c); err != nil {
		return nil, s.unavailable("save re-authentication", err)
	}
	r := &Reauth{ChallengeID: c.ID}
	if err := s.sendFirst(ctx, c, cur.Organization, user, ip, now, &r.Pending); err != nil {
		return nil, err
	}
	return r, nil
}

// reauthDirectory checks the password of an LDAP organization's user
// against the directory, throttled and counted like reauthPassword.
func (s *Service) reauthDirectory(ctx context.Context, cur *Current, password string, ip netip.Addr, now time.Time) error {
	if s.fed == nil {
		return s.unavailable("ldap re-authentication", errNoFederation)
	}
	dir, err := s.fed.Directory(ctx, cur.Organization)
	if err != nil {
		return s.unavailable("open directory", err)
	}
	ok, err := s.checkPassword(ctx, now, []gatehouse.ThrottleKey{s.sessionKey(cur.Session), s.addressKey(ip)},
		func(ctx context.Context) (bool, error) {
			id, err := dir.Authenticate(ctx, cur.User.Email, truncate(password, MaxPasswordInput))
			if err != nil {
				return false, err
			}
			// The directory's entry must still be this user.
			return id != nil && strings.EqualFold(strings.TrimSpace(id.Email), cur.User.Email), nil
		})
	if err != nil {
		return wrongPasswords(err)
	}
	if !ok {
		return &gatehouse.Error{Code: gatehouse.EINVALIDCREDENTIALS, Field: "password", Message: "The password is incorrect."}
	}
	return nil
}

// VerifyReauth checks the code of a re-authentication of this session and,
// when it is right, records the session as freshly authenticated.
//
// Returns ELOGINEXPIRED for a code step that is over, unknown or another
// session's; ECODEEXPIRED, EINVALIDCODE with AttemptsLeft (counted against
// the user like any wrong code), ETOOMANYATTEMPTS while the user backs off
// or is locked, EINVALID for input that is not 6 digits.
func (s *Service) VerifyReauth(ctx context.Context, cur *Current, id, code string, ip netip.Addr) (_ *Reauth, err error) {
	defer s.failure(&err, "VerifyReauth")
	now := s.now()
	c, err := s.reauthChallenge(ctx, cur, id, now)
	if err != nil {
		return nil, err
	}
	code = normalizeCode(code)
	if !validCode(code) {
		return nil, &gatehouse.Error{Code: gatehouse.EINVALID, Field: "code", Message: "The code is the 6 digits we sent you."}
	}
	if err := s.takeCode(ctx, c, cur.Organization, cur.User, code, ip, now, changeExpired); err != nil {
		return nil, err
	}
	if err := s.codes.DeleteChallenge(ctx, c.ID); err != nil {
		return nil, s.unavailable("end re-authentication", err)
	}
	if err := s.recordReauth(ctx, cur, ip, now, "code"); err != nil {
		return nil, err
	}
	return &Reauth{Done: true, ChallengeID: c.ID}, nil
}

// ResendReauth sends another code for a re-authentication of this session.
func (s *Service) ResendReauth(ctx context.Context, cur *Current, id string, ip netip.Addr) (_ *Reauth, err error) {
	defer s.failure(&err, "ResendReauth")
	now := s.now()
	c, err := s.reauthChallenge(ctx, cur, id, now)
	if err != nil {
		return nil, err
	}
	r := &Reauth{ChallengeID: c.ID}
	if err := s.sendCode(ctx, c, cur.Organization, cur.User, ip, now, &r.Pending); err != nil {
		return nil, err
	}
	return r, nil
}

// reauthChallenge finds a live re-authentication of this very session.
func (s *Service) reauthChallenge(ctx context.Context, cur *Current, id string, now time.Time) (*gatehouse.Challenge, error) {
	if id == "" || len(id) > 64 {
		return nil, gatehouse.FieldReason("challenge", gatehouse.ReasonConfirmationMissing, "The confirmation to finish is missing.")
	}
	c, err := s.codes.ChallengeByID(ctx, cur.Organization.ID, cur.User.ID, id)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, changeExpired()
	} else if err != nil {
		return nil, s.unavailable("find re-authentication", err)
	}
	mine := subtle.ConstantTimeCompare([]byte(c.NewValue), []byte(hex.EncodeToString(cur.Session.TokenHash))) == 1
	if c.Kind != gatehouse.ChallengeReauth || !mine {
		return nil, changeExpired()
	}
	if !now.Before(c.ExpiresAt) || c.Failures >= gatehouse.ChallengeMaxFailures {
		return nil, changeExpired()
	}
	return c, nil
}

// recordReauth marks the session freshly authenticated at now.
func (s *Service) recordReauth(ctx context.Context, cur *Current, ip netip.Addr, now time.Time, how string) error {
	if err := s.sessions.SetSessionReauth(ctx, cur.Session.TokenHash, now); err != nil {
		return s.unavailable("record re-authentication", err)
	}
	cur.Session.ReauthAt = now
	return s.audit(ctx, &gatehouse.AuditEvent{OrgID: cur.Organization.ID, UserID: cur.User.ID, ActorID: cur.User.ID,
		Event: gatehouse.AuditReauthenticated, Reason: how, ClientIP: ip, At: now})
}
