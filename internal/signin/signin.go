// Package signin is the sign-in decision and flow of docs/design.md §4: password,
// then the organization's policy, then (in a later step) the second factor,
// then a session. Every path that accepts a password goes through
// (*Service).Login, so the decision is made in exactly one place.
//
// The package declares the narrow interfaces it consumes and imports neither
// net/http nor database/sql.
package signin

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/keyring"
)

// Store is the part of gatehouse.Store that signing in needs.
type Store interface {
	OrganizationBySlug(ctx context.Context, slug string) (*gatehouse.Organization, error)
	OrganizationByID(ctx context.Context, id string) (*gatehouse.Organization, error)
	UserByEmail(ctx context.Context, orgID, email string) (*gatehouse.User, error)
	UserByID(ctx context.Context, orgID, id string) (*gatehouse.User, error)
	SetPasswordHash(ctx context.Context, orgID, userID, hash string, at time.Time) error
	PatchUser(ctx context.Context, orgID, userID string, p gatehouse.UserPatch, at time.Time) (*gatehouse.User, error)
	CreateUser(ctx context.Context, u *gatehouse.User) error
	gatehouse.SessionStore
	gatehouse.ThrottleStore
	gatehouse.ChallengeStore
	gatehouse.OTPCounterStore
	gatehouse.CounterStore
	gatehouse.RememberStore
	gatehouse.CredentialStore
	gatehouse.DeviceStore
	SetSessionReauth(ctx context.Context, hash []byte, at time.Time) error
	VoidPasswordResets(ctx context.Context, orgID, userID string, now time.Time) (int64, error)
	RehashPassword(ctx context.Context, orgID, userID, old, hash string, at time.Time) (bool, error)
	// RekeySession and RekeyRememberedBrowser replace a hash made with an
	// old key, only while it is still there (ENOTFOUND otherwise).
	RekeySession(ctx context.Context, oldHash, newHash []byte) error
	// SessionTokenHashIn returns which of hashes a session has.
	SessionTokenHashIn(ctx context.Context, hashes [][]byte) ([]byte, error)
	RekeyRememberedBrowser(ctx context.Context, id string, oldHash, newHash []byte) error
	AppendAudit(ctx context.Context, e *gatehouse.AuditEvent) error
	gatehouse.FederatedIdentityStore
}

// Hasher verifies and hashes passwords within a bounded pool
// (internal/password.Hasher).
type Hasher interface {
	// Verify compares password with the PHC string phc; an empty phc costs
	// the same as a real one and never matches.
	Verify(ctx context.Context, phc, password string) (bool, error)
	Hash(ctx context.Context, password string) (string, error)
	NeedsRehash(phc string) bool
}

// Config holds the Service's collaborators and bounds. Zero durations take
// the defaults of docs/design.md §3.
type Config struct {
	Store  Store
	Hasher Hasher
	Logger *slog.Logger

	// Secret is the server secret (at least 32 bytes); stored token hashes
	// are keyed with it, so a copy of the database alone cannot check a
	// guessed token.
	Secret []byte
	// Keys, when set, replaces Secret: the server's keys, the current one
	// first. Old keys still find what they hashed, which is re-keyed under
	// the current one as it is used.
	Keys *keyring.Ring

	// SessionIdle and SessionAbsolute are the session timeouts
	// (default 12 h and 7 days).
	SessionIdle     time.Duration
	SessionAbsolute time.Duration

	// NormalizePhone turns a typed phone number into E.164
	// (internal/phone.Normalize); required.
	NormalizePhone func(raw, defaultRegion string) (string, error)

	// Federation gives LDAP organizations' directories; without it their
	// users cannot sign in (503).
	Federation Federation

	// Messenger delivers codes and notices; required.
	Messenger gatehouse.Messenger
	// DeliveryTimeout bounds one delivery (default 10 s).
	DeliveryTimeout time.Duration

	// Throttling of password failures; zero values take DefaultThrottling.
	Throttling Throttling

	// Now and Rand are injected so that tests control time and randomness.
	Now  func() time.Time
	Rand io.Reader

	// Observe, when set, is told the outcome of every sign-in attempt
	// ("authenticated", "invalid_credentials", "throttled", "busy",
	// "two_factor_required", "error"), for metrics.
	Observe func(outcome string)
	// ObserveDelivery, when set, is told each delivery's channel
	// ("email", "sms", or "notice") and result ("sent", "failed").
	ObserveDelivery func(channel, result string)
}

// Defaults of docs/design.md §3.
const (
	DefaultSessionIdle     = 12 * time.Hour
	DefaultSessionAbsolute = 7 * 24 * time.Hour
	DefaultDeliveryTimeout = 10 * time.Second

	// touchInterval bounds how often a session's last use is written, so a
	// session check is a read in the common case.
	touchInterval = time.Minute

	// MinSecretLength is the least length of the server secret.
	MinSecretLength = 32

	// MaxPasswordInput bounds what is hashed at sign-in; longer input
	// cannot be a password we accepted when it was set.
	MaxPasswordInput = 1024
)

// Service signs users in and checks their sessions.
type Service struct {
	store    Store
	hasher   Hasher
	msg      gatehouse.Messenger
	fed      Federation
	phone    func(raw, region string) (string, error)
	deliver  time.Duration
	keys     *keyring.Ring
	log      *slog.Logger
	idle     time.Duration
	absolute time.Duration
	throttle Throttling
	now      func() time.Time
	rand     io.Reader
	observe  func(string)
	observeD func(channel, result string)
	refusals refusalLog // SAML2 refusals, aggregated per organization and minute
}

// New returns a Service, or an error naming the first required field
// missing: Store, Hasher, Messenger, NormalizePhone, and Keys or Secret.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("signin: Config.Store is required")
	case cfg.Hasher == nil:
		return nil, errors.New("signin: Config.Hasher is required")
	case cfg.Messenger == nil:
		return nil, errors.New("signin: Config.Messenger is required")
	case cfg.NormalizePhone == nil:
		return nil, errors.New("signin: Config.NormalizePhone is required")
	}
	keys := cfg.Keys
	if keys == nil {
		if len(cfg.Secret) < MinSecretLength {
			return nil, fmt.Errorf("signin: Config.Keys, or a Config.Secret of at least %d bytes, is required", MinSecretLength)
		}
		var err error
		if keys, err = keyring.New(cfg.Secret); err != nil {
			return nil, fmt.Errorf("signin: %w", err)
		}
	}
	s := &Service{
		store:    cfg.Store,
		hasher:   cfg.Hasher,
		msg:      cfg.Messenger,
		fed:      cfg.Federation,
		phone:    cfg.NormalizePhone,
		deliver:  cfg.DeliveryTimeout,
		keys:     keys,
		log:      cfg.Logger,
		idle:     cfg.SessionIdle,
		absolute: cfg.SessionAbsolute,
		throttle: cfg.Throttling.withDefaults(),
		now:      cfg.Now,
		rand:     cfg.Rand,
		observe:  cfg.Observe,
		observeD: cfg.ObserveDelivery,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.idle <= 0 {
		s.idle = DefaultSessionIdle
	}
	if s.deliver <= 0 {
		s.deliver = DefaultDeliveryTimeout
	}
	if s.absolute <= 0 {
		s.absolute = DefaultSessionAbsolute
	}
	if s.idle > s.absolute {
		return nil, fmt.Errorf("signin: session idle timeout %v is longer than the absolute timeout %v", s.idle, s.absolute)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.observe == nil {
		s.observe = func(string) {}
	}
	if s.observeD == nil {
		s.observeD = func(string, string) {}
	}
	return s, nil
}

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
	org, err := s.store.OrganizationBySlug(ctx, slug)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		org = nil
	} else if err != nil {
		return nil, s.unavailable("find organization", err)
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
		user, err = s.store.UserByEmail(ctx, org.ID, email)
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

	d, err := Decide(org, user, req.ClientIP, func() (string, error) {
		return s.remembered(ctx, org, user, req.RememberTokens, now)
	})
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
	res, err = s.signIn(ctx, org, user, d, req.ClientIP, req.UserAgent, req.PreviousSession, now)
	if err != nil {
		return nil, err
	}
	if err := s.passwordStillHolds(ctx, user, req.ClientIP, now, func() error { return s.store.DeleteSession(ctx, res.Session.TokenHash) }); err != nil {
		return nil, err
	}
	outcome = "authenticated"
	return res, err
}

// signIn starts the session of a user whom the decision let in, ending the
// session the browser came with so that the id changes at every step up.
func (s *Service) signIn(ctx context.Context, org *gatehouse.Organization, user *gatehouse.User, d Decision,
	ip netip.Addr, userAgent, previous string, now time.Time) (*LoginResult, error) {
	if previous != "" {
		if err := s.endSession(ctx, previous); err != nil {
			return nil, s.unavailable("end previous session", err)
		}
	}
	token, sess, err := s.newSession(org, user, d.Outcome, ip, userAgent, now)
	if err != nil {
		return nil, s.unavailable("make session", err)
	}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return nil, s.unavailable("save session", err)
	}
	ev := &gatehouse.AuditEvent{OrgID: org.ID, UserID: user.ID, Event: gatehouse.AuditLoginSucceeded,
		Reason: d.Outcome, ClientIP: ip, At: now}
	if d.Network.IsValid() {
		ev.Detail = map[string]string{"network": d.Network.String()}
	}
	if d.RememberedID != "" {
		ev.Detail = map[string]string{"remembered_browser": d.RememberedID}
	}
	// A sign-in that cannot be audited does not happen.
	if err := s.store.AppendAudit(ctx, ev); err != nil {
		if derr := s.store.DeleteSession(ctx, sess.TokenHash); derr != nil {
			s.log.ErrorContext(ctx, "could not end unaudited session", "error", derr)
		}
		return nil, s.unavailable("audit sign-in", err)
	}
	return &LoginResult{SessionToken: token, Session: sess, User: user, Organization: org, Decision: d}, nil
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
		ok, err = s.store.RehashPassword(ctx, org.ID, user.ID, user.PasswordHash, phc, now)
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

func (s *Service) newSession(org *gatehouse.Organization, user *gatehouse.User, state string, ip netip.Addr, userAgent string, now time.Time) (string, *gatehouse.Session, error) {
	token, err := NewToken(s.rand)
	if err != nil {
		return "", nil, err
	}
	ua := truncate(userAgent, 512)
	return token, &gatehouse.Session{
		TokenHash:      s.hashToken(token),
		PublicID:       gatehouse.NewID(),
		UserID:         user.ID,
		OrgID:          org.ID,
		TwoFactorState: state,
		ClientIP:       ip,
		UserAgent:      ua,
		CreatedAt:      now,
		LastSeenAt:     now,
		ExpiresAt:      now.Add(s.absolute),
	}, nil
}

// Current is a checked session with its user and organization.
type Current struct {
	Session      *gatehouse.Session
	User         *gatehouse.User
	Organization *gatehouse.Organization
}

// Authenticate checks a session token. Returns EUNAUTHORIZED when there is
// no such session, it has timed out, its user is disabled, or the
// organization's policy would no longer let it in without a code
// (stillPasses); EUNAVAILABLE
// when the database cannot be read.
func (s *Service) Authenticate(ctx context.Context, token string) (_ *Current, err error) {
	defer s.failure(&err, "Authenticate")
	unauth := &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Message: "You are not signed in."}
	if token == "" || len(token) > 128 {
		return nil, unauth
	}
	sess, err := s.findSession(ctx, token, true)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, unauth
	} else if err != nil {
		return nil, s.unavailable("find session", err)
	}
	hash := sess.TokenHash
	now := s.now()
	if sess.Expired(now, s.idle) {
		if err := s.store.DeleteSession(ctx, hash); err != nil {
			return nil, s.unavailable("end expired session", err)
		}
		return nil, unauth
	}
	org, err := s.store.OrganizationByID(ctx, sess.OrgID)
	if err != nil {
		return nil, s.unavailable("find session organization", err)
	}
	user, err := s.store.UserByID(ctx, sess.OrgID, sess.UserID)
	if err != nil {
		return nil, s.unavailable("find session user", err)
	}
	if user.Disabled {
		if err := s.store.DeleteUserSessions(ctx, org.ID, user.ID); err != nil {
			return nil, s.unavailable("end disabled user's sessions", err)
		}
		return nil, unauth
	}
	if !stillPasses(org, user, sess) {
		if err := s.store.DeleteSession(ctx, hash); err != nil {
			return nil, s.unavailable("end session the policy no longer lets in", err)
		}
		if err := s.audit(ctx, &gatehouse.AuditEvent{OrgID: org.ID, UserID: user.ID, Event: gatehouse.AuditSessionEnded,
			Reason: "two_factor_policy", At: now, Detail: map[string]string{"session": sess.PublicID, "two_factor_state": sess.TwoFactorState}}); err != nil {
			return nil, err
		}
		return nil, unauth
	}
	if now.Sub(sess.LastSeenAt) >= touchInterval {
		if err := s.store.TouchSession(ctx, hash, now); gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			return nil, unauth // signed out on another node meanwhile
		} else if err != nil {
			return nil, s.unavailable("touch session", err)
		}
		sess.LastSeenAt = now
	}
	return &Current{Session: sess, User: user, Organization: org}, nil
}

// Logout ends the session of token; ending no session is not an error.
func (s *Service) Logout(ctx context.Context, token string, ip netip.Addr) (err error) {
	defer s.failure(&err, "Logout")
	if token == "" || len(token) > 128 {
		return nil
	}
	sess, err := s.findSession(ctx, token, false)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil
	} else if err != nil {
		return s.unavailable("find session", err)
	}
	if err := s.store.DeleteSession(ctx, sess.TokenHash); err != nil {
		return s.unavailable("end session", err)
	}
	return s.audit(ctx, &gatehouse.AuditEvent{OrgID: sess.OrgID, UserID: sess.UserID, Event: gatehouse.AuditLogout, ClientIP: ip, At: s.now()})
}

// failure is deferred by every exported method, behind the explicit
// unavailable calls: anything that is not a user-facing *gatehouse.Error
// (a store error some path returned as it was) becomes EUNAVAILABLE through
// gatehouse.WrapFailure, logged once, never the 500 of an unknown error.
func (s *Service) failure(err *error, op string) {
	var ge *gatehouse.Error
	if *err == nil || errors.As(*err, &ge) {
		return
	}
	s.log.Error("sign-in step failed", "op", op, "error", *err)
	gatehouse.WrapFailure(err, op)
}

// unavailable logs err once and returns the fail-closed answer
// (gatehouse.Unavailable); an answer that already is EUNAVAILABLE was
// logged where it was made.
func (s *Service) unavailable(op string, err error) error {
	if gatehouse.ErrorCode(err) != gatehouse.EUNAVAILABLE {
		s.log.Error("sign-in step failed", "op", op, "error", err)
	}
	return gatehouse.Unavailable(op, err)
}

// audit writes the audit event of a change the call made (a session ended,
// a browser forgotten, a code sent, …). A failed write fails the call
// (EUNAVAILABLE, logged once), as accounts' and federation's do, so that no
// change goes unrecorded without its caller knowing.
func (s *Service) audit(ctx context.Context, e *gatehouse.AuditEvent) error {
	if err := s.store.AppendAudit(ctx, e); err != nil {
		return s.unavailable("audit "+e.Event, err)
	}
	return nil
}

// auditLogged writes the audit event of a refusal (a wrong password or
// code, a throttled or refused sign-in) or of the best-effort rehash. A
// failed write is logged, not fatal: the refusal it records has already
// been made and enforced and the caller is refused either way, and a
// rehash is not what the caller asked for.
func (s *Service) auditLogged(ctx context.Context, e *gatehouse.AuditEvent) {
	if err := s.store.AppendAudit(ctx, e); err != nil {
		s.log.ErrorContext(ctx, "audit write failed", "event", e.Event, "error", err)
	}
}

var errNoFederation = errors.New("signin: no federation configured")

// NewToken returns 256 random bits, URL-safe base64 (keyring.NewToken).
func NewToken(r io.Reader) (string, error) { return keyring.NewToken(r) }

// hashToken is how a session token is stored: its keyed hash under the
// current key, with a purpose of its own (see internal/keyring).
func (s *Service) hashToken(token string) []byte { return s.keyed("session token", token) }

// keyed is the stored form of a token or code of one purpose (label) under
// the current key. The labels are those of before the keyring, so values
// made then are still found (see candidates).
func (s *Service) keyed(label string, parts ...string) []byte {
	return s.keys.Hash(label, parts...)
}

// candidates are every stored form of a token that a key of the ring may
// have made, the current one first.
func (s *Service) candidates(label string, parts ...string) []keyring.Candidate {
	return s.keys.Candidates(label, label, parts...)
}

// findSession finds the session of a token under any key of the ring: one
// lookup under the current key, and when that finds nothing one query for
// every other form (so an unknown token costs two queries, whatever the
// number of keys). With rekey, a session found under an old key is re-keyed
// under the current one (returned with its new hash), so that the old key
// can be retired. Returns ENOTFOUND when there is none.
func (s *Service) findSession(ctx context.Context, token string, rekey bool) (*gatehouse.Session, error) {
	cands := s.candidates("session token", token)
	cur := cands[0].Hash
	sess, err := s.store.SessionByTokenHash(ctx, cur)
	if gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		return sess, err
	}
	hashes := make([][]byte, len(cands))
	for i, c := range cands {
		hashes[i] = c.Hash
	}
	old, err := s.store.SessionTokenHashIn(ctx, hashes)
	if err != nil {
		return nil, err
	}
	if bytes.Equal(old, cur) {
		// Re-keyed on another node since the first lookup.
		return s.store.SessionByTokenHash(ctx, cur)
	}
	sess, err = s.store.SessionByTokenHash(ctx, old)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return s.store.SessionByTokenHash(ctx, cur) // re-keyed or ended meanwhile
	} else if err != nil || !rekey {
		return sess, err
	}
	err = s.store.RekeySession(ctx, old, cur)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return s.store.SessionByTokenHash(ctx, cur)
	} else if err != nil {
		return nil, err
	}
	sess.TokenHash = cur
	return sess, nil
}

// endSession ends the session of a token, under whichever key it was made.
func (s *Service) endSession(ctx context.Context, token string) error {
	sess, err := s.findSession(ctx, token, false)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	return s.store.DeleteSession(ctx, sess.TokenHash)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
