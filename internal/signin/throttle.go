package signin

import (
	"context"
	"encoding/base64"
	"net/netip"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// Throttling bounds password guessing (docs/design.md §3): failures are counted
// per account and per client address in the database, so the counts hold
// across nodes; past a free allowance each further failure doubles the wait,
// up to a cap. It never locks an account outright, so an attacker cannot
// lock a real user out by guessing.
type Throttling struct {
	// AccountFree failures per account before waits begin (default 5).
	AccountFree int
	// AddressFree failures per client address before waits begin
	// (default 20: a clinic's staff share one address).
	AddressFree int
	// FirstWait is the wait after the first failure past the allowance
	// (default 30 s); each further failure doubles it, up to MaxWait
	// (default 15 min).
	FirstWait time.Duration
	MaxWait   time.Duration
	// Window: a failure this long after the previous one starts the count
	// again (default 24 h).
	Window time.Duration
}

// DefaultThrottling returns the defaults documented on Throttling.
func DefaultThrottling() Throttling {
	return Throttling{AccountFree: 5, AddressFree: 20, FirstWait: 30 * time.Second, MaxWait: 15 * time.Minute, Window: 24 * time.Hour}
}

func (t Throttling) withDefaults() Throttling {
	d := DefaultThrottling()
	if t.AccountFree <= 0 {
		t.AccountFree = d.AccountFree
	}
	if t.AddressFree <= 0 {
		t.AddressFree = d.AddressFree
	}
	if t.FirstWait <= 0 {
		t.FirstWait = d.FirstWait
	}
	if t.MaxWait <= 0 {
		t.MaxWait = d.MaxWait
	}
	if t.Window <= 0 {
		t.Window = d.Window
	}
	return t
}

// Wait is how long to wait after failures, given free failures before any.
func (t Throttling) Wait(failures, free int) time.Duration {
	return t.rule(free).Wait(failures)
}

// ThrottleWindow is how long a password failure counts: the clean-up keeps
// failure counts this long (gatehouse.Retention.Throttle).
func (s *Service) ThrottleWindow() time.Duration { return s.throttle.Window }

// rule is the wait policy of a count with free failures.
func (t Throttling) rule(free int) gatehouse.ThrottleRule {
	return gatehouse.ThrottleRule{Free: free, FirstWait: t.FirstWait, MaxWait: t.MaxWait}
}

// accountKey counts the failures of an account from unknown contexts.
func (s *Service) accountKey(slug, email string) gatehouse.ThrottleKey {
	return gatehouse.ThrottleKey{Key: gatehouse.AccountThrottleKey(slug, email), Rule: s.throttle.rule(s.throttle.AccountFree)}
}

// addressKey counts the failures from one client address (or /64).
func (s *Service) addressKey(ip netip.Addr) gatehouse.ThrottleKey {
	return gatehouse.ThrottleKey{Key: ipThrottleKey(ip), Rule: s.throttle.rule(s.throttle.AddressFree)}
}

// deviceKey counts the failures on one known device, in place of the
// account's: the owner's own browser is not held back by failures elsewhere,
// and it has the same allowance as the account, so a stolen cookie buys an
// attacker no more guesses than the account would give.
func (s *Service) deviceKey(d *gatehouse.Device) gatehouse.ThrottleKey {
	return gatehouse.ThrottleKey{Key: "dev:" + d.ID, Rule: s.throttle.rule(s.throttle.AccountFree)}
}

// sessionKey counts the failures of a signed-in user's password checks
// (re-authentication, contact changes) on that session, in place of the
// account's, for the same reason.
func (s *Service) sessionKey(sess *gatehouse.Session) gatehouse.ThrottleKey {
	return gatehouse.ThrottleKey{Key: "sess:" + base64.RawURLEncoding.EncodeToString(sess.TokenHash[:min(len(sess.TokenHash), 16)]),
		Rule: s.throttle.rule(s.throttle.AccountFree)}
}

// checkPassword is the one password check of every path that takes a
// password (sign-in, LDAP sign-in, re-authentication, contact changes).
//
// The attempt is counted as a failure under every key before verify runs,
// in the same atomic step that checks the keys' waits, so parallel attempts
// cannot all be checked against the hash: only the free allowance passes.
// When verify says yes, the attempt is given back and the first key (who
// tried: the account, device or session) forgets its failures. When verify
// cannot decide (a full hashing pool, a directory that cannot be asked), the
// attempt is given back too: nothing was guessed.
//
// verify reports whether the password is right; an EINVALIDCREDENTIALS
// error from it counts as wrong. Returns ETOOMANYATTEMPTS with RetryAfter
// while a key is waiting (verify does not run), EBUSY, EUNAVAILABLE.
func (s *Service) checkPassword(ctx context.Context, now time.Time, keys []gatehouse.ThrottleKey,
	verify func(ctx context.Context) (bool, error)) (bool, error) {
	r, wait, err := s.throttles.ReserveAttempt(ctx, now, s.throttle.Window, keys...)
	if err != nil {
		return false, s.unavailable("reserve attempt", err)
	}
	if r == nil {
		wait = max(wait, time.Second)
		return false, &gatehouse.Error{Code: gatehouse.ETOOMANYATTEMPTS, Reason: gatehouse.ReasonSignInThrottled, Args: []any{wait}, RetryAfter: wait,
			Message: "Too many failed sign-in attempts. Wait a moment and try again."}
	}
	ok, err := verify(ctx)
	switch {
	case gatehouse.ErrorCode(err) == gatehouse.EINVALIDCREDENTIALS:
		return false, nil
	case err != nil:
		// A failure to give the attempt back leaves it counted, which
		// errs on the closed side.
		if rerr := s.throttles.ReleaseAttempt(ctx, r); rerr != nil {
			s.log.WarnContext(ctx, "could not give back an undecided attempt", "error", rerr)
		}
		if gatehouse.ErrorCode(err) == gatehouse.EBUSY {
			return false, err
		}
		return false, s.unavailable("verify password", err)
	case !ok:
		return false, nil
	}
	if err := s.throttles.ReleaseAttempt(ctx, r); err != nil {
		return false, s.unavailable("release attempt", err)
	}
	if err := s.throttles.ClearFailures(ctx, keys[0].Key); err != nil {
		return false, s.unavailable("clear failures", err)
	}
	return true, nil
}

// ipThrottleKey counts IPv6 clients by their /64, which one subscriber
// usually holds whole. Clients whose address is unknown (headers that
// disagree, a Unix socket) share one bucket rather than escaping the limit.
func ipThrottleKey(ip netip.Addr) string {
	if !ip.IsValid() {
		return "ip:unknown"
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return "ip:" + p.String()
	}
	return "ip:" + ip.String()
}
