package mail

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// Security says how the connection to the SMTP server is protected.
type Security int

const (
	// StartTLS connects in plain text and upgrades with STARTTLS before
	// anything else is said. A server that does not offer STARTTLS is an
	// error: falling back to plain text would let anyone on the path strip
	// the upgrade and read the password and the codes. It is the zero value
	// so that a Config built by hand is safe by default.
	StartTLS Security = iota
	// ImplicitTLS speaks TLS from the first byte (smtps, usually port 465).
	ImplicitTLS
	// NoTLS sends everything in plain text. Config.Validate allows it only
	// to a loopback host, where nothing crosses a network.
	NoTLS
)

func (s Security) String() string {
	switch s {
	case StartTLS:
		return "starttls"
	case ImplicitTLS:
		return "implicit-tls"
	case NoTLS:
		return "none"
	default:
		return "Security(" + strconv.Itoa(int(s)) + ")"
	}
}

// Default ports: submission with STARTTLS (RFC 6409) and submissions with
// implicit TLS (RFC 8314).
const (
	DefaultPort    = 587
	DefaultTLSPort = 465
)

// Config is where and how to reach the SMTP server, as given by
// GATEHOUSE_SMTP_URL. Its String, GoString and LogValue forms hide the
// password, so a Config can be printed or logged without leaking it.
type Config struct {
	Host     string
	Port     int
	Security Security
	// Username and Password are sent with SMTP AUTH when Username is set.
	Username string
	Password string
}

// ParseURL reads GATEHOUSE_SMTP_URL:
//
//	smtp://user:pass@host:587            STARTTLS, required
//	smtps://user:pass@host:465           implicit TLS
//	smtp://host:port?tls=none            plain text, loopback hosts only
//
// The port defaults to 587 for smtp and 465 for smtps. The user name and
// password are percent-decoded, so a password with '@', ':' or '/' in it is
// written percent-encoded. The only query parameter is tls=none. Errors
// never contain the password.
func ParseURL(raw string) (*Config, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, errors.New("mail: the SMTP URL is empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse quotes the whole input in its error, password included,
		// and even its inner error can quote a piece of the password (an
		// invalid escape), so say only what to check.
		return nil, errors.New("mail: the SMTP URL is not a valid URL (special characters in the user name or password must be percent-encoded)")
	}
	cfg := &Config{}
	switch strings.ToLower(u.Scheme) {
	case "smtp":
		cfg.Security, cfg.Port = StartTLS, DefaultPort
	case "smtps":
		cfg.Security, cfg.Port = ImplicitTLS, DefaultTLSPort
	case "":
		return nil, errors.New("mail: the SMTP URL has no scheme: write smtp://host:587 or smtps://host:465")
	default:
		return nil, fmt.Errorf("mail: the SMTP URL scheme %q is not supported: use smtp (STARTTLS) or smtps (implicit TLS)", u.Scheme)
	}
	if u.Opaque != "" {
		return nil, fmt.Errorf("mail: the SMTP URL must look like %s://host:port", u.Scheme)
	}
	cfg.Host = u.Hostname()
	if cfg.Host == "" {
		return nil, errors.New("mail: the SMTP URL has no host")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("mail: the SMTP URL port %q is not a number from 1 to 65535", p)
		}
		cfg.Port = n
	}
	if u.Path != "" && u.Path != "/" {
		return nil, errors.New("mail: the SMTP URL must not have a path")
	}
	if u.Fragment != "" {
		return nil, errors.New("mail: the SMTP URL must not have a fragment (#...)")
	}
	if u.User != nil {
		cfg.Username = u.User.Username()
		cfg.Password, _ = u.User.Password()
		if cfg.Username == "" {
			return nil, errors.New("mail: the SMTP URL has a password but no user name")
		}
		if cfg.Password == "" {
			return nil, errors.New("mail: the SMTP URL has a user name but no password")
		}
	}
	if err := parseQuery(u.RawQuery, cfg); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func parseQuery(rawQuery string, cfg *Config) error {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return errors.New("mail: the SMTP URL query is malformed")
	}
	for key, values := range q {
		if key != "tls" {
			return fmt.Errorf("mail: the SMTP URL query parameter %q is not known (the only one is tls=none)", key)
		}
		if len(values) != 1 || values[0] != "none" {
			return errors.New("mail: the SMTP URL query must be tls=none or absent")
		}
		if cfg.Security == ImplicitTLS {
			return errors.New("mail: tls=none contradicts smtps://; use smtp://host:port?tls=none for a plain local relay")
		}
		cfg.Security = NoTLS
	}
	return nil
}

// Validate reports whether cfg is usable. New calls it too, so a Config
// built by hand cannot bypass the loopback rule for plain text.
func (c *Config) Validate() error {
	if c == nil {
		return errors.New("mail: no SMTP configuration")
	}
	if c.Host == "" {
		return errors.New("mail: the SMTP host is empty")
	}
	if c.Port < 1 || c.Port > 65535 {
		return fmt.Errorf("mail: the SMTP port %d is not from 1 to 65535", c.Port)
	}
	switch c.Security {
	case StartTLS, ImplicitTLS:
	case NoTLS:
		if !isLoopback(c.Host) {
			return fmt.Errorf("mail: tls=none would send the SMTP password and the sign-in codes unencrypted over the network, so it is allowed only to a loopback host (localhost, 127.0.0.1, ::1), not %q; use STARTTLS (smtp://) or implicit TLS (smtps://)", c.Host)
		}
	default:
		return fmt.Errorf("mail: unknown SMTP security %d", int(c.Security))
	}
	if c.Password != "" && c.Username == "" {
		return errors.New("mail: an SMTP password needs a user name")
	}
	return nil
}

// isLoopback reports whether host names this machine without any lookup:
// "localhost" or a literal loopback address. Other names are refused even
// if they resolve to 127.0.0.1 today, because DNS can change under us.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.Unmap().IsLoopback()
}

// Addr is host:port, with IPv6 hosts in brackets.
func (c Config) Addr() string {
	return net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
}

// String is the configuration as a URL with the password replaced by
// "xxxxx", fit for logs and error messages. String, GoString and LogValue
// have value receivers so that a Config printed by value hides it too.
func (c Config) String() string {
	u := url.URL{Scheme: "smtp", Host: c.Addr()}
	if c.Security == ImplicitTLS {
		u.Scheme = "smtps"
	}
	if c.Security == NoTLS {
		u.RawQuery = "tls=none"
	}
	if c.Username != "" {
		if c.Password != "" {
			u.User = url.UserPassword(c.Username, "xxxxx")
		} else {
			u.User = url.User(c.Username)
		}
	}
	return u.String()
}

// GoString keeps %#v from printing the password.
func (c Config) GoString() string { return "mail.Config(" + c.String() + ")" }

// LogValue keeps log/slog from printing the password.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }
