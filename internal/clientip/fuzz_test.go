package clientip

import (
	"net/http"
	"net/netip"
	"testing"
)

// FuzzClientIP checks what must hold for any headers: no panic, the answer
// is unmapped and zone-free, and an untrusted peer is always the answer.
func FuzzClientIP(f *testing.F) {
	f.Add("10.0.0.2:443", "6.6.6.6, 203.0.113.7", `for="[2001:db8::1]:4711";proto=https`)
	f.Add("203.0.113.9:443", "10.0.0.3", "for=10.0.0.3")
	f.Add("[::ffff:10.0.0.2]:1", "garbage,,", `for="unterminated, for=_x`)
	r := New(mustParsePrefixes("10.0.0.0/8", "2001:db8:ffff::/48"))
	f.Fuzz(func(t *testing.T, remote, xff, fwd string) {
		req := &http.Request{RemoteAddr: remote, Header: http.Header{}}
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		if fwd != "" {
			req.Header.Set("Forwarded", fwd)
		}
		got := r.ClientIP(req)
		if got.Is4In6() || got.Zone() != "" {
			t.Errorf("ClientIP = %v, want unmapped and without a zone", got)
		}
		if peer, ok := parseNode(remote); ok && !r.isTrusted(peer) && got != peer {
			t.Errorf("ClientIP with untrusted peer %v = %v, want the peer", peer, got)
		}
	})
}

func mustParsePrefixes(s ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range s {
		out = append(out, netip.MustParsePrefix(p))
	}
	return out
}
