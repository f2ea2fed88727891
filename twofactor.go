package gatehouse

import (
	"context"
	"fmt"
	"net/netip"
	"time"
)

// Bounds of two-factor authentication (docs/design.md §3), in one place.
const (
	CodeDigits   = 6
	CodeLifetime = 10 * time.Minute
	// MaxLiveCodes is how many codes of one challenge stay valid at once, so
	// a slow e-mail followed by a resend confuses nobody.
	MaxLiveCodes = 2
	// ChallengeLifetime is how long a pending sign-in (password done, code
	// not yet) lives.
	ChallengeLifetime = 15 * time.Minute
	// ChallengeMaxFailures wrong codes end a challenge.
	ChallengeMaxFailures = 5
	// ResendGap is the least time between two sends of one challenge.
	ResendGap = 30 * time.Second
	// SendWindow is the window of the per-user, per-destination and
	// per-address send caps.
	SendWindow         = 15 * time.Minute
	MaxSendsPerUser    = 5
	MaxSendsPerDest    = 5
	MaxSendsPerAddress = 20
	// OTPFreeFailures consecutive wrong codes per user before back-off;
	// the back-off then doubles from OTPFirstWait up to OTPMaxWait, and at
	// OTPLockFailures the user is locked until an admin unlocks them or the
	// password is reset (NIST SP 800-63B-4: at most 100).
	OTPFreeFailures = 10
	OTPFirstWait    = 30 * time.Second
	OTPMaxWait      = time.Hour
	OTPLockFailures = 100
	// PasswordResetLifetime is how long a forgot-password link works.
	PasswordResetLifetime = time.Hour
	// MaxRememberedPerBrowser bounds the remembered users one browser holds
	// (a shared clinic computer).
	MaxRememberedPerBrowser = 5
)

// OTPWait is how long a user with failures consecutive wrong codes, the last
// at last, must wait before the next try; locked reports the hard lock.
func OTPWait(failures int, last, now time.Time) (wait time.Duration, locked bool) {
	if failures >= OTPLockFailures {
		return 0, true
	}
	if failures < OTPFreeFailures {
		return 0, false
	}
	w := OTPFirstWait
	for i := OTPFreeFailures; i < failures && w < OTPMaxWait; i++ {
		w *= 2
	}
	w = min(w, OTPMaxWait)
	if d := last.Add(w).Sub(now); d > 0 {
		return d, false
	}
	return 0, false
}

// Challenge kinds.
const (
	// ChallengeLogin is a pending sign-in: its code finishes the sign-in.
	ChallengeLogin = "login"
	// ChallengeChangePhone and ChallengeChangeEmail are a signed-in user's
	// own change: first a code to the current channel, then one to the new.
	ChallengeChangePhone = "change_phone"
	ChallengeChangeEmail = "change_email"
	// ChallengeReauth is a signed-in user's re-authentication: after the
	// password, a code proves the second factor again. It belongs to one
	// session (NewValue holds the hex of that session's token hash).
	ChallengeReauth = "reauth"
)

// Challenge is a verification by code in progress. Codes are stored only
// as keyed hashes, in the challenge's code list.
type Challenge struct {
	ID string
	// TokenHash is the keyed hash of the pending sign-in's cookie.
	TokenHash []byte
	Kind      string
	OrgID     string
	UserID    string
	// Channel and Destination say where codes go: an e-mail address or an
	// E.164 number. Destination is "" while a phone number is awaited.
	Channel     OTPMethod
	Destination string
	// NewValue is the phone number or e-mail address saved to the profile
	// once its code is entered ("" for a plain sign-in).
	NewValue string
	// Step counts the stages of a change (1: current channel, 2: new).
	Step       int
	Failures   int
	Sends      int
	LastSentAt time.Time // zero before the first send
	ClientIP   netip.Addr
	UserAgent  string
	CreatedAt  time.Time
	ExpiresAt  time.Time
}

// Results of ConsumeCode.
const (
	CodeAccepted = "accepted" // the challenge is done; no other code will be taken
	CodeWrong    = "wrong"    // no code matched; Failures went up by one
	CodeExpired  = "expired"  // the code matched one past its lifetime; nothing counted
	CodeOver     = "over"     // no live challenge: done, expired or out of tries
)

// SendRecord is one code sent, kept for the send caps.
type SendRecord struct {
	UserID      string
	Destination string
	ClientIP    netip.Addr
	At          time.Time
}

// SendCounts are the sends since a moment, by user, destination and address.
type SendCounts struct {
	User, Destination, Address int
}

// ChallengeStore keeps challenges, their codes and the send log.
type ChallengeStore interface {
	// CreateChallenge saves a new challenge. Returns ENOTFOUND unless the
	// user exists in c.OrgID.
	CreateChallenge(ctx context.Context, c *Challenge) error
	// ChallengeByTokenHash returns ENOTFOUND if there is no such challenge.
	ChallengeByTokenHash(ctx context.Context, hash []byte) (*Challenge, error)
	// ChallengeByID returns ENOTFOUND unless the challenge exists for that
	// user in that organization.
	ChallengeByID(ctx context.Context, orgID, userID, id string) (*Challenge, error)
	// DeleteChallenge removes a challenge and its codes; a missing one is
	// not an error.
	DeleteChallenge(ctx context.Context, id string) error
	// SetChallengeDestination points a live challenge at a new channel and
	// destination (the phone prompt, the second step of a change), drops its
	// codes and lets the next send go at once. Returns ENOTFOUND if the
	// challenge is not live at now.
	SetChallengeDestination(ctx context.Context, id string, ch OTPMethod, destination, newValue string, step int, now time.Time) error
	// ClaimSend atomically records a send on a live challenge if the last
	// one was at least gap before now, and returns the previous LastSentAt
	// (to give back with ReleaseSend). ok is false, with the time the next
	// send is allowed, when it is too soon; ENOTFOUND if not live.
	ClaimSend(ctx context.Context, id string, now time.Time, gap time.Duration) (ok bool, prev time.Time, next time.Time, err error)
	// ReleaseSend undoes a ClaimSend whose delivery failed.
	ReleaseSend(ctx context.Context, id string, prev time.Time) error
	// AddCode saves a code hash for a challenge, first dropping its older
	// codes so that at most MaxLiveCodes stay.
	AddCode(ctx context.Context, challengeID string, hash []byte, now, expires time.Time) error
	// DeleteCode drops one code (its delivery failed).
	DeleteCode(ctx context.Context, challengeID string, hash []byte) error
	// Purge is the periodic clean-up of short-lived rows. It removes
	// challenges past their lifetime at now (with their codes), code-send
	// records older than keep.Sends, reset-send records older than
	// ResetSendWindow, SAML request and assertion records, remembered
	// browsers and known devices expired at now, password reset links used
	// or expired at now, and failure counts (ThrottleStore) whose last
	// failure is older than keep.Throttle. It returns how many rows it
	// removed in all. A keep shorter than the windows the rows count in is
	// refused (Retention.Check), so a clean-up can never reset a cap.
	Purge(ctx context.Context, now time.Time, keep Retention) (int64, error)
}

// Retention is how long Purge keeps the rows that bound an attacker after
// they were written.
type Retention struct {
	// Sends is how long code-send records are kept: at least SendWindow,
	// or the caps would forget sends that still count.
	Sends time.Duration
	// Throttle is how long a password failure count is kept after its
	// last failure: the sign-in throttle's window, past which a count is
	// worth nothing.
	Throttle time.Duration
}

// SendRetention is how long the server keeps code-send records: a day,
// longer than any cap's window, for the audit of a flood.
const SendRetention = 24 * time.Hour

// Check refuses a retention that would forget rows that still count.
func (r Retention) Check() error {
	if r.Sends < SendWindow {
		return fmt.Errorf("gatehouse: send records must be kept at least %v, not %v", SendWindow, r.Sends)
	}
	if r.Throttle <= 0 {
		return fmt.Errorf("gatehouse: failure counts must be kept for the throttle's window, not %v", r.Throttle)
	}
	return nil
}

// OTPCounterStore keeps each user's consecutive wrong codes, across
// challenges; a resend or a new sign-in never resets it.
type OTPCounterStore interface {
	// ResetOTPFailures sets the count to zero (a right code, an admin's
	// unlock, a password reset) and, when verified is not zero, records it
	// as the user's last verification.
	ResetOTPFailures(ctx context.Context, orgID, userID string, verified time.Time) error
}

// RememberedBrowser is a browser on which a user's verification is
// remembered, so that sign-ins there skip the code until ExpiresAt.
type RememberedBrowser struct {
	ID         string
	TokenHash  []byte
	OrgID      string
	UserID     string
	ClientIP   netip.Addr // where it was remembered
	UserAgent  string
	CreatedAt  time.Time
	LastUsedAt time.Time
	ExpiresAt  time.Time
}

// RememberStore keeps remembered browsers.
type RememberStore interface {
	// CreateRememberedBrowser returns ENOTFOUND unless the user exists in
	// b.OrgID.
	CreateRememberedBrowser(ctx context.Context, b *RememberedBrowser) error
	// FindRememberedBrowser returns the unexpired remembered browser of that
	// user whose token hash is among hashes, or ENOTFOUND.
	FindRememberedBrowser(ctx context.Context, orgID, userID string, hashes [][]byte, now time.Time) (*RememberedBrowser, error)
	TouchRememberedBrowser(ctx context.Context, id string, now time.Time) error
	// ListRememberedBrowsers returns a user's unexpired remembered browsers,
	// newest first.
	ListRememberedBrowsers(ctx context.Context, orgID, userID string, now time.Time) ([]*RememberedBrowser, error)
	// DeleteRememberedBrowser returns ENOTFOUND unless it belongs to that
	// user in that organization.
	DeleteRememberedBrowser(ctx context.Context, orgID, userID, id string) error
	// DeleteUserRememberedBrowsers and DeleteOrgRememberedBrowsers revoke
	// in bulk and return how many.
	DeleteUserRememberedBrowsers(ctx context.Context, orgID, userID string) (int64, error)
	DeleteOrgRememberedBrowsers(ctx context.Context, orgID string) (int64, error)
}

// PasswordReset is a forgot-password or welcome link, stored by the hash of
// its token. Email is the address it was sent to: the link works only while
// that is still the user's address.
type PasswordReset struct {
	TokenHash []byte
	OrgID     string
	UserID    string
	Email     string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// ResetStore keeps forgot-password links, at most one live link per user.
type ResetStore interface {
	// CreatePasswordReset saves a link and, in the same statement, voids
	// the user's other unused link: only the newest works. Returns
	// ENOTFOUND unless the user exists in r.OrgID.
	CreatePasswordReset(ctx context.Context, r *PasswordReset) error
	// PasswordResetByTokenHash returns an unused, unexpired link whose
	// address is still the user's e-mail, or ENOTFOUND.
	PasswordResetByTokenHash(ctx context.Context, hash []byte, now time.Time) (*PasswordReset, error)
}

// Messenger delivers codes and notices (e-mail, SMS or the development
// outbox). Each call gets a context with the delivery timeout.
type Messenger interface {
	SendCode(ctx context.Context, m CodeMessage) error
	// Notify sends a notice by e-mail.
	Notify(ctx context.Context, n Notice) error
}

// CodeMessage is one code to deliver.
type CodeMessage struct {
	Channel  OTPMethod
	To       string // e-mail address or E.164 number
	OrgName  string
	Code     string
	Lifetime time.Duration
	// Change is true for a code that confirms a change of contact details
	// rather than a sign-in.
	Change bool
}

// Notice kinds.
const (
	NoticePhoneAdded    = "phone_added"
	NoticeWrongCodes    = "wrong_codes"
	NoticePasswordReset = "password_reset"
	NoticeWelcome       = "welcome"
	NoticeEmailChanged  = "email_changed"
	NoticePhoneChanged  = "phone_changed"
	// NoticeChangedByAdmin tells a user that an admin changed their e-mail
	// address, phone number or exemption from 2FA; Field says which.
	NoticeChangedByAdmin = "changed_by_admin"
)

// Fields of a NoticeChangedByAdmin.
const (
	NoticeFieldEmail     = "email"
	NoticeFieldPhone     = "phone"             // OldValue and NewValue masked
	NoticeFieldExemption = "two_factor_exempt" // NewValue "true" or "false"
)

// Notice is an e-mail telling a user what happened to their account.
type Notice struct {
	Kind     string
	To       string
	OrgName  string
	At       time.Time
	ClientIP netip.Addr
	// OldValue and NewValue are the masked phone numbers or the e-mail
	// addresses of a change; Link is a password-reset link.
	OldValue, NewValue string
	Link               string
	Lifetime           time.Duration
	// Field, for NoticeChangedByAdmin, names what changed.
	Field string
}
