package gatehouse

import (
	"context"
	"time"
)

// CredentialChange is a change of how a user signs in (a new password, a
// new e-mail address or phone number) together with everything that must
// end with the old one. The store saves it in one transaction: all of it or
// none, so a failure halfway can never leave a new password beside the old
// password's sessions.
type CredentialChange struct {
	OrgID, UserID string
	At            time.Time

	// SpendReset is the hash of a password-reset link to spend first; when
	// it is used, expired or unknown the change fails with ENOTFOUND and
	// nothing is saved.
	SpendReset []byte
	// PasswordHash, when SetPassword, replaces the password hash.
	SetPassword  bool
	PasswordHash string
	// Email and Phone, when not nil, replace the user's address or number.
	Email, Phone *string

	// EndSessions ends the user's sessions but KeepSession (a token hash;
	// nil ends them all).
	EndSessions bool
	KeepSession []byte
	// EndRememberedBrowsers forgets every browser remembered for the user.
	EndRememberedBrowsers bool
	// EndPending ends the user's pending sign-ins and contact changes.
	EndPending bool
	// VoidResetLinks voids every unused reset or welcome link of the user.
	VoidResetLinks bool
	// ClearCodeLock forgets the user's consecutive wrong codes.
	ClearCodeLock bool
	// ClearThrottle forgets the password failures counted under these keys:
	// after a new password, the account's, so that a back-off an attacker
	// built up no longer holds the owner, who now knows the only password
	// that works.
	ClearThrottle []string
	// ForgetDevices forgets the browsers known to have signed in as the
	// user: they proved the old password, not the new one.
	ForgetDevices bool

	// Audit, when not nil, is appended in the same transaction; with
	// EndSessions its Detail gains "sessions_ended", how many ended, and
	// with EndRememberedBrowsers "remembered_browsers_revoked".
	Audit *AuditEvent
}

// CredentialStore saves credential changes.
type CredentialStore interface {
	// ChangeCredentials saves c in one transaction. Returns ENOTFOUND
	// unless the user exists in c.OrgID (or when SpendReset is not a live
	// link of that user), ECONFLICT if the new e-mail is taken.
	ChangeCredentials(ctx context.Context, c CredentialChange) error
}
