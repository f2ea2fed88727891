// Package clientip finds the address of the client behind a request
// (docs/design.md §4).
//
// The client address decides whether a sign-in may skip two-factor
// verification ("Skip two-factor verification from specific IP addresses")
// and which per-address throttles apply, so it must not be something the
// client can choose. It is the TCP peer of the connection, unless that peer is
// one of the operator's trusted proxies. Only then are the forwarding headers
// read, and only as far as trusted proxies wrote them: the chain is walked
// from the right (the hop nearest to us), past every address that is itself
// a trusted proxy, and the first address that is not one is the client.
// Whatever lies further left was written by the client or by proxies we do
// not know, and is never believed.
//
// # Which header
//
// Proxies write X-Forwarded-For (a comma-separated list of addresses) or
// RFC 7239 Forwarded (elements with for= parameters), sometimes both. Neither
// may simply take precedence: a proxy that maintains only one of them passes
// the other through from the client untouched, so "prefer Forwarded" lets a
// client behind an X-Forwarded-For proxy name any address it likes in a
// Forwarded header, and the other way round. Therefore:
//
//   - when only one of the two headers arrives, its chain is walked;
//   - when both arrive, both chains are walked and must name the same
//     client; if they do not, the client is unknown (the zero Addr), which
//     matches no network and is never allowed to skip anything.
//
// Operators should let their proxies maintain one of the two headers
// (X-Forwarded-For is what nginx, HAProxy, Traefik and the cloud load
// balancers write); a client that adds the other one then only makes itself
// unknown.
//
// # Entries in the chain
//
// Entries may carry a port (192.0.2.1:1234, [2001:db8::1]:4711, also an
// obfuscated Forwarded port such as :_abc); ports are dropped, and so are IPv6
// zones. IPv4-mapped IPv6 addresses are turned into IPv4. An entry that is not
// an address (garbage, an empty entry, "unknown", an obfuscated Forwarded
// identifier such as _hidden, a Forwarded element without for=) met before
// the client makes the client unknown (the zero Addr). Answering with the
// last trusted hop instead would hand out a proxy's own address, which sits
// inside the clinic's network more often than not: a skip network that
// holds the proxy would then let such a request skip the code.
//
// All headers of one name are read, in order, as one comma-joined list. Lists
// are split at every comma, even inside Forwarded's quoted strings: no value a
// proxy writes contains one, and a quote-aware split would let a client's
// unbalanced quote swallow the entries its proxy appends.
package clientip

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// Resolver finds client addresses. Its zero value and a Resolver with no
// trusted proxies ignore the forwarding headers completely.
type Resolver struct {
	trusted []netip.Prefix
}

// New returns a Resolver that believes the forwarding headers only from
// peers inside trusted. IPv4-mapped IPv6 networks are taken as their IPv4
// networks.
func New(trusted []netip.Prefix) *Resolver {
	r := &Resolver{trusted: make([]netip.Prefix, 0, len(trusted))}
	for _, p := range trusted {
		if !p.IsValid() {
			continue
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		r.trusted = append(r.trusted, p.Masked())
	}
	return r
}

// ParseTrusted parses the operator's list of trusted proxies: comma-separated
// networks in CIDR notation, where a bare address means that one address
// (/32 or /128). Blank entries are ignored. An entry that is not an address or
// a network, has host bits set, carries a zone, or trusts every address
// (0.0.0.0/0, ::/0: every client could then choose its own address) is
// refused with an error that quotes it.
func ParseTrusted(csv string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for raw := range strings.SplitSeq(csv, ",") {
		entry := strings.TrimSpace(raw)
		if entry == "" {
			continue
		}
		p, err := parseTrustedEntry(entry)
		if err != nil {
			return nil, fmt.Errorf("trusted proxies: %w", err)
		}
		out = append(out, p)
	}
	return out, nil
}

func parseTrustedEntry(entry string) (netip.Prefix, error) {
	if strings.Contains(entry, "%") {
		return netip.Prefix{}, fmt.Errorf("%q has a zone; write the address without it", entry)
	}
	if !strings.Contains(entry, "/") {
		a, err := netip.ParseAddr(entry)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an IP address or a network in CIDR notation (such as 10.0.0.0/8)", entry)
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(entry)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a network in CIDR notation (such as 10.0.0.0/8 or 2001:db8::/32)", entry)
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("%q has host bits set; did you mean %s?", entry, p.Masked())
	}
	if p.Addr().Is4In6() {
		p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
	}
	if p.Bits() == 0 {
		return netip.Prefix{}, fmt.Errorf("%q would trust every address, so any client could choose its own address", entry)
	}
	return p, nil
}

// ClientIP returns the address of the client that sent req: the TCP peer,
// or, when the peer is a trusted proxy, the right-most address in the
// forwarding chain that is not a trusted proxy (see the package comment). The
// address is unmapped and has no zone. It returns the zero Addr when the
// client cannot be known: RemoteAddr is not an address (a Unix socket),
// X-Forwarded-For and Forwarded disagree, or a trusted hop wrote something
// that is not an address. Callers must treat the zero Addr as
// "unknown": it matches no network.
func (r *Resolver) ClientIP(req *http.Request) netip.Addr {
	peer, ok := parseNode(req.RemoteAddr)
	if !ok {
		return netip.Addr{}
	}
	if !r.isTrusted(peer) {
		return peer
	}
	xff := req.Header.Values("X-Forwarded-For")
	fwd := req.Header.Values("Forwarded")
	hasXFF, hasFwd := present(xff), present(fwd)
	switch {
	case hasXFF && hasFwd:
		a, b := r.walk(peer, splitXFF(xff)), r.walk(peer, forwardedFor(fwd))
		if a != b {
			return netip.Addr{}
		}
		return a
	case hasFwd:
		return r.walk(peer, forwardedFor(fwd))
	case hasXFF:
		return r.walk(peer, splitXFF(xff))
	}
	return peer
}

// FromTrustedProxy reports whether req came straight from one of the
// trusted proxies, so that what its forwarding headers say of the original
// request (X-Forwarded-Host, -Proto, -Uri) may be believed. A Unix socket
// peer is not a trusted proxy.
func (r *Resolver) FromTrustedProxy(req *http.Request) bool {
	peer, ok := parseNode(req.RemoteAddr)
	return ok && r.isTrusted(peer)
}

// walk goes through chain from the right, starting at the trusted peer,
// and returns the first address that is not a trusted proxy, the left-most
// hop when every hop is trusted, or the zero Addr when it meets something
// that is not an address first.
func (r *Resolver) walk(peer netip.Addr, chain []string) netip.Addr {
	last := peer
	for i := len(chain) - 1; i >= 0; i-- {
		a, ok := parseNode(chain[i])
		if !ok {
			return netip.Addr{}
		}
		if !r.isTrusted(a) {
			return a
		}
		last = a
	}
	return last
}

func (r *Resolver) isTrusted(a netip.Addr) bool {
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// present reports whether a header has any non-blank value.
func present(values []string) bool {
	for _, v := range values {
		if strings.TrimSpace(v) != "" {
			return true
		}
	}
	return false
}

// splitXFF returns the entries of all X-Forwarded-For headers, left to right.
func splitXFF(values []string) []string {
	var out []string
	for _, v := range values {
		for e := range strings.SplitSeq(v, ",") {
			out = append(out, strings.Trim(e, " \t"))
		}
	}
	return out
}

// parseNode parses one hop: an IP address with an optional port, IPv6 in
// brackets when it has a port. The result is unmapped and without a zone.
func parseNode(s string) (netip.Addr, bool) {
	host := s
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return netip.Addr{}, false
		}
		host = s[1:end]
		if rest := s[end+1:]; rest != "" {
			port, ok := strings.CutPrefix(rest, ":")
			if !ok || !isPort(port) {
				return netip.Addr{}, false
			}
		}
	} else if strings.Count(s, ":") == 1 { // IPv4 with a port; bare IPv6 has several colons
		var port string
		host, port, _ = strings.Cut(s, ":")
		if !isPort(port) {
			return netip.Addr{}, false
		}
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	if strings.HasPrefix(s, "[") && !a.Is6() {
		return netip.Addr{}, false // [192.0.2.1] is not a thing
	}
	return a.Unmap().WithZone(""), true
}

// isPort reports whether s is a port number or an RFC 7239 obfuscated port
// ("_" followed by letters, digits, ".", "_" or "-").
func isPort(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == '_' {
		return len(s) > 1 && strings.Trim(s[1:], obfChars) == ""
	}
	if len(s) > 5 {
		return false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n <= 65535
}

const obfChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"
