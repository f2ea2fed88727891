package federation

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/saml"
)

// SAMLSetup is an organization's SAML2 set-up as stored: the IdP's metadata
// as fetched or given (so every node uses the same copy) and where it came
// from.
type SAMLSetup struct {
	IdPMetadataXML string `json:"idp_metadata_xml"`
	IdPMetadataURL string `json:"idp_metadata_url,omitempty"`
	EmailAttr      string `json:"email_attr,omitempty"`
	NameAttr       string `json:"name_attr,omitempty"`
	PhoneAttr      string `json:"phone_attr,omitempty"`
}

// SAMLConfig returns the organization's SAML2 set-up, or nil when there is
// none. IdPMetadataXML holds the document in use, also when it was fetched
// from IdPMetadataURL.
func (s *Service) SAMLConfig(ctx context.Context, orgID string) (_ *saml.Config, err error) {
	defer s.fail(ctx, &err, "read saml set-up")
	st, err := s.samlSetup(ctx, orgID)
	if err != nil || st == nil {
		return nil, err
	}
	return &saml.Config{IdPMetadataXML: st.IdPMetadataXML, IdPMetadataURL: st.IdPMetadataURL,
		EmailAttr: st.EmailAttr, NameAttr: st.NameAttr, PhoneAttr: st.PhoneAttr}, nil
}

func (s *Service) samlSetup(ctx context.Context, orgID string) (*SAMLSetup, error) {
	c, err := s.config(ctx, orgID)
	if err != nil || c.SAML == nil {
		return nil, err
	}
	b, err := s.open(ctx, orgID, "saml", c.SAML)
	if err != nil {
		return nil, err
	}
	var st SAMLSetup
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("federation: saml config: %w", err)
	}
	return &st, nil
}

// SetSAML validates and saves the organization's SAML2 set-up. A metadata
// URL is fetched now, within a timeout, and the document stored. The
// organization's service-provider key pair is made the first time. The
// actor must be an admin of the organization (or the operator) who
// authenticated recently: whoever sets the IdP can sign in as anyone.
// policy says where a URL may lead (saml.FetchPolicy: https to public
// addresses only, outside development mode). Returns EFORBIDDEN,
// EREAUTHREQUIRED, EINVALID naming the bad field, EUNAVAILABLE when the URL
// cannot be fetched.
func (s *Service) SetSAML(ctx context.Context, orgID string, cfg saml.Config, policy saml.FetchPolicy, actor gatehouse.Actor) (err error) {
	defer s.fail(ctx, &err, "save saml set-up")
	if err := guard(actor, orgID, s.now()); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	md, err := cfg.IdPMetadata(ctx, policy)
	if err != nil {
		return err
	}
	st := SAMLSetup{IdPMetadataXML: string(md.Raw()), IdPMetadataURL: cfg.IdPMetadataURL,
		EmailAttr: cfg.EmailAttr, NameAttr: cfg.NameAttr, PhoneAttr: cfg.PhoneAttr}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	c, err := s.config(ctx, orgID)
	if err != nil {
		return err
	}
	if c.SAMLKey == nil {
		key, cert, err := saml.NewKeyPair(s.rand, "Gatehouse service provider", s.now())
		if err != nil {
			return err
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return err
		}
		c.SAMLKey, c.SAMLCert = s.seal(orgID, "saml key", der), cert.Raw
	}
	c.SAML, c.UpdatedAt = s.seal(orgID, "saml", b), s.now()
	if err := s.store.SaveSignInConfig(ctx, c); err != nil {
		return err
	}
	return s.audit(ctx, orgID, "saml2", actor, map[string]string{"idp": md.EntityID(), "idp_metadata_url": cfg.IdPMetadataURL})
}

// ServiceProvider builds the organization's SAML2 service provider under
// the public URL base. Returns ENOTFOUND when SAML2 is not set up.
func (s *Service) ServiceProvider(ctx context.Context, org *gatehouse.Organization, base *url.URL) (_ *saml.ServiceProvider, err error) {
	defer s.fail(ctx, &err, "build service provider")
	c, err := s.config(ctx, org.ID)
	if err != nil {
		return nil, err
	}
	if c.SAML == nil || c.SAMLKey == nil {
		return nil, gatehouse.Reasoned(gatehouse.ENOTFOUND, gatehouse.ReasonSAML2NotSetUp, "SAML2 is not set up for this organization.")
	}
	st, err := s.samlSetup(ctx, org.ID)
	if err != nil {
		return nil, err
	}
	der, err := s.open(ctx, org.ID, "saml key", c.SAMLKey)
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("federation: saml key: %w", err)
	}
	key, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("federation: saml key is %T, not RSA", k)
	}
	cert, err := x509.ParseCertificate(c.SAMLCert)
	if err != nil {
		return nil, fmt.Errorf("federation: saml certificate: %w", err)
	}
	md, err := saml.ParseIdPMetadata([]byte(st.IdPMetadataXML))
	if err != nil {
		return nil, err
	}
	return saml.New(saml.Options{BaseURL: base, OrgSlug: org.Slug, Key: key, Cert: cert, IdPMetadata: md,
		EmailAttr: st.EmailAttr, NameAttr: st.NameAttr, PhoneAttr: st.PhoneAttr, Clock: s.now,
		ReplayCache: replays{s.store, org.ID}, RequestTracker: requests{s.store, org.ID}})
}

// replays and requests keep the SAML state in the database, so that every
// node refuses a replayed assertion and takes a request id once.
type replays struct {
	store Store
	orgID string
}

func (r replays) Remember(ctx context.Context, id string, until time.Time) (bool, error) {
	return r.store.RememberAssertion(ctx, r.orgID, id, until)
}

type requests struct {
	store Store
	orgID string
}

func (r requests) Issue(ctx context.Context, id string, browserHash []byte, until time.Time) error {
	return r.store.IssueSAMLRequest(ctx, r.orgID, id, browserHash, until)
}

func (r requests) Consume(ctx context.Context, id string, now time.Time) ([]byte, bool, error) {
	return r.store.ConsumeSAMLRequest(ctx, r.orgID, id, now)
}
