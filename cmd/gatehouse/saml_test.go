package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	crewjam "github.com/crewjam/saml"
	"github.com/crewjam/saml/samlidp"
	"golang.org/x/net/html"

	"github.com/gatehousehq/gatehouse/internal/saml"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

// These tests sign in end to end through crewjam's samlidp, a real IdP,
// started on a loopback port: the organization is set up from the command
// line with the IdP's metadata, the IdP is given the SP metadata the running
// server serves, and a browser-like client (a cookie jar, no JavaScript)
// signs in at the IdP, follows the AuthnRequest redirect and posts the IdP's
// auto-submitting form to the server's ACS.

// samlIdP is samlidp on a loopback port; its users' passwords are
// "secret-<name>".
type samlIdP struct {
	url string
}

func startSAMLIdP(t *testing.T) *samlIdP {
	t.Helper()
	key, cert, err := saml.NewKeyPair(nil, "idp.test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	base := mustURL(t, "http://"+srv.Listener.Addr().String())
	idp, err := samlidp.New(samlidp.Options{URL: *base, Key: key, Certificate: cert,
		Store: &samlidp.MemoryStore{}, Logger: log.New(io.Discard, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = idp
	srv.Start()
	t.Cleanup(srv.Close)
	return &samlIdP{url: base.String()}
}

// put is an administrative PUT to the IdP, as its operator would make it.
func (p *samlIdP) put(t *testing.T, path string, body []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, p.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusNoContent {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("PUT %s at the IdP: %s %s", path, res.Status, b)
	}
}

func (p *samlIdP) addUser(t *testing.T, name, email, commonName string) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"name": name, "password": "secret-" + name, "email": email, "common_name": commonName})
	p.put(t, "/users/"+name, b)
}

// signIn signs the browser in at the IdP (samlidp wants POST /login before
// it answers an AuthnRequest at once).
func (p *samlIdP) signIn(t *testing.T, c *http.Client, name string) {
	t.Helper()
	res, err := c.PostForm(p.url+"/login", url.Values{"user": {name}, "password": {"secret-" + name}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("sign-in at the IdP as %s: %s %s", name, res.Status, b)
	}
}

// writeMetadata saves the IdP's metadata (GET /metadata) to a file, as the
// admin would download it.
func (p *samlIdP) writeMetadata(t *testing.T, path string) {
	t.Helper()
	res, err := (&http.Client{Timeout: 10 * time.Second}).Get(p.url + "/metadata")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("IdP metadata: %s", res.Status)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// samlFixture is an organization "sso" set up for SAML2 from the command
// line against a running IdP, with an IdP user ada.
type samlFixture struct {
	te     *testEnv
	idp    *samlIdP
	public string // GATEHOUSE_PUBLIC_URL
}

const adaEmail = "ada@sso.test"

// newSAMLFixture sets the organization up before any server starts; public
// is the public URL the servers will share.
func newSAMLFixture(t *testing.T, te *testEnv, public string) *samlFixture {
	t.Helper()
	te.vars["GATEHOUSE_PUBLIC_URL"] = public
	f := &samlFixture{te: te, idp: startSAMLIdP(t), public: public}
	f.idp.addUser(t, "ada", adaEmail, "Ada Lovelace")

	te.mustCLI("", "org", "create", "--slug", "sso", "--name", "Single Sign-On Clinic")
	code, _, errOut := te.cli("", "org", "settings", "--org", "sso", "--auth-method", "saml2")
	if code != 2 || !strings.Contains(errOut, "not set up") {
		t.Errorf("SAML2 chosen before it was set up: exit %d, %q", code, errOut)
	}
	md := filepath.Join(te.dir, "idp-metadata.xml")
	f.idp.writeMetadata(t, md)
	out := te.mustCLI("", "org", "saml", "--org", "sso", "--idp-metadata-file", md)
	for _, want := range []string{public + "/saml/sso/metadata", public + "/saml/sso/acs"} {
		if !strings.Contains(out, want) {
			t.Errorf("org saml does not tell the admin %s: %s", want, out)
		}
	}
	out = te.mustCLI("", "org", "settings", "--org", "sso", "--auth-method", "saml2")
	if !strings.Contains(out, "saml2") {
		t.Errorf("settings: %s", out)
	}
	return f
}

// register gives the IdP the SP metadata that the server at node serves.
func (f *samlFixture) register(t *testing.T, node string) {
	t.Helper()
	res, err := (&http.Client{Timeout: 10 * time.Second}).Get(node + "/saml/sso/metadata")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	md, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("SP metadata: %s %s", res.Status, md)
	}
	f.idp.put(t, "/services/gatehouse", md)
}

// freeAddr finds a loopback address to serve on, so that the public URL is
// known before the server starts. (Another process could take the port in
// between; on a test machine that does not happen in practice.)
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// idpForm is the IdP's auto-submitting form, as the browser got it.
type idpForm struct {
	action string
	values url.Values
}

// startSAMLSignIn opens {node}/saml/sso/login in the browser, which is
// already signed in at the IdP, follows the redirects and returns the form
// the IdP answers with, not yet posted.
func startSAMLSignIn(t *testing.T, c *http.Client, node string) idpForm {
	t.Helper()
	res, err := c.Get(node + "/saml/sso/login")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	page, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /saml/sso/login, followed: %s %s", res.Status, page)
	}
	f, err := parseIdPForm(page)
	if err != nil {
		t.Fatalf("the IdP's page: %v: %s", err, page)
	}
	return f
}

func parseIdPForm(page []byte) (idpForm, error) {
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		return idpForm{}, err
	}
	var f *idpForm
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch {
			case n.Data == "form" && f == nil:
				f = &idpForm{action: htmlAttr(n, "action"), values: url.Values{}}
			case n.Data == "input" && f != nil && htmlAttr(n, "name") != "":
				f.values.Add(htmlAttr(n, "name"), htmlAttr(n, "value"))
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if f == nil || f.values.Get("SAMLResponse") == "" {
		return idpForm{}, errors.New("no form with a SAMLResponse")
	}
	return *f, nil
}

func htmlAttr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

// acsResult is what the ACS answered to a post.
type acsResult struct {
	status   int
	location string
	body     string
}

// postACS posts the form to acs as a browser would after the IdP's page
// submitted it: cross-site, with the IdP as Origin, not following the
// redirect. c's jar receives the cookies.
func postACS(t *testing.T, c *http.Client, idp *samlIdP, acs string, f idpForm) acsResult {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, acs, strings.NewReader(f.values.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", idp.url)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	noFollow := *c
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return acsResult{status: res.StatusCode, location: res.Header.Get("Location"), body: string(b)}
}

// wantRefusedACS checks that a post to the ACS was refused with the 401
// page and that the client holds no session.
func wantRefusedACS(t *testing.T, what string, r acsResult, c *http.Client, node string) {
	t.Helper()
	if r.status != http.StatusUnauthorized || r.location != "" {
		t.Errorf("%s: %d (Location %q), want the 401 page", what, r.status, r.location)
	}
	if !strings.Contains(r.body, "Something went wrong") {
		t.Errorf("%s: not the error page: %s", what, r.body)
	}
	if st := get(t, c, node+"/api/v1/session"); st != http.StatusUnauthorized {
		t.Errorf("%s: made a session: GET /api/v1/session %d, want 401", what, st)
	}
}

type samlSession struct {
	User struct {
		Email string `json:"email"`
		Name  string `json:"name"`
	} `json:"user"`
	Organization struct {
		Slug string `json:"slug"`
	} `json:"organization"`
	TwoFactor struct {
		State string `json:"state"`
	} `json:"two_factor"`
}

// wantSignedIn checks that c holds a federated session of ada in "sso".
func wantSignedIn(t *testing.T, c *http.Client, node string) {
	t.Helper()
	res, err := c.Get(node + "/api/v1/session")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var s samlSession
	if err := json.NewDecoder(res.Body).Decode(&s); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("session after the ACS: %d %v", res.StatusCode, err)
	}
	if s.User.Email != adaEmail || s.Organization.Slug != "sso" || s.TwoFactor.State != "federated" {
		t.Errorf("session %+v, want ada in sso, federated", s)
	}
}

// tamperSignature flips a bit of the first SignatureValue in the response
// (the Response's; the assertion is encrypted).
func tamperSignature(t *testing.T, f idpForm) idpForm {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(f.values.Get("SAMLResponse"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	const open = "<ds:SignatureValue>"
	i := strings.Index(doc, open)
	if i < 0 {
		t.Fatalf("the response is not signed: %s", doc)
	}
	i += len(open)
	j := i + strings.Index(doc[i:], "<")
	sig, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(doc[i:j]), ""))
	if err != nil {
		t.Fatal(err)
	}
	sig[len(sig)/2] ^= 1
	doc = doc[:i] + base64.StdEncoding.EncodeToString(sig) + doc[j:]
	v := url.Values{}
	for k, vs := range f.values {
		v[k] = append([]string(nil), vs...)
	}
	v.Set("SAMLResponse", base64.StdEncoding.EncodeToString([]byte(doc)))
	return idpForm{action: f.action, values: v}
}

// TestSAML2OrganizationSignsInThroughAnIdP: an organization set up with
// SAML2 from the command line sends the password API to its IdP, signs a
// user in through samlidp with no code asked, creates the user at the first
// sign-in, and refuses a replayed or tampered response.
func TestSAML2OrganizationSignsInThroughAnIdP(t *testing.T) {
	te := newTestEnv(t)
	addr := freeAddr(t)
	f := newSAMLFixture(t, te, "http://"+addr)
	base := te.serve("--addr", addr)
	if base != f.public {
		t.Fatalf("serving at %s, want %s", base, f.public)
	}

	// The SP metadata, at the address the admin gives the IdP.
	res, err := (&http.Client{Timeout: 10 * time.Second}).Get(base + "/saml/sso/metadata")
	if err != nil {
		t.Fatal(err)
	}
	mdBytes, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/samlmetadata+xml") {
		t.Fatalf("SP metadata: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	var md crewjam.EntityDescriptor
	if err := xml.Unmarshal(mdBytes, &md); err != nil {
		t.Fatalf("the SP metadata is not SAML metadata: %v\n%s", err, mdBytes)
	}
	if md.EntityID != base+"/saml/sso/metadata" {
		t.Errorf("entity ID %q, want the metadata URL", md.EntityID)
	}
	var acs []string
	for _, d := range md.SPSSODescriptors {
		for _, a := range d.AssertionConsumerServices {
			acs = append(acs, a.Binding+" "+a.Location)
		}
	}
	if want := crewjam.HTTPPostBinding + " " + base + "/saml/sso/acs"; len(acs) != 1 || acs[0] != want {
		t.Errorf("ACS %q, want [%s]", acs, want)
	}
	f.idp.put(t, "/services/gatehouse", mdBytes)

	// The password API sends the client to the IdP.
	st, body := post(t, newBrowser(), base+"/api/v1/login", `{"organization":"sso","email":"ada@sso.test","password":"whatever it is"}`)
	var apiErr struct {
		Error struct {
			Code     string `json:"code"`
			Location string `json:"location"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &apiErr); err != nil || st != 409 || apiErr.Error.Code != "sso_required" || apiErr.Error.Location != "/saml/sso/login" {
		t.Errorf("password login in a SAML2 organization: %d %s", st, body)
	}

	// Ada signs in: Gatehouse → IdP → the IdP's form → the ACS → /.
	c := newBrowser()
	f.idp.signIn(t, c, "ada")
	form := startSAMLSignIn(t, c, base)
	if form.action != base+"/saml/sso/acs" {
		t.Fatalf("the IdP posts to %s, want our ACS", form.action)
	}
	r := postACS(t, c, f.idp, form.action, form)
	if r.status != http.StatusSeeOther || r.location != "/" {
		t.Fatalf("ACS: %d Location %q, want 303 to /: %s", r.status, r.location, r.body)
	}
	wantSignedIn(t, c, base)
	if out := te.mustCLI("", "user", "list", "--org", "sso"); !strings.Contains(out, adaEmail) || !strings.Contains(out, "no-password") {
		t.Errorf("ada was not created at her first sign-in, without a password: %s", out)
	}

	// The same response again, from another browser, is refused.
	thief := newBrowser()
	wantRefusedACS(t, "the response replayed", postACS(t, thief, f.idp, form.action, form), thief, base)

	// A fresh response whose signature was changed is refused.
	c2 := newBrowser()
	f.idp.signIn(t, c2, "ada")
	form2 := startSAMLSignIn(t, c2, base)
	wantRefusedACS(t, "a tampered signature", postACS(t, c2, f.idp, form2.action, tamperSignature(t, form2)), c2, base)

	// The next sign-in finds ada and makes no second user.
	c3 := newBrowser()
	f.idp.signIn(t, c3, "ada")
	form3 := startSAMLSignIn(t, c3, base)
	if r := postACS(t, c3, f.idp, form3.action, form3); r.status != http.StatusSeeOther {
		t.Fatalf("second sign-in: %d %s", r.status, r.body)
	}
	wantSignedIn(t, c3, base)
	if out := te.mustCLI("", "user", "list", "--org", "sso"); strings.Count(out, adaEmail) != 1 {
		t.Errorf("user list after two sign-ins: %s", out)
	}

	if n := strings.Count(te.logs.String(), "SAML response refused"); n != 2 {
		t.Errorf("the server logged %d refusals, want 2", n)
	}
	for _, ck := range c.Jar.Cookies(mustURL(t, base)) {
		if ck.Name == "gatehouse_session" && strings.Contains(te.logs.String(), ck.Value) {
			t.Error("a session token is in the logs")
		}
	}
}

// TestSAML2ReplayIsRefusedAcrossNodesPostgres: two servers share one
// PostgreSQL database and one public URL. A sign-in started on node B is
// accepted by node A's ACS (the pending request is in the database), and
// the same response replayed to node B's ACS is refused.
func TestSAML2ReplayIsRefusedAcrossNodesPostgres(t *testing.T) {
	te := newTestEnv(t)
	te.useDatabase(testdb.PostgresURL(t))
	addr := freeAddr(t)
	f := newSAMLFixture(t, te, "http://"+addr)
	a := te.serve("--addr", addr)
	b := te.serve()
	f.register(t, b) // the same document on both nodes
	acs := func(node string) string { return node + "/saml/sso/acs" }

	c := newBrowser()
	f.idp.signIn(t, c, "ada")
	form := startSAMLSignIn(t, c, b)
	if form.action != acs(a) {
		t.Fatalf("the IdP posts to %s, want the ACS under the public URL %s", form.action, acs(a))
	}
	if r := postACS(t, c, f.idp, acs(a), form); r.status != http.StatusSeeOther || r.location != "/" {
		t.Fatalf("node A's ACS, for a request from node B: %d %q %s", r.status, r.location, r.body)
	}
	wantSignedIn(t, c, a)
	wantSignedIn(t, c, b)

	thief := newBrowser()
	wantRefusedACS(t, "the response replayed to node B", postACS(t, thief, f.idp, acs(b), form), thief, b)
	wantRefusedACS(t, "the response replayed to node A", postACS(t, thief, f.idp, acs(a), form), thief, a)
	if out := te.mustCLI("", "user", "list", "--org", "sso"); strings.Count(out, adaEmail) != 1 {
		t.Errorf("user list: %s", out)
	}
}
