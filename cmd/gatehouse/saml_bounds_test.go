package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// countRows counts the rows of table in the test's SQLite database.
func countRows(t *testing.T, te *testEnv, table string) int {
	t.Helper()
	path, ok := strings.CutPrefix(te.vars["GATEHOUSE_DATABASE_URL"], "sqlite:")
	if !ok {
		t.Fatalf("not a SQLite test: %s", te.vars["GATEHOUSE_DATABASE_URL"])
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// hammer sends n requests at once and returns how many got each status.
func hammer(t *testing.T, n int, do func() (*http.Response, error)) map[int]int {
	t.Helper()
	var mu sync.Mutex
	got := map[int]int{}
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			res, err := do()
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			if res.StatusCode == http.StatusTooManyRequests && res.Header.Get("Retry-After") == "" {
				t.Error("a 429 without Retry-After")
			}
			mu.Lock()
			got[res.StatusCode]++
			mu.Unlock()
		})
	}
	wg.Wait()
	return got
}

func noRedirects() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// TestSAML2LoginIsRateLimited: 40 parallel sign-in starts from one client
// write at most the burst (30) of request rows; the rest get 429 (issue 8
// item 14).
func TestSAML2LoginIsRateLimited(t *testing.T) {
	te := newTestEnv(t)
	addr := freeAddr(t)
	newSAMLFixture(t, te, "http://"+addr)
	base := te.serve("--addr", addr)
	c := noRedirects()
	start := time.Now()
	got := hammer(t, 40, func() (*http.Response, error) { return c.Get(base + "/saml/sso/login") })
	// The bucket refills at one every 2 s, so a slow run may pass more.
	extra := int(time.Since(start)/(2*time.Second)) + 1
	if got[http.StatusSeeOther] < 30 || got[http.StatusSeeOther] > 30+extra || got[http.StatusTooManyRequests] < 10-extra {
		t.Errorf("statuses %v, want 30 redirects to the IdP and the rest 429", got)
	}
	if n := countRows(t, te, "saml_requests"); n != got[http.StatusSeeOther] {
		t.Errorf("%d request rows, want %d, one per redirect", n, got[http.StatusSeeOther])
	}
}

// TestSAML2JunkACSPostsAreBounded: 40 parallel junk posts to the ACS are
// rate-limited and write at most one audit event (the first of the
// minute); the others are counted for the next one.
func TestSAML2JunkACSPostsAreBounded(t *testing.T) {
	te := newTestEnv(t)
	addr := freeAddr(t)
	newSAMLFixture(t, te, "http://"+addr)
	base := te.serve("--addr", addr)
	before := len(samlAudit(t, te, "sso"))
	c := noRedirects()
	start := time.Now()
	got := hammer(t, 40, func() (*http.Response, error) {
		return c.PostForm(base+"/saml/sso/acs", url.Values{"SAMLResponse": {"junk"}})
	})
	extra := int(time.Since(start)/(2*time.Second)) + 1
	if got[http.StatusUnauthorized] < 30 || got[http.StatusUnauthorized] > 30+extra || got[http.StatusTooManyRequests] < 10-extra {
		t.Errorf("statuses %v, want 30 refusals and the rest 429", got)
	}
	all := samlAudit(t, te, "sso") // newest first
	events := all[:len(all)-before]
	// Two more when the run straddles a minute: the count, and the next
	// minute's first.
	if len(events) < 1 || len(events) > 3 {
		t.Errorf("%d audit events for %d refusals, want 1 (3 across a minute boundary)", len(events), got[http.StatusUnauthorized])
	}
}

// TestSAML2EndpointsWriteNothingForOtherOrganizations: the SAML2 endpoints of
// an organization that does not exist, or that does not sign in with SAML2
// (even with SAML2 set up), answer 404 and write no row at all.
func TestSAML2EndpointsWriteNothingForOtherOrganizations(t *testing.T) {
	te := newTestEnv(t)
	addr := freeAddr(t)
	newSAMLFixture(t, te, "http://"+addr)
	te.mustCLI("", "org", "create", "--slug", "clinic", "--name", "Password Clinic")
	// An organization with SAML2 set up but not chosen.
	md := te.dir + "/idp-metadata.xml"
	te.mustCLI("", "org", "create", "--slug", "later", "--name", "Not Yet")
	te.mustCLI("", "org", "saml", "--org", "later", "--idp-metadata-file", md)
	base := te.serve("--addr", addr)

	tables := []string{"saml_requests", "saml_assertions", "audit_events"}
	before := map[string]int{}
	for _, tb := range tables {
		before[tb] = countRows(t, te, tb)
	}
	c := noRedirects()
	for _, slug := range []string{"nope", "clinic", "later", "%00", strings.Repeat("x", 300)} {
		for _, try := range []func() (*http.Response, error){
			func() (*http.Response, error) { return c.Get(base + "/saml/" + slug + "/login") },
			func() (*http.Response, error) {
				return c.PostForm(base+"/saml/"+slug+"/acs", url.Values{"SAMLResponse": {"junk"}})
			},
		} {
			res, err := try()
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusNotFound && res.StatusCode != http.StatusBadRequest {
				t.Errorf("organization %q: %s %s, want 404", slug, res.Request.Method, res.Status)
			}
		}
	}
	for _, tb := range tables {
		if n := countRows(t, te, tb); n != before[tb] {
			t.Errorf("%s has %d rows, %d before: the endpoints of organizations without SAML2 wrote", tb, n, before[tb])
		}
	}
}

// TestSAML2ResponseWithManyGroupsFitsTheACS: a response with hundreds of
// group claims is larger than the 64 KiB bound of every other request, and
// the ACS takes it; a post over the SAML bound (512 KiB) is still refused
// with 413.
func TestSAML2ResponseWithManyGroupsFitsTheACS(t *testing.T) {
	te := newTestEnv(t)
	addr := freeAddr(t)
	f := newSAMLFixture(t, te, "http://"+addr)
	base := te.serve("--addr", addr)
	f.register(t, base)
	groups := make([]string, 600)
	for i := range groups {
		groups[i] = fmt.Sprintf("cn=engineering-group-%04d,ou=groups,dc=sso,dc=test", i)
	}
	b, _ := json.Marshal(map[string]any{"name": "grace", "password": "secret-grace", "email": "grace@sso.test",
		"common_name": "Grace Hopper", "groups": groups})
	f.idp.put(t, "/users/grace", b)

	c := newBrowser()
	f.idp.signIn(t, c, "grace")
	form := startSAMLSignIn(t, c, base)
	if size := len(form.values.Encode()); size <= 64<<10 || size > 512<<10 {
		t.Fatalf("the form is %d bytes, want between 64 KiB and 512 KiB for this test", size)
	}
	if r := postACS(t, c, f.idp, form.action, form); r.status != http.StatusSeeOther || r.location != "/" {
		t.Fatalf("ACS with %d group claims: %d %q %s", len(groups), r.status, r.location, r.body)
	}

	res, err := noRedirects().PostForm(base+"/saml/sso/acs", url.Values{"SAMLResponse": {strings.Repeat("A", 512<<10)}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("a post over 512 KiB: %s, want 413", res.Status)
	}
	// Every other route keeps the small bound.
	res, err = noRedirects().Post(base+"/api/v1/login", "application/json", strings.NewReader(`{"x":"`+strings.Repeat("a", 70<<10)+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("a 70 KiB login body: %s, want 413", res.Status)
	}
}
