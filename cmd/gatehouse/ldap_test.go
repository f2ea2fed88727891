package main

import (
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/internal/ldap/ldaptest"
)

// TestLDAPOrganizationSignsInThroughSlapd: an organization set up with LDAP
// from the command line signs its users in through OpenLDAP's slapd, with
// no code asked, creates them at their first sign-in, and answers 503 when
// the directory is down.
func TestLDAPOrganizationSignsInThroughSlapd(t *testing.T) {
	dir := ldaptest.Start(t)
	te := newTestEnv(t)
	ca := filepath.Join(te.dir, "ldap-ca.pem")
	if err := os.WriteFile(ca, []byte(dir.CAPEM), 0o644); err != nil {
		t.Fatal(err)
	}
	te.mustCLI("", "org", "create", "--slug", "dir", "--name", "Directory Clinic")
	code, _, errOut := te.cli("", "org", "settings", "--org", "dir", "--auth-method", "ldap")
	if code != 2 || !strings.Contains(errOut, "not set up") {
		t.Errorf("LDAP chosen before it was set up: exit %d, %q", code, errOut)
	}
	code, _, errOut = te.cli("", "org", "ldap", "--org", "dir", "--url", "ldap://ldap.example.com", "--bind-dn-template", "uid=x")
	if code != 2 || !strings.Contains(errOut, "{username}") {
		t.Errorf("a bad set-up: exit %d, %q", code, errOut)
	}
	te.mustCLI(ldaptest.ServicePassword+"\n", "org", "ldap", "--org", "dir", "--url", dir.URL, "--ca-file", ca,
		"--service-dn", ldaptest.ServiceDN, "--search-base", ldaptest.PeopleBase, "--search-filter", "(mail={username})")
	out := te.mustCLI("", "org", "settings", "--org", "dir", "--auth-method", "ldap")
	if !strings.Contains(out, "sign-in method: ldap") || !strings.Contains(out, "enforce two-factor: false") {
		t.Errorf("settings: %s", out)
	}
	base := te.serve()
	c := newBrowser()

	st, body := post(t, c, base+"/api/v1/login", `{"organization":"dir","email":"ada@example.test","password":"`+ldaptest.AdaPassword+`"}`)
	if st != 200 || status(t, body) != "federated" {
		t.Fatalf("ada: %d %s", st, body)
	}
	if out := te.mustCLI("", "user", "list", "--org", "dir"); !strings.Contains(out, "ada@example.test") || !strings.Contains(out, "no-password") {
		t.Errorf("ada was not created at first sign-in: %s", out)
	}
	s1, wrong := post(t, newBrowser(), base+"/api/v1/login", `{"organization":"dir","email":"ada@example.test","password":"not hers"}`)
	s2, unknown := post(t, newBrowser(), base+"/api/v1/login", `{"organization":"dir","email":"ghost@example.test","password":"not hers"}`)
	if s1 != 401 || s2 != 401 || wrong != unknown {
		t.Errorf("wrong password %d %s; unknown user %d %s", s1, wrong, s2, unknown)
	}
	st, _ = post(t, newBrowser(), base+"/api/v1/password/forgot", `{"organization":"dir","email":"ada@example.test"}`)
	if st != 202 || te.mail.lastSubjectTo("ada@example.test") != "" {
		t.Errorf("forgot password for an LDAP user: %d; e-mail %q", st, te.mail.lastSubjectTo("ada@example.test"))
	}

	dir.Stop(t)
	st, body = post(t, newBrowser(), base+"/api/v1/login", `{"organization":"dir","email":"ada@example.test","password":"`+ldaptest.AdaPassword+`"}`)
	if st != 503 || !strings.Contains(body, `"code":"unavailable"`) {
		t.Errorf("directory down: %d %s", st, body)
	}
	if strings.Contains(te.logs.String(), ldaptest.ServicePassword) || strings.Contains(te.logs.String(), ldaptest.AdaPassword) {
		t.Error("a password is in the logs")
	}
}

// TestTheAdminSetsUpLDAPOnTheSettingsPage: the form names each bad field and
// saves nothing; a good set-up lets the admin choose LDAP, after which the
// organization's users sign in through slapd.
func TestTheAdminSetsUpLDAPOnTheSettingsPage(t *testing.T) {
	dir := ldaptest.Start(t)
	te := newTestEnv(t)
	te.mustCLI("", "org", "create", "--slug", "dir", "--name", "Directory Clinic", "--enforce-2fa=false")
	te.mustCLI("blue harbour lanterns\n", "user", "create", "--org", "dir", "--email", "boss@example.test", "--admin")
	base := te.serve()
	c := newBrowser()
	if st, body := post(t, c, base+"/api/v1/login", `{"organization":"dir","email":"boss@example.test","password":"blue harbour lanterns"}`); st != 200 {
		t.Fatalf("admin sign-in: %d %s", st, body)
	}
	form := func(path string, v url.Values) (int, string) {
		res, err := c.PostForm(base+path, v)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	st, page := form("/settings/users/ldap", url.Values{"url": {"http://ldap.example.com"}, "mode": {"search"},
		"service_dn": {"not a dn"}, "search_base": {""}, "search_filter": {"(mail=x)"}})
	if st != 400 {
		t.Fatalf("bad set-up: %d", st)
	}
	for _, id := range []string{`id="url-error"`, `id="service_dn-error"`, `id="search_filter-error"`} {
		if !strings.Contains(page, id) {
			t.Errorf("the page does not name %s", id)
		}
	}
	code, _, _ := te.cli("", "org", "settings", "--org", "dir", "--auth-method", "ldap")
	if code != 2 {
		t.Error("LDAP could be chosen after a refused set-up")
	}
	st, page = form("/settings/users/ldap", url.Values{"url": {dir.URL}, "ca_cert_pem": {dir.CAPEM}, "mode": {"search"},
		"service_dn": {ldaptest.ServiceDN}, "service_password": {ldaptest.ServicePassword}, "search_base": {ldaptest.PeopleBase},
		"search_filter": {"(mail={username})"}})
	if st != 200 || !strings.Contains(page, "saved") {
		t.Fatalf("good set-up: %d", st)
	}
	if strings.Contains(page, ldaptest.ServicePassword) {
		t.Error("the page shows the service password")
	}
	st, page = form("/settings/users/password", url.Values{"auth_method": {"ldap"}})
	if st != 200 || !strings.Contains(page, "Two-factor authentication is not available with LDAP or SAML2 sign-in") {
		t.Fatalf("choosing LDAP: %d", st)
	}
	if st, body := post(t, newBrowser(), base+"/api/v1/login", `{"organization":"dir","email":"ada@example.test","password":"`+ldaptest.AdaPassword+`"}`); st != 200 || status(t, body) != "federated" {
		t.Errorf("ada through the directory: %d %s", st, body)
	}
}
