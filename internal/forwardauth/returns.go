package forwardauth

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
)

// Returns is where a sign-in may send the browser back to, and which sites
// forward-auth answers for: Gatehouse's own host and the hosts the
// operator allows (GATEHOUSE_ALLOWED_RETURN_HOSTS). Anything else is
// refused, so no address of Gatehouse redirects to a site an attacker
// chose. Ports are not compared: the operator names hosts.
type Returns struct {
	public *url.URL
	exact  []string // host names, lower-case
	suffix []string // ".acme.test": acme.test and every host under it
}

// NewReturns allows the host of public (Gatehouse's public URL) and hosts.
// Over https only https addresses are allowed: a browser would not send
// the Secure session cookie back over plain http anyway.
func NewReturns(public *url.URL, hosts []string) (*Returns, error) {
	if public == nil || public.Host == "" {
		return nil, errors.New("forwardauth: the public URL is required")
	}
	r := &Returns{public: public, exact: []string{strings.ToLower(public.Hostname())}}
	for _, h := range hosts {
		if strings.HasPrefix(h, ".") {
			r.suffix = append(r.suffix, h)
		} else {
			r.exact = append(r.exact, h)
		}
	}
	return r, nil
}

// ParseHosts parses the operator's list of allowed return hosts:
// comma-separated host names ("app.acme.test") and suffix rules that start
// with a dot (".acme.test": acme.test itself and every host under it).
// Blank entries are ignored. An entry with a scheme, port, path or
// wildcard, an IP address in a suffix rule, or a suffix of one label
// (".test": every site of a top-level domain) is refused with an error
// that quotes it. Names are lower-cased.
func ParseHosts(csv string) ([]string, error) {
	var out []string
	for raw := range strings.SplitSeq(csv, ",") {
		entry := strings.ToLower(strings.TrimSpace(raw))
		if entry == "" {
			continue
		}
		name := strings.TrimPrefix(entry, ".")
		if !validHostname(name) {
			return nil, fmt.Errorf("allowed return hosts: %q is not a host name such as app.example.com, nor a suffix rule such as .example.com", raw)
		}
		if name != entry {
			if net.ParseIP(name) != nil || !strings.Contains(name, ".") {
				return nil, fmt.Errorf("allowed return hosts: %q would allow too much: a suffix rule names a domain of at least two labels, such as .example.com", raw)
			}
		}
		out = append(out, entry)
	}
	return out, nil
}

// validHostname reports whether s is a DNS name (letters, digits, hyphens
// and dots, labels of 1 to 63 characters) or an IPv4 address.
func validHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
				return false
			}
		}
	}
	return true
}

// AllowedHost reports whether forward-auth answers for host (a Host or
// X-Forwarded-Host value, with or without a port).
func (r *Returns) AllowedHost(host string) bool {
	_, ok := r.allowedName(host)
	return ok
}

// allowedName is AllowedHost that also returns the host's lower-case name
// (hostName), read once.
func (r *Returns) allowedName(host string) (string, bool) {
	name, ok := hostName(host)
	if !ok {
		return "", false
	}
	if slices.Contains(r.exact, name) {
		return name, true
	}
	for _, s := range r.suffix {
		if name == s[1:] || strings.HasSuffix(name, s) {
			return name, true
		}
	}
	return "", false
}

// hostName returns the lower-case host name of a host[:port], or false
// when it is not one (userinfo, a path, an empty or malformed name).
func hostName(host string) (string, bool) {
	u, err := url.Parse("http://" + host)
	if err != nil || u.Host != host || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
		return "", false
	}
	name := strings.ToLower(u.Hostname())
	if !validHostname(name) && net.ParseIP(name) == nil {
		return "", false
	}
	return name, true
}

// Check returns raw when a sign-in may send the browser there: a path on
// Gatehouse itself ("/account", never "//host" or "/\host", which browsers
// take for another site), or an absolute http(s) address of an allowed
// host, https when Gatehouse is served over https, without userinfo.
func (r *Returns) Check(raw string) (string, bool) {
	if raw == "" || len(raw) > 2048 || strings.ContainsFunc(raw, unsafeInURL) {
		return "", false
	}
	if strings.HasPrefix(raw, "/") {
		if strings.HasPrefix(raw, "//") {
			return "", false
		}
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "" || u.Host != "" {
			return "", false
		}
		return raw, true
	}
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || u.Opaque != "" || !r.AllowedHost(u.Host) {
		return "", false
	}
	switch u.Scheme {
	case "https":
	case "http":
		if r.public.Scheme == "https" {
			return "", false
		}
	default:
		return "", false
	}
	return u.String(), true
}

// CSPSources are the Content-Security-Policy sources of the allowed hosts,
// any port and the page's scheme. Browsers check a form's redirect against
// form-action: after the sign-in form, the redirect to the application
// must be allowed there.
func (r *Returns) CSPSources() []string {
	var out []string
	for _, h := range r.exact[1:] {
		out = append(out, h+":*")
	}
	for _, s := range r.suffix {
		out = append(out, s[1:]+":*", "*"+s+":*")
	}
	return out
}

// unsafeInURL is a character a return URL never holds: spaces and controls
// (which browsers strip, turning "/\t/evil.test" into "//evil.test") and the
// backslash (which they read as a slash).
func unsafeInURL(c rune) bool { return c <= ' ' || c == 0x7f || c == '\\' }
