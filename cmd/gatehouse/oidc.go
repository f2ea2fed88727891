package main

import (
	"context"
	"log/slog"
	"net/netip"
	"net/url"

	"github.com/gatehousehq/gatehouse/internal/clientip"
	"github.com/gatehousehq/gatehouse/internal/keyring"
	"github.com/gatehousehq/gatehouse/internal/oidc"
	"github.com/gatehousehq/gatehouse/internal/web"
)

// newOIDC builds the OpenID Connect provider, making its signing keys at
// the first start; serve runs its loop (Provider.Run).
func newOIDC(ctx context.Context, c *Config, a *app, keys *keyring.Ring, public *url.URL, trusted []netip.Prefix, log *slog.Logger) (*oidc.Provider, error) {
	domain, err := cookieDomain(c.CookieDomain, public)
	if err != nil {
		return nil, err
	}
	return oidc.New(ctx, oidc.Config{
		Store: a.store, Sessions: a.signin, Browser: web.NewBrowser(public, domain), ClientIP: clientip.New(trusted),
		Keys: keys, Issuer: public, Logger: log, Now: a.now,
	})
}
