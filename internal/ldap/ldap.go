package ldap

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/gatehousehq/gatehouse"
)

// MaxUsernameLen is the longest login name, in bytes, that Authenticate
// sends to the directory.
const MaxUsernameLen = 256

// ErrInvalidCredentials is returned, as this very value, for a wrong password
// and for a user the directory does not know, so that callers answer both the
// same way (gatehouse.EINVALIDCREDENTIALS).
var ErrInvalidCredentials = &gatehouse.Error{
	Code:    gatehouse.EINVALIDCREDENTIALS,
	Message: "The user name or password is incorrect.",
}

// ErrUnavailable is wrapped by every error that is not ErrInvalidCredentials:
// the directory could not be reached, did not answer in time, presented a
// certificate that is not trusted, refused the service account, or failed
// otherwise. Callers answer gatehouse.EUNAVAILABLE (503) and sign nobody in:
// errors.Is(err, ErrUnavailable) holds, gatehouse.ErrorCode(err) is
// EUNAVAILABLE, and err.Error() names the failed step and its cause for the
// log.
var ErrUnavailable = &gatehouse.Error{
	Code:    gatehouse.EUNAVAILABLE,
	Message: "The organization's directory cannot be reached. Try again later.",
}

// unavailableError is ErrUnavailable with the step that failed and its cause.
type unavailableError struct {
	op    string
	cause error
}

func (e *unavailableError) Error() string {
	return "ldap: " + e.op + ": directory unavailable: " + e.cause.Error()
}

// Unwrap puts ErrUnavailable first, so that errors.As finds it before any
// *gatehouse.Error the cause might hold.
func (e *unavailableError) Unwrap() []error { return []error{ErrUnavailable, e.cause} }

// Entry is what the directory says about a user who signed in. Any of Email,
// Name and Phone is empty when the entry lacks the attribute (or the user may
// not read it); of several values the first is taken.
type Entry struct {
	DN    string
	Email string
	Name  string
	Phone string
	// ExternalID names the entry for good: "uuid:" and its entryUUID
	// (RFC 4530; OpenLDAP, 389 DS), else "dn:" and its DN, which a rename
	// changes but which is never the e-mail address.
	ExternalID string
}

// Directory signs users in against one organization's LDAP server. It holds
// no connection: each Authenticate dials, binds and closes, so a Directory is
// safe for concurrent use and never holds a user's bind between sign-ins.
type Directory struct {
	target    *serverURL
	tlsConfig *tls.Config // nil with InsecureNoTLS

	bindDNTemplate string

	serviceDN       string
	servicePassword string
	searchBase      string
	searchFilter    string

	emailAttr, nameAttr, phoneAttr string
	timeout                        time.Duration
}

// New checks cfg (see Config.Validate, whose error it returns) and returns a
// Directory for it. It does not contact the server.
func New(cfg Config) (*Directory, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	target, _ := parseServerURL(cfg.URL)
	d := &Directory{
		target:          target,
		bindDNTemplate:  cfg.BindDNTemplate,
		serviceDN:       cfg.ServiceDN,
		servicePassword: cfg.ServicePassword,
		searchBase:      cfg.SearchBase,
		searchFilter:    cfg.SearchFilter,
		emailAttr:       orDefault(cfg.EmailAttr, DefaultEmailAttr),
		nameAttr:        orDefault(cfg.NameAttr, DefaultNameAttr),
		phoneAttr:       orDefault(cfg.PhoneAttr, DefaultPhoneAttr),
		timeout:         cfg.Timeout,
	}
	if d.timeout == 0 {
		d.timeout = DefaultTimeout
	}
	if !cfg.InsecureNoTLS {
		d.tlsConfig = &tls.Config{
			ServerName: target.host,
			MinVersion: tls.VersionTLS12,
		}
		if cfg.CACertPEM != "" {
			d.tlsConfig.RootCAs, _ = parseCAPEM(cfg.CACertPEM)
		}
	}
	return d, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Authenticate binds to the directory as the user named by username (a login
// name such as "ada", or whatever the search filter matches, such as an
// e-mail address) with password, and returns the user's entry.
//
// Returns ErrInvalidCredentials for a wrong password, an unknown user, a
// search that matches more than one entry, an empty password (refused before
// anything is sent: an empty password is an unauthenticated bind, which many
// servers accept) and a login name that is empty, longer than MaxUsernameLen,
// not UTF-8 or holds control characters. Returns an error wrapping
// ErrUnavailable for anything else, including ctx ending; each network step is
// bounded by Config.Timeout. No error holds the password.
func (d *Directory) Authenticate(ctx context.Context, username, password string) (*Entry, error) {
	if password == "" || !validUsername(username) {
		return nil, ErrInvalidCredentials
	}
	if err := ctx.Err(); err != nil {
		return nil, &unavailableError{"connect", err}
	}
	s, err := d.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer s.close()
	if d.bindDNTemplate != "" {
		return s.authenticateByTemplate(username, password)
	}
	return s.authenticateBySearch(username, password)
}

func validUsername(s string) bool {
	if s == "" || len(s) > MaxUsernameLen || !utf8.ValidString(s) {
		return false
	}
	return strings.IndexFunc(s, unicode.IsControl) < 0
}

// session is one connection, used for one sign-in.
type session struct {
	d    *Directory
	ctx  context.Context
	raw  net.Conn // the TCP connection under TLS and go-ldap
	conn *goldap.Conn
	stop func() bool // stops closing raw when ctx ends
}

// connect dials the server and secures the connection: TLS from the first
// byte for ldaps://, StartTLS for ldap:// unless InsecureNoTLS.
func (d *Directory) connect(ctx context.Context) (*session, error) {
	dialer := net.Dialer{Timeout: d.timeout}
	raw, err := dialer.DialContext(ctx, "tcp", d.target.addr)
	if err != nil {
		return nil, &unavailableError{"connect", withCtx(ctx, err)}
	}
	s := &session{d: d, ctx: ctx, raw: raw}
	// Ending ctx closes the connection, which fails whatever step is
	// waiting on it at once.
	s.stop = context.AfterFunc(ctx, func() { raw.Close() })

	var c net.Conn = raw
	if d.target.tls {
		tc := tls.Client(raw, d.tlsConfig)
		s.arm()
		if err := tc.HandshakeContext(ctx); err != nil {
			s.stop()
			raw.Close()
			return nil, &unavailableError{"TLS handshake", withCtx(ctx, err)}
		}
		c = tc
	}
	s.conn = goldap.NewConn(c, d.target.tls)
	s.conn.Start()
	s.conn.SetTimeout(d.timeout)

	if !d.target.tls && d.tlsConfig != nil {
		s.arm()
		if err := s.conn.StartTLS(d.tlsConfig); err != nil {
			s.close()
			return nil, &unavailableError{"StartTLS", withCtx(ctx, err)}
		}
	}
	return s, nil
}

// withCtx adds ctx's error to err when ctx has ended, so that callers can tell a
// cancelled sign-in from a failed directory. A connection deadline set from
// ctx's deadline may fire a moment before ctx reports it, hence the clock.
func withCtx(ctx context.Context, err error) error {
	ctxErr := ctx.Err()
	if dl, ok := ctx.Deadline(); ok && ctxErr == nil && !time.Now().Before(dl) {
		ctxErr = context.DeadlineExceeded
	}
	if ctxErr != nil {
		return fmt.Errorf("%w (%w)", ctxErr, err)
	}
	return err
}

// arm bounds the next step: reads and writes on the connection fail after
// the timeout, or when ctx's deadline passes if that is sooner. It also
// bounds the TLS handshake of StartTLS, which go-ldap does not time.
func (s *session) arm() {
	deadline := time.Now().Add(s.d.timeout)
	if dl, ok := s.ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	_ = s.raw.SetDeadline(deadline)
}

func (s *session) close() {
	s.stop()
	// A short deadline keeps Close from waiting on a server that stopped
	// reading; the unbind it sends is a courtesy.
	_ = s.raw.SetDeadline(time.Now().Add(100 * time.Millisecond))
	if s.conn != nil {
		_ = s.conn.Close()
	}
	_ = s.raw.Close()
}

func (s *session) fail(op string, err error) error {
	return &unavailableError{op, withCtx(s.ctx, err)}
}

// bindUser binds as the user. Only its invalidCredentials answer (and the
// answers a server may give for a DN that does not exist) mean the user got
// something wrong.
func (s *session) bindUser(dn, password string) error {
	s.arm()
	err := s.conn.Bind(dn, password)
	switch {
	case err == nil:
		return nil
	case goldap.IsErrorAnyOf(err,
		goldap.LDAPResultInvalidCredentials,
		goldap.LDAPResultNoSuchObject,
		goldap.LDAPResultInvalidDNSyntax):
		if s.ctx.Err() != nil {
			return s.fail("bind as user", err)
		}
		return ErrInvalidCredentials
	default:
		return s.fail("bind as user", err)
	}
}

func (s *session) authenticateByTemplate(username, password string) (*Entry, error) {
	dn := strings.ReplaceAll(s.d.bindDNTemplate, Placeholder, goldap.EscapeDN(username))
	if err := s.bindUser(dn, password); err != nil {
		return nil, err
	}
	// Read the entry as the user: the bind proved who they are, and the
	// directory's access rules decide what they may see of themselves.
	entries, err := s.search(dn, goldap.ScopeBaseObject, "(objectClass=*)", 1)
	if err != nil {
		return nil, s.fail("read own entry", err)
	}
	if len(entries) != 1 {
		return nil, s.fail("read own entry", fmt.Errorf("the directory returned %d entries for the user's own DN", len(entries)))
	}
	return s.entry(entries[0]), nil
}

func (s *session) authenticateBySearch(username, password string) (*Entry, error) {
	s.arm()
	if err := s.conn.Bind(s.d.serviceDN, s.d.servicePassword); err != nil {
		// A refused service account is the organization's configuration
		// at fault, not the user's password: unavailable, never invalid.
		return nil, s.fail("bind as service account", err)
	}
	filter := strings.ReplaceAll(s.d.searchFilter, Placeholder, goldap.EscapeFilter(username))
	// Asking for two is enough to tell "exactly one" from "several".
	entries, err := s.search(s.d.searchBase, goldap.ScopeWholeSubtree, filter, 2)
	switch {
	case goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded):
		return nil, ErrInvalidCredentials
	case err != nil:
		return nil, s.fail("search for user", err)
	case len(entries) != 1:
		return nil, ErrInvalidCredentials
	}
	found := entries[0]
	if err := s.bindUser(found.DN, password); err != nil {
		return nil, err
	}
	// The attributes come from the service account's search: the user's
	// bind proved the password, and some directories let users read less
	// of their own entry than the service account may.
	return s.entry(found), nil
}

func (s *session) search(base string, scope int, filter string, limit int) ([]*goldap.Entry, error) {
	req := goldap.NewSearchRequest(base, scope, goldap.NeverDerefAliases,
		limit, int((s.d.timeout+time.Second-1)/time.Second), false, filter,
		[]string{s.d.emailAttr, s.d.nameAttr, s.d.phoneAttr, "entryUUID"}, nil)
	s.arm()
	res, err := s.conn.Search(req)
	if err != nil {
		return nil, err
	}
	return res.Entries, nil
}

func (s *session) entry(e *goldap.Entry) *Entry {
	ext := "dn:" + e.DN
	if u := strings.TrimSpace(e.GetEqualFoldAttributeValue("entryUUID")); u != "" {
		ext = "uuid:" + strings.ToLower(u)
	}
	return &Entry{
		DN:         e.DN,
		Email:      strings.TrimSpace(e.GetEqualFoldAttributeValue(s.d.emailAttr)),
		Name:       strings.TrimSpace(e.GetEqualFoldAttributeValue(s.d.nameAttr)),
		Phone:      strings.TrimSpace(e.GetEqualFoldAttributeValue(s.d.phoneAttr)),
		ExternalID: ext,
	}
}
