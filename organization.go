package gatehouse

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"
)

// OTPMethod is how one-time codes reach the user.
type OTPMethod string

const (
	OTPEmail OTPMethod = "email"
	OTPSMS   OTPMethod = "sms"
)

// AuthMethod is how the users of an organization prove who they are.
type AuthMethod string

const (
	AuthPassword AuthMethod = "password"
	AuthLDAP     AuthMethod = "ldap"
	AuthSAML2    AuthMethod = "saml2"
)

// Bounds of the password settings (docs/design.md §3).
const (
	DefaultRememberDays = 30
	MaxRememberDays     = 365
	MaxSkipNetworks     = 100
)

// Organization is one tenant: a clinic, a practice, an office. Nothing of one
// organization is reachable through another's slug or ids.
type Organization struct {
	ID   string
	Slug string
	Name string
	// TimeZone is the IANA zone its times are shown in ("" for the
	// server's); Country the ISO 3166-1 alpha-2 code that numbers typed
	// without a country code are read in ("" for none).
	TimeZone string
	Country  string
	// GroupID is the organization group it belongs to ("" for none):
	// the group's admins administer it (group.go).
	GroupID   string
	Settings  PasswordSettings
	CreatedAt time.Time
	UpdatedAt time.Time
}

// PasswordSettings are the organization's sign-in rules, as the admin sets
// them under Settings > Users > Password settings.
type PasswordSettings struct {
	// EnforceTwoFactor is "Enforce two-factor authentication for all users in
	// this organization".
	EnforceTwoFactor bool
	// OTPMethod is the "One-time passcode retrieval method".
	OTPMethod OTPMethod
	// SkipNetworks is "Skip two-factor verification from specific IP
	// addresses", in CIDR notation.
	SkipNetworks []netip.Prefix
	// RememberDays is how long a verification is remembered on a browser;
	// 0 asks for a code at every sign-in.
	RememberDays int
	// AuthMethod is password, LDAP or SAML2; with LDAP or SAML2 two-factor
	// authentication is not available.
	AuthMethod AuthMethod
}

// DefaultPasswordSettings are the settings of a new organization: safe by
// default, two-factor authentication enforced by e-mail, which needs no
// set-up and no phone numbers.
func DefaultPasswordSettings() PasswordSettings {
	return PasswordSettings{
		EnforceTwoFactor: true,
		OTPMethod:        OTPEmail,
		RememberDays:     DefaultRememberDays,
		AuthMethod:       AuthPassword,
	}
}

// Validate checks the settings as a whole. It returns an *Error naming the
// first bad field; the caller saves nothing then.
func (s PasswordSettings) Validate() error {
	switch s.OTPMethod {
	case OTPEmail, OTPSMS:
	default:
		return FieldReason("otp_method", ReasonOTPMethodInvalid, "otp_method must be \"sms\" or \"email\", not %q.", string(s.OTPMethod))
	}
	switch s.AuthMethod {
	case AuthPassword, AuthLDAP, AuthSAML2:
	default:
		return FieldReason("auth_method", ReasonAuthMethodInvalid, "auth_method must be \"password\", \"ldap\" or \"saml2\", not %q.", string(s.AuthMethod))
	}
	if s.RememberDays < 0 || s.RememberDays > MaxRememberDays {
		return FieldReason("remember_days", ReasonRememberDaysRange, "remember_days must be between 0 and %d.", MaxRememberDays)
	}
	if len(s.SkipNetworks) > MaxSkipNetworks {
		return tooManyNetworks()
	}
	for _, p := range s.SkipNetworks {
		if err := checkSkipNetwork(p, p.String()); err != nil {
			return err
		}
	}
	if err := checkSkipUnion(s.SkipNetworks, nil); err != nil {
		return err
	}
	if s.EnforceTwoFactor && s.AuthMethod != AuthPassword {
		return &Error{Code: ETWOFACTORUNAVAIL, Field: "enforce_two_factor", Reason: ReasonTwoFactorFederated,
			Message: "Two-factor authentication is not available with LDAP or SAML2 sign-in."}
	}
	return nil
}

// ParseSkipNetworks parses the entries of "Skip two-factor verification from
// specific IP addresses" as typed by an admin. An entry that is not a network
// in CIDR notation, has host bits set, or lets everyone skip is refused with
// an invalid_network error that quotes it. Blank entries are ignored.
func ParseSkipNetworks(entries []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	var typed []string // as typed, beside out
	seen := make(map[netip.Prefix]bool)
	for _, raw := range entries {
		entry := strings.TrimSpace(raw)
		if entry == "" {
			continue
		}
		if !strings.Contains(entry, "/") {
			return nil, networkError(raw, ReasonNetworkNotCIDR, nil, "%q is not in CIDR notation: write a network such as 192.0.2.0/24, or 192.0.2.7/32 for one address.")
		}
		p, err := netip.ParsePrefix(entry)
		if err != nil {
			return nil, networkError(raw, ReasonNetworkInvalid, nil, "%q is not a network in CIDR notation, such as 192.0.2.0/24 or 2001:db8::/48.")
		}
		if err := checkSkipNetwork(p, raw); err != nil {
			return nil, err
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
			typed = append(typed, raw)
		}
	}
	if len(out) > MaxSkipNetworks {
		return nil, tooManyNetworks()
	}
	if err := checkSkipUnion(out, typed); err != nil {
		return nil, err
	}
	return out, nil
}

// checkSkipUnion refuses networks that are each fine but together cover
// every IPv4 or every IPv6 address (0.0.0.0/1 with 128.0.0.0/1, say): that
// would let everyone skip two-factor verification as surely as 0.0.0.0/0.
// typed, when not nil, gives each network as the admin wrote it; the error
// quotes the entry that completes the cover.
func checkSkipUnion(networks []netip.Prefix, typed []string) error {
	for _, family := range []struct {
		v4   bool
		name string
	}{{true, "IPv4"}, {false, "IPv6"}} {
		i := coveringEntry(networks, family.v4)
		if i < 0 {
			continue
		}
		entry := networks[i].String()
		if typed != nil {
			entry = typed[i]
		}
		return networkError(entry, ReasonNetworkUnion, []any{family.name},
			"%q and the other networks listed would together let every %s address skip two-factor verification.")
	}
	return nil
}

// coveringEntry returns the index of the network that completes a cover of
// the whole IPv4 (or IPv6) space, or -1 when some address is left out. It
// sorts a copy by first address and walks it, keeping the first address
// not yet covered.
func coveringEntry(networks []netip.Prefix, v4 bool) int {
	idx := make([]int, 0, len(networks))
	for i, p := range networks {
		if p.Addr().Is4() == v4 {
			idx = append(idx, i)
		}
	}
	slices.SortFunc(idx, func(a, b int) int { return networks[a].Addr().Compare(networks[b].Addr()) })
	next := netip.IPv6Unspecified()
	if v4 {
		next = netip.IPv4Unspecified()
	}
	last := -1 // the entry that reached furthest
	for _, i := range idx {
		p := networks[i]
		if p.Addr().Compare(next) > 0 {
			return -1 // a gap before p
		}
		end := lastAddr(p)
		if end.Compare(next) < 0 {
			continue // inside what is covered already
		}
		last = i
		n := end.Next()
		if !n.IsValid() {
			return last // end was the last address of the space
		}
		next = n
	}
	return -1
}

// lastAddr is the highest address inside p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for bit := p.Bits(); bit < len(b)*8; bit++ {
		b[bit/8] |= 0x80 >> (bit % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func checkSkipNetwork(p netip.Prefix, raw string) error {
	if !p.IsValid() {
		return networkError(raw, ReasonNetworkInvalid, nil, "%q is not a network in CIDR notation.")
	}
	if p.Masked() != p {
		return networkError(raw, ReasonNetworkHostBits, []any{p.Masked().String()}, "%q has host bits set; did you mean %s?")
	}
	if p.Bits() == 0 {
		return networkError(raw, ReasonNetworkEveryone, nil, "%q would let every address skip two-factor verification.")
	}
	if p.Addr().Is4In6() {
		return networkError(raw, ReasonNetworkMapped, []any{netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0)).String()},
			"%q is an IPv4-mapped IPv6 network; write it as IPv4 (%s).")
	}
	return nil
}

func tooManyNetworks() *Error {
	return FieldReason("skip_networks", ReasonNetworkTooMany, "At most %d networks may skip two-factor verification.", MaxSkipNetworks)
}

// networkError refuses one entry of a list of networks. The entry is quoted
// as typed, less the line break of a CRLF line; it is {0} of the reason's
// text, and more are {1}, … (format has the same: %q, then %s each).
func networkError(raw, reason string, more []any, format string) *Error {
	entry := strings.TrimRight(raw, "\r\n")
	args := append([]any{entry}, more...)
	return &Error{Code: EINVALIDNETWORK, Reason: reason, Args: args, Field: "skip_networks", Entry: entry, Message: fmt.Sprintf(format, args...)}
}

// SkipNetworkMatch reports whether addr is inside one of the networks.
// IPv4-mapped IPv6 addresses match their IPv4 networks.
func SkipNetworkMatch(networks []netip.Prefix, addr netip.Addr) (netip.Prefix, bool) {
	addr = addr.Unmap().WithZone("")
	for _, p := range networks {
		if p.Contains(addr) {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

var slugRE = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)

// ValidateSlug checks an organization slug: 1 to 63 lower-case letters,
// digits and inner hyphens, so it is safe in a URL path.
func ValidateSlug(slug string) error {
	if !slugRE.MatchString(slug) {
		return FieldReason("slug", ReasonSlugInvalid, "The organization slug must be 1 to 63 lower-case letters, digits or hyphens, not starting or ending with a hyphen.")
	}
	return nil
}

// MaxOrganizationName bounds an organization's display name, in bytes.
const MaxOrganizationName = 200

// ValidateOrgName checks an organization's display name.
func ValidateOrgName(name string) error {
	name = strings.TrimSpace(name)
	if name == "" {
		return FieldReason("name", ReasonOrgNameRequired, "The organization name is required.")
	}
	if len(name) > MaxOrganizationName {
		return FieldReason("name", ReasonOrgNameTooLong, "The organization name is longer than %d characters.", MaxOrganizationName)
	}
	return nil
}
