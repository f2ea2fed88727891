package signin

import (
	"context"
	"net/netip"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// Identity is who a directory or an identity provider says signed in.
type Identity struct {
	Email string
	Name  string
	Phone string
	// Provider names the source ("ldap", "saml2:" and the IdP's entity
	// ID); ExternalID, when set, names the user by an identifier the source
	// never reassigns (see gatehouse.FederatedIdentity): later sign-ins
	// find the user by it, whatever the e-mail address has become. It is
	// empty when the source gives none (a SAML2 NameID that is not
	// persistent); the user is then found by address.
	Provider   string
	ExternalID string
}

// The audit reasons of a federated sign-in refused by the link rules.
const (
	// FederatedAdminNotLinked: the e-mail address is a local admin's (one
	// with a Gatehouse password), who is never taken over without an
	// explicit link (gatehouse user link).
	FederatedAdminNotLinked = "federated_admin_not_linked"
	// FederatedIdentityMismatch: the user with this e-mail address is
	// linked to another identity at the provider: the address now names
	// someone else.
	FederatedIdentityMismatch = "federated_identity_mismatch"
)

// Directory checks a user's password against the organization's directory
// (internal/ldap). A wrong password or an unknown user is an
// EINVALIDCREDENTIALS error; a directory that cannot be asked is
// EUNAVAILABLE.
type Directory interface {
	Authenticate(ctx context.Context, username, password string) (*Identity, error)
}

// Federation gives an LDAP organization's directory (internal/federation).
type Federation interface {
	Directory(ctx context.Context, org *gatehouse.Organization) (Directory, error)
}

// loginLDAP signs a user of an LDAP organization in through the directory:
// the directory binds as the user; there is no local password and, as the
// product spec says, no second factor here. The bind is the password check,
// held to the throttle like a local one. known is the user as stored
// before, if any.
func (s *Service) loginLDAP(ctx context.Context, org *gatehouse.Organization, known *gatehouse.User, email string, req LoginRequest,
	now time.Time, keys []gatehouse.ThrottleKey) (*LoginResult, error) {
	if s.fed == nil {
		return nil, s.unavailable("ldap sign-in", errNoFederation)
	}
	dir, err := s.fed.Directory(ctx, org)
	if err != nil {
		return nil, s.unavailable("open directory", err)
	}
	user := known
	ok, err := s.checkPassword(ctx, now, keys, func(ctx context.Context) (bool, error) {
		id, err := dir.Authenticate(ctx, email, req.Password)
		if err != nil {
			return false, err
		}
		if user, err = s.provision(ctx, org, id, req.ClientIP, now); err != nil {
			return false, err
		}
		return !user.Disabled, nil
	})
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, s.failed(ctx, now, org, user, email, req.ClientIP)
	}
	d, err := Decide(org, user, req.ClientIP, nil)
	if err != nil {
		return nil, s.unavailable("decide", err)
	}
	return s.signIn(ctx, org, user, d, req.ClientIP, req.UserAgent, req.PreviousSession, now, gatehouse.SessionStart{})
}

// FederatedLogin signs in the user a SAML2 identity provider vouched for
// (the response already checked by internal/saml). Returns
// EINVALIDCREDENTIALS for a disabled user, EINVALID when the organization
// does not sign in with SAML2, EUNAVAILABLE on any failure.
func (s *Service) FederatedLogin(ctx context.Context, org *gatehouse.Organization, id Identity, ip netip.Addr, userAgent, previousSession string) (res *LoginResult, err error) {
	defer s.failure(&err, "FederatedLogin")
	defer func() { s.observe(federatedOutcome(err)) }()
	now := s.now()
	if org.Settings.AuthMethod != gatehouse.AuthSAML2 {
		return nil, gatehouse.Reasoned(gatehouse.EINVALID, gatehouse.ReasonNotSAML2, "This organization does not sign in with SAML2.")
	}
	user, err := s.provision(ctx, org, &id, ip, now)
	if err != nil {
		return nil, err
	}
	if user.Disabled {
		s.auditLogged(ctx, &gatehouse.AuditEvent{OrgID: org.ID, UserID: user.ID, Event: gatehouse.AuditLoginFailed, Reason: "disabled", ClientIP: ip, At: now})
		return nil, gatehouse.Reasoned(gatehouse.EINVALIDCREDENTIALS, gatehouse.ReasonAccountDisabled, "Your account is disabled. Ask your admin.")
	}
	d, err := Decide(org, user, ip, nil)
	if err != nil {
		return nil, s.unavailable("decide", err)
	}
	return s.signIn(ctx, org, user, d, ip, userAgent, previousSession, now, gatehouse.SessionStart{})
}

// federatedOutcome is the sign-in metric's outcome of a SAML2 sign-in that
// ended with err: the names of Login's outcomes.
func federatedOutcome(err error) string {
	switch gatehouse.ErrorCode(err) {
	case "":
		return "authenticated"
	case gatehouse.EINVALIDCREDENTIALS:
		return "invalid_credentials"
	case gatehouse.EINVALID:
		return "invalid_input"
	}
	return "error"
}

// provision finds the user an identity names, creating them at their first
// sign-in and keeping name and phone as the directory says. With an
// external ID, the user linked to it is the one (the e-mail address may
// have changed at the source); otherwise the user with the e-mail address
// is, and is linked now, unless they are a local admin (with a Gatehouse
// password: only an explicit link attaches them) or are linked to another
// identity at the provider (the address was given to someone else). Both
// refusals are audited and answer EINVALIDCREDENTIALS with a message that
// says to ask an admin.
func (s *Service) provision(ctx context.Context, org *gatehouse.Organization, id *Identity, ip netip.Addr, now time.Time) (*gatehouse.User, error) {
	email, err := gatehouse.NormalizeEmail(id.Email)
	if err != nil {
		return nil, s.unavailable("identity e-mail", err)
	}
	phone := ""
	if id.Phone != "" {
		if p, err := s.phone(id.Phone, org.Country); err == nil {
			phone = p
		}
	}
	name := truncate(id.Name, 200)
	linked := id.ExternalID != "" && id.Provider != ""
	if linked {
		uid, err := s.dir.FederatedUserID(ctx, org.ID, id.Provider, id.ExternalID)
		switch gatehouse.ErrorCode(err) {
		case "":
			user, err := s.dir.UserByID(ctx, org.ID, uid)
			if err != nil {
				return nil, s.unavailable("find linked user", err)
			}
			return s.refresh(ctx, user, name, phone, now)
		case gatehouse.ENOTFOUND:
		default:
			return nil, s.unavailable("find linked user", err)
		}
	}
	user, err := s.dir.UserByEmail(ctx, org.ID, email)
	switch gatehouse.ErrorCode(err) {
	case gatehouse.ENOTFOUND:
		user = &gatehouse.User{ID: gatehouse.NewID(), OrgID: org.ID, Email: email, Name: name, Phone: phone,
			Role: gatehouse.RoleMember, CreatedAt: now, UpdatedAt: now}
		if err := s.dir.CreateUser(ctx, user); err != nil {
			if gatehouse.ErrorCode(err) != gatehouse.ECONFLICT {
				return nil, s.unavailable("create user", err)
			}
			// Another node created them a moment ago: take the path of
			// an existing user, link rules included.
			if user, err = s.dir.UserByEmail(ctx, org.ID, email); err != nil {
				return nil, s.unavailable("find user", err)
			}
			return s.attach(ctx, org, user, id, ip, now)
		}
		if err := s.audit(ctx, &gatehouse.AuditEvent{OrgID: org.ID, UserID: user.ID, Event: gatehouse.AuditUserCreated, Reason: string(org.Settings.AuthMethod), At: now,
			Detail: map[string]string{"email": email, "provisioned": "first sign-in"}}); err != nil {
			return nil, err
		}
		if linked {
			if _, err := s.attach(ctx, org, user, id, ip, now); err != nil {
				return nil, err
			}
		}
		return user, nil
	case "":
	default:
		return nil, s.unavailable("find user", err)
	}
	if user, err = s.attach(ctx, org, user, id, ip, now); err != nil {
		return nil, err
	}
	return s.refresh(ctx, user, name, phone, now)
}

// attach links an existing user, found by e-mail address, to the
// identity's external ID, under the rules of provision. Without an external
// ID only the local-admin rule applies.
func (s *Service) attach(ctx context.Context, org *gatehouse.Organization, user *gatehouse.User, id *Identity, ip netip.Addr, now time.Time) (*gatehouse.User, error) {
	refuse := func(reason string) error {
		s.auditLogged(ctx, &gatehouse.AuditEvent{OrgID: org.ID, UserID: user.ID, Event: gatehouse.AuditLoginFailed, Reason: reason,
			ClientIP: ip, At: now, Detail: map[string]string{"provider": id.Provider, "external_id": truncate(id.ExternalID, 300)}})
		return &gatehouse.Error{Code: gatehouse.EINVALIDCREDENTIALS, Reason: gatehouse.ReasonNotLinked,
			Message: "Your account cannot be signed in through your organization's directory yet. Ask your admin to link it."}
	}
	if id.ExternalID == "" || id.Provider == "" {
		// No identifier to check: only an explicit link of the admin at
		// this provider, whatever it names, lets them in by address.
		if user.Role == gatehouse.RoleAdmin && user.PasswordHash != "" {
			if id.Provider == "" {
				return nil, refuse(FederatedAdminNotLinked)
			}
			_, err := s.dir.FederatedExternalID(ctx, org.ID, id.Provider, user.ID)
			switch gatehouse.ErrorCode(err) {
			case "":
			case gatehouse.ENOTFOUND:
				return nil, refuse(FederatedAdminNotLinked)
			default:
				return nil, s.unavailable("find link", err)
			}
		}
		return user, nil
	}
	ext, err := s.dir.FederatedExternalID(ctx, org.ID, id.Provider, user.ID)
	switch gatehouse.ErrorCode(err) {
	case "":
		if ext != id.ExternalID {
			return nil, refuse(FederatedIdentityMismatch)
		}
		return user, nil
	case gatehouse.ENOTFOUND:
	default:
		return nil, s.unavailable("find link", err)
	}
	if user.Role == gatehouse.RoleAdmin && user.PasswordHash != "" {
		return nil, refuse(FederatedAdminNotLinked)
	}
	err = s.dir.LinkFederatedIdentity(ctx, &gatehouse.FederatedIdentity{OrgID: org.ID, Provider: id.Provider,
		ExternalID: id.ExternalID, UserID: user.ID, CreatedAt: now})
	switch gatehouse.ErrorCode(err) {
	case "":
		return user, nil
	case gatehouse.ECONFLICT:
		// A concurrent sign-in linked one of the two first: the same link
		// is fine, anything else is the mismatch it looks like.
		if uid, err := s.dir.FederatedUserID(ctx, org.ID, id.Provider, id.ExternalID); err == nil && uid == user.ID {
			return user, nil
		}
		return nil, refuse(FederatedIdentityMismatch)
	default:
		return nil, s.unavailable("link identity", err)
	}
}

// refresh keeps the user's name and phone as the source gives them,
// writing only those fields (a disable saved meanwhile stands).
func (s *Service) refresh(ctx context.Context, user *gatehouse.User, name, phone string, now time.Time) (*gatehouse.User, error) {
	var p gatehouse.UserPatch
	if name != "" && name != user.Name {
		p.Name = &name
	}
	if phone != "" && phone != user.Phone {
		p.Phone = &phone
	}
	if p.Empty() {
		return user, nil
	}
	u, err := s.dir.PatchUser(ctx, user.OrgID, user.ID, p, now)
	if err != nil {
		return nil, s.unavailable("update user", err)
	}
	return u, nil
}

// The reasons FederatedFailed records, as audit reasons.
const (
	// SAMLResponseRefused: the response failed a check of internal/saml.
	SAMLResponseRefused = "saml2_response_refused"
	// SAMLWrongBrowser: a response posted by a browser without the binding
	// cookie of the request it answers (a login CSRF, or a sign-in
	// finished in another browser).
	SAMLWrongBrowser = "saml2_wrong_browser"
	// SAMLRefusalsCounted: the refusals of one minute that were counted,
	// not written one by one; Detail has a count per reason, "from" and
	// "to".
	SAMLRefusalsCounted = "saml2_refusals_counted"
)

// FederatedFailed records a refused SAML2 response in the audit log; reason
// is SAMLResponseRefused or SAMLWrongBrowser, why the detail for admins,
// never shown to the user. Anyone can post junk to the ACS, so the log is
// bounded: per organization and node, the first refusal of each minute is
// written in full, and the others of that minute are counted and written
// as one SAMLRefusalsCounted event with the next refusal after it.
func (s *Service) FederatedFailed(ctx context.Context, org *gatehouse.Organization, reason, why string, ip netip.Addr) {
	s.observe("invalid_credentials")
	now := s.now()
	write, summary := s.refusals.note(org.ID, reason, now)
	if summary != nil {
		s.auditLogged(ctx, &gatehouse.AuditEvent{OrgID: org.ID, Event: gatehouse.AuditLoginFailed, Reason: SAMLRefusalsCounted,
			At: now, Detail: summary})
	}
	if write {
		s.auditLogged(ctx, &gatehouse.AuditEvent{OrgID: org.ID, Event: gatehouse.AuditLoginFailed, Reason: reason,
			ClientIP: ip, At: now, Detail: map[string]string{"why": truncate(why, 300)}})
	}
}
