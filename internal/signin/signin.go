// Package signin is the sign-in decision and flow of docs/design.md §4: password,
// then the organization's policy, then (in a later step) the second factor,
// then a session. Every path that accepts a password goes through
// (*Service).Login, so the decision is made in exactly one place.
//
// The package declares the narrow interfaces it consumes and imports neither
// net/http nor database/sql.
package signin

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/keyring"
)

// Hasher verifies and hashes passwords within a bounded pool
// (internal/password.Hasher).
type Hasher interface {
	// Verify compares password with the PHC string phc; an empty phc costs
	// the same as a real one and never matches.
	Verify(ctx context.Context, phc, password string) (bool, error)
	Hash(ctx context.Context, password string) (string, error)
	NeedsRehash(phc string) bool
}

// PasswordPolicy says whether a new password may be used: too short, too
// common, holding the e-mail address (EWEAKPASSWORD with its reason).
type PasswordPolicy interface {
	Check(password, email string) error
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
	// SessionCacheTTL, when above zero, lets a session check answer from
	// what this node's check of the same session found within that long
	// (at most MaxSessionCacheTTL): a change made on another node that
	// ends the session reaches it within the TTL; one made through this
	// service or a store wrapped by Revoking, at once. Zero checks the
	// database every time.
	SessionCacheTTL time.Duration

	// NormalizePhone turns a typed phone number into E.164
	// (internal/phone.Normalize); required.
	NormalizePhone func(raw, defaultRegion string) (string, error)

	// Federation gives LDAP organizations' directories; without it their
	// users cannot sign in (503).
	Federation Federation

	// Policy checks a new password (internal/password.Policy); without it
	// ChangePassword refuses every change.
	Policy PasswordPolicy

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
	dir       Accounts
	sessions  Sessions
	throttles Throttles
	codes     Codes
	browsers  Browsers
	creds     Credentials
	auditLog  Audit
	hasher    Hasher
	msg       gatehouse.Messenger
	fed       Federation
	policy    PasswordPolicy
	phone     func(raw, region string) (string, error)
	deliver   time.Duration
	keys      *keyring.Ring
	log       *slog.Logger
	idle      time.Duration
	absolute  time.Duration
	throttle  Throttling
	now       func() time.Time
	rand      io.Reader
	observe   func(string)
	observeD  func(channel, result string)
	refusals  refusalLog // SAML2 refusals, aggregated per organization and minute
	cache     *sessionCache
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
		dir:       cfg.Store,
		sessions:  cfg.Store,
		throttles: cfg.Store,
		codes:     cfg.Store,
		browsers:  cfg.Store,
		creds:     cfg.Store,
		auditLog:  cfg.Store,
		hasher:    cfg.Hasher,
		msg:       cfg.Messenger,
		fed:       cfg.Federation,
		policy:    cfg.Policy,
		phone:     cfg.NormalizePhone,
		deliver:   cfg.DeliveryTimeout,
		keys:      keys,
		log:       cfg.Logger,
		idle:      cfg.SessionIdle,
		absolute:  cfg.SessionAbsolute,
		throttle:  cfg.Throttling.withDefaults(),
		now:       cfg.Now,
		rand:      cfg.Rand,
		observe:   cfg.Observe,
		observeD:  cfg.ObserveDelivery,
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
	if cfg.SessionCacheTTL < 0 || cfg.SessionCacheTTL > MaxSessionCacheTTL {
		return nil, fmt.Errorf("signin: session cache TTL %v is not between 0 and %v", cfg.SessionCacheTTL, MaxSessionCacheTTL)
	}
	if cfg.SessionCacheTTL > 0 {
		s.cache = &sessionCache{ttl: cfg.SessionCacheTTL}
		// This service's own changes that end sessions empty the cache.
		r := revoking{Store: cfg.Store, forget: s.cache.forget}
		s.dir, s.sessions, s.creds = r, r, r
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
	if err := s.auditLog.AppendAudit(ctx, e); err != nil {
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
	if err := s.auditLog.AppendAudit(ctx, e); err != nil {
		s.log.ErrorContext(ctx, "audit write failed", "event", e.Event, "error", err)
	}
}

var errNoFederation = errors.New("signin: no federation configured")

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

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
