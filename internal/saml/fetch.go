package saml

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrBlockedAddress is wrapped when a metadata fetch would connect to an
// address the FetchPolicy does not allow: loopback, private, link-local or
// otherwise not a public unicast address, whether the URL named it, a
// redirect led there or the name resolved to it.
var ErrBlockedAddress = errors.New("the address is not a public internet address")

// FetchPolicy says where IdP metadata may be fetched from. The zero value is
// the production policy: https only, to public unicast addresses only, and
// no proxy from the environment (a proxy would make the address checked
// the proxy's, not the IdP's).
//
// The address is checked in the dialer's Control function, on the address
// actually dialled after name resolution, for the first request and every
// redirect alike, so a name that resolves to a private address (DNS
// rebinding, a redirect to http://169.254.169.254/) cannot pass.
type FetchPolicy struct {
	// AllowPrivate (development mode only) allows loopback, private and
	// link-local addresses too, and plain http to a loopback host.
	AllowPrivate bool
	// RootCAs replaces the system's roots when set (tests, a private CA).
	RootCAs *x509.CertPool

	// public overrides isPublicAddr in tests, which have no public server.
	public func(netip.Addr) bool
}

// Bounds of one metadata fetch, besides MetadataFetchTimeout overall and
// MaxMetadataSize for the body.
const (
	fetchDialTimeout      = 5 * time.Second
	fetchHeaderTimeout    = 5 * time.Second
	fetchMaxHeaderBytes   = 64 << 10
	fetchTLSHandshakeTime = 5 * time.Second
)

// client is the http.Client of one fetch: a fresh transport with no proxy,
// no keep-alive, and the address check in its dialer.
func (p FetchPolicy) client() *http.Client {
	allowed := p.public
	if allowed == nil {
		allowed = isPublicAddr
	}
	dialer := &net.Dialer{
		Timeout: fetchDialTimeout,
		Control: func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("dial %s: %w", address, ErrBlockedAddress)
			}
			if a := ap.Addr().Unmap(); !p.AllowPrivate && !allowed(a) {
				return fmt.Errorf("dial %s: %w", a, ErrBlockedAddress)
			}
			return nil
		},
	}
	return &http.Client{
		Timeout: MetadataFetchTimeout,
		Transport: &http.Transport{
			Proxy:                  nil,
			DialContext:            dialer.DialContext,
			TLSClientConfig:        &tls.Config{RootCAs: p.RootCAs, MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout:    fetchTLSHandshakeTime,
			ResponseHeaderTimeout:  fetchHeaderTimeout,
			MaxResponseHeaderBytes: fetchMaxHeaderBytes,
			DisableKeepAlives:      true,
			ForceAttemptHTTP2:      true,
		},
	}
}

// nonPublic are the ranges isPublicAddr refuses beyond what netip's
// predicates name: shared (carrier-grade NAT), "this network", benchmarking,
// documentation, IPv4-mapped and NAT64 forms of IPv4 (which could reach any
// IPv4 address), and the deprecated site-local IPv6 range.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("2002::/16"),
	netip.MustParsePrefix("fec0::/10"),
	netip.MustParsePrefix("::ffff:0:0/96"),
}

// isPublicAddr reports whether a is a global unicast address that is not in
// a private, shared, reserved or translated range.
func isPublicAddr(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || !a.IsGlobalUnicast() || a.IsPrivate() || a.IsLoopback() ||
		a.IsLinkLocalUnicast() || a.IsMulticast() || a.IsUnspecified() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// checkScheme applies the policy's scheme rule to a URL about to be
// fetched (the first one or a redirect): https always, plain http only to a
// loopback host and only when private addresses are allowed.
func (p FetchPolicy) checkScheme(scheme, host string) error {
	switch {
	case scheme == "https":
		return nil
	case scheme == "http" && p.AllowPrivate && isLoopback(host):
		return nil
	case scheme == "http":
		return fmt.Errorf("plain http to %q", host)
	default:
		return fmt.Errorf("scheme %q", scheme)
	}
}
