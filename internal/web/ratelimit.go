package web

import (
	"net/netip"
	"sync"
	"time"
)

// networkLimiter is a token bucket per client network, for anonymous
// endpoints that write (the SAML2 login and ACS): each network may make
// burst requests at once and then perMinute a minute. IPv4 clients are
// keyed by their address, IPv6 ones by their /64 (what one subscriber gets);
// an unknown address shares one bucket with every other unknown one.
//
// It is in memory, so each node counts on its own: it shapes floods, it is
// not a bound across nodes. At most maxKeys networks are tracked; when that
// many are busy at once, a new network is refused until some fall idle
// (fail closed), rather than forgetting the busy ones.
type networkLimiter struct {
	now     func() time.Time
	perSec  float64
	burst   float64
	maxKeys int

	mu      sync.Mutex
	buckets map[netip.Prefix]*tokenBucket
}

type tokenBucket struct {
	tokens float64
	at     time.Time
}

func newNetworkLimiter(perMinute, maxKeys int, now func() time.Time) *networkLimiter {
	return &networkLimiter{now: now, perSec: float64(perMinute) / 60, burst: float64(perMinute), maxKeys: maxKeys,
		buckets: map[netip.Prefix]*tokenBucket{}}
}

// clientNetwork is the key of a client address.
func clientNetwork(ip netip.Addr) netip.Prefix {
	ip = ip.Unmap()
	switch {
	case !ip.IsValid():
		return netip.Prefix{}
	case ip.Is4():
		return netip.PrefixFrom(ip, 32)
	default:
		p, _ := ip.WithZone("").Prefix(64)
		return p
	}
}

// allow takes a token for ip's network, or says how long until one is
// there.
func (l *networkLimiter) allow(ip netip.Addr) (bool, time.Duration) {
	now := l.now()
	key := clientNetwork(ip)
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= l.maxKeys {
			l.sweep(now)
		}
		if len(l.buckets) >= l.maxKeys {
			return false, time.Minute
		}
		b = &tokenBucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	if el := now.Sub(b.at); el > 0 {
		b.tokens = min(l.burst, b.tokens+el.Seconds()*l.perSec)
		b.at = now
	}
	if b.tokens < 1 {
		wait := time.Duration((1 - b.tokens) / l.perSec * float64(time.Second))
		return false, max(wait, time.Second)
	}
	b.tokens--
	return true, 0
}

// sweep forgets the networks whose bucket has refilled: they are as if new.
func (l *networkLimiter) sweep(now time.Time) {
	full := time.Duration(l.burst / l.perSec * float64(time.Second))
	for k, b := range l.buckets {
		if now.Sub(b.at) >= full {
			delete(l.buckets, k)
		}
	}
}
