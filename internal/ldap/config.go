package ldap

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/gatehousehq/gatehouse"
)

// Placeholder is the text in BindDNTemplate and SearchFilter that is replaced
// by the escaped login name.
const Placeholder = "{username}"

// Defaults for the fields of Config left empty.
const (
	DefaultEmailAttr = "mail"
	DefaultNameAttr  = "cn"
	DefaultPhoneAttr = "telephoneNumber"
	DefaultTimeout   = 5 * time.Second
)

// MaxTimeout bounds Config.Timeout: a sign-in that waits longer than this for
// one directory operation is better answered "unavailable".
const MaxTimeout = time.Minute

// Config is how one organization's directory is reached and searched. The
// JSON names are the ones Validate reports in gatehouse.Error.Field.
//
// Exactly one of two modes is configured: BindDNTemplate, or the service
// account (ServiceDN, ServicePassword, SearchBase and SearchFilter together).
//
// String, GoString and LogValue hide ServicePassword, so a Config can be
// printed or logged without leaking it.
type Config struct {
	// URL is ldaps://host[:port] (port 636 by default) or ldap://host[:port]
	// (port 389 by default). ldap:// is upgraded with StartTLS before
	// anything else is sent, unless InsecureNoTLS is set.
	URL string `json:"url"`
	// CACertPEM holds the PEM certificates that may sign the server's
	// certificate. Empty means the system's roots.
	CACertPEM string `json:"ca_cert_pem,omitempty"`
	// InsecureNoTLS sends everything, passwords included, in plain text.
	// Validate allows it only with ldap:// to a loopback host (localhost,
	// 127.0.0.0/8, ::1), where nothing crosses a network.
	InsecureNoTLS bool `json:"insecure_no_tls,omitempty"`

	// BindDNTemplate is the user's DN with Placeholder where the login name
	// goes, e.g. "uid={username},ou=people,dc=example,dc=test".
	BindDNTemplate string `json:"bind_dn_template,omitempty"`

	// ServiceDN and ServicePassword are the account that searches for the
	// user's entry under SearchBase with SearchFilter, e.g.
	// "(&(objectClass=inetOrgPerson)(|(uid={username})(mail={username})))".
	ServiceDN       string `json:"service_dn,omitempty"`
	ServicePassword string `json:"service_password,omitempty"`
	SearchBase      string `json:"search_base,omitempty"`
	SearchFilter    string `json:"search_filter,omitempty"`

	// Attribute names to read from the user's entry. Empty means
	// DefaultEmailAttr, DefaultNameAttr and DefaultPhoneAttr.
	EmailAttr string `json:"email_attr,omitempty"`
	NameAttr  string `json:"name_attr,omitempty"`
	PhoneAttr string `json:"phone_attr,omitempty"`

	// Timeout bounds each step of a sign-in: connecting, the TLS handshake,
	// each bind and each search. Zero means DefaultTimeout.
	Timeout time.Duration `json:"timeout,omitempty"`
}

// Validate reports whether c is usable, checking every field before it
// answers. It returns nil or a *gatehouse.Error with Code EINVALID whose Field
// is the first bad field (in the order of Config's fields) and whose Message
// lists every problem; Problems gives them one by one.
func (c Config) Validate() error {
	probs := c.Problems()
	switch len(probs) {
	case 0:
		return nil
	case 1:
		return probs[0]
	}
	msgs := make([]string, len(probs))
	for i, p := range probs {
		msgs[i] = p.Field + ": " + p.Message
	}
	// A page says the first problem, at its field, in the reader's
	// language; the English lists them all.
	return &gatehouse.Error{
		Code:    gatehouse.EINVALID,
		Field:   probs[0].Field,
		Reason:  probs[0].Reason,
		Args:    probs[0].Args,
		Message: fmt.Sprintf("The LDAP settings have %d problems: %s", len(probs), strings.Join(msgs, "; ")),
	}
}

// Problems returns one EINVALID *gatehouse.Error per bad field of c, in the
// order of Config's fields, or nil when c is usable. A form can show each
// next to its field.
func (c Config) Problems() []*gatehouse.Error {
	var probs []*gatehouse.Error
	add := func(field, reason, format string, args ...any) {
		probs = append(probs, gatehouse.FieldReason(field, reason, format, args...))
	}
	addProblem := func(field string, p *problem) {
		if p != nil {
			add(field, p.reason, p.format, p.args...)
		}
	}

	target, urlErr := parseServerURL(c.URL)
	addProblem("url", urlErr)
	if c.CACertPEM != "" {
		_, pemErr := parseCAPEM(c.CACertPEM)
		addProblem("ca_cert_pem", pemErr)
	}
	if c.InsecureNoTLS && target != nil {
		switch {
		case target.tls:
			add("insecure_no_tls", gatehouse.ReasonLDAPPlainWithLDAPS, "Plain text contradicts ldaps://; use ldap:// to a loopback host for a directory without TLS.")
		case !isLoopback(target.host):
			add("insecure_no_tls", gatehouse.ReasonLDAPPlainNotLoopback, "Plain text would send passwords unencrypted over the network, so it is allowed only to a loopback host (localhost, 127.0.0.1, ::1), not %q; use ldaps:// or ldap:// with StartTLS.", target.host)
		}
	}

	searchSet := c.ServiceDN != "" || c.ServicePassword != "" || c.SearchBase != "" || c.SearchFilter != ""
	switch {
	case c.BindDNTemplate != "" && searchSet:
		add("bind_dn_template", gatehouse.ReasonLDAPBindAndSearch, "Give either a bind DN template or a service account with a search base and filter, not both.")
	case c.BindDNTemplate != "":
		addProblem("bind_dn_template", checkBindDNTemplate(c.BindDNTemplate))
	case searchSet:
		if c.ServiceDN == "" {
			add("service_dn", gatehouse.ReasonLDAPServiceDNRequired, "The service account's DN is required with a search.")
		} else if _, err := goldap.ParseDN(c.ServiceDN); err != nil {
			add("service_dn", gatehouse.ReasonLDAPServiceDNInvalid, "The service account's DN is not a valid DN.")
		}
		if c.ServicePassword == "" {
			add("service_password", gatehouse.ReasonLDAPServicePassword, "The service account's password is required with a search.")
		}
		if c.SearchBase == "" {
			add("search_base", gatehouse.ReasonLDAPSearchBaseRequired, "The search base is required with a service account.")
		} else if _, err := goldap.ParseDN(c.SearchBase); err != nil {
			add("search_base", gatehouse.ReasonLDAPSearchBaseInvalid, "The search base is not a valid DN.")
		}
		addProblem("search_filter", checkSearchFilter(c.SearchFilter))
	default:
		add("bind_dn_template", gatehouse.ReasonLDAPBindOrSearch, "Give a bind DN template such as uid={username},ou=people,dc=example,dc=com, or a service account with a search base and filter.")
	}

	for _, a := range []struct{ field, value string }{
		{"email_attr", c.EmailAttr},
		{"name_attr", c.NameAttr},
		{"phone_attr", c.PhoneAttr},
	} {
		if a.value != "" && !attrName.MatchString(a.value) {
			add(a.field, gatehouse.ReasonLDAPAttribute, "%q is not an LDAP attribute name (letters, digits and hyphens, starting with a letter, or a numeric OID).", a.value)
		}
	}

	if c.Timeout < 0 || c.Timeout > MaxTimeout {
		add("timeout", gatehouse.ReasonLDAPTimeout, "The timeout must be between 0 (the default, %s) and %s.", DefaultTimeout, MaxTimeout)
	}
	return probs
}

// attrName is an attribute description without options (RFC 4512 §2.5):
// a descriptor or a numeric OID.
var attrName = regexp.MustCompile(`^(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)+)$`)

// serverURL is Config.URL taken apart.
type serverURL struct {
	tls  bool   // ldaps://
	host string // without brackets
	addr string // host:port, the port defaulted
}

// problem is what is wrong with one field, for Problems: its reason and
// its English, with the arguments of both.
type problem struct {
	reason, format string
	args           []any
}

func newProblem(reason, format string, args ...any) *problem {
	return &problem{reason: reason, format: format, args: args}
}

// parseServerURL returns the server address, or what is wrong with it.
func parseServerURL(raw string) (*serverURL, *problem) {
	if strings.TrimSpace(raw) == "" {
		return nil, newProblem(gatehouse.ReasonLDAPURLRequired, "The server URL is required, e.g. ldaps://ldap.example.com.")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, newProblem(gatehouse.ReasonLDAPURLInvalid, "The server URL is not a valid URL.")
	}
	s := &serverURL{}
	port := goldap.DefaultLdapPort
	switch strings.ToLower(u.Scheme) {
	case "ldaps":
		s.tls, port = true, goldap.DefaultLdapsPort
	case "ldap":
	default:
		return nil, newProblem(gatehouse.ReasonLDAPURLScheme, "The server URL must start with ldaps:// or ldap:// (ldap:// is upgraded with StartTLS).")
	}
	if u.Opaque != "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, newProblem(gatehouse.ReasonLDAPURLShape, "The server URL must look like %s://host:port, with no user, path or query.", strings.ToLower(u.Scheme))
	}
	s.host = u.Hostname()
	if s.host == "" {
		return nil, newProblem(gatehouse.ReasonLDAPURLNoHost, "The server URL has no host.")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, newProblem(gatehouse.ReasonLDAPURLPort, "The server URL's port %q is not a number from 1 to 65535.", p)
		}
		port = p
	}
	s.addr = net.JoinHostPort(s.host, port)
	return s, nil
}

// isLoopback reports whether host names this machine without any lookup:
// "localhost" or a literal loopback address. Other names are refused even if
// they resolve to 127.0.0.1 today, because DNS can change under us.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.Unmap().IsLoopback()
}

// parseCAPEM reads one or more PEM certificates and nothing else; it returns
// what is wrong when it cannot.
func parseCAPEM(s string) (*x509.CertPool, *problem) {
	pool := x509.NewCertPool()
	rest := []byte(s)
	n := 0
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, newProblem(gatehouse.ReasonLDAPCABlockType, "The CA certificate PEM holds a %q block; give only CERTIFICATE blocks.", block.Type)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, newProblem(gatehouse.ReasonLDAPCAUnparsable, "Certificate %d of the CA certificate PEM does not parse.", n+1)
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 || strings.TrimSpace(string(rest)) != "" {
		return nil, newProblem(gatehouse.ReasonLDAPCANotPEM, "The CA certificate must be PEM: one or more blocks from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----.")
	}
	return pool, nil
}

// probeName stands in for a login name when a template is checked.
const probeName = "gatehouse-probe-user"

func checkBindDNTemplate(tpl string) *problem {
	if !strings.Contains(tpl, Placeholder) {
		return newProblem(gatehouse.ReasonLDAPBindPlaceholder, "The bind DN template must contain "+Placeholder+", e.g. uid={username},ou=people,dc=example,dc=com.")
	}
	dn, err := goldap.ParseDN(strings.ReplaceAll(tpl, Placeholder, probeName))
	if err != nil || len(dn.RDNs) == 0 {
		return newProblem(gatehouse.ReasonLDAPBindInvalid, "The bind DN template is not a valid DN once "+Placeholder+" is filled in.")
	}
	// {username} must stand for (part of) an attribute value: in an
	// attribute type or the template's structure it would let the login
	// name choose what is bound to.
	for _, rdn := range dn.RDNs {
		for _, atv := range rdn.Attributes {
			if strings.Contains(atv.Value, probeName) {
				return nil
			}
		}
	}
	return newProblem(gatehouse.ReasonLDAPBindNotValue, "In the bind DN template, "+Placeholder+" must be an attribute value, as in uid={username}.")
}

func checkSearchFilter(filter string) *problem {
	if filter == "" {
		return newProblem(gatehouse.ReasonLDAPFilterRequired, "The search filter is required with a service account, e.g. (&(objectClass=inetOrgPerson)(uid={username})).")
	}
	if !strings.Contains(filter, Placeholder) {
		return newProblem(gatehouse.ReasonLDAPFilterPlaceholder, "The search filter must contain "+Placeholder+", e.g. (&(objectClass=inetOrgPerson)(uid={username})).")
	}
	if _, err := goldap.CompileFilter(strings.ReplaceAll(filter, Placeholder, probeName)); err != nil {
		return newProblem(gatehouse.ReasonLDAPFilterInvalid, "The search filter is not a valid LDAP filter once "+Placeholder+" is filled in.")
	}
	return nil
}

// String describes c with the service password replaced by "xxxxx", fit for
// logs and error messages. The CA certificate is left out for brevity.
func (c Config) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "url=%s", c.URL)
	if c.InsecureNoTLS {
		b.WriteString(" insecure_no_tls=true")
	}
	if c.CACertPEM != "" {
		b.WriteString(" ca_cert_pem=(set)")
	}
	if c.BindDNTemplate != "" {
		fmt.Fprintf(&b, " bind_dn_template=%q", c.BindDNTemplate)
	}
	if c.ServiceDN != "" {
		fmt.Fprintf(&b, " service_dn=%q", c.ServiceDN)
	}
	if c.ServicePassword != "" {
		b.WriteString(" service_password=xxxxx")
	}
	if c.SearchBase != "" {
		fmt.Fprintf(&b, " search_base=%q search_filter=%q", c.SearchBase, c.SearchFilter)
	}
	return b.String()
}

// GoString keeps %#v from printing the service password.
func (c Config) GoString() string { return "ldap.Config{" + c.String() + "}" }

// LogValue keeps log/slog from printing the service password.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }
