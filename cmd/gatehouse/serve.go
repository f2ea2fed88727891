package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/keyring"
	"github.com/gatehousehq/gatehouse/internal/metrics"
	"github.com/gatehousehq/gatehouse/internal/password"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

func cmdServe(ctx context.Context, e *env, args []string) error {
	var c Config
	fs := newFlagSet(e, "serve", "serve [flags]")
	if err := parse(fs, &c, serverSettings, args, e); err != nil {
		return err
	}
	if err := c.validate(); err != nil {
		return err
	}
	log := newLogger(e, &c)
	if c.SecretKeyFile == "" {
		path, ok := sqlitePath(c.DatabaseURL)
		if !c.Dev || !ok {
			return usageError("--secret-key-file (GATEHOUSE_SECRET_KEY_FILE) is required outside dev mode with SQLite; make one with: head -c 32 /dev/urandom > gatehouse.key")
		}
		c.SecretKeyFile = filepath.Join(filepath.Dir(path), "gatehouse.key")
	}
	keys, _, err := loadKeys(&c, c.Dev)
	if err != nil {
		return err
	}
	return serve(ctx, e, &c, log, keys, nil)
}

func newHasher(c *Config, m *metrics.Metrics) (*password.Hasher, error) {
	p := password.DefaultParams()
	p.Memory, p.Time = uint32(c.Argon2Memory), uint32(c.Argon2Time)
	if err := p.Validate(); err != nil {
		return nil, usageError("--argon2-memory / --argon2-time: %v", err)
	}
	hc := password.HasherConfig{Params: p, Workers: c.HashWorkers, MaxWait: c.HashMaxWait}
	if m != nil {
		hc.ObserveWait = m.HashWait
	}
	return password.NewHasher(hc)
}

// checkProviders refuses to serve organizations whose code method has no
// provider: their users could never finish a sign-in.
func checkProviders(ctx context.Context, a *app, m *messenger) error {
	if m.sms != nil {
		return nil
	}
	orgs, err := a.store.ListOrganizations(ctx)
	if err != nil {
		return err
	}
	var need []string
	for _, o := range orgs {
		if o.Settings.EnforceTwoFactor && o.Settings.OTPMethod == gatehouse.OTPSMS && o.Settings.AuthMethod == gatehouse.AuthPassword {
			need = append(need, o.Slug)
		}
	}
	if len(need) > 0 {
		undo := make([]string, len(need))
		for i, slug := range need {
			undo[i] = "gatehouse org settings --org " + slug + " --otp-method email"
		}
		return usageError("organizations %s send codes by SMS but no SMS provider is configured: set --sms-provider (GATEHOUSE_SMS_PROVIDER), or send their codes by e-mail again with: %s",
			strings.Join(need, ", "), strings.Join(undo, "; "))
	}
	return nil
}

// serve runs the server until ctx ends, then shuts down gracefully.
// ready, when set, runs once the listener is up (the demo prints its
// sign-ins there).
func serve(ctx context.Context, e *env, c *Config, log *slog.Logger, keys *keyring.Ring, ready func(ctx context.Context, a *app, base string) error) error {
	s, err := newServer(ctx, e, c, log, keys)
	if err != nil {
		return err
	}
	defer s.close()
	a, srv, ln, public := s.app, s.http, s.ln, s.public
	resealAll(ctx, a, keys, log)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	go cleanSessions(ctx, a, c, log)
	go s.oidc.Run(ctx)
	a.runClock(ctx, log)
	// The mail worker stops with ctx, after the delivery under way; what
	// is still queued waits in the database for the next start or node.
	mailCtx, stopMail := context.WithCancel(ctx)
	mailDone := make(chan struct{})
	go func() { a.mail.Run(mailCtx); close(mailDone) }()
	defer func() { stopMail(); <-mailDone }()

	if d := password.DefaultParams(); c.Argon2Memory < uint(d.Memory) || c.Argon2Time < uint(d.Time) {
		log.Warn("password hashing is weaker than the recommended argon2id m=19456 KiB, t=2: use this only for tests",
			"argon2_memory_kib", c.Argon2Memory, "argon2_time", c.Argon2Time)
	}
	if c.Dev {
		log.Warn("dev mode: every code and password link is shown at /dev/outbox to anyone who reaches this address; never run dev mode or the demo for real users",
			"addr", ln.Addr().String())
	}
	a.opened.log(log)
	checkSMTP(ctx, c, s.messenger, log)
	log.Info("gatehouse listening", "addr", ln.Addr().String(), "public_url", public.String(),
		"database", a.store.Dialect(), "dev", c.Dev, "key_ids", strings.Join(keys.IDs(), ","))
	if ready != nil {
		if err := ready(ctx, a, strings.TrimSuffix(public.String(), "/")); err != nil {
			srv.Close()
			return err
		}
	}
	if e.listening != nil {
		e.listening(ln.Addr())
	}

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// cleanSessions removes ended sessions now and then, so the table holds
// only live ones.
func cleanSessions(ctx context.Context, a *app, c *Config, log *slog.Logger) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			now := a.now()
			n, err := a.store.DeleteExpiredSessions(ctx, now, now.Add(-c.SessionIdle))
			if err != nil {
				log.Warn("session clean-up failed", "error", err)
			} else if n > 0 {
				log.Debug("ended sessions removed", "count", n)
			}
			keep := gatehouse.Retention{Sends: gatehouse.SendRetention, Throttle: a.signin.ThrottleWindow()}
			if _, err := a.store.Purge(ctx, now, keep); err != nil {
				log.Warn("challenge clean-up failed", "error", err)
			}
		}
	}
}

func publicURL(raw string, addr net.Addr) (*url.URL, error) {
	if raw == "" {
		return &url.URL{Scheme: "http", Host: addr.String()}, nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, usageError("--public-url %q must be an http:// or https:// address such as https://login.example.com", raw)
	}
	return u, nil
}

// checkDatabaseTLS refuses, outside dev mode, a PostgreSQL URL that could
// talk to a host other than this machine without TLS: the database
// password, password hashes and sealed set-up would cross the network in
// clear. sslmode disable, allow and prefer (pgx's default) all permit a
// plain connection; require, verify-ca and verify-full do not. Unix sockets
// and loopback addresses are local.
func checkDatabaseTLS(databaseURL string, dev bool) error {
	if _, ok := sqlitePath(databaseURL); ok || dev {
		return nil
	}
	cfg, err := pgconn.ParseConfig(databaseURL)
	if err != nil {
		return usageError("--database-url %s: %v", redactURL(databaseURL), err)
	}
	tries := []*pgconn.FallbackConfig{{Host: cfg.Host, TLSConfig: cfg.TLSConfig}}
	tries = append(tries, cfg.Fallbacks...)
	for _, t := range tries {
		if t.TLSConfig == nil && !localHost(t.Host) {
			return usageError("--database-url %s may connect to %s without TLS: add sslmode=verify-full (or sslmode=require) to the URL, or use a loopback address or a Unix socket", redactURL(databaseURL), t.Host)
		}
	}
	return nil
}

// localHost reports whether a host is this machine: a Unix socket folder,
// localhost, or a loopback address.
func localHost(host string) bool {
	if strings.HasPrefix(host, "/") || strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// plainToRemote reports whether raw is an http:// URL to a host other than
// this machine: what is sent there (an API token, a signed code) crosses the
// network in clear.
func plainToRemote(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && strings.EqualFold(u.Scheme, "http") && !localHost(u.Hostname())
}

// redactURL hides a password in a database URL before it is shown.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable)"
	}
	return u.Redacted()
}

// sqlitePath returns the file of a sqlite: database URL.
func sqlitePath(databaseURL string) (string, bool) {
	if rest, ok := strings.CutPrefix(databaseURL, "sqlite:"); ok {
		return strings.TrimPrefix(rest, "//"), rest != ""
	}
	return "", false
}

// loadSecret reads the server secret. In dev mode a missing file is
// created with 32 random bytes, readable by the owner only; its folder must
// exist (the demo makes its own).
func loadSecret(path string, create bool) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		b = make([]byte, 32)
		rand.Read(b)
		if err := writeOwnerOnly(path, b); err != nil {
			return nil, usageError("write the secret key file: %v", err)
		}
		return b, nil
	}
	if err != nil {
		return nil, usageError("secret key file: %v", err)
	}
	if err := checkKeyFileMode(path); err != nil {
		return nil, err
	}
	if len(b) < signin.MinSecretLength {
		return nil, usageError("secret key file %s holds %d bytes; it needs at least %d (head -c 32 /dev/urandom > %s)", path, len(b), signin.MinSecretLength, path)
	}
	return b, nil
}

// writeOwnerOnly writes a new file that only its owner may read: mode 0600
// set explicitly, so no umask widens it, and never over an existing file.
func writeOwnerOnly(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}

// checkKeyFileMode refuses a secret key file that anyone but its owner (and
// its group, to read) may use: whoever reads it can forge sessions and open the
// sealed LDAP and SAML2 set-up.
func checkKeyFileMode(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return usageError("secret key file: %v", err)
	}
	// Group read is allowed (root:gatehouse 0640 is a common set-up);
	// group write and any access by others are not.
	if perm := fi.Mode().Perm(); perm&0o037 != 0 {
		return usageError("secret key file %s has mode %04o: others may read or change it; make it readable by its owner only (chmod 600 %s)", path, perm, path)
	}
	return nil
}

// userMessage returns the message of an error caused by bad input, which
// the CLI reports in one line with exit status 2.
func userMessage(err error) (string, bool) {
	switch gatehouse.ErrorCode(err) {
	case gatehouse.EINVALID, gatehouse.ECONFLICT, gatehouse.ENOTFOUND, gatehouse.EWEAKPASSWORD,
		gatehouse.EINVALIDPHONE, gatehouse.EINVALIDNETWORK, gatehouse.ETWOFACTORUNAVAIL:
		return gatehouse.ErrorMessage(err), true
	}
	return "", false
}
