package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
)

// An admin deletes a user on the user's page once they have typed the
// user's e-mail address; the user's sessions go with them. The API does
// the same; nobody deletes themselves.
func TestAnAdminDeletesAUser(t *testing.T) {
	e := newEnv(t, options{})
	org := e.addStrictOrg(nil)
	e.signInWithCode("admin@acme.test")
	memberBrowser := newClientFor(t, e)
	memberBrowser.signInWithCode("member@acme.test")
	member, err := e.db.UserByEmail(context.Background(), org.ID, "member@acme.test")
	if err != nil {
		t.Fatal(err)
	}
	page := "/settings/users/" + member.ID

	doc := parseHTML(t, wantStatus(t, e.do("GET", page, "", ""), 200))
	if findByID(doc, "confirm_email") == nil || findLabelFor(doc, "confirm_email") == nil ||
		!strings.Contains(text(findLabelFor(doc, "confirm_email")), "member@acme.test") {
		t.Fatalf("the user's page has no labelled confirmation: %s", text(doc))
	}
	doc = parseHTML(t, wantStatus(t, e.form(page+"/delete", url.Values{"confirm_email": {"someone@acme.test"}}), 400))
	if attr(findByID(doc, "confirm_email"), "aria-invalid") != "true" || !strings.Contains(text(doc), "Type the user's e-mail address") {
		t.Errorf("a wrong confirmation: %s", text(doc))
	}
	if _, err := e.db.UserByID(context.Background(), org.ID, member.ID); err != nil {
		t.Fatalf("the user is gone after a wrong confirmation: %v", err)
	}

	res := e.form(page+"/delete", url.Values{"confirm_email": {" Member@acme.test "}})
	if res.StatusCode != 303 || res.Header.Get("Location") != "/settings/users?done=deleted" {
		t.Fatalf("delete: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	if !strings.Contains(text(parseHTML(t, wantStatus(t, e.do("GET", "/settings/users?done=deleted", "", ""), 200))), "The user is deleted.") {
		t.Error("the users page does not say the user is deleted")
	}
	if _, err := e.db.UserByID(context.Background(), org.ID, member.ID); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		t.Errorf("the user after the deletion: %v, want ENOTFOUND", err)
	}
	wantStatus(t, memberBrowser.do("GET", "/api/v1/session", "", ""), 401)
	wantStatus(t, e.do("GET", page, "", ""), 404)

	admin, err := e.db.UserByEmail(context.Background(), org.ID, "admin@acme.test")
	if err != nil {
		t.Fatal(err)
	}
	if doc := parseHTML(t, wantStatus(t, e.do("GET", "/settings/users/"+admin.ID, "", ""), 200)); findByID(doc, "confirm_email") != nil {
		t.Error("an admin is offered to delete themselves")
	}
	wantStatus(t, e.do("DELETE", "/api/v1/organizations/acme/users/"+admin.ID, "", ""), 400)
	wantStatus(t, e.do("DELETE", "/api/v1/organizations/acme/users/"+member.ID, "", ""), 404)
	other := &gatehouse.User{ID: gatehouse.NewID(), OrgID: org.ID, Email: "other@acme.test", Role: gatehouse.RoleMember}
	if err := e.db.CreateUser(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, e.do("DELETE", "/api/v1/organizations/acme/users/"+other.ID, "", ""), 204)
	if _, err := e.db.UserByID(context.Background(), org.ID, other.ID); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		t.Errorf("the user after DELETE: %v, want ENOTFOUND", err)
	}
}
