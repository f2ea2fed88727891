package gatehouse

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"time"
)

// Store is all of Gatehouse's persistent state. internal/sqlstore implements
// it on SQLite and PostgreSQL; one conformance suite holds both to this
// contract. Every method takes a context and fails with a plain (internal)
// error when the database cannot be reached, so callers fail closed.
type Store interface {
	OrganizationStore
	UserStore
	SessionStore
	ThrottleStore
	AuditStore
	OutboxStore
	ChallengeStore
	OTPCounterStore
	CounterStore
	RememberStore
	ResetStore
	ConsoleStore
	FederationStore
	CredentialStore
	DeviceStore
	LinkStore
	MailQueueStore
	GroupStore
	APITokenStore

	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	Close() error
}

// OrganizationStore keeps organizations and their password settings.
type OrganizationStore interface {
	// CreateOrganization saves a new organization; the caller sets ID and
	// times. Returns ECONFLICT if the slug is taken.
	CreateOrganization(ctx context.Context, org *Organization) error
	// OrganizationBySlug returns ENOTFOUND if there is no such organization.
	OrganizationBySlug(ctx context.Context, slug string) (*Organization, error)
	// OrganizationByName returns the one organization of that name, in any
	// case; ENOTFOUND when there is none or more than one.
	OrganizationByName(ctx context.Context, name string) (*Organization, error)
	// UpdateOrganizationProfile saves the name, time zone and country;
	// ENOTFOUND when there is no such organization.
	UpdateOrganizationProfile(ctx context.Context, orgID, name, timeZone, country string, at time.Time) error
	// OrganizationByID returns ENOTFOUND if there is no such organization.
	OrganizationByID(ctx context.Context, id string) (*Organization, error)
	// ListOrganizations returns all organizations ordered by slug.
	ListOrganizations(ctx context.Context) ([]*Organization, error)
	// UpdatePasswordSettings replaces the organization's settings as a
	// whole. Returns ENOTFOUND if there is no such organization.
	UpdatePasswordSettings(ctx context.Context, orgID string, s PasswordSettings, at time.Time) error
}

// UserStore keeps users. Every lookup is scoped to one organization: a user
// of another organization is ENOTFOUND.
type UserStore interface {
	// CreateUser saves a new user; the caller sets ID and times. Returns
	// ECONFLICT if the e-mail is taken in that organization and ENOTFOUND if
	// the organization does not exist.
	CreateUser(ctx context.Context, u *User) error
	// UserByID returns ENOTFOUND unless the user exists in orgID.
	UserByID(ctx context.Context, orgID, id string) (*User, error)
	// UserByEmail takes a normalized e-mail and returns ENOTFOUND unless the
	// user exists in orgID.
	UserByEmail(ctx context.Context, orgID, email string) (*User, error)
	// ListUsers returns up to limit users of orgID ordered by e-mail, those
	// after afterEmail ("" for the first page).
	ListUsers(ctx context.Context, orgID, afterEmail string, limit int) ([]*User, error)
	// PatchUser writes only the fields set in p, and UpdatedAt = at, in
	// one statement, and returns the user as saved. Returns ENOTFOUND
	// unless the user exists in orgID, ECONFLICT if the new e-mail is taken.
	PatchUser(ctx context.Context, orgID, userID string, p UserPatch, at time.Time) (*User, error)
	// DeleteUser removes the user of orgID with their sessions (and so
	// their applications' tokens), remembered browsers, pending sign-ins
	// and codes, password links, known devices, federated links and
	// pending authorizations, and appends audit (when not nil, with the
	// counts of what ended in its Detail), in one transaction. The audit
	// log keeps the user's past events. Returns ENOTFOUND unless the user
	// exists in orgID, and ErrLastAdmin (ECONFLICT), deleting nothing, for
	// an admin when no other admin of orgID who is not disabled remains;
	// the check holds against concurrent deletions on every node.
	DeleteUser(ctx context.Context, orgID, userID string, audit *AuditEvent) error
}

// SessionStart is what a sign-in ends and keeps beside its new session
// (SessionStore.StartSession).
type SessionStart struct {
	EndChallenge string             // the pending sign-in the code finished, or ""
	Browser      *RememberedBrowser // the browser to remember, or nil
}

// SessionStore keeps signed-in sessions by the hash of their token.
type SessionStore interface {
	// CreateSession saves a new session. Returns ENOTFOUND unless the user
	// exists in s.OrgID.
	CreateSession(ctx context.Context, s *Session) error
	// StartSession is a sign-in's one write: in one transaction it saves
	// the session and its audit event (a sign-in that cannot be audited
	// does not happen), and with them ends the pending sign-in
	// st.EndChallenge and saves the remembered browser st.Browser when
	// they are set. Returns ENOTFOUND, saving nothing, unless the user
	// exists in s.OrgID.
	StartSession(ctx context.Context, s *Session, audit *AuditEvent, st SessionStart) error
	// SessionByTokenHash returns ENOTFOUND if there is no such session.
	SessionByTokenHash(ctx context.Context, hash []byte) (*Session, error)
	// SessionAccount returns the session of hash with its organization and
	// user in one read (a session check's), a disabled user and an expired
	// session included. Returns ENOTFOUND if there is no such session.
	SessionAccount(ctx context.Context, hash []byte) (*Session, *Organization, *User, error)
	// SessionAccountByPublicID is SessionAccount for the session of a
	// public id.
	SessionAccountByPublicID(ctx context.Context, id string) (*Session, *Organization, *User, error)
	// TouchSession records activity on a session; it never moves the last
	// use backwards. Returns ENOTFOUND if the session is gone.
	TouchSession(ctx context.Context, hash []byte, at time.Time) error
	// DeleteSession ends one session; ending a missing one is not an error.
	DeleteSession(ctx context.Context, hash []byte) error
	// DeleteUserSessions ends every session of a user.
	DeleteUserSessions(ctx context.Context, orgID, userID string) error
	// ListUserSessions returns up to limit of the user's live sessions (not
	// past the absolute timeout at now, last seen after idleBefore), the
	// most recently used first.
	ListUserSessions(ctx context.Context, orgID, userID string, now, idleBefore time.Time, limit int) ([]*Session, error)
	// DeleteUserSession ends the user's session named by publicID.
	// Returns ENOTFOUND unless the user has such a session.
	DeleteUserSession(ctx context.Context, orgID, userID, publicID string) error
	// DeleteOtherUserSessions ends every session of the user but the one
	// whose token hash is keep (nil: all), and returns how many.
	DeleteOtherUserSessions(ctx context.Context, orgID, userID string, keep []byte) (int64, error)
	// DeleteOrgSessionsWithoutTwoFactor ends the organization's sessions
	// that PassedTwoFactorPolicy does not accept, and returns how many.
	DeleteOrgSessionsWithoutTwoFactor(ctx context.Context, orgID string) (int64, error)
	// DeleteExpiredSessions removes sessions past their absolute timeout or
	// idle since before idleBefore, and returns how many.
	DeleteExpiredSessions(ctx context.Context, now, idleBefore time.Time) (int64, error)
}

// Throttle is the failure count kept under one key (an account, a client
// address).
type Throttle struct {
	Failures    int
	LastFailure time.Time
}

// ThrottleStore counts failures in the database, so the counts hold across
// nodes and restarts.
type ThrottleStore interface {
	// ClearFailures forgets the count under key.
	ClearFailures(ctx context.Context, key string) error
	// ReserveAttempt checks every key at now and, when none of them is
	// waiting, counts the attempt as a failure under each, in one atomic
	// step: of any number of parallel callers only as many pass as the
	// rules allow. When a key is waiting it counts nothing and returns the
	// longest wait left (and a nil Reservation). A count whose last failure
	// is more than window before now starts again. Returns EINVALID for no
	// keys or more than MaxThrottleKeys.
	ReserveAttempt(ctx context.Context, now time.Time, window time.Duration, keys ...ThrottleKey) (*Reservation, time.Duration, error)
	// ReleaseAttempt gives a reserved attempt back under every key of r
	// (one failure fewer, never below zero) and, where no later attempt
	// was counted meanwhile, restores the last failure's time.
	ReleaseAttempt(ctx context.Context, r *Reservation) error
}

// AuditStore keeps the audit log.
type AuditStore interface {
	// AppendAudit saves e and sets its ID.
	AppendAudit(ctx context.Context, e *AuditEvent) error
	// ListAudit returns up to limit events of orgID, newest first, those
	// with an ID below beforeID (0 for the first page).
	ListAudit(ctx context.Context, orgID string, beforeID int64, limit int) ([]*AuditEvent, error)
}

// OutboxMessage is a message kept in the database instead of being sent, for
// development and the demo (shown at /dev/outbox in dev mode only).
type OutboxMessage struct {
	ID        int64
	Channel   string // "email" or "sms"
	To        string
	Subject   string
	Body      string
	CreatedAt time.Time
}

// OutboxStore keeps the development outbox.
type OutboxStore interface {
	AddOutboxMessage(ctx context.Context, m *OutboxMessage) error
	// ListOutboxMessages returns up to limit messages, newest first.
	ListOutboxMessages(ctx context.Context, limit int) ([]*OutboxMessage, error)
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewID returns a new opaque identifier: 128 random bits as 26 lower-case
// letters and digits.
func NewID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	return idEncoding.EncodeToString(b[:])
}
