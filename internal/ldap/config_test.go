package ldap

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/gatehousehq/gatehouse/internal/ldap/ldaptest"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
)

func TestValidate(t *testing.T) {
	caPEM, keyPEM := ldaptest.SelfSignedCert(t)
	tmpl := func(edit func(*Config)) Config {
		c := Config{URL: "ldaps://ldap.example.com", BindDNTemplate: "uid={username},ou=people,dc=example,dc=com"}
		edit(&c)
		return c
	}
	search := func(edit func(*Config)) Config {
		c := Config{
			URL:             "ldaps://ldap.example.com:1636",
			ServiceDN:       "cn=gatehouse,ou=services,dc=example,dc=com",
			ServicePassword: "s3cret",
			SearchBase:      "ou=people,dc=example,dc=com",
			SearchFilter:    "(&(objectClass=inetOrgPerson)(|(uid={username})(mail={username})))",
		}
		edit(&c)
		return c
	}

	tests := []struct {
		name string
		cfg  Config
		want []string // the fields reported, in order; nil when valid
	}{
		{"a bind-DN template over ldaps is valid", tmpl(func(*Config) {}), nil},
		{"a service account search over ldaps is valid", search(func(*Config) {}), nil},
		{"ldap:// to a remote host is valid: StartTLS is required", tmpl(func(c *Config) { c.URL = "ldap://ldap.example.com" }), nil},
		{"a CA certificate is accepted", tmpl(func(c *Config) { c.CACertPEM = string(caPEM) }), nil},
		{"two CA certificates are accepted", tmpl(func(c *Config) { c.CACertPEM = string(caPEM) + string(caPEM) }), nil},
		{"plain text to 127.0.0.1 is allowed", tmpl(func(c *Config) { c.URL, c.InsecureNoTLS = "ldap://127.0.0.1:3389", true }), nil},
		{"plain text to localhost is allowed", tmpl(func(c *Config) { c.URL, c.InsecureNoTLS = "LDAP://LocalHost", true }), nil},
		{"plain text to ::1 is allowed", tmpl(func(c *Config) { c.URL, c.InsecureNoTLS = "ldap://[::1]:389/", true }), nil},
		{"attribute names and an OID are accepted", tmpl(func(c *Config) {
			c.EmailAttr, c.NameAttr, c.PhoneAttr = "userPrincipalName", "display-name", "2.5.4.20"
		}), nil},
		{"a timeout of a minute is accepted", tmpl(func(c *Config) { c.Timeout = time.Minute }), nil},

		{"an empty config names the URL and the mode", Config{}, []string{"url", "bind_dn_template"}},
		{"an http URL is refused", tmpl(func(c *Config) { c.URL = "http://ldap.example.com" }), []string{"url"}},
		{"a URL without a host is refused", tmpl(func(c *Config) { c.URL = "ldaps://:636" }), []string{"url"}},
		{"a URL with a DN path is refused", tmpl(func(c *Config) { c.URL = "ldap://ldap.example.com/dc=example,dc=com" }), []string{"url"}},
		{"a URL with a user is refused", tmpl(func(c *Config) { c.URL = "ldaps://admin:pw@ldap.example.com" }), []string{"url"}},
		{"a URL with a query is refused", tmpl(func(c *Config) { c.URL = "ldaps://ldap.example.com?uid" }), []string{"url"}},
		{"a port out of range is refused", tmpl(func(c *Config) { c.URL = "ldaps://ldap.example.com:65536" }), []string{"url"}},
		{"plain text to a remote name is refused", tmpl(func(c *Config) { c.URL, c.InsecureNoTLS = "ldap://ldap.example.com", true }), []string{"insecure_no_tls"}},
		{"plain text to a remote address is refused", tmpl(func(c *Config) { c.URL, c.InsecureNoTLS = "ldap://10.0.0.5", true }), []string{"insecure_no_tls"}},
		{"plain text to a name that may resolve to loopback is refused", tmpl(func(c *Config) { c.URL, c.InsecureNoTLS = "ldap://localhost.example.com", true }), []string{"insecure_no_tls"}},
		{"plain text contradicts ldaps", tmpl(func(c *Config) { c.URL, c.InsecureNoTLS = "ldaps://127.0.0.1", true }), []string{"insecure_no_tls"}},
		{"a CA that is not PEM is refused", tmpl(func(c *Config) { c.CACertPEM = "MIIB..." }), []string{"ca_cert_pem"}},
		{"a private key as CA is refused", tmpl(func(c *Config) { c.CACertPEM = string(keyPEM) }), []string{"ca_cert_pem"}},
		{"a CA with trailing garbage is refused", tmpl(func(c *Config) { c.CACertPEM = string(caPEM) + "garbage" }), []string{"ca_cert_pem"}},
		{"a broken certificate is refused", tmpl(func(c *Config) {
			c.CACertPEM = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
		}), []string{"ca_cert_pem"}},
		{"a template without the placeholder is refused", tmpl(func(c *Config) { c.BindDNTemplate = "uid=ada,dc=example,dc=com" }), []string{"bind_dn_template"}},
		{"a template that is not a DN is refused", tmpl(func(c *Config) { c.BindDNTemplate = "{username}" }), []string{"bind_dn_template"}},
		{"a template with the placeholder as attribute type is refused", tmpl(func(c *Config) { c.BindDNTemplate = "{username}=x,dc=example,dc=com" }), []string{"bind_dn_template"}},
		{"a template and a search together are refused", tmpl(func(c *Config) { c.SearchBase = "dc=example,dc=com" }), []string{"bind_dn_template"}},
		{"a search without its service account is refused", search(func(c *Config) { c.ServiceDN, c.ServicePassword = "", "" }), []string{"service_dn", "service_password"}},
		{"a search without base or filter is refused", search(func(c *Config) { c.SearchBase, c.SearchFilter = "", "" }), []string{"search_base", "search_filter"}},
		{"a service DN that is not a DN is refused", search(func(c *Config) { c.ServiceDN = "gatehouse" }), []string{"service_dn"}},
		{"a search base that is not a DN is refused", search(func(c *Config) { c.SearchBase = "people" }), []string{"search_base"}},
		{"a filter without the placeholder is refused", search(func(c *Config) { c.SearchFilter = "(objectClass=person)" }), []string{"search_filter"}},
		{"a filter that does not parse is refused", search(func(c *Config) { c.SearchFilter = "(uid={username}" }), []string{"search_filter"}},
		{"attribute names with options or spaces are refused", tmpl(func(c *Config) { c.EmailAttr, c.NameAttr, c.PhoneAttr = "mail;binary", "display name", "2.5.4." }), []string{"email_attr", "name_attr", "phone_attr"}},
		{"a negative timeout is refused", tmpl(func(c *Config) { c.Timeout = -time.Second }), []string{"timeout"}},
		{"a timeout over a minute is refused", tmpl(func(c *Config) { c.Timeout = time.Minute + 1 }), []string{"timeout"}},
		{"every problem is reported at once", Config{URL: "http://x", InsecureNoTLS: true, CACertPEM: "x", EmailAttr: "a b", Timeout: -1},
			[]string{"url", "ca_cert_pem", "bind_dn_template", "email_attr", "timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, p := range tt.cfg.Problems() {
				if p.Code != gatehouse.EINVALID || p.Message == "" {
					t.Errorf("problem %+v: want code %q and a message", p, gatehouse.EINVALID)
				}
				got = append(got, p.Field)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Problems() fields = %q, want %q", got, tt.want)
			}

			err := tt.cfg.Validate()
			if tt.want == nil {
				if err != nil {
					t.Errorf("Validate() = %v, want nil", err)
				}
				if _, err := New(tt.cfg); err != nil {
					t.Errorf("New() = %v, want no error", err)
				}
				return
			}
			var ge *gatehouse.Error
			if !errors.As(err, &ge) || ge.Code != gatehouse.EINVALID || ge.Field != tt.want[0] {
				t.Fatalf("Validate() = %#v, want EINVALID on field %q", err, tt.want[0])
			}
			for _, field := range tt.want[1:] {
				if !strings.Contains(ge.Message, field+": ") {
					t.Errorf("Validate() message %q does not mention %s", ge.Message, field)
				}
			}
			if _, newErr := New(tt.cfg); newErr == nil || newErr.Error() != err.Error() {
				t.Errorf("New() = %v, want Validate's error %v", newErr, err)
			}
		})
	}
}

func TestConfigHidesServicePassword(t *testing.T) {
	cfg := Config{
		URL:             "ldaps://ldap.example.com",
		ServiceDN:       "cn=gatehouse,dc=example,dc=com",
		ServicePassword: "hunter2-service",
		SearchBase:      "dc=example,dc=com",
		SearchFilter:    "(uid={username})",
	}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("ldap", "config", cfg)
	for _, s := range []string{
		fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg),
		fmt.Sprintf("%v", &cfg), logged.String(),
	} {
		if strings.Contains(s, cfg.ServicePassword) {
			t.Errorf("%q shows the service password", s)
		}
		if !strings.Contains(s, "ldap.example.com") {
			t.Errorf("%q does not say which server", s)
		}
	}
}

func TestDefaults(t *testing.T) {
	d, err := New(Config{URL: "ldap://ldap.example.com", BindDNTemplate: "uid={username},dc=example,dc=com"})
	if err != nil {
		t.Fatal(err)
	}
	if d.emailAttr != "mail" || d.nameAttr != "cn" || d.phoneAttr != "telephoneNumber" || d.timeout != 5*time.Second {
		t.Errorf("defaults = %q %q %q %s", d.emailAttr, d.nameAttr, d.phoneAttr, d.timeout)
	}
	if d.target.addr != "ldap.example.com:389" || d.tlsConfig == nil || d.tlsConfig.ServerName != "ldap.example.com" {
		t.Errorf("ldap:// must default to port 389 with StartTLS: addr %q, TLS %v", d.target.addr, d.tlsConfig)
	}
	d, err = New(Config{URL: "ldaps://[2001:db8::1]", BindDNTemplate: "uid={username},dc=example,dc=com"})
	if err != nil {
		t.Fatal(err)
	}
	if d.target.addr != "[2001:db8::1]:636" || d.tlsConfig.ServerName != "2001:db8::1" {
		t.Errorf("ldaps:// must default to port 636: addr %q, server name %q", d.target.addr, d.tlsConfig.ServerName)
	}
}
