package gatehouse

import "net/netip"

// Client networks: the send caps count clients by the network they sit in
// rather than by their exact address, because one attacker holds a whole
// IPv6 /64 (the smallest prefix a site is given; SLAAC picks any address in
// it) and often many IPv4 addresses side by side (docs/design.md §12).
const (
	ClientNetworkBitsIPv4 = 24
	ClientNetworkBitsIPv6 = 64
)

// ClientNetwork is the network the per-client send caps key ip by: its /24
// for IPv4 (an IPv4-mapped IPv6 address counts as IPv4) and its /64 for
// IPv6, with any zone dropped. ok is false for an invalid address, which
// must not be lumped together with every other unknown client.
func ClientNetwork(ip netip.Addr) (p netip.Prefix, ok bool) {
	if !ip.IsValid() {
		return netip.Prefix{}, false
	}
	ip = ip.Unmap().WithZone("")
	bits := ClientNetworkBitsIPv6
	if ip.Is4() {
		bits = ClientNetworkBitsIPv4
	}
	p, err := ip.Prefix(bits)
	if err != nil {
		return netip.Prefix{}, false
	}
	return p, true
}
