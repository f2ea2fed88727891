// Package federation keeps each organization's LDAP and SAML2 set-up and
// turns it into the directory or service provider that sign-in uses. The
// set-up is stored sealed (AES-256-GCM under a subkey of the server's
// current key, internal/keyring), because it holds secrets: an LDAP service
// account's password and the SAML service provider's private key. What an
// old key sealed is sealed again under the current key when read.
package federation

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/keyring"
	"github.com/gatehousehq/gatehouse/internal/ldap"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

// Store is what the service keeps its set-up and audit events in.
type Store interface {
	gatehouse.FederationStore
	AppendAudit(ctx context.Context, e *gatehouse.AuditEvent) error
	// ResealSignInConfig replaces one sealed part (its column: ldap, saml,
	// saml_key) only while it still holds the old value.
	ResealSignInConfig(ctx context.Context, orgID, part string, oldSealed, newSealed []byte) error
}

// Config holds the Service's collaborators.
type Config struct {
	// Store keeps the set-up and the audit log; required.
	Store Store
	// Keys are the server's keys, the current one first: the set-up is
	// sealed under the current one, and what an old key (or the single
	// secret of before the keyring) sealed still opens and is sealed again
	// under the current one when read. Required unless Secret is given.
	Keys *keyring.Ring
	// Secret, when Keys is nil, is the one server key (at least 32 bytes).
	Secret []byte
	// Logger is told, once, the cause of every failure answered
	// EUNAVAILABLE; nil discards.
	Logger *slog.Logger
	// Now is the clock of audit events and certificates; nil is time.Now.
	Now func() time.Time
	// Rand makes the SAML2 service provider's key pair; nil is crypto/rand.
	Rand io.Reader
}

// Service is the organizations' federation set-up.
type Service struct {
	store  Store
	sealer *keyring.Sealer
	log    *slog.Logger
	now    func() time.Time
	rand   io.Reader
}

// New returns a Service, or an error naming the required field missing.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("federation: Config.Store is required")
	}
	keys := cfg.Keys
	if keys == nil {
		if len(cfg.Secret) < 32 {
			return nil, errors.New("federation: Config.Keys, or a Config.Secret of at least 32 bytes, is required")
		}
		var err error
		if keys, err = keyring.New(cfg.Secret); err != nil {
			return nil, fmt.Errorf("federation: %w", err)
		}
	}
	s := &Service{store: cfg.Store, sealer: keys.Sealer(sealPurpose, legacySealLabel), log: cfg.Logger, now: cfg.Now, rand: cfg.Rand}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	return s, nil
}

// fail is deferred by every method: a failure of the store (anything that
// is not a user-facing *gatehouse.Error) is logged here, once, and answered
// EUNAVAILABLE (503) like sign-in's and accounts', never "internal error".
func (s *Service) fail(ctx context.Context, err *error, op string) {
	var ge *gatehouse.Error
	if *err == nil || errors.As(*err, &ge) {
		return
	}
	s.log.ErrorContext(ctx, "federation operation failed", "op", op, "error", *err)
	gatehouse.WrapFailure(err, op)
}

const (
	sealPurpose = "federation seal"
	// legacySealLabel keyed the sealing before the keyring.
	legacySealLabel = "federation sealing key"
)

// seal encrypts b, bound to the organization and the kind of data, so a
// sealed value cannot be moved to another organization or field.
func (s *Service) seal(orgID, kind string, b []byte) []byte {
	return s.sealer.Seal(b, []byte(orgID+"\x00"+kind))
}

// open decrypts a sealed part of the organization's set-up. A part sealed
// under an old key is sealed again under the current one and saved, unless
// it changed meanwhile (then the change stands); failing to save it only
// leaves it for the next read.
func (s *Service) open(ctx context.Context, orgID, kind string, b []byte) ([]byte, error) {
	out, o, err := s.sealer.Open(b, []byte(orgID+"\x00"+kind))
	if err != nil {
		return nil, fmt.Errorf("federation: open sealed %s (was the secret key changed or removed?): %w", kind, err)
	}
	if !o.Current {
		_ = s.store.ResealSignInConfig(ctx, orgID, sealedColumn[kind], b, s.seal(orgID, kind, out))
	}
	return out, nil
}

// sealedColumn is where each kind of sealed data is stored.
var sealedColumn = map[string]string{"ldap": "ldap", "saml": "saml", "saml key": "saml_key"}

func (s *Service) config(ctx context.Context, orgID string) (*gatehouse.SignInConfig, error) {
	c, err := s.store.SignInConfig(ctx, orgID)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return &gatehouse.SignInConfig{OrgID: orgID}, nil
	}
	return c, err
}

// LDAPConfig returns the organization's LDAP set-up, or nil when there is
// none. The service password is in it: callers showing it must not.
func (s *Service) LDAPConfig(ctx context.Context, orgID string) (_ *ldap.Config, err error) {
	defer s.fail(ctx, &err, "read ldap set-up")
	c, err := s.config(ctx, orgID)
	if err != nil || c.LDAP == nil {
		return nil, err
	}
	b, err := s.open(ctx, orgID, "ldap", c.LDAP)
	if err != nil {
		return nil, err
	}
	var cfg ldap.Config
	if err := json.Unmarshal(b, &cfg); err != nil {
		return nil, fmt.Errorf("federation: ldap config: %w", err)
	}
	return &cfg, nil
}

// SetLDAP saves the organization's LDAP set-up after validating it, and
// audits the change (never the password). An empty service password keeps
// the one saved before, so a form need not show it, but only while the
// password would go to the same place: the URL, the TLS settings and the
// service DN all unchanged. Otherwise it must be given again, so a changed
// URL cannot send the saved password to a new server.
//
// The actor must be an admin of the organization (or the operator) who
// authenticated recently. Returns EFORBIDDEN, EREAUTHREQUIRED, EINVALID
// naming the first bad field (ldap.Config.Problems has all).
func (s *Service) SetLDAP(ctx context.Context, orgID string, cfg ldap.Config, actor gatehouse.Actor) (err error) {
	defer s.fail(ctx, &err, "save ldap set-up")
	if err := guard(actor, orgID, s.now()); err != nil {
		return err
	}
	if cfg.ServiceDN != "" && cfg.ServicePassword == "" {
		old, err := s.LDAPConfig(ctx, orgID)
		if err != nil {
			return err
		}
		if old != nil && old.ServicePassword != "" {
			if !sameLDAPTarget(old, &cfg) {
				return gatehouse.FieldReason("service_password", gatehouse.ReasonServicePasswordAgain,
					"Enter the service account's password again: the saved one is kept only while the URL, the TLS settings and the service DN stay the same.")
			}
			cfg.ServicePassword = old.ServicePassword
		}
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	c, err := s.config(ctx, orgID)
	if err != nil {
		return err
	}
	c.LDAP, c.UpdatedAt = s.seal(orgID, "ldap", b), s.now()
	if err := s.store.SaveSignInConfig(ctx, c); err != nil {
		return err
	}
	return s.audit(ctx, orgID, "ldap", actor, map[string]string{"url": cfg.URL, "bind_dn_template": cfg.BindDNTemplate,
		"service_dn": cfg.ServiceDN, "search_base": cfg.SearchBase, "search_filter": cfg.SearchFilter})
}

// sameLDAPTarget reports whether a saved service password would reach the
// same server, over the same TLS, as the same account under next.
func sameLDAPTarget(old, next *ldap.Config) bool {
	return old.URL == next.URL && old.CACertPEM == next.CACertPEM && old.InsecureNoTLS == next.InsecureNoTLS &&
		old.ServiceDN == next.ServiceDN
}

// guard is the check of every change of set-up: an admin of the
// organization, or the operator, who authenticated recently.
func guard(actor gatehouse.Actor, orgID string, now time.Time) error {
	if err := actor.RequireAdmin(orgID); err != nil {
		return err
	}
	return actor.RequireRecent(now)
}

// audit records a change of set-up; actor carries who and from where. Its
// failure fails the change's call (EUNAVAILABLE): a change of who can sign
// in is never left unrecorded without the caller knowing. The set-up itself
// is saved by then, so trying again saves the same and records it.
func (s *Service) audit(ctx context.Context, orgID, kind string, actor gatehouse.Actor, detail map[string]string) error {
	for k, v := range detail {
		if v == "" {
			delete(detail, k)
		}
	}
	return s.store.AppendAudit(ctx, &gatehouse.AuditEvent{OrgID: orgID, ActorID: actor.UserID, ClientIP: actor.ClientIP,
		Event: gatehouse.AuditSignInConfigChanged, Reason: kind, At: s.now(), Detail: detail})
}

// Configured reports whether the organization has set up the method, so
// that choosing it cannot lock everyone out.
func (s *Service) Configured(ctx context.Context, orgID string, m gatehouse.AuthMethod) (_ bool, err error) {
	defer s.fail(ctx, &err, "read set-up")
	c, err := s.config(ctx, orgID)
	if err != nil {
		return false, err
	}
	switch m {
	case gatehouse.AuthPassword:
		return true, nil
	case gatehouse.AuthLDAP:
		return c.LDAP != nil, nil
	case gatehouse.AuthSAML2:
		return c.SAML != nil, nil
	}
	return false, nil
}

// Directory opens the organization's LDAP directory for a sign-in.
func (s *Service) Directory(ctx context.Context, org *gatehouse.Organization) (_ signin.Directory, err error) {
	defer s.fail(ctx, &err, "open directory")
	cfg, err := s.LDAPConfig(ctx, org.ID)
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		return nil, fmt.Errorf("federation: organization %s has no LDAP set-up", org.Slug)
	}
	d, err := ldap.New(*cfg)
	if err != nil {
		return nil, err
	}
	return directory{d}, nil
}

type directory struct{ d *ldap.Directory }

func (d directory) Authenticate(ctx context.Context, username, password string) (*signin.Identity, error) {
	e, err := d.d.Authenticate(ctx, username, password)
	if err != nil {
		return nil, err
	}
	return &signin.Identity{Email: e.Email, Name: e.Name, Phone: e.Phone, Provider: "ldap", ExternalID: e.ExternalID}, nil
}

// Inspect opens a stored sealed part (by its column: ldap, saml or
// saml_key) only to tell which key of the ring sealed it, writing nothing:
// for `gatehouse keys check`.
func Inspect(keys *keyring.Ring, orgID, column string, sealed []byte) (keyring.Opened, error) {
	for kind, col := range sealedColumn {
		if col == column {
			_, o, err := keys.Sealer(sealPurpose, legacySealLabel).Open(sealed, []byte(orgID+"\x00"+kind))
			return o, err
		}
	}
	return keyring.Opened{}, fmt.Errorf("federation: unknown sealed part %q", column)
}

// Reseal seals a stored part (by its column: ldap, saml or saml_key) again
// under the current key when another key (or the form of before the
// keyring) sealed it, only while it is unchanged. It reports whether the
// part needed it; an error means no key of the ring opens it.
func (s *Service) Reseal(ctx context.Context, orgID, column string, sealed []byte) (bool, error) {
	for kind, col := range sealedColumn {
		if col == column {
			_, o, err := s.sealer.Open(sealed, []byte(orgID+"\x00"+kind))
			if err != nil || o.Current {
				return false, err
			}
			_, err = s.open(ctx, orgID, kind, sealed)
			return true, err
		}
	}
	return false, fmt.Errorf("federation: unknown sealed part %q", column)
}
