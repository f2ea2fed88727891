package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

// TestSAML2DoesNotTakeOverALocalAdmin: an admin who has a Gatehouse password
// from before the organization chose SAML2 is not signed in by the IdP
// vouching for their e-mail address; the refusal is audited with the
// identity, and after `gatehouse user link` with it the admin signs in.
func TestSAML2DoesNotTakeOverALocalAdmin(t *testing.T) {
	te := newTestEnv(t)
	addr := freeAddr(t)
	f := newSAMLFixture(t, te, "http://"+addr)
	te.mustCLI("", "org", "settings", "--org", "sso", "--auth-method", "password")
	te.mustCLI("a long admin passphrase 4 Gatehouse\n", "user", "create", "--org", "sso", "--email", "boss@sso.test", "--admin")
	te.mustCLI("", "org", "settings", "--org", "sso", "--auth-method", "saml2")
	base := te.serve("--addr", addr)
	f.register(t, base)
	f.idp.addUser(t, "boss", "boss@sso.test", "The Boss")

	c := newBrowser()
	f.idp.signIn(t, c, "boss")
	form := startSAMLSignIn(t, c, base)
	wantRefusedACS(t, "the IdP vouching for a local admin's address", postACS(t, c, f.idp, form.action, form), c, base)
	var refusal *gatehouse.AuditEvent
	for _, e := range samlAudit(t, te, "sso") {
		if e.Reason == signin.FederatedAdminNotLinked {
			refusal = e
			break
		}
	}
	if refusal == nil || !strings.HasPrefix(refusal.Detail["provider"], "saml2:") {
		t.Fatalf("no %s event naming the provider: %+v", signin.FederatedAdminNotLinked, refusal)
	}
	ext := refusal.Detail["external_id"]
	if ext == "" {
		ext = "email:boss@sso.test" // samlidp's NameID is not persistent: any link to the provider will do
	}
	out := te.mustCLI("", "user", "link", "--org", "sso", "--email", "boss@sso.test", "--provider", refusal.Detail["provider"], "--external-id", ext)
	if !strings.Contains(out, "linked") {
		t.Errorf("user link: %s", out)
	}

	form = startSAMLSignIn(t, c, base)
	if r := postACS(t, c, f.idp, form.action, form); r.status != http.StatusSeeOther || r.location != "/" {
		t.Fatalf("the linked admin: %d %q %s", r.status, r.location, r.body)
	}

	// A second link at the provider needs --replace.
	args := []string{"user", "link", "--org", "sso", "--email", "boss@sso.test", "--provider", refusal.Detail["provider"], "--external-id", "P-new"}
	if code, _, errOut := te.cli("", args...); code == 0 || !strings.Contains(errOut, "linked already") {
		t.Errorf("a second link without --replace: exit %d, %q", code, errOut)
	}
	te.mustCLI("", append(args, "--replace")...)
}
