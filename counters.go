package gatehouse

import (
	"context"
	"time"
)

// SendCaps are the most code sends allowed within a window, per user, per
// destination and per client network (ClientNetwork). A cap of 0 or less
// allows none.
type SendCaps struct {
	User, Destination, Network int
}

// DefaultSendCaps are the caps of docs/design.md §3, within SendWindow.
func DefaultSendCaps() SendCaps {
	return SendCaps{User: MaxSendsPerUser, Destination: MaxSendsPerDest, Network: MaxSendsPerAddress}
}

// CodeLocked is a result of TakeCode: the user is backing off or locked
// after too many consecutive wrong codes, and nothing was counted.
const CodeLocked = "locked"

// CodeAttempt is what TakeCode did with one code.
type CodeAttempt struct {
	// Result is CodeAccepted, CodeWrong, CodeExpired, CodeOver or
	// CodeLocked.
	Result string
	// Failures is the challenge's count of wrong codes after the attempt.
	Failures int
	// UserFailures is the user's count of consecutive wrong codes after
	// the attempt (0 once accepted).
	UserFailures int
	// Wait and Locked say, for CodeLocked, how long the user must wait or
	// that they are locked (OTPWait).
	Wait   time.Duration
	Locked bool
}

// CounterStore holds the attacker-bounding counters of code delivery and
// code entry, each checked and counted in one atomic step, so that no
// number of parallel callers on any number of nodes gets past a bound.
type CounterStore interface {
	// ReserveSend checks the caps against the code sends at or after since
	// (to r.UserID, to r.Destination and from ClientNetwork(r.ClientIP))
	// and, only if all are below their caps, records r as a send, in one
	// atomic step. It returns the reservation's id (to give back with
	// CancelSend) and the counts before it; ok is false, with nothing
	// recorded, when a cap is reached. An empty destination or an invalid
	// address is counted against no destination or network. Only code
	// sends are counted: not the other messages of RecordSend.
	ReserveSend(ctx context.Context, r SendRecord, since time.Time, caps SendCaps) (id int64, counts SendCounts, ok bool, err error)
	// CancelSend gives back a reservation whose delivery failed; a missing
	// one is not an error.
	CancelSend(ctx context.Context, id int64) error
	// TakeCode is ConsumeCode within the user's bound on consecutive wrong
	// codes (OTPWait, OTPLockFailures), in one atomic step: it returns
	// CodeLocked, counting nothing, while the user of orgID/userID must
	// wait or is locked; otherwise it consumes the code as ConsumeCode does
	// and, for CodeWrong, counts one more consecutive failure for the user
	// at now, or, for CodeAccepted, resets the user's count and records now
	// as their last verification. Returns ENOTFOUND unless the user exists
	// in orgID.
	TakeCode(ctx context.Context, orgID, userID, challengeID string, hash []byte, now time.Time, maxFailures int) (CodeAttempt, error)
}
