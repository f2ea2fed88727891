// Package gatehouse is the domain of the Gatehouse sign-in server:
// organizations, users, their password settings, sessions and the audit log,
// the one user-facing error type, and the storage contract that the adapters
// under internal/ implement. It imports only the standard library.
package gatehouse

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. They are part of the JSON API contract (docs/design.md §5): clients
// match on them, so they never change once released. The web package holds
// the only table from code to HTTP status.
const (
	ECONFLICT           = "conflict"            // a unique value is taken (slug, e-mail)
	EINTERNAL           = "internal"            // anything unexpected; details are only logged
	EINVALID            = "invalid_input"       // bad input; Field names what was wrong
	ENOTFOUND           = "not_found"           // no such thing, or not in this organization
	EUNAUTHORIZED       = "unauthorized"        // no valid session
	EFORBIDDEN          = "forbidden"           // signed in, but not allowed
	EUNAVAILABLE        = "unavailable"         // a dependency (database, directory) failed: fail closed
	EBUSY               = "busy"                // the hashing pool is full; RetryAfter says when to come back
	EWEAKPASSWORD       = "weak_password"       // too short, too long, or too common
	EINVALIDCREDENTIALS = "invalid_credentials" // wrong password, unknown e-mail, disabled user: one answer
	ETOOMANYATTEMPTS    = "too_many_attempts"   // throttled; RetryAfter says when to come back
	EINVALIDNETWORK     = "invalid_network"
	EINVALIDPHONE       = "invalid_phone"
	ESSOREQUIRED        = "sso_required"
	ETWOFACTORUNAVAIL   = "two_factor_unavailable"
	EINVALIDCODE        = "invalid_code"       // a wrong code; AttemptsLeft says how many remain
	ECODEEXPIRED        = "code_expired"       // the code is past its lifetime; a resend may still work
	ELOGINEXPIRED       = "login_expired"      // the pending sign-in is over: start again with the password
	ENOPENDINGLOGIN     = "no_pending_login"   // no pending sign-in in this browser
	ERESENDTOOSOON      = "resend_too_soon"    // RetryAfter says when the next send is allowed
	EDELIVERYFAILED     = "delivery_failed"    // the e-mail or SMS provider failed; nothing was counted
	EPHONENOTEXPECTED   = "phone_not_expected" // a phone number was sent where none is asked for
	EREAUTHREQUIRED     = "reauth_required"    // the change needs a recent authentication (Actor.RequireRecent)
)

// Error is an error meant for the person or program on the other side.
// Its Message is safe to show; it never carries a secret or an internal
// detail. Errors of any other type are shown as "internal error".
type Error struct {
	Code    string
	Message string

	// Reason, when set, is one of the Reason constants: what the error means
	// beyond its code, for a page to say in the reader's language (Message
	// is the services' English, which the JSON API sends). Args are the
	// values the reason's text holds at {0}, {1}, …, as its constant's
	// comment lists them; a time.Duration is a wait, said in words.
	Reason string
	Args   []any

	// Field names the input field that was wrong, for EINVALID and friends.
	Field string
	// Entry quotes a bad list entry as typed (invalid_network).
	Entry string
	// RetryAfter, when set, is how long the caller should wait (EBUSY,
	// ETOOMANYATTEMPTS); the web layer sends it as Retry-After.
	RetryAfter time.Duration
	// AttemptsLeft, for EINVALIDCODE, is how many wrong codes the pending
	// sign-in still takes; nil otherwise.
	AttemptsLeft *int
	// Location, for ESSOREQUIRED, is where the sign-in goes instead.
	Location string
}

func (e *Error) Error() string {
	return fmt.Sprintf("gatehouse error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError returns an EINVALID error that names the field that was wrong.
func FieldError(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err if it is (or wraps) an *Error, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err, or "Internal error."
// for anything that is not an *Error.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}
