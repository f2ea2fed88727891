package main

import (
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse/internal/clientip"
	"github.com/gatehousehq/gatehouse/internal/forwardauth"
	"github.com/gatehousehq/gatehouse/internal/web"
)

// fwdAuth is forward-auth and what the sign-in pages share with it: the
// allowed return hosts and the session cookie's domain.
type fwdAuth struct {
	handler      *forwardauth.Handler
	returns      *forwardauth.Returns
	cookieDomain string
}

// newForwardAuth builds forward-auth (docs/design.md §10.2) for the server at
// public, from --allowed-return-hosts and --cookie-domain.
//
// Without signer (until the OpenID Connect provider's keys are wired in as
// it) Remote-Assertion is empty.
func newForwardAuth(c *Config, log *slog.Logger, sessions forwardauth.SessionAuth, proxies *clientip.Resolver, public *url.URL, now func() time.Time, signer forwardauth.Signer) (*fwdAuth, error) {
	hosts, err := forwardauth.ParseHosts(c.AllowedReturnHosts)
	if err != nil {
		return nil, usageError("--allowed-return-hosts: %v", err)
	}
	domain, err := cookieDomain(c.CookieDomain, public)
	if err != nil {
		return nil, err
	}
	returns, err := forwardauth.NewReturns(public, hosts)
	if err != nil {
		return nil, err
	}
	h, err := forwardauth.New(forwardauth.Config{
		Sessions: sessions, Proxies: proxies, Returns: returns,
		SessionCookie: web.SessionCookieName(public.Scheme == "https", domain),
		PublicURL:     public, Issuer: strings.TrimSuffix(public.String(), "/"),
		Signer: signer, Logger: log, Now: now,
	})
	if err != nil {
		return nil, err
	}
	return &fwdAuth{handler: h, returns: returns, cookieDomain: domain}, nil
}

// cookieDomain checks --cookie-domain: a domain name of two labels at
// least that Gatehouse's own host is, or is under; browsers ignore a
// cookie whose Domain does not cover the host that set it. A leading dot
// is dropped.
func cookieDomain(raw string, public *url.URL) (string, error) {
	d := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(raw)), ".")
	if d == "" {
		return "", nil
	}
	hosts, err := forwardauth.ParseHosts(d)
	if err != nil || len(hosts) != 1 || net.ParseIP(d) != nil || !strings.Contains(d, ".") {
		return "", usageError("--cookie-domain %q must be a domain name such as example.com", raw)
	}
	host := strings.ToLower(public.Hostname())
	if host != d && !strings.HasSuffix(host, "."+d) {
		return "", usageError("--cookie-domain %q does not cover Gatehouse's own host %s (--public-url): browsers would refuse the cookie", raw, host)
	}
	return d, nil
}
