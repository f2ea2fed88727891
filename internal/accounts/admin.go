package accounts

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// Actor is who makes an administrative change (gatehouse.Actor): the
// guarded methods below check it, so that pages, API and command line share
// one rule. The command line passes gatehouse.OperatorActor().
type Actor = gatehouse.Actor

// guard is the check of every change of sign-in policy, federation,
// exemptions, roles, disabling and contact details: an admin of org (or
// the operator) who authenticated within gatehouse.ReauthWindow. Returns
// EFORBIDDEN or EREAUTHREQUIRED.
func (s *Service) guard(actor Actor, org *gatehouse.Organization) error {
	if err := actor.RequireAdmin(org.ID); err != nil {
		return err
	}
	return actor.RequireRecent(s.now())
}

// guardUser is the check of a change of user u's account: an admin of org
// (who authenticated recently, when recent is set), and for a group admin
// one who administers all they do (guardGroupAdmin).
func (s *Service) guardUser(ctx context.Context, actor Actor, org *gatehouse.Organization, u *gatehouse.User, recent bool) error {
	if err := actor.RequireAdmin(org.ID); err != nil {
		return err
	}
	if recent {
		if err := actor.RequireRecent(s.now()); err != nil {
			return err
		}
	}
	return s.guardGroupAdmin(ctx, actor, org, u)
}

// SettingsChange is an admin's new password settings. ConfirmTwoFactorOff
// is the admin's explicit yes to turning enforcement of two-factor
// authentication off in a password organization; without it that change is
// refused, whichever way it comes in.
type SettingsChange struct {
	Settings            gatehouse.PasswordSettings
	ConfirmTwoFactorOff bool
}

// FieldConfirmTwoFactorOff is the Field of the EINVALID error that asks for
// SettingsChange.ConfirmTwoFactorOff.
const FieldConfirmTwoFactorOff = "confirm_disable_two_factor"

// Organization returns an organization by slug; ENOTFOUND names the slug.
func (s *Service) Organization(ctx context.Context, slug string) (_ *gatehouse.Organization, err error) {
	defer s.storeFailure(ctx, &err)
	return s.organization(ctx, slug)
}

// UpdateSettings replaces an organization's password settings after
// validating them as a whole; nothing is saved when anything is wrong.
// Turning enforcement on, or changing the code method or the sign-in
// method, revokes every remembered browser of the organization (docs/design.md
// §3). With enforcement on, every session of the organization that did not
// pass two-factor authentication ends (gatehouse.PassedTwoFactorPolicy),
// the acting admin's too; a change of method alone ends no session, and a
// session a removed skip network let in ends at its next use
// (signin.Authenticate). The change is audited with the settings before and
// after.
//
// The input is checked first, then the confirmation of turning 2FA off,
// then the actor's recent authentication, so a form can say what is wrong
// before asking for the password.
//
// Returns EINVALID / EINVALIDNETWORK naming the field or entry (EINVALID
// with Field FieldConfirmTwoFactorOff when turning 2FA off is not
// confirmed), ETWOFACTORUNAVAIL for enforcement with LDAP or SAML2,
// ENOTFOUND, EFORBIDDEN, EREAUTHREQUIRED.
func (s *Service) UpdateSettings(ctx context.Context, orgSlug string, change SettingsChange, actor Actor) (_ *gatehouse.Organization, err error) {
	defer s.storeFailure(ctx, &err)
	org, err := s.organization(ctx, orgSlug)
	if err != nil {
		return nil, err
	}
	if err := actor.RequireAdmin(org.ID); err != nil {
		return nil, err
	}
	next := change.Settings
	if err := next.Validate(); err != nil {
		return nil, err
	}
	if next.AuthMethod != gatehouse.AuthPassword && next.AuthMethod != org.Settings.AuthMethod {
		// Switching to a directory that is not set up would lock every
		// user out, the admin too.
		ok := false
		if s.configured != nil {
			if ok, err = s.configured(ctx, org.ID, next.AuthMethod); err != nil {
				return nil, err
			}
		}
		if !ok {
			return nil, gatehouse.FieldReason("auth_method", gatehouse.ReasonAuthMethodNotSetUp, "%s sign-in is not set up for this organization yet, so it cannot be chosen.", strings.ToUpper(string(next.AuthMethod)))
		}
	}
	if next.AuthMethod != gatehouse.AuthPassword {
		if has, err := s.hasGroupAdmins(ctx, org); err != nil {
			return nil, err
		} else if has {
			return nil, groupAdminStays()
		}
	}
	if next.OTPMethod == gatehouse.OTPSMS && next.OTPMethod != org.Settings.OTPMethod && !s.smsAvailable {
		return nil, gatehouse.FieldReason("otp_method", gatehouse.ReasonNoSMSProvider, "This server has no SMS provider, so codes cannot go by SMS. Ask the operator to set GATEHOUSE_SMS_PROVIDER, or keep e-mail.")
	}
	prev := org.Settings
	if prev.EnforceTwoFactor && !next.EnforceTwoFactor && next.AuthMethod == gatehouse.AuthPassword && !change.ConfirmTwoFactorOff {
		return nil, gatehouse.FieldError(FieldConfirmTwoFactorOff,
			"Turning two-factor authentication off lets anyone with a password sign in without a code: confirm that this is what you want.")
	}
	if err := s.guard(actor, org); err != nil {
		return nil, err
	}
	now := s.now()
	if err := s.store.UpdatePasswordSettings(ctx, org.ID, next, now); err != nil {
		return nil, err
	}
	revoke := (next.EnforceTwoFactor && !prev.EnforceTwoFactor) || next.OTPMethod != prev.OTPMethod || next.AuthMethod != prev.AuthMethod
	var revoked int64
	if revoke {
		if revoked, err = s.store.DeleteOrgRememberedBrowsers(ctx, org.ID); err != nil {
			return nil, err
		}
	}
	// Under enforcement, a session that never passed two-factor
	// authentication ends: the acting admin's own too, who then signs in
	// with a code like everyone else. (signin.Authenticate refuses such a
	// session as well, for one started while this change was saved.)
	var ended int64
	if next.EnforceTwoFactor {
		if ended, err = s.store.DeleteOrgSessionsWithoutTwoFactor(ctx, org.ID); err != nil {
			return nil, err
		}
	}
	detail := map[string]string{"before": settingsString(prev), "after": settingsString(next)}
	if revoke {
		detail["remembered_browsers_revoked"] = fmt.Sprint(revoked)
	}
	if ended > 0 || (next.EnforceTwoFactor && !prev.EnforceTwoFactor) {
		detail["sessions_ended"] = fmt.Sprint(ended)
	}
	if err := s.audit(ctx, &gatehouse.AuditEvent{OrgID: org.ID, ActorID: actor.AuditID(), ClientIP: actor.ClientIP,
		Event: gatehouse.AuditSettingsChanged, At: now, Detail: detail}); err != nil {
		return nil, err
	}
	org.Settings, org.UpdatedAt = next, now
	return org, nil
}

func settingsString(s gatehouse.PasswordSettings) string {
	nets := make([]string, len(s.SkipNetworks))
	for i, p := range s.SkipNetworks {
		nets[i] = p.String()
	}
	return fmt.Sprintf("enforce_two_factor=%t otp_method=%s skip_networks=[%s] remember_days=%d auth_method=%s",
		s.EnforceTwoFactor, s.OTPMethod, strings.Join(nets, " "), s.RememberDays, s.AuthMethod)
}

// User returns a user of an organization by id.
func (s *Service) User(ctx context.Context, orgSlug, userID string) (_ *gatehouse.Organization, _ *gatehouse.User, err error) {
	defer s.storeFailure(ctx, &err)
	org, err := s.organization(ctx, orgSlug)
	if err != nil {
		return nil, nil, err
	}
	u, err := s.store.UserByID(ctx, org.ID, userID)
	if err != nil {
		return nil, nil, err
	}
	return org, u, nil
}

// UserByEmail returns a user of an organization by e-mail.
func (s *Service) UserByEmail(ctx context.Context, orgSlug, email string) (_ *gatehouse.Organization, _ *gatehouse.User, err error) {
	defer s.storeFailure(ctx, &err)
	org, err := s.organization(ctx, orgSlug)
	if err != nil {
		return nil, nil, err
	}
	email, err = gatehouse.NormalizeEmail(email)
	if err != nil {
		return nil, nil, err
	}
	u, err := s.store.UserByEmail(ctx, org.ID, email)
	if err != nil {
		return nil, nil, err
	}
	return org, u, nil
}

// ResetTwoFactor is what an admin does when a user's second factor or
// browser can no longer be trusted (a lost phone, a stolen laptop): it
// revokes all of the user's remembered browsers, ends the user's sessions
// (and with them every application token they gave) and pending sign-ins,
// in one transaction with its audit event, so the next sign-in asks for a
// code again everywhere. An admin resetting their own keeps the session
// they act from. Returns how many remembered browsers were revoked.
func (s *Service) ResetTwoFactor(ctx context.Context, orgSlug, userID string, actor Actor) (_ int64, err error) {
	defer s.storeFailure(ctx, &err)
	org, u, err := s.User(ctx, orgSlug, userID)
	if err != nil {
		return 0, err
	}
	if err := s.guardUser(ctx, actor, org, u, false); err != nil {
		return 0, err
	}
	var keep []byte
	if actor.UserID == u.ID {
		keep = actor.SessionHash
	}
	ev := &gatehouse.AuditEvent{OrgID: org.ID, UserID: u.ID, ActorID: actor.AuditID(), ClientIP: actor.ClientIP,
		Event: gatehouse.AuditTwoFactorReset, At: s.now()}
	if err := s.store.ChangeCredentials(ctx, gatehouse.CredentialChange{OrgID: org.ID, UserID: u.ID, At: ev.At,
		EndSessions: true, KeepSession: keep, EndRememberedBrowsers: true, EndPending: true, Audit: ev}); err != nil {
		return 0, err
	}
	n, _ := strconv.ParseInt(ev.Detail["remembered_browsers_revoked"], 10, 64)
	return n, nil
}

// Unlock clears a user's count of consecutive wrong codes, lifting a
// back-off or a lock.
func (s *Service) Unlock(ctx context.Context, orgSlug, userID string, actor Actor) (err error) {
	defer s.storeFailure(ctx, &err)
	org, u, err := s.User(ctx, orgSlug, userID)
	if err != nil {
		return err
	}
	if err := s.guardUser(ctx, actor, org, u, false); err != nil {
		return err
	}
	if err := s.store.ResetOTPFailures(ctx, org.ID, u.ID, time.Time{}); err != nil {
		return err
	}
	return s.audit(ctx, &gatehouse.AuditEvent{OrgID: org.ID, UserID: u.ID, ActorID: actor.AuditID(), ClientIP: actor.ClientIP,
		Event: gatehouse.AuditUserUnlocked, At: s.now(), Detail: map[string]string{"consecutive_wrong_codes": fmt.Sprint(u.OTPFailures)}})
}

// SetExempt exempts a user from two-factor authentication, or ends the
// exemption, and tells the user by e-mail. Ending it revokes no remembered
// browser: the user simply gets asked again; a session the exemption let in
// ends at its next use (signin.Authenticate). Returns ENOTFOUND,
// EFORBIDDEN, EREAUTHREQUIRED.
func (s *Service) SetExempt(ctx context.Context, orgSlug, userID string, exempt bool, actor Actor) (_ *gatehouse.User, err error) {
	defer s.storeFailure(ctx, &err)
	org, u, err := s.User(ctx, orgSlug, userID)
	if err != nil {
		return nil, err
	}
	if err := s.guardUser(ctx, actor, org, u, true); err != nil {
		return nil, err
	}
	if u.TwoFactorExempt == exempt {
		return u, nil
	}
	now := s.now()
	if u, err = s.store.PatchUser(ctx, org.ID, u.ID, gatehouse.UserPatch{TwoFactorExempt: &exempt}, now); err != nil {
		return nil, err
	}
	audited := s.audit(ctx, &gatehouse.AuditEvent{OrgID: org.ID, UserID: u.ID, ActorID: actor.AuditID(), ClientIP: actor.ClientIP,
		Event: gatehouse.AuditExemptionChanged, At: now, Detail: map[string]string{"two_factor_exempt": boolString(exempt)}})
	// The user is told of the saved change even when its audit failed.
	s.tellUser(ctx, org, actor, now, gatehouse.Notice{Kind: gatehouse.NoticeChangedByAdmin, To: u.Email,
		Field: gatehouse.NoticeFieldExemption, NewValue: boolString(exempt)})
	if audited != nil {
		return nil, audited
	}
	return u, nil
}

// SetDisabled disables a user (ending their sessions, remembered browsers,
// pending sign-ins and contact changes, and password links) or enables
// them again. Returns ENOTFOUND, EINVALID for disabling oneself,
// EFORBIDDEN, EREAUTHREQUIRED.
func (s *Service) SetDisabled(ctx context.Context, orgSlug, userID string, disabled bool, actor Actor) (_ *gatehouse.User, err error) {
	defer s.storeFailure(ctx, &err)
	org, u, err := s.User(ctx, orgSlug, userID)
	if err != nil {
		return nil, err
	}
	if err := actor.RequireAdmin(org.ID); err != nil {
		return nil, err
	}
	if disabled && actor.UserID == u.ID {
		return nil, gatehouse.FieldReason("disabled", gatehouse.ReasonDisableSelf, "You cannot disable yourself.")
	}
	if err := s.guardUser(ctx, actor, org, u, true); err != nil {
		return nil, err
	}
	if u.Disabled == disabled {
		return u, nil
	}
	now := s.now()
	if u, err = s.store.PatchUser(ctx, org.ID, u.ID, gatehouse.UserPatch{Disabled: &disabled}, now); err != nil {
		return nil, err
	}
	if disabled {
		if err := s.endPending(ctx, org.ID, u.ID); err != nil {
			return nil, err
		}
		if err := s.store.DeleteUserSessions(ctx, org.ID, u.ID); err != nil {
			return nil, err
		}
		if _, err := s.store.DeleteUserRememberedBrowsers(ctx, org.ID, u.ID); err != nil {
			return nil, err
		}
	}
	if err := s.audit(ctx, &gatehouse.AuditEvent{OrgID: org.ID, UserID: u.ID, ActorID: actor.AuditID(), ClientIP: actor.ClientIP,
		Event: gatehouse.AuditUserDisabledChanged, At: now, Detail: map[string]string{"disabled": boolString(disabled)}}); err != nil {
		return nil, err
	}
	return u, nil
}

// DeleteUser removes a user of an organization for good, with their
// sessions (and so the tokens of the applications they signed in to),
// remembered browsers, pending sign-ins and codes, password links, known
// devices and federated links, in one transaction with its audit event
// user.deleted; the event keeps the e-mail, name and role in its detail,
// since the user's row is gone. The audit log keeps the user's past
// events. Returns ENOTFOUND, EINVALID for deleting oneself, EFORBIDDEN,
// EREAUTHREQUIRED, and ECONFLICT (gatehouse.ErrLastAdmin) for the last
// admin of the organization who can sign in.
func (s *Service) DeleteUser(ctx context.Context, orgSlug, userID string, actor Actor) (err error) {
	defer s.storeFailure(ctx, &err)
	org, u, err := s.User(ctx, orgSlug, userID)
	if err != nil {
		return err
	}
	if err := actor.RequireAdmin(org.ID); err != nil {
		return err
	}
	if actor.UserID == u.ID {
		return gatehouse.FieldReason("user", gatehouse.ReasonDeleteSelf, "You cannot delete yourself.")
	}
	if err := s.guardUser(ctx, actor, org, u, true); err != nil {
		return err
	}
	detail := map[string]string{"email": u.Email, "role": string(u.Role)}
	if u.Name != "" {
		detail["name"] = u.Name
	}
	return s.store.DeleteUser(ctx, org.ID, u.ID, &gatehouse.AuditEvent{OrgID: org.ID, UserID: u.ID, ActorID: actor.AuditID(),
		ClientIP: actor.ClientIP, Event: gatehouse.AuditUserDeleted, At: s.now(), Detail: detail})
}

// UsersPage returns one page of an organization's users ordered by e-mail,
// after the e-mail in cursor, and the cursor of the next page ("" at the
// end).
func (s *Service) UsersPage(ctx context.Context, orgSlug, cursor string, limit int) (_ []*gatehouse.User, _ string, err error) {
	defer s.storeFailure(ctx, &err)
	org, err := s.organization(ctx, orgSlug)
	if err != nil {
		return nil, "", err
	}
	limit = min(max(limit, 1), 200)
	users, err := s.store.ListUsers(ctx, org.ID, cursor, limit+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(users) > limit {
		users = users[:limit]
		next = users[limit-1].Email
	}
	return users, next, nil
}

// AuditPage returns one page of an organization's audit log, newest first,
// before the event id in before (0 for the first page), and the cursor of
// the next page (0 at the end).
func (s *Service) AuditPage(ctx context.Context, orgSlug string, before int64, limit int) (_ []*gatehouse.AuditEvent, _ int64, err error) {
	defer s.storeFailure(ctx, &err)
	org, err := s.organization(ctx, orgSlug)
	if err != nil {
		return nil, 0, err
	}
	limit = min(max(limit, 1), 200)
	events, err := s.store.ListAudit(ctx, org.ID, before, limit+1)
	if err != nil {
		return nil, 0, err
	}
	var next int64
	if len(events) > limit {
		events = events[:limit]
		next = events[limit-1].ID
	}
	return events, next, nil
}
