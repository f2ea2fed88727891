package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/signin"
	"github.com/gatehousehq/gatehouse/internal/sqlstore"
)

// samlAudit returns the organization's audit events, newest first, read
// straight from the server's database.
func samlAudit(t *testing.T, te *testEnv, slug string) []*gatehouse.AuditEvent {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), te.vars["GATEHOUSE_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	org, err := db.OrganizationBySlug(context.Background(), slug)
	if err != nil {
		t.Fatal(err)
	}
	events, err := db.ListAudit(context.Background(), org.ID, 0, 200)
	if err != nil {
		t.Fatal(err)
	}
	return events
}

func countReason(events []*gatehouse.AuditEvent, reason string) int {
	n := 0
	for _, e := range events {
		if e.Reason == reason {
			n++
		}
	}
	return n
}

// bindingCookie starts a sign-in in c without following it to the IdP, so
// that c holds a binding cookie of its own, and returns that cookie.
func bindingCookie(t *testing.T, c *http.Client, node string) *http.Cookie {
	t.Helper()
	noFollow := *c
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := noFollow.Get(node + "/saml/sso/login")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("GET /saml/sso/login: %s", res.Status)
	}
	for _, ck := range res.Cookies() {
		if ck.Name == "gatehouse_saml" {
			return ck
		}
	}
	t.Fatalf("GET /saml/sso/login set no binding cookie: %v", res.Header["Set-Cookie"])
	return nil
}

// TestSAML2LoginCSRFIsRefused: the attacker signs in at the IdP as
// themselves, starts a sign-in in their own browser and takes the IdP's
// valid response. Posted from the victim's browser (the auto-submitting
// form on the attacker's page), it must not sign the victim in as the
// attacker, whether the victim's browser holds no binding cookie or one of
// its own. The attacker's own browser still signs in.
func TestSAML2LoginCSRFIsRefused(t *testing.T) {
	te := newTestEnv(t)
	addr := freeAddr(t)
	f := newSAMLFixture(t, te, "http://"+addr)
	base := te.serve("--addr", addr)
	f.register(t, base)
	f.idp.addUser(t, "mallory", "mallory@sso.test", "Mallory")

	attacker := newBrowser()
	f.idp.signIn(t, attacker, "mallory")
	form := startSAMLSignIn(t, attacker, base)

	ck := bindingCookie(t, newBrowser(), base)
	if !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteNoneMode || ck.MaxAge <= 0 || ck.MaxAge > 600 || ck.Path != "/" {
		t.Errorf("binding cookie %+v: want HttpOnly, Secure (loopback), SameSite=None, Path=/, at most 10 minutes", ck)
	}

	victim := newBrowser()
	wantRefusedACS(t, "the attacker's response from a browser without the cookie", postACS(t, victim, f.idp, form.action, form), victim, base)

	victim2 := newBrowser()
	bindingCookie(t, victim2, base)
	wantRefusedACS(t, "the attacker's response from a browser with its own cookie", postACS(t, victim2, f.idp, form.action, form), victim2, base)

	events := samlAudit(t, te, "sso")
	if n := countReason(events, signin.SAMLWrongBrowser); n == 0 {
		t.Errorf("no %s event in the audit log: %+v", signin.SAMLWrongBrowser, events)
	}
	if strings.Contains(te.logs.String(), ck.Value) {
		t.Error("a binding nonce is in the logs")
	}

	// The attacker's response was spent by the second post; a fresh one
	// from the attacker's own browser signs the attacker in.
	form = startSAMLSignIn(t, attacker, base)
	if r := postACS(t, attacker, f.idp, form.action, form); r.status != http.StatusSeeOther || r.location != "/" {
		t.Fatalf("the attacker's own browser: %d %q %s", r.status, r.location, r.body)
	}
}
