package signin

import (
	"context"
	"net/netip"
	"time"
)

// Throttling bounds password guessing (DESIGN.md §3): failures are counted
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
	if failures < free {
		return 0
	}
	w := t.FirstWait
	for i := free; i < failures && w < t.MaxWait; i++ {
		w *= 2
	}
	return min(w, t.MaxWait)
}

// backingOff returns how long the caller must still wait, the longer of the
// account's and the address's waits.
func (s *Service) backingOff(ctx context.Context, now time.Time, acctKey, ipKey string) (time.Duration, error) {
	var longest time.Duration
	for _, k := range []struct {
		key  string
		free int
	}{{acctKey, s.throttle.AccountFree}, {ipKey, s.throttle.AddressFree}} {
		if k.key == "" {
			continue
		}
		th, err := s.store.Throttle(ctx, k.key)
		if err != nil {
			return 0, err
		}
		if th.Failures == 0 || now.Sub(th.LastFailure) > s.throttle.Window {
			continue
		}
		until := th.LastFailure.Add(s.throttle.Wait(th.Failures, k.free))
		if d := until.Sub(now); d > longest {
			longest = d
		}
	}
	if longest > 0 && longest < time.Second {
		longest = time.Second
	}
	return longest, nil
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
