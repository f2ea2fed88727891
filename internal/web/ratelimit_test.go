package web

import (
	"net/netip"
	"sync"
	"testing"
	"time"
)

func TestNetworkLimiter(t *testing.T) {
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	addr := netip.MustParseAddr

	t.Run("40 parallel requests from one address: exactly the burst passes", func(t *testing.T) {
		l := newNetworkLimiter(30, 100, clock)
		var mu sync.Mutex
		passed := 0
		var wg sync.WaitGroup
		for range 40 {
			wg.Go(func() {
				if ok, _ := l.allow(addr("198.51.100.7")); ok {
					mu.Lock()
					passed++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if passed != 30 {
			t.Errorf("%d of 40 passed, want 30", passed)
		}
		ok, wait := l.allow(addr("198.51.100.7"))
		if ok || wait < time.Second || wait > 2*time.Second {
			t.Errorf("allow after the burst = %v, %v; want refused for about 2 s", ok, wait)
		}
		if ok, _ := l.allow(addr("198.51.100.8")); !ok {
			t.Error("the next address was refused: each IPv4 address has its own bucket")
		}
	})

	t.Run("the bucket refills at the rate", func(t *testing.T) {
		l := newNetworkLimiter(30, 100, clock)
		for range 30 {
			l.allow(addr("203.0.113.1"))
		}
		now = now.Add(2 * time.Second) // one token at 30 a minute
		if ok, _ := l.allow(addr("203.0.113.1")); !ok {
			t.Error("refused after the refill")
		}
		if ok, _ := l.allow(addr("203.0.113.1")); ok {
			t.Error("a second token after 2 s")
		}
	})

	t.Run("IPv6 clients share their /64; unknown addresses share one bucket", func(t *testing.T) {
		l := newNetworkLimiter(2, 100, clock)
		l.allow(addr("2001:db8:1:2::1"))
		l.allow(addr("2001:db8:1:2:ffff::9"))
		if ok, _ := l.allow(addr("2001:db8:1:2:aaaa::1")); ok {
			t.Error("a third address in the same /64 passed a limit of 2")
		}
		if ok, _ := l.allow(addr("2001:db8:1:3::1")); !ok {
			t.Error("another /64 was refused")
		}
		l.allow(netip.Addr{})
		l.allow(netip.Addr{})
		if ok, _ := l.allow(netip.Addr{}); ok {
			t.Error("unknown addresses do not share a bucket")
		}
		if ok, _ := l.allow(addr("::ffff:192.0.2.1")); !ok {
			t.Error("an IPv4-mapped address was refused")
		}
		if ok, _ := l.allow(addr("192.0.2.1")); !ok {
			t.Error("refused at the second request of a limit of 2")
		}
		if ok, _ := l.allow(addr("192.0.2.1")); ok {
			t.Error("a mapped address and its IPv4 form have separate buckets")
		}
	})

	t.Run("when full, idle networks are forgotten and busy ones are kept", func(t *testing.T) {
		l := newNetworkLimiter(1, 2, clock)
		l.allow(addr("192.0.2.1"))
		l.allow(addr("192.0.2.2"))
		if ok, _ := l.allow(addr("192.0.2.3")); ok {
			t.Error("a third network passed while two busy ones fill the table")
		}
		if ok, _ := l.allow(addr("192.0.2.1")); ok {
			t.Error("a busy network was forgotten")
		}
		now = now.Add(time.Minute)
		if ok, _ := l.allow(addr("192.0.2.3")); !ok {
			t.Error("a new network was refused after the others fell idle")
		}
	})
}
