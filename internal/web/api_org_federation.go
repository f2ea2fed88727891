package web

import (
	"net/http"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/ldap"
	"github.com/gatehousehq/gatehouse/internal/saml"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

// ldapJSON is the LDAP set-up in the API. The service password is written,
// never read back: GET says only whether one is saved.
type ldapJSON struct {
	URL                string  `json:"url"`
	CACertPEM          string  `json:"ca_cert_pem"`
	InsecureNoTLS      bool    `json:"insecure_no_tls"`
	BindDNTemplate     string  `json:"bind_dn_template"`
	ServiceDN          string  `json:"service_dn"`
	ServicePassword    *string `json:"service_password,omitempty"`
	ServicePasswordSet bool    `json:"service_password_set"`
	SearchBase         string  `json:"search_base"`
	SearchFilter       string  `json:"search_filter"`
	EmailAttr          string  `json:"email_attr"`
	NameAttr           string  `json:"name_attr"`
	PhoneAttr          string  `json:"phone_attr"`
	TimeoutSeconds     int     `json:"timeout_seconds"`
}

func toLDAPJSON(c *ldap.Config) ldapJSON {
	return ldapJSON{URL: c.URL, CACertPEM: c.CACertPEM, InsecureNoTLS: c.InsecureNoTLS, BindDNTemplate: c.BindDNTemplate,
		ServiceDN: c.ServiceDN, ServicePasswordSet: c.ServicePassword != "", SearchBase: c.SearchBase, SearchFilter: c.SearchFilter,
		EmailAttr: c.EmailAttr, NameAttr: c.NameAttr, PhoneAttr: c.PhoneAttr, TimeoutSeconds: int(c.Timeout / time.Second)}
}

func (j ldapJSON) config() ldap.Config {
	c := ldap.Config{URL: j.URL, CACertPEM: j.CACertPEM, InsecureNoTLS: j.InsecureNoTLS, BindDNTemplate: j.BindDNTemplate,
		ServiceDN: j.ServiceDN, SearchBase: j.SearchBase, SearchFilter: j.SearchFilter, EmailAttr: j.EmailAttr,
		NameAttr: j.NameAttr, PhoneAttr: j.PhoneAttr, Timeout: time.Duration(j.TimeoutSeconds) * time.Second}
	if j.ServicePassword != nil {
		c.ServicePassword = *j.ServicePassword
	}
	return c
}

// apiGetLDAP is GET /api/v1/organizations/{slug}/ldap.
func (s *Server) apiGetLDAP(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	cfg, err := s.fedSetup.LDAPConfig(r.Context(), cur.Organization.ID)
	if err != nil {
		return err
	}
	if cfg == nil {
		return gatehouse.Errorf(gatehouse.ENOTFOUND, "LDAP is not set up for this organization.")
	}
	writeJSON(w, http.StatusOK, toLDAPJSON(cfg))
	return nil
}

// apiPutLDAP is PUT /api/v1/organizations/{slug}/ldap: the whole set-up,
// validated before anything is saved. A missing service_password keeps the
// saved one.
func (s *Server) apiPutLDAP(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	var body ldapJSON
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	if err := s.fedSetup.SetLDAP(r.Context(), cur.Organization.ID, body.config(), s.actor(r, cur)); err != nil {
		return err
	}
	cfg, err := s.fedSetup.LDAPConfig(r.Context(), cur.Organization.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toLDAPJSON(cfg))
	return nil
}

// samlJSON is the SAML2 set-up in the API, with the service provider's own
// addresses to give the IdP.
type samlJSON struct {
	IdPMetadataXML string `json:"idp_metadata_xml"`
	IdPMetadataURL string `json:"idp_metadata_url"`
	EmailAttr      string `json:"email_attr"`
	NameAttr       string `json:"name_attr"`
	PhoneAttr      string `json:"phone_attr"`
	SPMetadataURL  string `json:"sp_metadata_url,omitempty"`
	ACSURL         string `json:"acs_url,omitempty"`
}

func (s *Server) samlAnswer(r *http.Request, org *gatehouse.Organization) (*samlJSON, error) {
	cfg, err := s.fedSetup.SAMLConfig(r.Context(), org.ID)
	if err != nil || cfg == nil {
		return nil, err
	}
	sp, err := s.samlSPs.ServiceProvider(r.Context(), org, s.cfg.PublicURL)
	if err != nil {
		return nil, err
	}
	return &samlJSON{IdPMetadataXML: cfg.IdPMetadataXML, IdPMetadataURL: cfg.IdPMetadataURL, EmailAttr: cfg.EmailAttr,
		NameAttr: cfg.NameAttr, PhoneAttr: cfg.PhoneAttr, SPMetadataURL: sp.MetadataURL(), ACSURL: sp.ACSURL()}, nil
}

// apiGetSAML is GET /api/v1/organizations/{slug}/saml.
func (s *Server) apiGetSAML(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	j, err := s.samlAnswer(r, cur.Organization)
	if err != nil {
		return err
	}
	if j == nil {
		return gatehouse.Errorf(gatehouse.ENOTFOUND, "SAML2 is not set up for this organization.")
	}
	writeJSON(w, http.StatusOK, j)
	return nil
}

// apiPutSAML is PUT /api/v1/organizations/{slug}/saml: the IdP's metadata
// (as XML, or a URL fetched now) and the attribute names.
func (s *Server) apiPutSAML(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	var body samlJSON
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	cfg := saml.Config{IdPMetadataXML: body.IdPMetadataXML, IdPMetadataURL: body.IdPMetadataURL,
		EmailAttr: body.EmailAttr, NameAttr: body.NameAttr, PhoneAttr: body.PhoneAttr}
	if cfg.IdPMetadataURL != "" {
		cfg.IdPMetadataXML = ""
	}
	if err := s.fedSetup.SetSAML(r.Context(), cur.Organization.ID, cfg, s.metadataPolicy(), s.actor(r, cur)); err != nil {
		return err
	}
	j, err := s.samlAnswer(r, cur.Organization)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, j)
	return nil
}
