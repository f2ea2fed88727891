package signin

import (
	"context"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// The storage signing in needs, split by capability. Each is the part of
// gatehouse.Store that one concern of the package uses, and the Service
// reaches storage only through them; Store is all of them, what New takes.

// Accounts reads and writes the organizations, users and federated identities
// a sign-in touches.
type Accounts interface {
	OrganizationBySlug(ctx context.Context, slug string) (*gatehouse.Organization, error)
	OrganizationByName(ctx context.Context, name string) (*gatehouse.Organization, error)
	OrganizationByID(ctx context.Context, id string) (*gatehouse.Organization, error)
	UserByEmail(ctx context.Context, orgID, email string) (*gatehouse.User, error)
	UserByID(ctx context.Context, orgID, id string) (*gatehouse.User, error)
	PatchUser(ctx context.Context, orgID, userID string, p gatehouse.UserPatch, at time.Time) (*gatehouse.User, error)
	CreateUser(ctx context.Context, u *gatehouse.User) error
	RehashPassword(ctx context.Context, orgID, userID, old, hash string, at time.Time) (bool, error)
	FederatedUserID(ctx context.Context, orgID, provider, externalID string) (string, error)
	FederatedExternalID(ctx context.Context, orgID, provider, userID string) (string, error)
	LinkFederatedIdentity(ctx context.Context, l *gatehouse.FederatedIdentity) error
	ManagedOrganizations(ctx context.Context, userID string) ([]*gatehouse.Organization, error)
}

// Sessions keeps signed-in sessions (gatehouse.SessionStore) and their re-
// keying.
type Sessions interface {
	CreateSession(ctx context.Context, s *gatehouse.Session) error
	StartSession(ctx context.Context, s *gatehouse.Session, audit *gatehouse.AuditEvent, st gatehouse.SessionStart) error
	SessionByTokenHash(ctx context.Context, hash []byte) (*gatehouse.Session, error)
	SessionAccount(ctx context.Context, hash []byte) (*gatehouse.Session, *gatehouse.Organization, *gatehouse.User, error)
	SessionAccountByPublicID(ctx context.Context, id string) (*gatehouse.Session, *gatehouse.Organization, *gatehouse.User, error)
	TouchSession(ctx context.Context, hash []byte, at time.Time) error
	DeleteSession(ctx context.Context, hash []byte) error
	DeleteUserSessions(ctx context.Context, orgID, userID string) error
	ListUserSessions(ctx context.Context, orgID, userID string, now, idleBefore time.Time, limit int) ([]*gatehouse.Session, error)
	DeleteUserSession(ctx context.Context, orgID, userID, publicID string) error
	DeleteOtherUserSessions(ctx context.Context, orgID, userID string, keep []byte) (int64, error)
	SetSessionReauth(ctx context.Context, hash []byte, at time.Time) error
	RekeySession(ctx context.Context, oldHash, newHash []byte) error
	SessionTokenHashIn(ctx context.Context, hashes [][]byte) ([]byte, error)
}

// Throttles counts password attempts (gatehouse.ThrottleStore).
type Throttles interface {
	ReserveAttempt(ctx context.Context, now time.Time, window time.Duration, keys ...gatehouse.ThrottleKey) (*gatehouse.Reservation, time.Duration, error)
	ReleaseAttempt(ctx context.Context, r *gatehouse.Reservation) error
	ClearFailures(ctx context.Context, key string) error
}

// Codes keeps pending sign-ins and other code steps, their codes and the
// counters that bound them (gatehouse.ChallengeStore, CounterStore).
type Codes interface {
	CreateChallenge(ctx context.Context, c *gatehouse.Challenge) error
	ChallengeByTokenHash(ctx context.Context, hash []byte) (*gatehouse.Challenge, error)
	ChallengeByID(ctx context.Context, orgID, userID, id string) (*gatehouse.Challenge, error)
	DeleteChallenge(ctx context.Context, id string) error
	SetChallengeDestination(ctx context.Context, id string, ch gatehouse.OTPMethod, destination, newValue string, step int, now time.Time) error
	ClaimSend(ctx context.Context, id string, now time.Time, gap time.Duration) (ok bool, prev time.Time, next time.Time, err error)
	ReleaseSend(ctx context.Context, id string, prev time.Time) error
	AddCode(ctx context.Context, challengeID string, hash []byte, now, expires time.Time) error
	DeleteCode(ctx context.Context, challengeID string, hash []byte) error
	ReserveSend(ctx context.Context, r gatehouse.SendRecord, since time.Time, caps gatehouse.SendCaps) (id int64, counts gatehouse.SendCounts, ok bool, err error)
	CancelSend(ctx context.Context, id int64) error
	TakeCode(ctx context.Context, orgID, userID, challengeID string, hash []byte, now time.Time, maxFailures int) (gatehouse.CodeAttempt, error)
}

// Browsers keeps remembered browsers and known devices
// (gatehouse.RememberStore, DeviceStore).
type Browsers interface {
	CreateRememberedBrowser(ctx context.Context, b *gatehouse.RememberedBrowser) error
	FindRememberedBrowser(ctx context.Context, orgID, userID string, hashes [][]byte, now time.Time) (*gatehouse.RememberedBrowser, error)
	TouchRememberedBrowser(ctx context.Context, id string, now time.Time) error
	ListRememberedBrowsers(ctx context.Context, orgID, userID string, now time.Time) ([]*gatehouse.RememberedBrowser, error)
	DeleteRememberedBrowser(ctx context.Context, orgID, userID, id string) error
	DeleteUserRememberedBrowsers(ctx context.Context, orgID, userID string) (int64, error)
	RekeyRememberedBrowser(ctx context.Context, id string, oldHash, newHash []byte) error
	CreateDevice(ctx context.Context, d *gatehouse.Device) error
	FindDevice(ctx context.Context, orgID, userID string, hashes [][]byte, now time.Time) (*gatehouse.Device, error)
	TouchDevice(ctx context.Context, id string, now, expires time.Time) error
}

// Credentials changes a password, e-mail or phone with all it ends, in one
// step (gatehouse.CredentialStore).
type Credentials interface {
	ChangeCredentials(ctx context.Context, c gatehouse.CredentialChange) error
}

// Audit appends to the audit log.
type Audit interface {
	AppendAudit(ctx context.Context, e *gatehouse.AuditEvent) error
}

// Store is the storage of a sign-in server: every capability above.
type Store interface {
	Accounts
	Sessions
	Throttles
	Codes
	Browsers
	Credentials
	Audit
}
