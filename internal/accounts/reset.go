package accounts

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/keyring"
)

// ForgotPassword e-mails a single-use link to set a new password, valid
// for an hour. It answers the same whether or not the account exists, and
// sends nothing for an unknown or disabled account, an organization that
// signs in with LDAP or SAML2, or past the reset caps (MaxResetSendsPerUser
// and MaxResetSendsPerNetwork an hour, apart from the code-send caps); so
// nothing can be learnt from it. A new link voids the user's older one.
// Errors only when the database fails.
func (s *Service) ForgotPassword(ctx context.Context, orgSlug, email string, ip netip.Addr) (err error) {
	defer s.storeFailure(ctx, &err)
	email, err = gatehouse.NormalizeEmail(email)
	if err != nil {
		return err
	}
	org, err := s.store.OrganizationBySlug(ctx, strings.ToLower(strings.TrimSpace(orgSlug)))
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	if org.Settings.AuthMethod != gatehouse.AuthPassword {
		return nil
	}
	u, err := s.store.UserByEmail(ctx, org.ID, email)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	if u.Disabled {
		return nil
	}
	now := s.now()
	// Reset e-mails have caps of their own, never the code-send caps: any
	// stranger can ask for a reset, and must not use up the user's sign-in
	// codes. The check and the count are one step in the store.
	ok, err := s.store.ReserveResetSend(ctx, u.ID, gatehouse.ResetSendNetwork(ip), now, now.Add(-gatehouse.ResetSendWindow),
		gatehouse.MaxResetSendsPerUser, gatehouse.MaxResetSendsPerNetwork)
	if err != nil {
		return err
	}
	if !ok {
		return s.audit(ctx, &gatehouse.AuditEvent{OrgID: org.ID, UserID: u.ID, Event: gatehouse.AuditPasswordResetRequested,
			Reason: "capped", ClientIP: ip, At: now})
	}
	token, err := s.newResetToken(ctx, u, gatehouse.PasswordResetLifetime)
	if err != nil {
		return err
	}
	link := s.publicURL + "/reset-password?token=" + url.QueryEscape(token)
	if err := s.msg.Notify(ctx, gatehouse.Notice{Kind: gatehouse.NoticePasswordReset, To: u.Email, OrgName: org.Name,
		At: now, ClientIP: ip, Link: link, Lifetime: gatehouse.PasswordResetLifetime}); err != nil {
		if s.log != nil {
			s.log.WarnContext(ctx, "password reset e-mail failed", "org_id", org.ID, "user_id", u.ID, "error", err)
		}
	}
	return s.audit(ctx, &gatehouse.AuditEvent{OrgID: org.ID, UserID: u.ID, Event: gatehouse.AuditPasswordResetRequested, ClientIP: ip, At: now})
}

// PasswordResetUser returns whom a reset link is for, while it is unused and
// unexpired; ENOTFOUND otherwise.
func (s *Service) PasswordResetUser(ctx context.Context, token string) (_ *gatehouse.Organization, _ *gatehouse.User, err error) {
	defer s.storeFailure(ctx, &err)
	if token == "" || len(token) > 128 {
		return nil, nil, expiredLink()
	}
	keys, err := s.keys()
	if err != nil {
		return nil, nil, err
	}
	var r *gatehouse.PasswordReset
	for _, c := range keys.Candidates(resetPurpose, resetPurpose, token) {
		if r, err = s.store.PasswordResetByTokenHash(ctx, c.Hash, s.now()); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			break
		}
	}
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, nil, expiredLink()
	} else if err != nil {
		return nil, nil, err
	}
	org, err := s.store.OrganizationByID(ctx, r.OrgID)
	if err != nil {
		return nil, nil, err
	}
	u, err := s.store.UserByID(ctx, r.OrgID, r.UserID)
	if err != nil {
		return nil, nil, err
	}
	return org, u, nil
}

// ResetPassword sets a new password through a reset link, which it spends.
// It never signs the user in; the next sign-in still asks for a code. The
// user's sessions and remembered browsers end and a code lock is lifted.
// Returns ENOTFOUND for a used, expired or unknown link, EWEAKPASSWORD.
func (s *Service) ResetPassword(ctx context.Context, token, password string, ip netip.Addr) (err error) {
	defer s.storeFailure(ctx, &err)
	org, u, err := s.PasswordResetUser(ctx, token)
	if err != nil {
		return err
	}
	if u.Disabled || org.Settings.AuthMethod != gatehouse.AuthPassword {
		return expiredLink()
	}
	// Check and hash before spending the link, so a weak password does not
	// use it up.
	if err := s.policy.Check(password, u.Email); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return err
	}
	// One transaction: the link is spent, the password set, and every
	// session, remembered browser, pending sign-in and other link of the old
	// password ends, or none of it happens.
	now := s.now()
	keys, err := s.keys()
	if err != nil {
		return err
	}
	// The link was made under one key of the ring: spend it under that one
	// (the others hold no such link, so trying them spends and saves
	// nothing).
	for _, c := range keys.Candidates(resetPurpose, resetPurpose, token) {
		err = s.store.ChangeCredentials(ctx, gatehouse.CredentialChange{OrgID: org.ID, UserID: u.ID, At: now,
			SpendReset: c.Hash, SetPassword: true, PasswordHash: hash,
			EndSessions: true, EndRememberedBrowsers: true, EndPending: true, VoidResetLinks: true, ClearCodeLock: true,
			ClearThrottle: []string{gatehouse.AccountThrottleKey(org.Slug, u.Email)}, ForgetDevices: true,
			Audit: &gatehouse.AuditEvent{OrgID: org.ID, UserID: u.ID, Event: gatehouse.AuditPasswordReset, ClientIP: ip, At: now}})
		if gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			break
		}
	}
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return expiredLink()
	}
	return err
}

// newResetToken saves a single-use link for a user to choose a password,
// bound to the user's address and voiding their older links, and returns
// its token.
func (s *Service) newResetToken(ctx context.Context, u *gatehouse.User, lifetime time.Duration) (string, error) {
	token, err := keyring.NewToken(s.rand)
	if err != nil {
		return "", fmt.Errorf("accounts: password link: %w", err)
	}
	now := s.now()
	keys, err := s.keys()
	if err != nil {
		return "", err
	}
	r := &gatehouse.PasswordReset{TokenHash: keys.Hash(resetPurpose, token), OrgID: u.OrgID, UserID: u.ID, Email: u.Email,
		CreatedAt: now, ExpiresAt: now.Add(lifetime)}
	if err := s.store.CreatePasswordReset(ctx, r); err != nil {
		return "", err
	}
	return token, nil
}

// resetPurpose keys the stored hashes of password links (its label before
// the keyring was the same).
const resetPurpose = "password reset"

// keys returns the server's keys (Config.Keys, or a ring of Config.Secret
// alone); without them no link can be made or checked.
func (s *Service) keys() (*keyring.Ring, error) {
	if s.ring == nil {
		return nil, errors.New("accounts: no server keys (Config.Keys or Config.Secret) for password links")
	}
	return s.ring, nil
}

func expiredLink() error {
	return &gatehouse.Error{Code: gatehouse.ENOTFOUND, Reason: gatehouse.ReasonResetLinkSpent, Message: "This link has expired or was already used. Ask for a new one."}
}
