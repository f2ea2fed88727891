package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// Staff sign in by the clinic's name or slug; the clinic's own page shows
// its name; a wrong one gets its own message; signing out says so and
// keeps the clinic for the next person.
func TestTheSignInPageForStaff(t *testing.T) {
	e := newEnv(t, options{})
	e.addStrictOrg(func(s *gatehouse.PasswordSettings) { s.EnforceTwoFactor = false })

	t.Run("the organization's page shows its name, not its slug", func(t *testing.T) {
		doc := parseHTML(t, wantStatus(t, e.do("GET", "/o/acme/login", "", ""), 200))
		if !strings.Contains(text(doc), "Acme Clinic") {
			t.Errorf("the page does not name the clinic: %s", text(doc))
		}
	})

	t.Run("an unknown organization's page asks for it, with the reason", func(t *testing.T) {
		doc := parseHTML(t, wantStatus(t, e.do("GET", "/o/nowhere/login", "", ""), http.StatusNotFound))
		if !strings.Contains(text(findByID(doc, "form-error")), "no organization by that name") ||
			attr(findByID(doc, "organization"), "aria-invalid") != "true" {
			t.Errorf("the page of an unknown organization: %s", text(doc))
		}
	})

	for _, typed := range []string{"acme", "Acme Clinic", "acme clinic"} {
		t.Run("typed as "+typed, func(t *testing.T) {
			res := e.form("/login", url.Values{"organization": {typed}, "email": {"member@acme.test"}, "password": {testPassword}})
			if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
				t.Fatalf("sign-in typing %q: %d to %q", typed, res.StatusCode, res.Header.Get("Location"))
			}
			res = e.form("/logout", nil)
			if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/o/acme/login?signed_out=1" {
				t.Fatalf("sign-out: %d to %q, want the clinic's page saying so", res.StatusCode, res.Header.Get("Location"))
			}
			doc := parseHTML(t, wantStatus(t, e.do("GET", res.Header.Get("Location"), "", ""), 200))
			if !strings.Contains(text(doc), "You are signed out.") || !strings.Contains(text(doc), "Acme Clinic") {
				t.Errorf("after signing out: %s", text(doc))
			}
		})
	}

	t.Run("a wrong organization gets its own message and says nothing of the e-mail", func(t *testing.T) {
		for _, email := range []string{"member@acme.test", "nobody@acme.test"} {
			doc := parseHTML(t, wantStatus(t, e.form("/login", url.Values{"organization": {"Acme Clinik"}, "email": {email}, "password": {testPassword}}), 401))
			msg := text(findByID(doc, "form-error"))
			if !strings.Contains(msg, "There is no organization by that name") || strings.Contains(msg, "e-mail") {
				t.Errorf("a wrong organization with %s: %q", email, msg)
			}
			if attr(findByID(doc, "organization"), "aria-invalid") != "true" || attr(findByID(doc, "email"), "aria-invalid") == "true" {
				t.Error("the organization field is not the one marked invalid")
			}
		}
	})
}

// The start page names the clinic (not its slug) and shows an admin the
// staff's sign-in page to hand out; a page asked for before signing in is
// where the browser goes after it.
func TestTheStartPageAndTheWayBack(t *testing.T) {
	e := newEnv(t, options{})
	e.addStrictOrg(func(s *gatehouse.PasswordSettings) { s.EnforceTwoFactor = false })

	res := e.do("GET", "/account", "", "")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?rd=%2Faccount" {
		t.Fatalf("GET /account signed out: %d to %q, want the sign-in with the way back", res.StatusCode, res.Header.Get("Location"))
	}
	wantStatus(t, e.do("GET", res.Header.Get("Location"), "", ""), 200)
	res = e.form("/login", url.Values{"organization": {"acme"}, "email": {"member@acme.test"}, "password": {testPassword}})
	if res.Header.Get("Location") != "/" {
		t.Fatalf("sign-in: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res := e.do("GET", "/", "", ""); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account" {
		t.Errorf("after signing in: %d to %q, want back to /account", res.StatusCode, res.Header.Get("Location"))
	}

	page := text(parseHTML(t, wantStatus(t, e.do("GET", "/", "", ""), 200)))
	if !strings.Contains(page, "Acme Clinic") || strings.Contains(page, "(acme)") || strings.Contains(page, "/o/acme/login") {
		t.Errorf("a member's start page: %s; want the clinic's name, no slug, no staff address", page)
	}
	e.form("/logout", nil)
	e.form("/login", url.Values{"organization": {"acme"}, "email": {"admin@acme.test"}, "password": {testPassword}})
	page = text(parseHTML(t, wantStatus(t, e.do("GET", "/", "", ""), 200)))
	if !strings.Contains(page, e.srv.URL+"/o/acme/login") {
		t.Errorf("an admin's start page lacks the staff sign-in address %s/o/acme/login: %s", e.srv.URL, page)
	}
}

// Times are shown in the organization's time zone, named: the code page,
// the account page's sessions and the audit log.
func TestTimesAreInTheOrganizationsZone(t *testing.T) {
	e := newEnv(t, options{})
	org := e.addStrictOrg(nil)
	if err := e.db.UpdateOrganizationProfile(context.Background(), org.ID, org.Name, "Asia/Tokyo", "JP", time.Now()); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, e.form("/login", url.Values{"organization": {"acme"}, "email": {"admin@acme.test"}, "password": {testPassword}}), 303)
	if page := text(parseHTML(t, wantStatus(t, e.do("GET", "/login/code", "", ""), 200))); !strings.Contains(page, " JST") {
		t.Errorf("the code page's times are not in JST: %s", page)
	}
	wantStatus(t, e.form("/login/code", url.Values{"code": {e.lastCode()}}), 303)
	for _, path := range []string{"/account", "/settings/audit"} {
		page := text(parseHTML(t, wantStatus(t, e.do("GET", path, "", ""), 200)))
		if !strings.Contains(page, " JST") || strings.Contains(page, " UTC") {
			t.Errorf("%s: times not in the organization's zone: %s", path, page)
		}
	}
}
