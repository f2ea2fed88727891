package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehousehq/gatehouse/internal/ldap"
	"github.com/gatehousehq/gatehouse/internal/saml"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

type ldapPage struct {
	Nav    settingsNav
	Config ldapJSON
	Errors map[string]string // field -> message
	Saved  bool
	Mode   string // "template" or "search"
}

func (s *Server) ldapData(r *http.Request, cur *signin.Current) (ldapPage, error) {
	d := ldapPage{Nav: newNav(cur, "password"), Errors: map[string]string{}, Mode: "template"}
	cfg, err := s.fedSetup.LDAPConfig(r.Context(), cur.Organization.ID)
	if err != nil {
		return d, err
	}
	if cfg != nil {
		d.Config = toLDAPJSON(cfg)
		if cfg.ServiceDN != "" {
			d.Mode = "search"
		}
	}
	return d, nil
}

func (s *Server) ldapPage(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	d, err := s.ldapData(r, cur)
	if err != nil {
		return err
	}
	d.Saved = r.URL.Query().Get("saved") == "1"
	s.renderPage(w, r, http.StatusOK, "settings_ldap", d)
	return nil
}

// ldapSubmit saves the LDAP set-up; every bad field is named beside it and
// nothing is saved until all are right.
func (s *Server) ldapSubmit(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	if err := r.ParseForm(); err != nil {
		return errUnreadableForm()
	}
	f := r.PostForm
	d, err := s.ldapData(r, cur)
	if err != nil {
		return err
	}
	saved := d.Config.ServicePasswordSet
	d.Mode = f.Get("mode")
	j := ldapJSON{URL: strings.TrimSpace(f.Get("url")), CACertPEM: strings.TrimSpace(f.Get("ca_cert_pem")), InsecureNoTLS: f.Get("insecure_no_tls") == "on",
		EmailAttr: strings.TrimSpace(f.Get("email_attr")), NameAttr: strings.TrimSpace(f.Get("name_attr")), PhoneAttr: strings.TrimSpace(f.Get("phone_attr"))}
	if d.Mode == "search" {
		j.ServiceDN, j.SearchBase, j.SearchFilter = strings.TrimSpace(f.Get("service_dn")), strings.TrimSpace(f.Get("search_base")), strings.TrimSpace(f.Get("search_filter"))
		if pw := f.Get("service_password"); pw != "" {
			j.ServicePassword = &pw
		}
	} else {
		d.Mode = "template"
		j.BindDNTemplate = strings.TrimSpace(f.Get("bind_dn_template"))
	}
	if v := strings.TrimSpace(f.Get("timeout_seconds")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			d.Errors["timeout_seconds"] = s.t(r, "ldap.timeout.invalid")
		}
		j.TimeoutSeconds = n
	}
	cfg := j.config()
	if cfg.ServiceDN != "" && cfg.ServicePassword == "" && saved {
		cfg.ServicePassword = "kept" // checked below against the saved one by SetLDAP; only for validation here
	}
	for _, p := range cfg.Problems() {
		if _, seen := d.Errors[p.Field]; !seen {
			d.Errors[p.Field] = s.errorText(r, p)
		}
	}
	j.ServicePasswordSet = saved
	j.ServicePassword = nil
	d.Config = j
	if len(d.Errors) > 0 {
		s.renderPage(w, r, http.StatusBadRequest, "settings_ldap", d)
		return nil
	}
	if err := s.fedSetup.SetLDAP(r.Context(), cur.Organization.ID, j.configWith(f.Get("service_password")), s.actor(r, cur)); err != nil {
		if s.toReauth(w, r, err, settingsURL(cur, "/settings/users/ldap")) {
			return nil
		}
		msg, field, status, internal := s.formError(w, r, err)
		if internal != nil {
			return internal
		}
		if field == "" {
			field = "form"
		}
		d.Errors[field] = msg
		s.renderPage(w, r, status, "settings_ldap", d)
		return nil
	}
	http.Redirect(w, r, settingsURL(cur, "/settings/users/ldap?saved=1"), http.StatusSeeOther)
	return nil
}

// configWith is the set-up with the password as typed ("" keeps the saved
// one).
func (j ldapJSON) configWith(password string) ldap.Config {
	c := j.config()
	c.ServicePassword = password
	return c
}

type samlPage struct {
	Nav    settingsNav
	Config samlJSON
	Errors map[string]string
	Saved  bool
}

func (s *Server) samlPage(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	d := samlPage{Nav: newNav(cur, "password"), Errors: map[string]string{},
		Saved: r.URL.Query().Get("saved") == "1"}
	j, err := s.samlAnswer(r, cur.Organization)
	if err != nil {
		return err
	}
	if j != nil {
		d.Config = *j
		if d.Config.IdPMetadataURL != "" {
			d.Config.IdPMetadataXML = ""
		}
	}
	s.renderPage(w, r, http.StatusOK, "settings_saml", d)
	return nil
}

// samlSubmit saves the SAML2 set-up; the bad field is named beside it and
// nothing is saved.
func (s *Server) samlSubmit(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	if err := r.ParseForm(); err != nil {
		return errUnreadableForm()
	}
	f := r.PostForm
	d := samlPage{Nav: newNav(cur, "password"), Errors: map[string]string{}}
	d.Config = samlJSON{IdPMetadataXML: strings.TrimSpace(f.Get("idp_metadata_xml")), IdPMetadataURL: strings.TrimSpace(f.Get("idp_metadata_url")),
		EmailAttr: strings.TrimSpace(f.Get("email_attr")), NameAttr: strings.TrimSpace(f.Get("name_attr")), PhoneAttr: strings.TrimSpace(f.Get("phone_attr"))}
	cfg := saml.Config{IdPMetadataXML: d.Config.IdPMetadataXML, IdPMetadataURL: d.Config.IdPMetadataURL,
		EmailAttr: d.Config.EmailAttr, NameAttr: d.Config.NameAttr, PhoneAttr: d.Config.PhoneAttr}
	if err := s.fedSetup.SetSAML(r.Context(), cur.Organization.ID, cfg, s.metadataPolicy(), s.actor(r, cur)); err != nil {
		if s.toReauth(w, r, err, settingsURL(cur, "/settings/users/saml")) {
			return nil
		}
		msg, field, status, internal := s.formError(w, r, err)
		if internal != nil {
			return internal
		}
		if field == "" {
			field = "form"
		}
		d.Errors[field] = msg
		if j, _ := s.samlAnswer(r, cur.Organization); j != nil {
			d.Config.SPMetadataURL, d.Config.ACSURL = j.SPMetadataURL, j.ACSURL
		}
		s.renderPage(w, r, status, "settings_saml", d)
		return nil
	}
	http.Redirect(w, r, settingsURL(cur, "/settings/users/saml?saved=1"), http.StatusSeeOther)
	return nil
}
