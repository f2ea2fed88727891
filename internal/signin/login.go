package signin

import (
	"context"
	"net/netip"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// LoginRequest is a password sign-in attempt. Nothing in it can change the
// decision except the password itself: the client address comes from the
// connection (through the trusted-proxy rules), never from a field.
type LoginRequest struct {
	Organization string // slug
	Email        string
	Password     string
	ClientIP     netip.Addr
	UserAgent    string
	// PreviousSession is the session token the client already holds, if
	// any; it is ended so that every sign-in gets a new session id.
	PreviousSession string
	// PreviousPending is the pending sign-in the browser holds, if any; a
	// new sign-in replaces it.
	PreviousPending string
	// RememberTokens are the remembered-browser tokens the browser holds.
	RememberTokens []string
	// DeviceTokens are the known-device tokens the browser holds (its
	// device cookie), newest first.
	DeviceTokens []string
	// StepUp asks for a code even where an allowed network or a
	// remembered browser would skip it (see StepUp).
	StepUp bool
}

// LoginResult is a finished sign-in, or one waiting for a code (Pending).
type LoginResult struct {
	// Pending is set when the user must enter a code (or first a phone
	// number); nothing else is then.
	Pending *Pending

	// RememberToken, set after a verified code when the organization
	// remembers verifications, goes in the browser's remember cookie
	// until RememberedUntil.
	RememberToken   string
	RememberedUntil time.Time

	// DeviceToken, set whenever the password was right, goes first in
	// the browser's device cookie until DeviceUntil: the browser is then a
	// known device of the user (see checkPassword).
	DeviceToken string
	DeviceUntil time.Time

	// SessionToken is the new session's secret, for the client's cookie.
	// It is never stored or logged.
	SessionToken string
	Session      *gatehouse.Session
	User         *gatehouse.User
	Organization *gatehouse.Organization
	// Decision says which branch of docs/design.md §4 let the user in.
	Decision Decision
}

// Login checks a password and, when the organization's policy lets the
// user in without a code, starts a session.
//
// Returns EINVALID for malformed input, EINVALIDCREDENTIALS for an unknown
// organization or e-mail, a wrong password or a disabled user (one answer
// for all, after the same hashing work), ETOOMANYATTEMPTS with RetryAfter
// when the account or the client address is backing off, EBUSY when the
// hashing pool is full, ERESENDTOOSOON when the send caps are reached, and
// EUNAVAILABLE when anything on the way fails: nobody is signed in then.
// When the policy asks for a code, the result's Pending is set instead of a
// session; a first code that could not be sent is its NotSent
// (EDELIVERYFAILED), and the pending sign-in lives on for a resend.
func (s *Service) Login(ctx context.Context, req LoginRequest) (res *LoginResult, err error) {
	defer s.failure(&err, "Login")
	outcome := "error"
	defer func() { s.observe(outcome) }()

	slug := strings.ToLower(strings.TrimSpace(req.Organization))
	if slug == "" {
		outcome = "invalid_input"
		return nil, gatehouse.FieldError("organization", "The organization is required.")
	}
	org, err := s.organization(ctx, slug, req.Organization)
	if err != nil {
		return nil, s.unavailable("find organization", err)
	}
	if org != nil {
		slug = org.Slug // the throttle's key, however the name was typed
	}
	// A SAML2 organization takes no password here at all: say where to go
	// before asking for anything else.
	if org != nil && org.Settings.AuthMethod == gatehouse.AuthSAML2 {
		outcome = "sso_required"
		return nil, &gatehouse.Error{Code: gatehouse.ESSOREQUIRED, Location: "/saml/" + org.Slug + "/login",
			Message: "This organization signs in through its identity provider."}
	}
	email, err := gatehouse.NormalizeEmail(req.Email)
	if err != nil {
		outcome = "invalid_input"
		return nil, err
	}
	if req.Password == "" {
		outcome = "invalid_input"
		return nil, gatehouse.FieldReason("password", gatehouse.ReasonPasswordRequired, "The password is required.")
	}
	now := s.now()

	var user *gatehouse.User
	if org != nil {
		user, err = s.dir.UserByEmail(ctx, org.ID, email)
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			user = nil
		} else if err != nil {
			return nil, s.unavailable("find user", err)
		}
	}
	// A browser this user has given their password on before is held to
	// its own count; any other is held to the account's, whose key uses the
	// slug and the e-mail as typed, so an unknown account is throttled
	// exactly like a known one.
	device, deviceToken, err := s.knownDevice(ctx, org, user, req.DeviceTokens)
	if err != nil {
		return nil, s.unavailable("find device", err)
	}
	who := s.accountKey(slug, email)
	if device != nil {
		who = s.deviceKey(device)
	}
	keys := []gatehouse.ThrottleKey{who, s.addressKey(req.ClientIP)}

	if org != nil && org.Settings.AuthMethod == gatehouse.AuthLDAP {
		res, err := s.loginLDAP(ctx, org, user, email, req, now, keys)
		switch {
		case err == nil:
			outcome = "authenticated"
		case gatehouse.ErrorCode(err) == gatehouse.EINVALIDCREDENTIALS:
			outcome = "invalid_credentials"
		case gatehouse.ErrorCode(err) == gatehouse.ETOOMANYATTEMPTS:
			outcome = "throttled"
			s.auditThrottled(ctx, slug, email, req.ClientIP, now)
		case gatehouse.ErrorCode(err) == gatehouse.EBUSY:
			outcome = "busy"
		}
		if err == nil {
			s.knowDevice(ctx, org, res.User, device, deviceToken, res)
		}
		return res, err
	}

	pw, phc := req.Password, ""
	if user != nil && org.Settings.AuthMethod == gatehouse.AuthPassword {
		// Users of an LDAP or SAML2 organization have no local password:
		// a leftover hash must not let them in past the directory.
		phc = user.PasswordHash
	}
	if len(pw) > MaxPasswordInput {
		// Still one hash of a bounded input, so an over-long password
		// costs the same as any wrong one.
		pw, phc = pw[:MaxPasswordInput], ""
	}
	ok, err := s.checkPassword(ctx, now, keys, func(ctx context.Context) (bool, error) {
		match, err := s.hasher.Verify(ctx, phc, pw)
		return match && user != nil && !user.Disabled && phc != "", err
	})
	switch {
	case gatehouse.ErrorCode(err) == gatehouse.ETOOMANYATTEMPTS:
		outcome = "throttled"
		s.auditThrottled(ctx, slug, email, req.ClientIP, now)
		return nil, err
	case gatehouse.ErrorCode(err) == gatehouse.EBUSY:
		outcome = "busy"
		return nil, err
	case err != nil:
		return nil, err
	case !ok:
		outcome = "invalid_credentials"
		return nil, s.failed(ctx, now, org, user, email, req.ClientIP)
	}
	defer func() { s.knowDevice(ctx, org, user, device, deviceToken, res) }()
	s.rehash(ctx, org, user, req.Password, now)

	// A group admin signs in under the strictest policy of what they
	// administer.
	org, user, _, err = s.policyFor(ctx, org, user)
	if err != nil {
		return nil, s.unavailable("find managed organizations", err)
	}
	d, err := Decide(org, user, req.ClientIP, func() (string, error) {
		return s.remembered(ctx, org, user, req.RememberTokens, now)
	})
	if err == nil && req.StepUp {
		d, err = StepUp(d, org, user)
	}
	if err != nil {
		return nil, s.unavailable("decide", err)
	}
	if !d.SignedIn() {
		res, err := s.startChallenge(ctx, org, user, d, req, now)
		switch {
		case err == nil && res.Pending.NotSent != nil:
			outcome = "delivery_failed"
		case err == nil:
			outcome = "two_factor_required"
		case gatehouse.ErrorCode(err) == gatehouse.ETOOMANYATTEMPTS || gatehouse.ErrorCode(err) == gatehouse.ERESENDTOOSOON:
			outcome = "throttled"
		}
		return res, err
	}
	res, err = s.signIn(ctx, org, user, d, req.ClientIP, req.UserAgent, req.PreviousSession, now, gatehouse.SessionStart{})
	if err != nil {
		return nil, err
	}
	if err := s.passwordStillHolds(ctx, user, req.ClientIP, now, func() error { return s.sessions.DeleteSession(ctx, res.Session.TokenHash) }); err != nil {
		return nil, err
	}
	outcome = "authenticated"
	return res, err
}

// signIn starts the session of a user whom the decision let in, ending the
// session the browser came with so that the id changes at every step up.
func (s *Service) signIn(ctx context.Context, org *gatehouse.Organization, user *gatehouse.User, d Decision,
	ip netip.Addr, userAgent, previous string, now time.Time, st gatehouse.SessionStart) (*LoginResult, error) {
	if previous != "" {
		if err := s.endSession(ctx, previous); err != nil {
			return nil, s.unavailable("end previous session", err)
		}
	}
	token, sess, err := s.newSession(org, user, d.Outcome, ip, userAgent, now)
	if err != nil {
		return nil, s.unavailable("make session", err)
	}
	ev := &gatehouse.AuditEvent{OrgID: org.ID, UserID: user.ID, Event: gatehouse.AuditLoginSucceeded,
		Reason: d.Outcome, ClientIP: ip, At: now}
	if d.Network.IsValid() {
		ev.Detail = map[string]string{"network": d.Network.String()}
	}
	if d.RememberedID != "" {
		ev.Detail = map[string]string{"remembered_browser": d.RememberedID}
	}
	// One transaction: a sign-in that cannot be audited does not happen,
	// and the pending sign-in a code finished ends with it.
	if err := s.sessions.StartSession(ctx, sess, ev, st); err != nil {
		return nil, s.unavailable("save session", err)
	}
	return &LoginResult{SessionToken: token, Session: sess, User: user, Organization: org, Decision: d}, nil
}

// organization finds the organization a sign-in names by its slug or, as
// people type it, by its name; nil when there is none.
func (s *Service) organization(ctx context.Context, slug, typed string) (*gatehouse.Organization, error) {
	org, err := s.dir.OrganizationBySlug(ctx, slug)
	if gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		return org, err
	}
	name := strings.TrimSpace(typed)
	if len(name) > gatehouse.MaxOrganizationName {
		return nil, nil
	}
	org, err = s.dir.OrganizationByName(ctx, name)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, nil
	}
	return org, err
}

// failed audits a password failure (checkPassword has already counted it)
// and returns the one answer every failure gets.
func (s *Service) failed(ctx context.Context, now time.Time, org *gatehouse.Organization, user *gatehouse.User,
	email string, ip netip.Addr) error {
	ev := &gatehouse.AuditEvent{Event: gatehouse.AuditLoginFailed, ClientIP: ip, At: now,
		Detail: map[string]string{"email": email}}
	switch {
	case org == nil:
		ev.Reason = "unknown_organization"
	case user == nil:
		ev.OrgID, ev.Reason = org.ID, "unknown_user"
	case user.Disabled:
		ev.OrgID, ev.UserID, ev.Reason = org.ID, user.ID, "disabled"
	case user.PasswordHash == "" || org.Settings.AuthMethod != gatehouse.AuthPassword:
		ev.OrgID, ev.UserID, ev.Reason = org.ID, user.ID, "no_local_password"
	default:
		ev.OrgID, ev.UserID, ev.Reason = org.ID, user.ID, "wrong_password"
	}
	s.auditLogged(ctx, ev)
	if org == nil {
		// Which organizations exist is no secret; which e-mail addresses
		// exist in one is, and this says nothing of them.
		return &gatehouse.Error{Code: gatehouse.EINVALIDCREDENTIALS, Field: "organization", Reason: gatehouse.ReasonNoSuchOrganization,
			Message: "There is no organization by that name. Check the spelling, or use the sign-in address your admin gave you."}
	}
	return &gatehouse.Error{Code: gatehouse.EINVALIDCREDENTIALS, Message: "The e-mail address or password is incorrect."}
}

func (s *Service) auditThrottled(ctx context.Context, slug, email string, ip netip.Addr, now time.Time) {
	s.auditLogged(ctx, &gatehouse.AuditEvent{Event: gatehouse.AuditLoginThrottled, ClientIP: ip,
		Detail: map[string]string{"organization": slug, "email": email}, At: now})
}

// rehash replaces a hash made with weaker parameters than today's. It runs
// only after a correct password; a failure is logged and the sign-in goes on,
// since the old hash still holds.
func (s *Service) rehash(ctx context.Context, org *gatehouse.Organization, user *gatehouse.User, password string, now time.Time) {
	if !s.hasher.NeedsRehash(user.PasswordHash) {
		return
	}
	phc, err := s.hasher.Hash(ctx, password)
	ok := false
	if err == nil {
		// Only over the hash just checked: a password changed meanwhile
		// must not be replaced by the old one, rehashed.
		ok, err = s.dir.RehashPassword(ctx, org.ID, user.ID, user.PasswordHash, phc, now)
	}
	if err != nil {
		s.log.WarnContext(ctx, "password rehash failed", "org_id", org.ID, "user_id", user.ID, "error", err)
		return
	}
	if !ok {
		return // changed meanwhile; passwordStillHolds ends this sign-in
	}
	user.PasswordHash = phc
	s.auditLogged(ctx, &gatehouse.AuditEvent{OrgID: org.ID, UserID: user.ID, Event: gatehouse.AuditPasswordRehashed, At: now})
}
