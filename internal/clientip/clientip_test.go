package clientip

import (
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// header is one header line; a test may send the same name several times.
type header struct{ name, value string }

func TestClientIP(t *testing.T) {
	trusted := mustParseTrusted(t, "10.0.0.0/8, 192.168.1.1, 2001:db8:ffff::/48")
	tests := []struct {
		name    string
		trusted []netip.Prefix
		remote  string
		headers []header
		want    string // "" is the zero Addr: the client is unknown
	}{
		// The peer, and when headers are ignored.
		{"without trusted proxies the peer is the client", nil, "203.0.113.7:5555", nil, "203.0.113.7"},
		{"without trusted proxies X-Forwarded-For is ignored", nil, "203.0.113.7:5555",
			[]header{{"X-Forwarded-For", "198.51.100.1"}}, "203.0.113.7"},
		{"without trusted proxies Forwarded is ignored", nil, "203.0.113.7:5555",
			[]header{{"Forwarded", "for=198.51.100.1"}}, "203.0.113.7"},
		{"without trusted proxies even a private peer's headers are ignored", nil, "10.0.0.2:5555",
			[]header{{"X-Forwarded-For", "198.51.100.1"}}, "10.0.0.2"},
		{"an untrusted peer's X-Forwarded-For is ignored", trusted, "203.0.113.7:5555",
			[]header{{"X-Forwarded-For", "10.0.0.3"}}, "203.0.113.7"},
		{"an untrusted peer's Forwarded is ignored", trusted, "203.0.113.7:5555",
			[]header{{"Forwarded", "for=192.168.1.1"}}, "203.0.113.7"},
		{"a trusted peer without headers is the client", trusted, "10.0.0.2:443", nil, "10.0.0.2"},

		// X-Forwarded-For from trusted proxies.
		{"a trusted peer's X-Forwarded-For names the client", trusted, "10.0.0.2:443",
			[]header{{"X-Forwarded-For", "203.0.113.7"}}, "203.0.113.7"},
		{"values the attacker prepended are ignored", trusted, "10.0.0.2:443",
			[]header{{"X-Forwarded-For", "6.6.6.6, 203.0.113.7"}}, "203.0.113.7"},
		{"a prepended trusted address does not fool the walk", trusted, "10.0.0.2:443",
			[]header{{"X-Forwarded-For", "10.9.9.9, 203.0.113.7"}}, "203.0.113.7"},
		{"a chain of two trusted proxies is walked past", trusted, "10.0.0.2:443",
			[]header{{"X-Forwarded-For", "6.6.6.6, 203.0.113.7, 192.168.1.1"}}, "203.0.113.7"},
		{"a chain of only trusted proxies gives the left-most", trusted, "10.0.0.2:443",
			[]header{{"X-Forwarded-For", "10.0.0.5, 192.168.1.1, 10.0.0.4"}}, "10.0.0.5"},
		{"garbage in the chain makes the client unknown", trusted, "10.0.0.2:443",
			[]header{{"X-Forwarded-For", "203.0.113.7, not-an-ip, 10.0.0.3"}}, ""},
		{"garbage right after the peer makes the client unknown", trusted, "10.0.0.2:443",
			[]header{{"X-Forwarded-For", "203.0.113.7, garbage"}}, ""},
		{"garbage left of the client does not matter", trusted, "10.0.0.2:443",
			[]header{{"X-Forwarded-For", "garbage, 203.0.113.7"}}, "203.0.113.7"},
		{"an empty entry makes the client unknown", trusted, "10.0.0.2:443",
			[]header{{"X-Forwarded-For", "203.0.113.7, , 10.0.0.3"}}, ""},
		{"unknown makes the client unknown", trusted, "10.0.0.2:443",
			[]header{{"X-Forwarded-For", "203.0.113.7, unknown"}}, ""},
		{"a host name makes the client unknown", trusted, "10.0.0.2:443",
			[]header{{"X-Forwarded-For", "203.0.113.7, proxy.example.com"}}, ""},
		{"a bad port makes the client unknown", trusted, "10.0.0.2:443",
			[]header{{"X-Forwarded-For", "203.0.113.7:99999"}}, ""},
		{"several X-Forwarded-For headers are one list in order", trusted, "10.0.0.2:443",
			[]header{{"X-Forwarded-For", "6.6.6.6"}, {"X-Forwarded-For", "203.0.113.7, 10.0.0.3"}}, "203.0.113.7"},
		{"the last X-Forwarded-For header is the nearest hop", trusted, "10.0.0.2:443",
			[]header{{"X-Forwarded-For", "203.0.113.7"}, {"X-Forwarded-For", "198.51.100.4"}}, "198.51.100.4"},
		{"an IPv4 entry loses its port", trusted, "10.0.0.2:443",
			[]header{{"X-Forwarded-For", "203.0.113.7:4711"}}, "203.0.113.7"},
		{"a bracketed IPv6 entry loses its port", trusted, "10.0.0.2:443",
			[]header{{"X-Forwarded-For", "[2001:db8::1]:4711"}}, "2001:db8::1"},
		{"a bare IPv6 entry is read", trusted, "10.0.0.2:443",
			[]header{{"X-Forwarded-For", "2001:db8::1"}}, "2001:db8::1"},
		{"an IPv4-mapped entry is unmapped", trusted, "10.0.0.2:443",
			[]header{{"X-Forwarded-For", "::ffff:203.0.113.7"}}, "203.0.113.7"},
		{"an IPv4-mapped trusted entry is walked past", trusted, "10.0.0.2:443",
			[]header{{"X-Forwarded-For", "203.0.113.7, ::ffff:10.0.0.3"}}, "203.0.113.7"},
		{"a zone is dropped", trusted, "10.0.0.2:443",
			[]header{{"X-Forwarded-For", "fe80::1%eth0"}}, "fe80::1"},
		{"IPv4 in brackets makes the client unknown", trusted, "10.0.0.2:443",
			[]header{{"X-Forwarded-For", "[203.0.113.7]:80"}}, ""},

		// Forwarded from trusted proxies.
		{"a trusted peer's Forwarded names the client", trusted, "10.0.0.2:443",
			[]header{{"Forwarded", "for=203.0.113.7"}}, "203.0.113.7"},
		{"Forwarded with a quoted IPv6 address and port", trusted, "10.0.0.2:443",
			[]header{{"Forwarded", `for="[2001:db8:cafe::17]:4711"`}}, "2001:db8:cafe::17"},
		{"Forwarded with a quoted IPv4 address and port and other parameters", trusted, "10.0.0.2:443",
			[]header{{"Forwarded", `proto=https;For="203.0.113.7:1234";by=10.0.0.2`}}, "203.0.113.7"},
		{"Forwarded with an obfuscated port", trusted, "10.0.0.2:443",
			[]header{{"Forwarded", `for="203.0.113.7:_x1"`}}, "203.0.113.7"},
		{"Forwarded values the attacker prepended are ignored", trusted, "10.0.0.2:443",
			[]header{{"Forwarded", "for=6.6.6.6, for=203.0.113.7;proto=https, for=10.0.0.3"}}, "203.0.113.7"},
		{"an attacker's unbalanced quote does not swallow the proxy's element", trusted, "10.0.0.2:443",
			[]header{{"Forwarded", `for="6.6.6.6, for=203.0.113.7`}}, "203.0.113.7"},
		{"several Forwarded headers are one list in order", trusted, "10.0.0.2:443",
			[]header{{"Forwarded", "for=6.6.6.6"}, {"Forwarded", "for=203.0.113.7, for=10.0.0.3"}}, "203.0.113.7"},
		{"Forwarded for=unknown makes the client unknown", trusted, "10.0.0.2:443",
			[]header{{"Forwarded", "for=203.0.113.7, for=unknown"}}, ""},
		{"an obfuscated identifier makes the client unknown", trusted, "10.0.0.2:443",
			[]header{{"Forwarded", "for=203.0.113.7, for=_hidden, for=10.0.0.3"}}, ""},
		{"an element without for makes the client unknown", trusted, "10.0.0.2:443",
			[]header{{"Forwarded", "for=203.0.113.7, proto=https"}}, ""},
		{"an element with two for parameters makes the client unknown", trusted, "10.0.0.2:443",
			[]header{{"Forwarded", "for=203.0.113.7;for=198.51.100.1"}}, ""},
		{"an IPv6 address without brackets makes the client unknown", trusted, "10.0.0.2:443",
			[]header{{"Forwarded", `for="2001:db8::1:4711"`}}, ""},
		{"Forwarded with an unquoted bracketed IPv6 address is read", trusted, "10.0.0.2:443",
			[]header{{"Forwarded", "for=[2001:db8::1]"}}, "2001:db8::1"},
		{"Forwarded with an escaped character in a quoted string is read", trusted, "10.0.0.2:443",
			[]header{{"Forwarded", `for="203.0.113\.7"`}}, "203.0.113.7"},
		{"Forwarded with an unterminated quote makes the client unknown", trusted, "10.0.0.2:443",
			[]header{{"Forwarded", `for="203.0.113.7`}}, ""},
		{"Forwarded with an empty value makes the client unknown", trusted, "10.0.0.2:443",
			[]header{{"Forwarded", `for=""`}}, ""},
		{"a chain of only trusted Forwarded hops gives the left-most", trusted, "10.0.0.2:443",
			[]header{{"Forwarded", `for=10.0.0.5, for="[2001:db8:ffff::9]"`}}, "10.0.0.5"},

		// Both headers.
		{"both headers naming the same client give that client", trusted, "10.0.0.2:443",
			[]header{{"X-Forwarded-For", "203.0.113.7"}, {"Forwarded", "for=203.0.113.7"}}, "203.0.113.7"},
		{"both headers agreeing after the trusted hops give that client", trusted, "10.0.0.2:443",
			[]header{{"X-Forwarded-For", "6.6.6.6, 203.0.113.7, 10.0.0.3"}, {"Forwarded", "for=203.0.113.7;proto=https, for=10.0.0.3"}}, "203.0.113.7"},
		{"a Forwarded header the proxy did not write makes the client unknown", trusted, "10.0.0.2:443",
			[]header{{"X-Forwarded-For", "203.0.113.7"}, {"Forwarded", "for=192.168.1.1"}}, ""},
		{"an X-Forwarded-For header the proxy did not write makes the client unknown", trusted, "10.0.0.2:443",
			[]header{{"Forwarded", "for=203.0.113.7"}, {"X-Forwarded-For", "198.51.100.1"}}, ""},
		{"a blank Forwarded header counts as absent", trusted, "10.0.0.2:443",
			[]header{{"X-Forwarded-For", "203.0.113.7"}, {"Forwarded", " "}}, "203.0.113.7"},

		// The peer's own address.
		{"an IPv4-mapped trusted peer is trusted", trusted, "[::ffff:10.0.0.2]:443",
			[]header{{"X-Forwarded-For", "203.0.113.7"}}, "203.0.113.7"},
		{"an IPv4-mapped untrusted peer is unmapped", trusted, "[::ffff:203.0.113.7]:443",
			[]header{{"X-Forwarded-For", "198.51.100.1"}}, "203.0.113.7"},
		{"an IPv6 trusted peer is trusted", trusted, "[2001:db8:ffff::1]:443",
			[]header{{"X-Forwarded-For", "2001:db8:1::5"}}, "2001:db8:1::5"},
		{"an IPv6 peer with a zone loses the zone", nil, "[fe80::1%eth0]:443", nil, "fe80::1"},
		{"a peer without a port is read", nil, "203.0.113.7", nil, "203.0.113.7"},
		{"a trusted peer without a port is trusted", trusted, "10.0.0.2",
			[]header{{"X-Forwarded-For", "203.0.113.7"}}, "203.0.113.7"},
		{"a bare IPv6 peer is read", nil, "2001:db8::1", nil, "2001:db8::1"},
		{"a bracketed IPv6 peer without a port is read", nil, "[2001:db8::1]", nil, "2001:db8::1"},
		{"a Unix socket peer is unknown", trusted, "@", []header{{"X-Forwarded-For", "203.0.113.7"}}, ""},
		{"an empty peer is unknown", nil, "", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", "http://gatehouse.test/login", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.RemoteAddr = tt.remote
			for _, h := range tt.headers {
				req.Header.Add(h.name, h.value)
			}
			got := New(tt.trusted).ClientIP(req)
			var want netip.Addr
			if tt.want != "" {
				want = netip.MustParseAddr(tt.want)
			}
			if got != want {
				t.Errorf("ClientIP(RemoteAddr %q, %v) = %v, want %v", tt.remote, tt.headers, got, want)
			}
		})
	}
}

func TestZeroResolverIgnoresHeaders(t *testing.T) {
	req, err := http.NewRequest("GET", "http://gatehouse.test/login", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.RemoteAddr = "10.0.0.2:443"
	req.Header.Set("X-Forwarded-For", "203.0.113.7")
	if got, want := new(Resolver).ClientIP(req), netip.MustParseAddr("10.0.0.2"); got != want {
		t.Errorf("ClientIP = %v, want %v", got, want)
	}
}

func TestNewUnmapsTrustedNetworks(t *testing.T) {
	req, err := http.NewRequest("GET", "http://gatehouse.test/login", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.RemoteAddr = "10.0.0.2:443"
	req.Header.Set("X-Forwarded-For", "203.0.113.7")
	r := New([]netip.Prefix{netip.MustParsePrefix("::ffff:10.0.0.0/104")})
	if got, want := r.ClientIP(req), netip.MustParseAddr("203.0.113.7"); got != want {
		t.Errorf("ClientIP = %v, want %v", got, want)
	}
}

func TestParseTrusted(t *testing.T) {
	tests := []struct {
		name    string
		csv     string
		want    []string
		wantErr string // a part of the error; "" means no error
	}{
		{"an empty list trusts nobody", "", nil, ""},
		{"blank entries are ignored", " , ,", nil, ""},
		{"networks and addresses are read", " 10.0.0.0/8 , 192.0.2.1,2001:db8::/32, 2001:db8::1",
			[]string{"10.0.0.0/8", "192.0.2.1/32", "2001:db8::/32", "2001:db8::1/128"}, ""},
		{"an IPv4-mapped network is read as IPv4", "::ffff:10.0.0.0/104", []string{"10.0.0.0/8"}, ""},
		{"an IPv4-mapped address is read as IPv4", "::ffff:192.0.2.1", []string{"192.0.2.1/32"}, ""},
		{"a host name is refused by name", "10.0.0.0/8, proxy.example.com", nil, `"proxy.example.com"`},
		{"a prefix too long is refused", "10.0.0.0/33", nil, `"10.0.0.0/33"`},
		{"host bits are refused with a suggestion", "10.0.0.1/8", nil, "did you mean 10.0.0.0/8"},
		{"every IPv4 address is refused", "0.0.0.0/0", nil, "every address"},
		{"every IPv6 address is refused", "::/0", nil, "every address"},
		{"an address with a zone is refused", "fe80::1%eth0", nil, "zone"},
		{"a range is refused", "10.0.0.1-10.0.0.9", nil, `"10.0.0.1-10.0.0.9"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTrusted(tt.csv)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseTrusted(%q) error = %v, want one containing %s", tt.csv, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTrusted(%q) error = %v, want nil", tt.csv, err)
			}
			var gotStr []string
			for _, p := range got {
				gotStr = append(gotStr, p.String())
			}
			if !slices.Equal(gotStr, tt.want) {
				t.Errorf("ParseTrusted(%q) = %v, want %v", tt.csv, gotStr, tt.want)
			}
		})
	}
}

func mustParseTrusted(t *testing.T, csv string) []netip.Prefix {
	t.Helper()
	p, err := ParseTrusted(csv)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The review's case: a proxy inside the clinic's network writes a hop that
// is not an address. The answer must not be the proxy's own address, which
// the clinic's skip network holds.
func TestAnUnreadableHopNeverGivesTheProxysAddress(t *testing.T) {
	r := New(mustParseTrusted(t, "10.0.0.0/8"))
	clinic := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	for _, hop := range []string{"unknown", "garbage", "_hidden", ""} {
		req, _ := http.NewRequest("GET", "/", nil)
		req.RemoteAddr = "10.0.0.2:443"
		req.Header.Set("X-Forwarded-For", "203.0.113.7, "+hop)
		got := r.ClientIP(req)
		if got.IsValid() {
			t.Errorf("hop %q: client %s, want unknown", hop, got)
		}
		for _, p := range clinic {
			if p.Contains(got) {
				t.Errorf("hop %q: %s is inside the skip network %s", hop, got, p)
			}
		}
	}
}

func TestFromTrustedProxy(t *testing.T) {
	trusted := mustParseTrusted(t, "10.0.0.0/8, ::1")
	tests := []struct {
		name    string
		trusted []netip.Prefix
		remote  string
		want    bool
	}{
		{"a peer inside a trusted network is a trusted proxy", trusted, "10.1.2.3:443", true},
		{"a trusted IPv6 peer is a trusted proxy", trusted, "[::1]:443", true},
		{"an IPv4-mapped trusted peer is a trusted proxy", trusted, "[::ffff:10.0.0.1]:443", true},
		{"a peer outside the networks is not", trusted, "203.0.113.7:5555", false},
		{"without trusted proxies no peer is", nil, "10.1.2.3:443", false},
		{"a Unix socket peer is not", trusted, "@", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", "http://gatehouse.test/auth/forward", nil)
			req.RemoteAddr = tc.remote
			// The forwarding headers never make a peer trusted.
			req.Header.Set("X-Forwarded-For", "10.0.0.9")
			if got := New(tc.trusted).FromTrustedProxy(req); got != tc.want {
				t.Errorf("FromTrustedProxy(%s) = %v, want %v", tc.remote, got, tc.want)
			}
		})
	}
}
