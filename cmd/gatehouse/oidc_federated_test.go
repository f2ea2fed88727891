package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/oauth2"

	"github.com/gatehousehq/gatehouse/internal/ldap/ldaptest"
)

// An application signs a user in through Gatehouse, whose organization
// signs in at its SAML2 IdP: the authorize request goes through the IdP
// and the ACS and comes back to the application with a code, and the ID
// token says the sign-in was external (amr ext), with no code asked.
func TestOpenIDConnectThroughASAML2Organization(t *testing.T) {
	te := newTestEnv(t)
	addr := freeAddr(t)
	f := newSAMLFixture(t, te, "http://"+addr)
	id, secret := clientFromCLI(t, te, "--name", "Charts", "--redirect-uri", "http://"+rpHost+"/cb", "--org", "sso")
	base := te.serve("--addr", addr)
	f.register(t, base)
	rp := newTestRP(t, te, base, id, secret)

	b := newRPBrowser()
	f.idp.signIn(t, b, "ada")
	verifier := oauth2.GenerateVerifier()
	res, err := b.Get(rp.conf.AuthCodeURL("st-saml", oauth2.S256ChallengeOption(verifier)))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	form, err := parseIdPForm(page)
	if err != nil || form.action != base+"/saml/sso/acs" {
		t.Fatalf("the authorize request did not reach the IdP's form for our ACS (at %s): %v %s", res.Request.URL, err, page)
	}
	r := postACS(t, b, f.idp, form.action, form)
	if r.status != http.StatusSeeOther {
		t.Fatalf("ACS: %d %s", r.status, r.body)
	}
	res, err = b.Get(base + r.location)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, _ := res.Location()
	if loc == nil || loc.Host != rpHost || loc.Query().Get("code") == "" || loc.Query().Get("state") != "st-saml" {
		t.Fatalf("after the ACS the browser is at %s (%d, Location %v); want the application's callback with a code", res.Request.URL, res.StatusCode, loc)
	}
	tok, err := rp.conf.Exchange(t.Context(), loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("code exchange: %v", err)
	}
	idt, err := rp.verifier.Verify(t.Context(), tok.Extra("id_token").(string))
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Email     string   `json:"email"`
		AMR       []string `json:"amr"`
		TwoFactor struct {
			State string `json:"state"`
		} `json:"two_factor"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if claims.Email != adaEmail || !slices.Equal(claims.AMR, []string{"ext"}) || claims.TwoFactor.State != "federated" {
		t.Errorf("ID token claims %+v; want ada, amr [ext], two_factor federated", claims)
	}
	if subj := te.mail.lastSubjectTo(adaEmail); subj != "" {
		t.Errorf("ada was e-mailed %q; a SAML2 sign-in asks for no code", subj)
	}
}

// The same for an organization that signs in through its LDAP directory
// (Debian's slapd): the sign-in page takes the directory password, no code
// is asked, and the ID token says amr ext.
func TestOpenIDConnectThroughAnLDAPOrganization(t *testing.T) {
	dir := ldaptest.Start(t)
	te := newTestEnv(t)
	ca := filepath.Join(te.dir, "ldap-ca.pem")
	if err := os.WriteFile(ca, []byte(dir.CAPEM), 0o644); err != nil {
		t.Fatal(err)
	}
	te.mustCLI("", "org", "create", "--slug", "clinic", "--name", "Directory Clinic")
	te.mustCLI(ldaptest.ServicePassword+"\n", "org", "ldap", "--org", "clinic", "--url", dir.URL, "--ca-file", ca,
		"--service-dn", ldaptest.ServiceDN, "--search-base", ldaptest.PeopleBase, "--search-filter", "(mail={username})")
	te.mustCLI("", "org", "settings", "--org", "clinic", "--auth-method", "ldap")
	id, secret := clientFromCLI(t, te, "--name", "Charts", "--redirect-uri", "http://"+rpHost+"/cb", "--org", "clinic")
	base := te.serve()
	rp := newTestRP(t, te, base, id, secret)
	rp.email, rp.password = "ada@example.test", ldaptest.AdaPassword

	_, idt := rp.signIn(newRPBrowser())
	var claims struct {
		Email string   `json:"email"`
		AMR   []string `json:"amr"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if claims.Email != "ada@example.test" || !slices.Equal(claims.AMR, []string{"ext"}) {
		t.Errorf("ID token claims %+v; want ada with amr [ext]", claims)
	}
	if subj := te.mail.lastSubjectTo("ada@example.test"); subj != "" {
		t.Errorf("ada was e-mailed %q; an LDAP sign-in asks for no code", subj)
	}
}
