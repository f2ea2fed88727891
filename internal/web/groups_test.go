package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/password"
	"golang.org/x/net/html"
)

// addGroup puts acme (addStrictOrg) and a second clinic, south, in a group
// whose admin is admin@acme.test; south has an admin and a nurse, acme a
// second admin who is no group admin.
func (e *env) addGroup(acme *gatehouse.Organization) (south *gatehouse.Organization, nurse *gatehouse.User) {
	e.t.Helper()
	ctx := context.Background()
	south = &gatehouse.Organization{ID: gatehouse.NewID(), Slug: "south", Name: "South Clinic", Settings: gatehouse.DefaultPasswordSettings(), TimeZone: "Asia/Tokyo"}
	if err := e.db.CreateOrganization(ctx, south); err != nil {
		e.t.Fatal(err)
	}
	hash, _ := password.Hash(testPassword, password.TestParams(), nil)
	nurse = &gatehouse.User{ID: gatehouse.NewID(), OrgID: south.ID, Email: "nurse@south.test", Role: gatehouse.RoleMember, PasswordHash: hash}
	for _, u := range []*gatehouse.User{nurse,
		{ID: gatehouse.NewID(), OrgID: south.ID, Email: "boss@south.test", Role: gatehouse.RoleAdmin, PasswordHash: hash},
		{ID: gatehouse.NewID(), OrgID: acme.ID, Email: "second@acme.test", Role: gatehouse.RoleAdmin, PasswordHash: hash},
	} {
		if err := e.db.CreateUser(ctx, u); err != nil {
			e.t.Fatal(err)
		}
	}
	g := &gatehouse.OrgGroup{ID: gatehouse.NewID(), Slug: "vets", Name: "Vets"}
	if err := e.db.CreateGroup(ctx, g); err != nil {
		e.t.Fatal(err)
	}
	for _, o := range []*gatehouse.Organization{acme, south} {
		if err := e.db.SetOrganizationGroup(ctx, o.ID, g.ID, nil); err != nil {
			e.t.Fatal(err)
		}
	}
	admin, _ := e.db.UserByEmail(ctx, acme.ID, "admin@acme.test")
	if err := e.db.AddGroupAdmin(ctx, g.ID, admin.ID, admin.CreatedAt, nil); err != nil {
		e.t.Fatal(err)
	}
	return south, nurse
}

// A group admin signs in at their own clinic and administers another of
// the group through the API: its users, its audit log, which names them.
func TestAGroupAdminManagesEveryClinicOfTheGroupThroughTheAPI(t *testing.T) {
	e := newEnv(t, options{})
	acme := e.addStrictOrg(nil)
	south, nurse := e.addGroup(acme)
	e.signInWithCode("admin@acme.test")

	b := wantStatus(t, e.do("GET", "/api/v1/organizations", "", ""), 200)
	if !strings.Contains(b, `"slug":"acme"`) || !strings.Contains(b, `"slug":"south"`) || strings.Index(b, `"acme"`) > strings.Index(b, `"south"`) {
		t.Errorf("the organizations of a group admin: %s", b)
	}
	if b := wantStatus(t, e.do("GET", "/api/v1/organizations/south/users", "", ""), 200); !strings.Contains(b, "nurse@south.test") {
		t.Errorf("south's users: %s", b)
	}
	wantStatus(t, e.do("POST", "/api/v1/organizations/south/users/"+nurse.ID+"/reset-two-factor", "", ""), 204)
	audit := decode(t, wantStatus(t, e.do("GET", "/api/v1/organizations/south/audit-events?limit=1", "", ""), 200))
	latest, _ := audit["events"].([]any)[0].(map[string]any)
	actor, _ := latest["actor"].(map[string]any)
	if latest["event"] != gatehouse.AuditTwoFactorReset || actor["email"] != "admin@acme.test" {
		t.Errorf("south's audit log does not name the group admin: %v", latest)
	}
	wantStatus(t, e.do("GET", "/api/v1/organizations/elsewhere/users", "", ""), 404)

	// They create a clinic in the group and administer it at once.
	b = wantStatus(t, e.do("POST", "/api/v1/organizations", "application/json", `{"slug":"east","name":"East Clinic","country":"FI"}`), 201)
	if !strings.Contains(b, `"slug":"east"`) {
		t.Errorf("created: %s", b)
	}
	east, err := e.db.OrganizationBySlug(context.Background(), "east")
	south, _ = e.db.OrganizationByID(context.Background(), south.ID)
	if err != nil || east.GroupID != south.GroupID || east.GroupID == "" || !east.Settings.EnforceTwoFactor {
		t.Fatalf("the new clinic: %+v, %v", east, err)
	}
	wantStatus(t, e.do("GET", "/api/v1/organizations/east/password-settings", "", ""), 200)
	wantStatus(t, e.do("POST", "/api/v1/organizations", "application/json", `{"slug":"east","name":"Again"}`), 409)
	wantStatus(t, e.do("POST", "/api/v1/organizations", "application/json", `{"slug":"west","name":"West","group":"not-mine"}`), 404)

	// A member administers nothing and creates nothing.
	member := newClientFor(t, e)
	member.signInWithCode("member@acme.test")
	if b := wantStatus(t, member.do("GET", "/api/v1/organizations", "", ""), 200); strings.TrimSpace(b) != `{"organizations":[]}` {
		t.Errorf("a member's organizations: %s", b)
	}
	wantStatus(t, member.do("POST", "/api/v1/organizations", "application/json", `{"slug":"mine","name":"Mine"}`), 403)
	wantStatus(t, member.do("GET", "/api/v1/organizations/south/users", "", ""), 404)
}

// An admin of one clinic cannot take over the group admin's account (a
// reset factor, a new e-mail, a demotion), which would give them every
// clinic of the group.
func TestAGroupAdminsAccountIsOutOfReachOfAClinicsAdmins(t *testing.T) {
	e := newEnv(t, options{})
	acme := e.addStrictOrg(nil)
	e.addGroup(acme)
	admin, _ := e.db.UserByEmail(context.Background(), acme.ID, "admin@acme.test")
	second := newClientFor(t, e)
	second.signInWithCode("second@acme.test")
	res := second.do("POST", "/api/v1/organizations/acme/users/"+admin.ID+"/reset-two-factor", "", "")
	if b := wantStatus(t, res, 403); !strings.Contains(b, "only the operator or another admin of the group") {
		t.Errorf("reset of the group admin's factor: %s", b)
	}
	wantStatus(t, second.do("PUT", "/api/v1/organizations/acme/users/"+admin.ID+"/disabled", "application/json", `{"disabled":true}`), 403)
	wantStatus(t, second.do("DELETE", "/api/v1/organizations/acme/users/"+admin.ID, "", ""), 403)
	doc := parseHTML(t, wantStatus(t, second.form("/settings/users/"+admin.ID, url.Values{"email": {"mine@acme.test"}, "name": {""}, "role": {"admin"}}), 403))
	if !strings.Contains(text(doc), "only the operator or another admin of the group") {
		t.Errorf("a new e-mail for the group admin: %s", text(doc))
	}
	if got, _ := e.db.UserByID(context.Background(), acme.ID, admin.ID); got.Email != "admin@acme.test" || got.Disabled {
		t.Errorf("the group admin was changed: %+v", got)
	}
}

// The console: a switcher of the group's clinics, and the pages of the one
// chosen, whose links and forms keep it (?org=), in its time zone.
func TestTheConsoleSwitchesBetweenTheClinicsOfAGroup(t *testing.T) {
	e := newEnv(t, options{})
	acme := e.addStrictOrg(nil)
	e.addGroup(acme)
	e.signInWithCode("admin@acme.test")

	doc := parseHTML(t, wantStatus(t, e.do("GET", "/settings/users", "", ""), 200))
	sw := findByID(doc, "org-switch")
	if sw == nil || findLabelFor(doc, "org-switch") == nil || !strings.Contains(text(sw), "South Clinic") || !strings.Contains(text(sw), "Acme Clinic") {
		t.Fatalf("no labelled switcher of the group's clinics: %v", sw)
	}
	doc = parseHTML(t, wantStatus(t, e.do("GET", "/settings/users?org=south", "", ""), 200))
	page := text(doc)
	if !strings.Contains(page, "nurse@south.test") || strings.Contains(page, "member@acme.test") {
		t.Errorf("south's users page shows: %s", page)
	}
	var links, kept int
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && (n.Data == "a" || n.Data == "form") && !strings.Contains(attr(n, "class"), "org-switch") {
			for _, a := range []string{attr(n, "href"), attr(n, "action")} {
				if strings.HasPrefix(a, "/settings/") && !strings.HasPrefix(a, "/settings/organizations") && !strings.HasPrefix(a, "/settings/users?org=") {
					links++
					if strings.Contains(a, "org=south") || (n.Data == "form" && attr(n, "method") == "get" && find(n, func(c *html.Node) bool { return attr(c, "name") == "org" && attr(c, "value") == "south" }) != nil) {
						kept++
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if links == 0 || kept != links {
		t.Errorf("%d of the %d console links and forms on south's page keep the clinic", kept, links)
	}
	res := e.form("/settings/users?org=south", url.Values{"email": {"new@south.test"}, "role": {"member"}})
	if res.StatusCode != 303 || !strings.Contains(res.Header.Get("Location"), "org=south") {
		t.Fatalf("creating a user in south: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	south, _ := e.db.OrganizationBySlug(context.Background(), "south")
	if _, err := e.db.UserByEmail(context.Background(), south.ID, "new@south.test"); err != nil {
		t.Errorf("the user was not created in south: %v", err)
	}
	if b := wantStatus(t, e.do("GET", "/settings/audit?org=south", "", ""), 200); !strings.Contains(b, "JST") || !strings.Contains(b, "admin@acme.test") {
		t.Error("south's audit log is not in its zone (JST) or does not name the group admin")
	}
	wantStatus(t, e.do("GET", "/settings/users?org=elsewhere", "", ""), 404)

	doc = parseHTML(t, wantStatus(t, e.do("GET", "/settings/organizations", "", ""), 200))
	if !strings.Contains(text(doc), "South Clinic") || findByID(doc, "slug") == nil {
		t.Errorf("the organizations page: %s", text(doc))
	}
	res = e.form("/settings/organizations", url.Values{"name": {"North Clinic"}, "slug": {"North Clinic"}})
	if b := wantStatus(t, res, 400); !strings.Contains(b, "slug") {
		t.Errorf("a bad slug: %s", b)
	}
	res = e.form("/settings/organizations", url.Values{"name": {"North Clinic"}, "slug": {"north"}, "time_zone": {"Europe/Helsinki"}})
	if res.StatusCode != 303 || res.Header.Get("Location") != "/settings/organization?saved=1&org=north" {
		t.Fatalf("create: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}

	member := newClientFor(t, e)
	member.signInWithCode("member@acme.test")
	wantStatus(t, member.do("GET", "/settings/organizations", "", ""), 404)
	wantStatus(t, member.do("GET", "/settings/users?org=south", "", ""), 404)
}
