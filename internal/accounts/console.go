package accounts

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// WelcomeLinkLifetime is how long the link in a new user's welcome e-mail
// works.
const WelcomeLinkLifetime = 72 * time.Hour

// Coverage is the top of the admin's users page: how much of the
// organization two-factor authentication covers.
type Coverage struct {
	Stats gatehouse.UserStats
	// SignIns are the last 30 days' successful sign-ins by outcome
	// (not_enforced, exempt, allowed_network, remembered, verified, …).
	SignIns map[string]int
	// Failed counts the last 30 days' failed password sign-ins.
	Failed int
	Since  time.Time
	// RememberedBrowsers counts the browsers remembered now: what turning
	// enforcement on or changing the method forgets.
	RememberedBrowsers int
}

// Coverage counts the organization's users and its last 30 days' sign-ins.
func (s *Service) Coverage(ctx context.Context, orgSlug string) (_ *Coverage, err error) {
	defer s.storeFailure(ctx, &err)
	org, err := s.organization(ctx, orgSlug)
	if err != nil {
		return nil, err
	}
	since := s.now().Add(-30 * 24 * time.Hour)
	stats, err := s.store.UserStats(ctx, org.ID, since)
	if err != nil {
		return nil, err
	}
	ok, err := s.store.CountAuditReasons(ctx, org.ID, gatehouse.AuditLoginSucceeded, since)
	if err != nil {
		return nil, err
	}
	failed, err := s.store.CountAuditReasons(ctx, org.ID, gatehouse.AuditLoginFailed, since)
	if err != nil {
		return nil, err
	}
	remembered, err := s.store.CountOrgRememberedBrowsers(ctx, org.ID, s.now())
	if err != nil {
		return nil, err
	}
	c := &Coverage{Stats: stats, SignIns: ok, Since: since, RememberedBrowsers: remembered}
	for _, n := range failed {
		c.Failed += n
	}
	return c, nil
}

// UserRow is a user with their remembered-browser count, for the users
// page.
type UserRow struct {
	*gatehouse.User
	RememberedBrowsers int
}

// SearchUsers returns a page of users whose e-mail or name contains query,
// and the cursor of the next page ("" at the end).
func (s *Service) SearchUsers(ctx context.Context, orgSlug, query, cursor string, limit int) (_ []UserRow, _ string, err error) {
	defer s.storeFailure(ctx, &err)
	org, err := s.organization(ctx, orgSlug)
	if err != nil {
		return nil, "", err
	}
	limit = min(max(limit, 1), 200)
	users, err := s.store.SearchUsers(ctx, org.ID, strings.TrimSpace(query), cursor, limit+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(users) > limit {
		users = users[:limit]
		next = users[limit-1].Email
	}
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	counts, err := s.store.CountRememberedBrowsers(ctx, org.ID, ids, s.now())
	if err != nil {
		return nil, "", err
	}
	rows := make([]UserRow, len(users))
	for i, u := range users {
		rows[i] = UserRow{User: u, RememberedBrowsers: counts[u.ID]}
	}
	return rows, next, nil
}

// RememberedCount returns how many remembered browsers one user has.
func (s *Service) RememberedCount(ctx context.Context, orgID, userID string) (_ int, err error) {
	defer s.storeFailure(ctx, &err)
	counts, err := s.store.CountRememberedBrowsers(ctx, orgID, []string{userID}, s.now())
	return counts[userID], err
}

// Invitation is what InviteUser did.
type Invitation struct {
	User *gatehouse.User
	// NotSent, when set, is why the e-mail with the link did not go out
	// (EDELIVERYFAILED). The user exists; ResendWelcome sends another.
	NotSent *gatehouse.Error
}

// InviteUser creates a user without a password and e-mails them a link to
// choose one (valid WelcomeLinkLifetime). Inviting an admin needs the
// actor's recent authentication. Returns what CreateUser returns,
// EFORBIDDEN, EREAUTHREQUIRED; an e-mail that could not be sent is the
// result's NotSent.
func (s *Service) InviteUser(ctx context.Context, in NewUser, actor Actor) (_ *Invitation, err error) {
	defer s.storeFailure(ctx, &err)
	org, err := s.organization(ctx, in.OrgSlug)
	if err != nil {
		return nil, err
	}
	if in.Admin {
		err = s.guard(actor, org)
	} else {
		err = actor.RequireAdmin(org.ID)
	}
	if err != nil {
		return nil, err
	}
	in.Password = ""
	u, err := s.CreateUser(ctx, in, actor.AuditID())
	if err != nil {
		return nil, err
	}
	if org.Settings.AuthMethod != gatehouse.AuthPassword || in.NoWelcome {
		return &Invitation{User: u}, nil // they sign in through the directory or identity provider, or ask for a link
	}
	token, err := s.newResetToken(ctx, u, WelcomeLinkLifetime)
	if err != nil {
		return nil, err
	}
	link := strings.TrimSuffix(s.publicURL, "/") + "/reset-password?token=" + url.QueryEscape(token)
	if err := s.msg.Notify(ctx, gatehouse.Notice{Kind: gatehouse.NoticeWelcome, To: u.Email, OrgName: org.Name,
		At: s.now(), ClientIP: actor.ClientIP, Link: link, Lifetime: WelcomeLinkLifetime}); err != nil {
		s.log.WarnContext(ctx, "welcome e-mail not sent", "org_id", org.ID, "user_id", u.ID, "error", err)
		return &Invitation{User: u, NotSent: gatehouse.Reasoned(gatehouse.EDELIVERYFAILED, gatehouse.ReasonWelcomeNotSent,
			"The user %s was created, but the e-mail with the link could not be sent. Try again from the user's page.", u.Email)}, nil
	}
	return &Invitation{User: u}, nil
}

// ResendWelcome e-mails a new link to choose a password.
func (s *Service) ResendWelcome(ctx context.Context, orgSlug, userID string, actor Actor) (err error) {
	defer s.storeFailure(ctx, &err)
	org, u, err := s.User(ctx, orgSlug, userID)
	if err != nil {
		return err
	}
	if err := s.guardUser(ctx, actor, org, u, false); err != nil {
		return err
	}
	if org.Settings.AuthMethod != gatehouse.AuthPassword {
		return gatehouse.FieldReason("auth_method", gatehouse.ReasonWelcomeFromDirectory, "Users of this organization sign in through its directory or identity provider.")
	}
	token, err := s.newResetToken(ctx, u, WelcomeLinkLifetime)
	if err != nil {
		return err
	}
	link := strings.TrimSuffix(s.publicURL, "/") + "/reset-password?token=" + url.QueryEscape(token)
	if err := s.msg.Notify(ctx, gatehouse.Notice{Kind: gatehouse.NoticeWelcome, To: u.Email, OrgName: org.Name,
		At: s.now(), ClientIP: actor.ClientIP, Link: link, Lifetime: WelcomeLinkLifetime}); err != nil {
		return gatehouse.Reasoned(gatehouse.EDELIVERYFAILED, gatehouse.ReasonMailNotSent, "The e-mail could not be sent. Try again in a moment.")
	}
	return nil
}

// UserEdit is an admin's change of a user's profile.
type UserEdit struct {
	Name  string
	Email string
	Phone string
	Role  gatehouse.Role
}

// EditUser saves an admin's change of a user's name, e-mail, phone and
// role, checked as a whole first, writing only the fields that change (a
// disable or exemption saved meanwhile stands). A change of e-mail, phone
// or role needs the actor's recent authentication. A change of phone or
// e-mail first ends the user's sessions (but the acting admin's own),
// remembered browsers and password links, so that a failure can leave no
// new factor beside the old ones, and then e-mails the user (for an e-mail
// change both the old and the new address).
//
// Returns ENOTFOUND, EINVALID / EINVALIDPHONE naming the field, ECONFLICT
// for an e-mail taken in the organization, EFORBIDDEN, EREAUTHREQUIRED.
func (s *Service) EditUser(ctx context.Context, orgSlug, userID string, in UserEdit, actor Actor) (_ *gatehouse.User, err error) {
	defer s.storeFailure(ctx, &err)
	org, before, err := s.User(ctx, orgSlug, userID)
	if err != nil {
		return nil, err
	}
	if err := actor.RequireAdmin(org.ID); err != nil {
		return nil, err
	}
	email, name, phone, err := s.profile(org, in.Email, in.Name, in.Phone)
	if err != nil {
		return nil, err
	}
	if !in.Role.Valid() {
		return nil, gatehouse.FieldReason("role", gatehouse.ReasonRoleInvalid, "The role must be admin or member.")
	}
	if in.Role != gatehouse.RoleAdmin && before.ID == actor.UserID && before.Role == gatehouse.RoleAdmin {
		return nil, gatehouse.FieldReason("role", gatehouse.ReasonRoleSelf, "You cannot take away your own admin role.")
	}
	if err := s.guardGroupAdmin(ctx, actor, org, before); err != nil {
		return nil, err
	}
	if in.Role != gatehouse.RoleAdmin && before.Role == gatehouse.RoleAdmin {
		if ga, err := s.isGroupAdmin(ctx, org, before); err != nil {
			return nil, err
		} else if ga {
			return nil, groupAdminStays()
		}
	}
	var p gatehouse.UserPatch
	if name != before.Name {
		p.Name = &name
	}
	if email != before.Email {
		p.Email = &email
	}
	if phone != before.Phone {
		p.Phone = &phone
	}
	if in.Role != before.Role {
		p.Role = &in.Role
	}
	if p.Empty() {
		return before, nil
	}
	if p.Email != nil || p.Phone != nil || p.Role != nil {
		if err := actor.RequireRecent(s.now()); err != nil {
			return nil, err
		}
	}
	now := s.now()
	contactChanged := p.Email != nil || p.Phone != nil
	var ended int64
	if contactChanged {
		var keep []byte
		if before.ID == actor.UserID {
			keep = actor.SessionHash
		}
		if ended, err = s.store.DeleteOtherUserSessions(ctx, org.ID, before.ID, keep); err != nil {
			return nil, err
		}
		if _, err := s.store.DeleteUserRememberedBrowsers(ctx, org.ID, before.ID); err != nil {
			return nil, err
		}
	}
	if p.Email != nil {
		// A link sent to the old address dies with it (a link works only
		// while its address is the user's); voided too, so that changing
		// the address back does not revive it.
		if _, err := s.store.VoidPasswordResets(ctx, org.ID, before.ID, now); err != nil {
			return nil, err
		}
	}
	u, err := s.store.PatchUser(ctx, org.ID, before.ID, p, now)
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
			return nil, &gatehouse.Error{Code: gatehouse.ECONFLICT, Field: "email", Message: "Another user of this organization has that e-mail address."}
		}
		return nil, err
	}
	detail := map[string]string{}
	for _, f := range []struct{ name, a, b string }{
		{"name", before.Name, u.Name}, {"email", before.Email, u.Email}, {"phone", maskPhone(before.Phone), maskPhone(u.Phone)},
		{"role", string(before.Role), string(u.Role)},
	} {
		if f.a != f.b {
			detail[f.name] = f.a + " -> " + f.b
		}
	}
	if contactChanged {
		detail["sessions_ended"] = fmt.Sprint(ended)
	}
	var audited error
	if len(detail) > 0 {
		audited = s.audit(ctx, &gatehouse.AuditEvent{OrgID: org.ID, UserID: u.ID, ActorID: actor.AuditID(), ClientIP: actor.ClientIP,
			Event: gatehouse.AuditUserEdited, At: now, Detail: detail})
	}
	// The user is told of the saved change even when its audit failed.
	if p.Email != nil {
		for _, to := range []string{before.Email, u.Email} {
			s.tellUser(ctx, org, actor, now, gatehouse.Notice{Kind: gatehouse.NoticeChangedByAdmin, To: to,
				Field: gatehouse.NoticeFieldEmail, OldValue: before.Email, NewValue: u.Email})
		}
	}
	if p.Phone != nil {
		s.tellUser(ctx, org, actor, now, gatehouse.Notice{Kind: gatehouse.NoticeChangedByAdmin, To: u.Email,
			Field: gatehouse.NoticeFieldPhone, OldValue: maskPhone(before.Phone), NewValue: maskPhone(u.Phone)})
	}
	if audited != nil {
		return nil, audited
	}
	return u, nil
}

func maskPhone(p string) string {
	if len(p) <= 6 {
		return p
	}
	return p[:4] + strings.Repeat("•", len(p)-6) + p[len(p)-2:]
}

// AuditQuery filters the audit log by a user's e-mail (subject or actor),
// an event name and a date range.
type AuditQuery struct {
	UserEmail string
	Event     string
	From, To  time.Time // To is exclusive
	Before    int64
	Limit     int
}

// AuditSearch returns a page of the organization's audit log and the
// cursor of the next page (0 at the end). An unknown user e-mail matches
// nothing.
func (s *Service) AuditSearch(ctx context.Context, orgSlug string, q AuditQuery) (_ []*gatehouse.AuditEvent, _ int64, err error) {
	defer s.storeFailure(ctx, &err)
	org, err := s.organization(ctx, orgSlug)
	if err != nil {
		return nil, 0, err
	}
	f := gatehouse.AuditFilter{OrgID: org.ID, Event: q.Event, Since: q.From, Until: q.To, BeforeID: q.Before, Limit: min(max(q.Limit, 1), 1000) + 1}
	if q.UserEmail != "" {
		email, err := gatehouse.NormalizeEmail(q.UserEmail)
		if err != nil {
			return nil, 0, err
		}
		u, err := s.store.UserByEmail(ctx, org.ID, email)
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			return nil, 0, nil
		} else if err != nil {
			return nil, 0, err
		}
		f.UserID = u.ID
	}
	events, err := s.store.ListAuditFiltered(ctx, f)
	if err != nil {
		return nil, 0, err
	}
	var next int64
	if len(events) == f.Limit {
		events = events[:f.Limit-1]
		next = events[len(events)-1].ID
	}
	return events, next, nil
}

// SetLocale saves a user's language for pages ("" for the browser's).
func (s *Service) SetLocale(ctx context.Context, orgID, userID, locale string) (err error) {
	defer s.storeFailure(ctx, &err)
	_, err = s.store.PatchUser(ctx, orgID, userID, gatehouse.UserPatch{Locale: &locale}, s.now())
	return err
}

// AuditPeople returns, by id, the organization's users and its group's
// admins among the actors and subjects of events, for the audit log to name
// them; a deleted user
// is not there (user.deleted keeps the e-mail in its detail).
func (s *Service) AuditPeople(ctx context.Context, orgSlug string, events []*gatehouse.AuditEvent) (_ map[string]*gatehouse.User, err error) {
	defer s.storeFailure(ctx, &err)
	org, err := s.organization(ctx, orgSlug)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var ids []string
	for _, e := range events {
		for _, id := range []string{e.UserID, e.ActorID} {
			if id != "" && !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	users, err := s.store.UsersByIDs(ctx, org.ID, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*gatehouse.User, len(users))
	for _, u := range users {
		out[u.ID] = u
	}
	if org.GroupID != "" && len(out) < len(ids) {
		// The admins of the organization's group act in it from their own
		// organizations.
		admins, err := s.store.GroupAdmins(ctx, org.GroupID)
		if err != nil {
			return nil, err
		}
		for _, a := range admins {
			if seen[a.ID] {
				out[a.ID] = a
			}
		}
	}
	return out, nil
}
