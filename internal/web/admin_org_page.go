package web

import (
	"net/http"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/accounts"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

// orgPageData is Settings > Organization: the name, time zone and country.
type orgPageData struct {
	Nav                     settingsNav
	Name, TimeZone, Country string
	ServerZone              string
	SignInURL               string
	Saved                   bool
	Error, Field            string
}

func (s *Server) orgData(cur *signin.Current, in accounts.OrgProfile) orgPageData {
	return orgPageData{Nav: newNav(cur, "organization"),
		Name: in.Name, TimeZone: in.TimeZone, Country: in.Country, ServerZone: time.Local.String(),
		SignInURL: s.publicURL("/o/" + cur.Organization.Slug + "/login")}
}

func (s *Server) orgPage(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	o := cur.Organization
	d := s.orgData(cur, accounts.OrgProfile{Name: o.Name, TimeZone: o.TimeZone, Country: o.Country})
	d.Saved = r.URL.Query().Get("saved") == "1"
	s.renderPage(w, r, http.StatusOK, "settings_org", d)
	return nil
}

func (s *Server) orgSubmit(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	if err := r.ParseForm(); err != nil {
		return errUnreadableForm()
	}
	in := accounts.OrgProfile{Name: r.PostForm.Get("name"), TimeZone: r.PostForm.Get("time_zone"), Country: r.PostForm.Get("country")}
	if _, err := s.orgs.EditOrganization(r.Context(), cur.Organization.Slug, in, s.actor(r, cur)); err != nil {
		msg, field, status, internal := s.formError(w, r, err)
		if internal != nil {
			return internal
		}
		d := s.orgData(cur, in)
		d.Error, d.Field = msg, field
		s.renderPage(w, r, status, "settings_org", d)
		return nil
	}
	http.Redirect(w, r, settingsURL(cur, "/settings/organization?saved=1"), http.StatusSeeOther)
	return nil
}

type orgProfileJSON struct {
	ID       string `json:"id"`
	Slug     string `json:"slug"`
	Name     string `json:"name"`
	TimeZone string `json:"time_zone"`
	Country  string `json:"country"`
}

func orgOut(o *gatehouse.Organization) orgProfileJSON {
	return orgProfileJSON{ID: o.ID, Slug: o.Slug, Name: o.Name, TimeZone: o.TimeZone, Country: o.Country}
}

// apiGetOrganization is GET /api/v1/organizations/{slug}.
func (s *Server) apiGetOrganization(w http.ResponseWriter, r *http.Request, c *caller) error {
	writeJSON(w, http.StatusOK, orgOut(c.org))
	return nil
}

// apiPutOrganization is PUT /api/v1/organizations/{slug}: the name, time
// zone and country, all three ("" for the server's zone, or no country).
func (s *Server) apiPutOrganization(w http.ResponseWriter, r *http.Request, c *caller) error {
	var body struct {
		Name     *string `json:"name"`
		TimeZone string  `json:"time_zone"`
		Country  string  `json:"country"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	if body.Name == nil {
		return gatehouse.FieldError("name", "The organization name is required.")
	}
	org, err := s.orgs.EditOrganization(r.Context(), c.org.Slug, accounts.OrgProfile{Name: *body.Name, TimeZone: body.TimeZone, Country: body.Country}, c.actor)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, orgOut(org))
	return nil
}
