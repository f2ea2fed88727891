package signin

import (
	"context"
	"net/netip"

	"github.com/gatehousehq/gatehouse"
)

// ChangePassword is the signed-in user's own change of password: the
// current password, checked and throttled as a re-authentication is (a
// stolen session alone cannot change it), then the new one against the
// policy. The new password is saved in one transaction with the end of
// everything the old one opened but this session: the user's other
// sessions (and with them their applications' tokens), remembered
// browsers, pending sign-ins and unused reset links; the account's
// password failures are forgotten. The session it is done from counts as
// just authenticated.
//
// Returns EINVALID for an organization that signs in through LDAP or
// SAML2 (no password here) or a missing field, EINVALIDCREDENTIALS (field
// "password") for a wrong current password, ETOOMANYATTEMPTS while backing
// off, EWEAKPASSWORD with its reason, EBUSY, EUNAVAILABLE.
func (s *Service) ChangePassword(ctx context.Context, cur *Current, current, next string, ip netip.Addr) (err error) {
	defer s.failure(&err, "ChangePassword")
	if cur.Organization.Settings.AuthMethod != gatehouse.AuthPassword || cur.User.PasswordHash == "" {
		return gatehouse.FieldReason("password", gatehouse.ReasonPasswordFromDirectory,
			"Your password is kept by your organization's directory or identity provider; change it there.")
	}
	if current == "" {
		return gatehouse.FieldReason("password", gatehouse.ReasonPasswordRequired, "The password is required.")
	}
	if s.policy == nil {
		return &gatehouse.Error{Code: gatehouse.EINTERNAL, Message: "Passwords cannot be changed here."}
	}
	now := s.now()
	if err := s.reauthPassword(ctx, cur, current, ip, now); err != nil {
		return err
	}
	if err := s.policy.Check(next, cur.User.Email); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, next)
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.EBUSY {
			return err
		}
		return s.unavailable("hash new password", err)
	}
	org, user := cur.Organization, cur.User
	if err := s.creds.ChangeCredentials(ctx, gatehouse.CredentialChange{OrgID: org.ID, UserID: user.ID, At: now,
		SetPassword: true, PasswordHash: hash,
		EndSessions: true, KeepSession: cur.Session.TokenHash, EndRememberedBrowsers: true, EndPending: true, VoidResetLinks: true,
		ClearThrottle: []string{gatehouse.AccountThrottleKey(org.Slug, user.Email)},
		Audit: &gatehouse.AuditEvent{OrgID: org.ID, UserID: user.ID, ActorID: user.ID, ClientIP: ip,
			Event: gatehouse.AuditPasswordChanged, At: now}}); err != nil {
		return s.unavailable("change password", err)
	}
	if err := s.sessions.SetSessionReauth(ctx, cur.Session.TokenHash, now); err != nil {
		s.log.WarnContext(ctx, "could not record the re-authentication of a password change", "error", err)
	}
	return nil
}
