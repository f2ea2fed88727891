package gatehouse

import (
	"context"
	"time"
)

// UserStats are an organization's counts for the admin console's coverage
// summary.
type UserStats struct {
	Total int
	// VerifiedSince counts users who entered a right code since the time
	// asked for.
	VerifiedSince int
	WithoutPhone  int
	Locked        int // at OTPLockFailures consecutive wrong codes
	Exempt        int
	Disabled      int
}

// AuditFilter narrows an organization's audit log. Zero fields do not
// filter.
type AuditFilter struct {
	OrgID    string
	UserID   string    // subject or actor
	Event    string    // exact event name
	Since    time.Time // at or after
	Until    time.Time // before
	BeforeID int64     // paging: events with a smaller id
	Limit    int
}

// ConsoleStore is what the admin console reads beyond the other stores.
type ConsoleStore interface {
	// UsersByIDs returns the users of orgID among ids, leaving out the
	// unknown (deleted) ones: the names the audit log shows.
	UsersByIDs(ctx context.Context, orgID string, ids []string) ([]*User, error)
	// SearchUsers returns up to limit users of orgID whose e-mail or name
	// contains query (case-insensitively; "" matches all), ordered by
	// e-mail, after afterEmail.
	SearchUsers(ctx context.Context, orgID, query, afterEmail string, limit int) ([]*User, error)
	// UserStats counts an organization's users; VerifiedSince counts those
	// verified at or after since.
	UserStats(ctx context.Context, orgID string, since time.Time) (UserStats, error)
	// CountOrgRememberedBrowsers counts the organization's browsers still
	// remembered at now.
	CountOrgRememberedBrowsers(ctx context.Context, orgID string, now time.Time) (int, error)
	// CountAuditReasons counts an organization's events of one name at or
	// after since, by reason (sign-ins by outcome).
	CountAuditReasons(ctx context.Context, orgID, event string, since time.Time) (map[string]int, error)
	// ListAuditFiltered returns up to f.Limit events, newest first.
	ListAuditFiltered(ctx context.Context, f AuditFilter) ([]*AuditEvent, error)
	// CountRememberedBrowsers returns, for each of the users, how many
	// unexpired remembered browsers they have (absent means none).
	CountRememberedBrowsers(ctx context.Context, orgID string, userIDs []string, now time.Time) (map[string]int, error)
	// SetSessionReauth records that the session's user gave the password
	// again at at (for changes that need a recent sign-in). Returns
	// ENOTFOUND if the session is gone.
	SetSessionReauth(ctx context.Context, hash []byte, at time.Time) error
}
