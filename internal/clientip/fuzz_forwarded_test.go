package clientip

import (
	"net/http"
	"net/netip"
	"testing"
)

// FuzzForwardedFor fuzzes X-Forwarded-For as a client writes it, behind a
// trusted proxy that appends the address it saw: whatever the client
// prepends, the answer is the proxy's entry; and for any chain the answer is
// unknown or the right-most entry that is not a trusted proxy, never one
// the client could put further left.
func FuzzForwardedFor(f *testing.F) {
	f.Add("6.6.6.6")
	f.Add("1.2.3.4, 10.0.0.9")
	f.Add(", ,,\t")
	f.Add("[2001:db8::1]:443, 10.0.0.3:80")
	f.Add("garbage, 203.0.113.7")
	f.Add("::ffff:10.0.0.1, fe80::1%eth0")
	r := New(mustParsePrefixes("10.0.0.0/8", "2001:db8:ffff::/48"))
	proxySaw := netip.MustParseAddr("203.0.113.5")
	f.Fuzz(func(t *testing.T, clientXFF string) {
		// The client's header, and the proxy's entry appended to it.
		req := &http.Request{RemoteAddr: "10.0.0.1:443", Header: http.Header{}}
		req.Header.Set("X-Forwarded-For", clientXFF+", "+proxySaw.String())
		if got := r.ClientIP(req); got != proxySaw {
			t.Fatalf("X-Forwarded-For %q + the proxy's entry: ClientIP = %v, want %v", clientXFF, got, proxySaw)
		}

		// The client's header as the whole chain.
		req.Header.Set("X-Forwarded-For", clientXFF)
		got := r.ClientIP(req)
		entries := splitXFF([]string{clientXFF})
		if !present([]string{clientXFF}) {
			if got != netip.MustParseAddr("10.0.0.1") {
				t.Fatalf("a blank X-Forwarded-For: ClientIP = %v, want the peer", got)
			}
			return
		}
		want := netip.MustParseAddr("10.0.0.1")
		for i := len(entries) - 1; i >= 0; i-- {
			a, ok := parseNode(entries[i])
			if !ok {
				want = netip.Addr{}
				break
			}
			want = a
			if !r.isTrusted(a) {
				break
			}
		}
		if got != want {
			t.Fatalf("X-Forwarded-For %q: ClientIP = %v, want %v (the right-most untrusted entry)", clientXFF, got, want)
		}
		if got.IsValid() && (got.Is4In6() || got.Zone() != "") {
			t.Fatalf("ClientIP = %v: not unmapped and zone-free", got)
		}
	})
}
