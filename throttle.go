package gatehouse

import "time"

// ThrottleRule says how the failures counted under one key hold the next
// attempt back: Free failures cost nothing, then the wait after the last
// one is FirstWait, doubling with each further failure up to MaxWait.
type ThrottleRule struct {
	Free      int
	FirstWait time.Duration
	MaxWait   time.Duration
}

// Wait is how long after the last of failures the next attempt must wait.
func (r ThrottleRule) Wait(failures int) time.Duration {
	if failures < r.Free {
		return 0
	}
	w := r.FirstWait
	for i := r.Free; i < failures && w < r.MaxWait; i++ {
		w *= 2
	}
	return min(w, r.MaxWait)
}

// ThrottleKey is one count an attempt is held to: an account, a client
// address, a known device.
type ThrottleKey struct {
	Key  string
	Rule ThrottleRule
}

// Reservation is one attempt counted in advance, as a failure, under some
// keys, before the password is checked; ReleaseAttempt gives it back when
// the attempt turns out not to be a failure.
type Reservation struct {
	At   time.Time
	Keys []string
	// Previous holds, for each key, the last failure before this attempt
	// (the zero time if none), so that giving the attempt back does not
	// move a wait forward.
	Previous []time.Time
}

// AccountThrottleKey is the key that counts password failures of an
// account: the organization's slug and the e-mail as typed (normalized),
// so that an unknown account is counted exactly like a known one.
func AccountThrottleKey(orgSlug, email string) string {
	return "acct:" + orgSlug + ":" + email
}

// MaxThrottleKeys bounds the keys of one reservation.
const MaxThrottleKeys = 4
