// Package federation keeps each organization's LDAP and SAML2 set-up and
// turns it into the directory or service provider that sign-in uses. The
// set-up is stored sealed (AES-256-GCM under a key derived from the server
// secret), because it holds secrets: an LDAP service account's password and
// the SAML service provider's private key.
package federation

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/ldap"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

// Store is what the service keeps its set-up and audit events in.
type Store interface {
	gatehouse.FederationStore
	AppendAudit(ctx context.Context, e *gatehouse.AuditEvent) error
}

// Service is the organizations' federation set-up.
type Service struct {
	store Store
	aead  cipher.AEAD
	now   func() time.Time
}

// New returns a Service sealing with a key derived from secret.
func New(store Store, secret []byte, now func() time.Time) (*Service, error) {
	if len(secret) < 32 {
		return nil, errors.New("federation: the server secret must be at least 32 bytes")
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("gatehouse federation sealing key"))
	block, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, aead: aead, now: now}, nil
}

// seal encrypts b, bound to the organization and the kind of data, so a
// sealed value cannot be moved to another organization or field.
func (s *Service) seal(orgID, kind string, b []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, b, []byte(orgID+"\x00"+kind))
}

func (s *Service) open(orgID, kind string, b []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(b) < n {
		return nil, fmt.Errorf("federation: sealed %s is too short", kind)
	}
	out, err := s.aead.Open(nil, b[:n], b[n:], []byte(orgID+"\x00"+kind))
	if err != nil {
		return nil, fmt.Errorf("federation: open sealed %s (was the secret key changed?): %w", kind, err)
	}
	return out, nil
}

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
	b, err := s.open(orgID, "ldap", c.LDAP)
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
// the one saved before, so a form need not show it. Returns EINVALID naming
// the first bad field (ldap.Config.Problems has all).
func (s *Service) SetLDAP(ctx context.Context, orgID string, cfg ldap.Config, actor gatehouse.AuditEvent) error {
	if cfg.ServiceDN != "" && cfg.ServicePassword == "" {
		if old, err := s.LDAPConfig(ctx, orgID); err != nil {
			return err
		} else if old != nil && old.ServiceDN == cfg.ServiceDN {
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

// audit records a change of set-up; actor carries who and from where.
func (s *Service) audit(ctx context.Context, orgID, kind string, actor gatehouse.AuditEvent, detail map[string]string) {
	for k, v := range detail {
		if v == "" {
			delete(detail, k)
		}
	}
	_ = s.store.AppendAudit(ctx, &gatehouse.AuditEvent{OrgID: orgID, ActorID: actor.ActorID, ClientIP: actor.ClientIP,
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
