package web_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/gatehousehq/gatehouse"
)

const firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"

// signedIn is another browser on e's server, signed in as email of org
// (which must not ask for a code).
func signedIn(t *testing.T, e *env, org, email, userAgent string) *env {
	t.Helper()
	c := newClientFor(t, e)
	wantStatus(t, c.do("POST", "/api/v1/login", "application/json",
		`{"organization":"`+org+`","email":"`+email+`","password":"`+testPassword+`"}`, "User-Agent", userAgent), 200)
	return c
}

func (e *env) sessionToken() string {
	e.t.Helper()
	c := e.cookie("gatehouse_session")
	if c == nil {
		e.t.Fatal("no session cookie")
	}
	return c.Value
}

// secretForms are the ways a session's token and its stored hash could be
// written out (the test server's secret is 32 zero bytes).
func secretForms(token string) []string {
	m := hmac.New(sha256.New, make([]byte, 32))
	m.Write([]byte("gatehouse session token"))
	m.Write([]byte{0})
	m.Write([]byte(token))
	h := m.Sum(nil)
	return []string{token, hex.EncodeToString(h), base64.StdEncoding.EncodeToString(h), base64.RawURLEncoding.EncodeToString(h),
		base64.RawStdEncoding.EncodeToString(h), base64.URLEncoding.EncodeToString(h)}
}

func wantNoSecrets(t *testing.T, what, body string, browsers ...*env) {
	t.Helper()
	for _, b := range browsers {
		for _, s := range secretForms(b.sessionToken()) {
			if strings.Contains(body, s) {
				t.Errorf("%s shows a session token or its hash (%q)", what, s)
			}
		}
	}
}

type sessionsList struct {
	Sessions []struct {
		ID        string `json:"id"`
		Current   bool   `json:"current"`
		CreatedAt string `json:"created_at"`
		LastSeen  string `json:"last_seen_at"`
		ClientIP  string `json:"client_ip"`
		Browser   string `json:"browser"`
		TwoFactor struct {
			State string `json:"state"`
		} `json:"two_factor"`
	} `json:"sessions"`
}

func (e *env) sessions() (sessionsList, string) {
	e.t.Helper()
	b := wantStatus(e.t, e.do("GET", "/api/v1/account/sessions", "", ""), 200)
	var l sessionsList
	if err := json.Unmarshal([]byte(b), &l); err != nil {
		e.t.Fatalf("sessions: %v in %s", err, b)
	}
	return l, b
}

// currentID is the public id of e's own session, from its list.
func (e *env) currentID() string {
	e.t.Helper()
	l, _ := e.sessions()
	for _, s := range l.Sessions {
		if s.Current {
			return s.ID
		}
	}
	e.t.Fatal("no session is marked current")
	return ""
}

func wantSession(t *testing.T, who string, b *env, status int) {
	t.Helper()
	if res := b.do("GET", "/api/v1/session", "", ""); res.StatusCode != status {
		t.Errorf("%s: GET /api/v1/session = %d, want %d", who, res.StatusCode, status)
	}
}

func TestTheSessionsAPI(t *testing.T) {
	e := newEnv(t, options{})
	e.addStrictOrg(func(s *gatehouse.PasswordSettings) { s.EnforceTwoFactor = false })
	here := signedIn(t, e, "clinic", "staff@clinic.test", "Go test")
	laptop := signedIn(t, e, "clinic", "staff@clinic.test", firefox)
	phone := signedIn(t, e, "clinic", "staff@clinic.test", "Mozilla/5.0 (Linux; Android 15) Chrome/140.0 Mobile Safari/537.36")
	someoneElse := signedIn(t, e, "acme", "member@acme.test", firefox)

	wantStatus(t, newClientFor(t, e).do("GET", "/api/v1/account/sessions", "", ""), 401)

	l, raw := here.sessions()
	wantNoSecrets(t, "GET /api/v1/account/sessions", raw, here, laptop, phone, someoneElse)
	if len(l.Sessions) != 3 {
		t.Fatalf("sessions = %s, want the user's three", raw)
	}
	current, browsers := 0, map[string]bool{}
	for _, s := range l.Sessions {
		if s.Current {
			current++
		}
		browsers[s.Browser] = true
		if s.ID == "" || s.CreatedAt == "" || s.LastSeen == "" || s.ClientIP != "127.0.0.1" || s.TwoFactor.State != gatehouse.TwoFactorNotEnforced {
			t.Errorf("session %+v lacks a field", s)
		}
	}
	if current != 1 || !browsers["Firefox on Linux"] || !browsers["Chrome on Android"] {
		t.Errorf("sessions = %s: want one current, a Firefox on Linux and a Chrome on Android", raw)
	}

	// Another user's session is not found through this user, and stays.
	wantStatus(t, here.do("DELETE", "/api/v1/account/sessions/"+someoneElse.currentID(), "", ""), 404)
	wantSession(t, "another user", someoneElse, 200)

	// Ending one: the laptop is signed out, nothing else.
	laptopID := laptop.currentID()
	wantStatus(t, here.do("DELETE", "/api/v1/account/sessions/"+laptopID, "", ""), 204)
	wantSession(t, "the ended session", laptop, 401)
	wantSession(t, "the session that ended it", here, 200)
	wantSession(t, "the phone", phone, 200)
	if got := errorOf(t, wantStatus(t, here.do("DELETE", "/api/v1/account/sessions/"+laptopID, "", ""), 404))["code"]; got != "not_found" {
		t.Errorf("ending it again: code %v, want not_found", got)
	}

	// Cross-origin, "sign out everywhere else" is refused and ends nothing.
	wantStatus(t, here.do("POST", "/api/v1/account/sessions/end-others", "", "", "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"), 403)
	wantSession(t, "the phone after a cross-origin attempt", phone, 200)

	b := wantStatus(t, here.do("POST", "/api/v1/account/sessions/end-others", "", ""), 200)
	if got := decode(t, b)["ended"]; got != float64(1) {
		t.Errorf("end-others = %s, want 1 ended", b)
	}
	wantSession(t, "the phone", phone, 401)
	wantSession(t, "the session that signed out the others", here, 200)
	wantSession(t, "another user", someoneElse, 200)

	// Ending the current session is signing out.
	res := here.do("DELETE", "/api/v1/account/sessions/"+here.currentID(), "", "")
	wantStatus(t, res, 204)
	cleared := false
	for _, c := range res.Cookies() {
		cleared = cleared || c.Name == "gatehouse_session" && c.MaxAge < 0
	}
	if !cleared {
		t.Errorf("ending the current session left its cookie: %v", res.Header["Set-Cookie"])
	}
	wantSession(t, "the ended current session", here, 401)

	org, err := e.db.OrganizationBySlug(context.Background(), "clinic")
	if err != nil {
		t.Fatal(err)
	}
	events, err := e.db.ListAudit(context.Background(), org.ID, 0, 20)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, ev := range events {
		seen[ev.Event]++
	}
	if seen[gatehouse.AuditSessionEnded] != 2 || seen[gatehouse.AuditOtherSessionsEnded] != 1 {
		t.Errorf("audit events %v: want 2 %s and 1 %s", seen, gatehouse.AuditSessionEnded, gatehouse.AuditOtherSessionsEnded)
	}
}

// sessionRows are the rows of the account page's sessions table.
func sessionRows(t *testing.T, doc *html.Node) []*html.Node {
	t.Helper()
	h := findByID(doc, "sessions")
	if h == nil {
		t.Fatal("the account page has no sessions heading")
	}
	var table *html.Node
	for n := h.NextSibling; n != nil && table == nil; n = n.NextSibling {
		if n.Type == html.ElementNode && n.Data == "table" {
			table = n
		}
	}
	if table == nil {
		t.Fatal("no table of sessions after the heading")
	}
	tbody := find(table, func(n *html.Node) bool { return n.Data == "tbody" })
	var rows []*html.Node
	for r := tbody.FirstChild; r != nil; r = r.NextSibling {
		if r.Type == html.ElementNode && r.Data == "tr" {
			rows = append(rows, r)
		}
	}
	return rows
}

func TestTheSessionsOnTheAccountPage(t *testing.T) {
	e := newEnv(t, options{})
	here := signedIn(t, e, "clinic", "staff@clinic.test", "Go test")
	laptop := signedIn(t, e, "clinic", "staff@clinic.test", firefox)

	b := wantStatus(t, here.do("GET", "/account", "", ""), 200)
	wantNoSecrets(t, "the account page", b, here, laptop)
	rows := sessionRows(t, parseHTML(t, b))
	if len(rows) != 2 {
		t.Fatalf("%d rows of sessions, want 2", len(rows))
	}
	var laptopEnd string
	marked := 0
	for _, r := range rows {
		if strings.Contains(text(r), "this browser") {
			marked++
			if attr(r, "aria-current") != "true" {
				t.Error("the current row is not marked for screen readers")
			}
			continue
		}
		if !strings.Contains(text(r), "Firefox on Linux") {
			t.Errorf("the other row says %q, want Firefox on Linux", text(r))
		}
		laptopEnd = attr(find(r, func(n *html.Node) bool { return n.Data == "form" }), "action")
	}
	if marked != 1 || laptopEnd != "/account/sessions/"+laptop.currentID()+"/end" {
		t.Fatalf("%d rows marked this browser; the laptop's form posts to %q", marked, laptopEnd)
	}

	// The buttons post as forms; one from another site is refused.
	wantStatus(t, here.form(laptopEnd, nil, "Origin", "https://evil.example"), 403)
	wantSession(t, "the laptop after a cross-origin form", laptop, 200)
	res := here.form(laptopEnd, nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account?done=session-ended#sessions" {
		t.Fatalf("ending a session: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	wantSession(t, "the laptop", laptop, 401)
	doc := parseHTML(t, wantStatus(t, here.do("GET", "/account?done=session-ended", "", ""), 200))
	if !strings.Contains(text(doc), "That session is signed out.") {
		t.Error("no notice after ending a session")
	}

	laptop = signedIn(t, e, "clinic", "staff@clinic.test", firefox)
	res = here.form("/account/sessions/end-others", nil)
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/account?done=sessions-ended") {
		t.Fatalf("sign out everywhere else: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	wantSession(t, "the laptop after sign out everywhere else", laptop, 401)
	wantSession(t, "this browser after sign out everywhere else", here, 200)

	laptop = signedIn(t, e, "clinic", "staff@clinic.test", firefox)
	res = here.form("/account/sessions/end-all", nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
		t.Fatalf("sign out everywhere: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	wantSession(t, "the laptop after sign out everywhere", laptop, 401)
	wantSession(t, "this browser after sign out everywhere", here, 401)

	// In Finnish.
	fi := signedIn(t, e, "clinic", "staff@clinic.test", firefox)
	page := text(parseHTML(t, wantStatus(t, fi.do("GET", "/account", "", "", "Accept-Language", "fi"), 200)))
	for _, want := range []string{"Missä olet kirjautuneena", "tämä selain", "Kirjaa ulos kaikkialta muualta"} {
		if !strings.Contains(page, want) {
			t.Errorf("the Finnish account page lacks %q", want)
		}
	}
}

func TestTurningEnforcementOnSignsOutWhoeverDidNotPassTwoFactor(t *testing.T) {
	e := newEnv(t, options{})
	e.addStrictOrg(func(s *gatehouse.PasswordSettings) { s.EnforceTwoFactor = false })
	admin := signedIn(t, e, "acme", "admin@acme.test", firefox)
	member := signedIn(t, e, "acme", "member@acme.test", firefox)
	other := signedIn(t, e, "clinic", "staff@clinic.test", firefox)

	b := wantStatus(t, admin.do("PUT", "/api/v1/organizations/acme/password-settings", "application/json",
		`{"enforce_two_factor":true,"otp_method":"email","skip_networks":[],"remember_days":30,"auth_method":"password"}`), 200)
	if decode(t, b)["enforce_two_factor"] != true {
		t.Fatalf("PUT password-settings = %s", b)
	}
	wantSession(t, "a member signed in without a code", member, 401)
	wantSession(t, "the admin who turned enforcement on", admin, 401)
	wantSession(t, "a user of another organization", other, 200)
	if got := decode(t, wantStatus(t, admin.login("acme", "admin@acme.test", testPassword), 200))["status"]; got != "code_sent" {
		t.Errorf("the admin's next sign-in: %v, want code_sent", got)
	}
}

func TestTurningEnforcementOnThePageTellsTheAdminToSignInAgain(t *testing.T) {
	e := newEnv(t, options{})
	e.addStrictOrg(func(s *gatehouse.PasswordSettings) { s.EnforceTwoFactor = false })
	admin := signedIn(t, e, "acme", "admin@acme.test", firefox)
	member := signedIn(t, e, "acme", "member@acme.test", firefox)

	res := admin.form("/settings/users/password", settingsForm(true, "email", "", "30"))
	doc := parseHTML(t, wantStatus(t, res, 200))
	if !strings.Contains(text(doc), "sign in again, this time with a code") {
		t.Errorf("the page after turning enforcement on says %q", text(doc))
	}
	if a := find(doc, func(n *html.Node) bool { return n.Data == "a" && attr(n, "href") == "/o/acme/login" }); a == nil {
		t.Error("no link to sign in again")
	}
	cleared := false
	for _, c := range res.Cookies() {
		cleared = cleared || c.Name == "gatehouse_session" && c.MaxAge < 0
	}
	if !cleared {
		t.Error("the ended session's cookie was kept")
	}
	wantSession(t, "the admin", admin, 401)
	wantSession(t, "the member", member, 401)
	org, err := e.db.OrganizationBySlug(context.Background(), "acme")
	if err != nil || !org.Settings.EnforceTwoFactor {
		t.Errorf("saved settings: %+v, %v; want enforcement on", org, err)
	}
}
