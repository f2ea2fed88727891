// Package federation keeps each organization's LDAP and SAML2 set-up and
// turns it into the directory or service provider that sign-in uses. The
// set-up is stored sealed (AES-256-GCM under a subkey of the server's
// current key, internal/keyring), because it holds secrets: an LDAP service
// account's password and the SAML service provider's private key. What an
// old key sealed is sealed again under the current key when read.
package federation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// Service is the organizations' federation set-up.
type Service struct {
	store  Store
	sealer *keyring.Sealer
	now    func() time.Time
}

// New returns a Service sealing with a key derived from secret.
func New(store Store, secret []byte, now func() time.Time) (*Service, error) {
	if len(secret) < 32 {
		return nil, errors.New("federation: the server secret must be at least 32 bytes")
	}
	keys, err := keyring.New(secret)
	if err != nil {
		return nil, fmt.Errorf("federation: %w", err)
	}
	return NewWithKeys(store, keys, now), nil
}

// NewWithKeys returns a Service sealing with the ring's current key. What an
// old key sealed (or the single secret before the keyring) still opens, and
// is sealed again under the current key when it is read.
func NewWithKeys(store Store, keys *keyring.Ring, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, sealer: keys.Sealer(sealPurpose, legacySealLabel), now: now}
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
func (s *Service) LDAPConfig(ctx context.Context, orgID string) (*ldap.Config, error) {
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
func (s *Service) SetLDAP(ctx context.Context, orgID string, cfg ldap.Config, actor gatehouse.Actor) error {
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
	s.audit(ctx, orgID, "ldap", actor, map[string]string{"url": cfg.URL, "bind_dn_template": cfg.BindDNTemplate,
		"service_dn": cfg.ServiceDN, "search_base": cfg.SearchBase, "search_filter": cfg.SearchFilter})
	return nil
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

// audit records a change of set-up; actor carries who and from where.
func (s *Service) audit(ctx context.Context, orgID, kind string, actor gatehouse.Actor, detail map[string]string) {
	for k, v := range detail {
		if v == "" {
			delete(detail, k)
		}
	}
	_ = s.store.AppendAudit(ctx, &gatehouse.AuditEvent{OrgID: orgID, ActorID: actor.UserID, ClientIP: actor.ClientIP,
		Event: gatehouse.AuditSignInConfigChanged, Reason: kind, At: s.now(), Detail: detail})
}

// Configured reports whether the organization has set up the method, so
// that choosing it cannot lock everyone out.
func (s *Service) Configured(ctx context.Context, orgID string, m gatehouse.AuthMethod) (bool, error) {
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
func (s *Service) Directory(ctx context.Context, org *gatehouse.Organization) (signin.Directory, error) {
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
