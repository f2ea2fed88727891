package web

import (
	"net/http"
	"net/url"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/accounts"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

// orgsPageData is Settings > Organizations, for a group admin: the
// organizations of their groups and a form to create one in a group.
type orgsPageData struct {
	Nav    settingsNav
	Orgs   []*gatehouse.Organization
	Groups []*gatehouse.OrgGroup
	New    accounts.NewOrganization
	Group  string
	Error  string
	Field  string
}

// groupAdmin is the signed-in group admin's session with the organizations
// they administer (Current.Managed), or a 404 for anyone else: the page
// does not exist for them.
func (s *Server) groupAdmin(r *http.Request, cur *signin.Current) (*signin.Current, []*gatehouse.OrgGroup, error) {
	home, err := s.auth.AdminOf(r.Context(), cur, cur.Organization.Slug)
	if gatehouse.ErrorCode(err) == gatehouse.EFORBIDDEN || (err == nil && len(home.Managed) == 0) {
		return nil, nil, errNoSuchPage()
	} else if err != nil {
		return nil, nil, err
	}
	groups, err := s.orgs.GroupsByIDs(r.Context(), s.actor(r, home).GroupIDs)
	return home, groups, err
}

func (s *Server) orgsPage(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	home, groups, err := s.groupAdmin(r, cur)
	if err != nil {
		return err
	}
	s.renderPage(w, r, http.StatusOK, "settings_orgs", orgsPageData{Nav: newNav(home, "organizations"), Orgs: home.Managed, Groups: groups})
	return nil
}

func (s *Server) orgsSubmit(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	home, groups, err := s.groupAdmin(r, cur)
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return errUnreadableForm()
	}
	f := r.PostForm
	in := accounts.NewOrganization{Slug: f.Get("slug"), Name: f.Get("name"), TimeZone: f.Get("time_zone"), Country: f.Get("country")}
	group := f.Get("group")
	if group == "" && len(groups) == 1 {
		group = groups[0].Slug
	}
	org, err := s.orgs.CreateGroupOrganization(r.Context(), group, in, s.actor(r, home))
	if err != nil {
		if s.toReauth(w, r, err, "/settings/organizations") {
			return nil
		}
		msg, field, status, internal := s.formError(w, r, err)
		if internal != nil {
			return internal
		}
		s.renderPage(w, r, status, "settings_orgs", orgsPageData{Nav: newNav(home, "organizations"), Orgs: home.Managed, Groups: groups,
			New: in, Group: group, Error: msg, Field: field})
		return nil
	}
	http.Redirect(w, r, "/settings/organization?saved=1&org="+url.QueryEscape(org.Slug), http.StatusSeeOther)
	return nil
}

// apiOrganizations is GET /api/v1/organizations: for a session, the
// organizations the caller may administer (their own when they are its
// admin, and those of their groups); for an API token, every one; by slug.
func (s *Server) apiOrganizations(w http.ResponseWriter, r *http.Request, c *caller) error {
	var orgs []*gatehouse.Organization
	var err error
	if c.cur != nil {
		orgs, err = s.auth.Manageable(r.Context(), c.cur)
	} else {
		orgs, err = s.orgs.Organizations(r.Context(), c.actor)
	}
	if err != nil {
		return err
	}
	out := make([]orgProfileJSON, 0, len(orgs))
	for _, o := range orgs {
		out = append(out, orgOut(o))
	}
	writeJSON(w, http.StatusOK, map[string]any{"organizations": out})
	return nil
}

// orgCreateJSON is the body of POST /api/v1/organizations.
type orgCreateJSON struct {
	Slug             string `json:"slug"`
	Name             string `json:"name"`
	TimeZone         string `json:"time_zone"`
	Country          string `json:"country"`
	Group            string `json:"group"`
	EnforceTwoFactor *bool  `json:"enforce_two_factor"`
}

func (b orgCreateJSON) organization() accounts.NewOrganization {
	return accounts.NewOrganization{Slug: b.Slug, Name: b.Name, TimeZone: b.TimeZone, Country: b.Country, EnforceTwoFactor: b.EnforceTwoFactor}
}

// apiCreateOrganization is POST /api/v1/organizations: for a group admin,
// a new organization in one of their groups ("group" may be left out when
// they have one), which they then administer; for an API token, one in the
// group named, or in none. 201 with it.
func (s *Server) apiCreateOrganization(w http.ResponseWriter, r *http.Request, c *caller) error {
	var body orgCreateJSON
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	var org *gatehouse.Organization
	var err error
	switch {
	case c.cur == nil && body.Group == "":
		org, err = s.orgs.CreateOrganizationAs(r.Context(), body.organization(), c.actor)
	case c.cur == nil:
		org, err = s.orgs.CreateGroupOrganization(r.Context(), body.Group, body.organization(), c.actor)
	default:
		org, err = s.groupAdminCreates(r, c.cur, body)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, orgOut(org))
	return nil
}

func (s *Server) groupAdminCreates(r *http.Request, cur *signin.Current, body orgCreateJSON) (*gatehouse.Organization, error) {
	home, groups, err := s.groupAdmin(r, cur)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, gatehouse.Reasoned(gatehouse.EFORBIDDEN, gatehouse.ReasonAdminOnly, "Only admins of this organization may do that.")
	} else if err != nil {
		return nil, err
	}
	if body.Group == "" && len(groups) == 1 {
		body.Group = groups[0].Slug
	}
	if body.Group == "" {
		return nil, gatehouse.FieldReason("group", gatehouse.ReasonGroupRequired, "Name the group to create the organization in.")
	}
	return s.orgs.CreateGroupOrganization(r.Context(), body.Group, body.organization(), s.actor(r, home))
}
