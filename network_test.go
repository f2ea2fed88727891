package gatehouse

import (
	"net/netip"
	"testing"
)

func TestClientNetworkKeysIPv4By24AndIPv6By64(t *testing.T) {
	for _, c := range []struct{ ip, want string }{
		{"203.0.113.9", "203.0.113.0/24"},
		{"203.0.113.250", "203.0.113.0/24"},
		{"::ffff:203.0.113.9", "203.0.113.0/24"},
		{"2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"},
		{"2001:db8:1:2::1", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"::1", "::/64"},
	} {
		got, ok := ClientNetwork(netip.MustParseAddr(c.ip))
		if !ok || got.String() != c.want {
			t.Errorf("ClientNetwork(%s) = %v, %v; want %s", c.ip, got, ok, c.want)
		}
	}
	// Two addresses of one /64 are one client; the next /64 is another.
	a, _ := ClientNetwork(netip.MustParseAddr("2001:db8:1:2::1"))
	b, _ := ClientNetwork(netip.MustParseAddr("2001:db8:1:2:ffff:ffff:ffff:ffff"))
	c, _ := ClientNetwork(netip.MustParseAddr("2001:db8:1:3::1"))
	if a != b || a == c {
		t.Errorf("networks %v %v %v", a, b, c)
	}
	if p, ok := ClientNetwork(netip.Addr{}); ok || p.IsValid() {
		t.Errorf("ClientNetwork(invalid) = %v, %v; want no network", p, ok)
	}
}
