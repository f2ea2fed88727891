package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/accounts"
	"github.com/gatehousehq/gatehouse/internal/clientip"
	"github.com/gatehousehq/gatehouse/internal/dbclock"
	"github.com/gatehousehq/gatehouse/internal/federation"
	"github.com/gatehousehq/gatehouse/internal/forwardauth"
	"github.com/gatehousehq/gatehouse/internal/keyring"
	"github.com/gatehousehq/gatehouse/internal/mailqueue"
	"github.com/gatehousehq/gatehouse/internal/metrics"
	"github.com/gatehousehq/gatehouse/internal/oidc"
	"github.com/gatehousehq/gatehouse/internal/password"
	"github.com/gatehousehq/gatehouse/internal/phone"
	"github.com/gatehousehq/gatehouse/internal/signin"
	"github.com/gatehousehq/gatehouse/internal/sqlstore"
	"github.com/gatehousehq/gatehouse/internal/web"
)

// The wiring of each mode is one linear sequence: store, clock and hasher
// (openBase), then keys, then the services, each built once with
// everything it needs, then the front door. Nothing is assigned to a
// service after it is built.

// app is the wired program: the store and the services built on it. A
// service a mode does not need is nil.
type app struct {
	store      *sqlstore.DB
	hasher     *password.Hasher
	signin     *signin.Service
	accounts   *accounts.Service
	federation *federation.Service
	metrics    *metrics.Metrics
	// now is the clock of every expiry and window (startClock); clock,
	// on PostgreSQL, keeps it on the database's time.
	now   func() time.Time
	clock *dbclock.Clock
	mail  *mailqueue.Queue
	// opened is what serve logs about the database once it is up.
	opened dbReport
}

// openBase opens what every mode stands on: the database, its clock and the
// password hasher. The server (serving) migrates the database; an admin
// command needs it to exist at the current schema version. The caller
// closes a.store.
func openBase(ctx context.Context, c *Config, log *slog.Logger, serving bool) (*app, error) {
	var db *sqlstore.DB
	var err error
	var report dbReport
	if serving {
		db, report, err = migrateStore(ctx, c, log)
	} else {
		db, err = openStore(ctx, c.DatabaseURL, c.Dev)
	}
	if err != nil {
		return nil, err
	}
	a := &app{store: db, metrics: metrics.New(), opened: report}
	if err := a.startClock(ctx, c, log); err != nil {
		db.Close()
		return nil, err
	}
	if a.hasher, err = newHasher(c, a.metrics); err != nil {
		db.Close()
		return nil, err
	}
	return a, nil
}

// accountsConfig is what every mode's accounts service shares.
func (a *app) accountsConfig(log *slog.Logger) accounts.Config {
	return accounts.Config{Store: a.store, Hasher: a.hasher, Policy: password.DefaultPolicy(), Phone: phone.Normalize, Logger: log, Now: a.now}
}

// adminWiring is what an admin command needs beyond the data.
type adminWiring struct {
	// keys, when set, build the federation service (org ldap, org saml):
	// the set-up is sealed under them.
	keys *keyring.Ring
	// operator is the operator at the console changing an organization's
	// settings (org settings): LDAP or SAML2 may be chosen once set up,
	// which is read without the keys.
	operator bool
	// sms says an SMS provider is configured (org settings reads serve's
	// settings): without one, codes by SMS are refused.
	sms bool
}

// newAdminApp wires an admin command: store, clock, hasher, then the
// federation service when w has keys, then the accounts service.
func newAdminApp(ctx context.Context, c *Config, log *slog.Logger, w adminWiring) (*app, error) {
	a, err := openBase(ctx, c, log, false)
	if err != nil {
		return nil, err
	}
	cfg := a.accountsConfig(log)
	if w.keys != nil {
		cfg.Keys = w.keys // API tokens and password links are hashed under them
		if a.federation, err = federation.New(federation.Config{Store: a.store, Keys: w.keys, Logger: log, Now: a.now}); err != nil {
			a.store.Close()
			return nil, err
		}
		cfg.Configured = a.federation.Configured
	}
	if w.operator {
		cfg.SMSAvailable = w.sms
		if cfg.Configured == nil {
			cfg.Configured = setUp(a.store)
		}
	}
	if a.accounts, err = accounts.New(cfg); err != nil {
		a.store.Close()
		return nil, err
	}
	return a, nil
}

// setUp reports whether an organization has saved an LDAP or SAML2 set-up,
// without opening it (no keys needed).
func setUp(db *sqlstore.DB) func(ctx context.Context, orgID string, m gatehouse.AuthMethod) (bool, error) {
	return func(ctx context.Context, orgID string, m gatehouse.AuthMethod) (bool, error) {
		c, err := db.SignInConfig(ctx, orgID)
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			return false, nil
		} else if err != nil {
			return false, err
		}
		return (m == gatehouse.AuthLDAP && c.LDAP != nil) || (m == gatehouse.AuthSAML2 && c.SAML != nil), nil
	}
}

// server is the wired server: the app, the listener and its HTTP server.
type server struct {
	*app
	keys   *keyring.Ring
	ln     net.Listener
	public *url.URL
	http   *http.Server
	oidc   *oidc.Provider
	// messenger is checked at start (checkSMTP).
	messenger *messenger
}

// close releases what newServer opened.
func (s *server) close() {
	s.ln.Close()
	s.store.Close()
}

// newServer wires serve and demo in order: trusted proxies, store, clock
// and hasher, the listener and the public URL under it, the code senders,
// the outgoing-mail queue, then federation, accounts and sign-in, then the
// web handler and its HTTP server.
//
// Notices (password links, contact changes, …) go through the outgoing-mail
// queue, so no request waits for the mail server; codes go straight out.
func newServer(ctx context.Context, e *env, c *Config, log *slog.Logger, keys *keyring.Ring) (_ *server, err error) {
	trusted, err := clientip.ParseTrusted(c.TrustedProxies)
	if err != nil {
		return nil, usageError("--trusted-proxies: %v", err)
	}
	if e.clock != nil {
		c.clock = *e.clock
	}
	a, err := openBase(ctx, c, log, true)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			a.store.Close()
		}
	}()
	ln, err := net.Listen("tcp", c.Addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, usageError("cannot listen on %s: another program (or another Gatehouse) uses that address; stop it, or choose another address with --addr HOST:PORT (GATEHOUSE_ADDR)", c.Addr)
	}
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", c.Addr, err)
	}
	defer func() {
		if err != nil {
			ln.Close()
		}
	}()
	public, err := publicURL(c.PublicURL, ln.Addr())
	if err != nil {
		return nil, err
	}
	m, err := newMessenger(c, a.store, public)
	if err != nil {
		return nil, err
	}
	if err := checkProviders(ctx, a, m); err != nil {
		return nil, err
	}
	if a.mail, err = mailqueue.New(mailqueue.Config{Store: a.store, Messenger: m, Logger: log, ObserveDelivery: a.metrics.Delivery, Now: a.now}); err != nil {
		return nil, err
	}
	if a.federation, err = federation.New(federation.Config{Store: a.store, Keys: keys, Logger: log, Now: a.now}); err != nil {
		return nil, err
	}
	if a.signin, err = signin.New(signin.Config{
		Store: a.store, Hasher: a.hasher, Logger: log, Keys: keys, Messenger: a.mail, NormalizePhone: phone.Normalize, Policy: password.DefaultPolicy(),
		Federation:  a.federation,
		SessionIdle: c.SessionIdle, SessionAbsolute: c.SessionAbsolute, SessionCacheTTL: c.SessionCache,
		Observe: a.metrics.SignIn, ObserveDelivery: a.metrics.Delivery, Now: a.now,
	}); err != nil {
		return nil, err
	}
	// The admin's changes that end sessions empty this node's session
	// cache at once (other nodes see them within --session-cache).
	cfg := a.accountsConfig(log)
	cfg.Store = signin.Revoking(a.store, a.signin)
	cfg.Keys, cfg.PublicURL, cfg.Messenger = keys, strings.TrimSuffix(public.String(), "/"), a.mail
	cfg.SMSAvailable, cfg.Configured = m.sms != nil, a.federation.Configured
	if a.accounts, err = accounts.New(cfg); err != nil {
		return nil, err
	}
	provider, err := newOIDC(ctx, c, a, keys, public, trusted, log)
	if err != nil {
		return nil, err
	}
	// Forward-auth's Remote-Assertion is signed with the provider's keys
	// (tests may sign with their own).
	var assertions forwardauth.Signer = provider
	if e.assertions != nil {
		assertions = e.assertions
	}
	fa, err := newForwardAuth(c, log, a.signin, clientip.New(trusted), public, a.now, assertions)
	if err != nil {
		return nil, err
	}
	handler, err := web.New(web.Config{
		SignIn: a.signin, Accounts: a.accounts, Console: a.accounts, Federation: a.federation, Orgs: a.store, SMSAvailable: m.sms != nil, Ready: a.store, Outbox: a.store, ClientIP: clientip.New(trusted),
		Metrics: a.metrics, PublicURL: public, Dev: c.Dev, Logger: log,
		CookieDomain: fa.cookieDomain, ReturnURLs: fa.returns, ForwardAuth: fa.handler, OIDC: provider,
	})
	if err != nil {
		return nil, err
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return &server{app: a, keys: keys, ln: ln, public: public, http: srv, oidc: provider, messenger: m}, nil
}
