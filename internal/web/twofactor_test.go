package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/password"
)

// addStrictOrg adds organization "acme" (2FA by e-mail, the default) with
// an admin and a member.
func (e *env) addStrictOrg(mod func(*gatehouse.PasswordSettings)) *gatehouse.Organization {
	e.t.Helper()
	ctx := context.Background()
	s := gatehouse.DefaultPasswordSettings()
	if mod != nil {
		mod(&s)
	}
	org := &gatehouse.Organization{ID: gatehouse.NewID(), Slug: "acme", Name: "Acme Clinic", Settings: s}
	if err := e.db.CreateOrganization(ctx, org); err != nil {
		e.t.Fatal(err)
	}
	hash, _ := password.Hash(testPassword, password.TestParams(), nil)
	for _, u := range []*gatehouse.User{
		{ID: gatehouse.NewID(), OrgID: org.ID, Email: "admin@acme.test", Role: gatehouse.RoleAdmin, PasswordHash: hash},
		{ID: gatehouse.NewID(), OrgID: org.ID, Email: "member@acme.test", Role: gatehouse.RoleMember, PasswordHash: hash},
	} {
		if err := e.db.CreateUser(ctx, u); err != nil {
			e.t.Fatal(err)
		}
	}
	return org
}

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("not JSON: %s", s)
	}
	return m
}

func errorOf(t *testing.T, s string) map[string]any {
	t.Helper()
	e, ok := decode(t, s)["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error object in %s", s)
	}
	return e
}

func (e *env) cookie(name string) *http.Cookie {
	u, _ := url.Parse(e.srv.URL)
	for _, c := range e.client.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// signInWithCode signs email in through the API, entering the code from the
// outbox.
func (e *env) signInWithCode(email string) map[string]any {
	e.t.Helper()
	b := wantStatus(e.t, e.login("acme", email, testPassword), 200)
	if decode(e.t, b)["status"] != "code_sent" {
		e.t.Fatalf("login: %s", b)
	}
	b = wantStatus(e.t, e.do("POST", "/api/v1/login/verify", "application/json", `{"code":"`+e.lastCode()+`"}`), 200)
	return decode(e.t, b)
}

func TestTwoFactorThroughTheAPI(t *testing.T) {
	e := newEnv(t, options{})
	e.addStrictOrg(nil)

	res := e.login("acme", "member@acme.test", testPassword)
	b := wantStatus(t, res, 200)
	m := decode(t, b)
	if m["status"] != "code_sent" || m["method"] != "email" || m["destination"] != "m•••@acme.test" || m["expires_at"] == nil || m["resend_at"] == nil {
		t.Errorf("login answered %s", b)
	}
	if strings.Contains(b, e.lastCode()) {
		t.Fatal("the code is in the API response")
	}
	var pending *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == "gatehouse_pending" {
			pending = c
		}
	}
	if pending == nil || !pending.HttpOnly || pending.SameSite != http.SameSiteLaxMode {
		t.Fatalf("pending cookie %+v", pending)
	}
	if e.cookie("gatehouse_session") != nil {
		t.Fatal("a session cookie was set before the code")
	}
	wantStatus(t, e.do("GET", "/api/v1/session", "", ""), 401)
	wantStatus(t, e.do("GET", "/api/v1/organizations/acme/users", "", ""), 401)

	wrong := "000000"
	if e.lastCode() == wrong {
		wrong = "000001"
	}
	b = wantStatus(t, e.do("POST", "/api/v1/login/verify", "application/json", `{"code":"`+wrong+`"}`), 400)
	if er := errorOf(t, b); er["code"] != "invalid_code" || er["attempts_left"] != float64(4) {
		t.Errorf("a wrong code answered %s", b)
	}
	res = e.do("POST", "/api/v1/login/resend", "", "")
	b = wantStatus(t, res, 429)
	if errorOf(t, b)["code"] != "resend_too_soon" || res.Header.Get("Retry-After") == "" {
		t.Errorf("an early resend answered %s (Retry-After %q)", b, res.Header.Get("Retry-After"))
	}

	b = wantStatus(t, e.do("POST", "/api/v1/login/verify", "application/json", `{"code":"`+e.lastCode()+`"}`), 200)
	m = decode(t, b)
	tf, _ := m["two_factor"].(map[string]any)
	if m["status"] != "authenticated" || tf["state"] != "verified" || tf["remembered_until"] == nil {
		t.Errorf("verify answered %s", b)
	}
	if e.cookie("gatehouse_pending") != nil || e.cookie("gatehouse_session") == nil || e.cookie("gatehouse_remember") == nil {
		t.Error("after verify the browser should hold a session and a remember cookie, and no pending cookie")
	}
	b = wantStatus(t, e.do("GET", "/api/v1/session", "", ""), 200)
	if !strings.Contains(b, `"state":"verified"`) {
		t.Errorf("session %s", b)
	}

	wantStatus(t, e.do("POST", "/api/v1/logout", "", ""), 204)
	if e.cookie("gatehouse_remember") == nil {
		t.Fatal("logout removed the remembered-browser cookie")
	}
	b = wantStatus(t, e.login("acme", "member@acme.test", testPassword), 200)
	if !strings.Contains(b, `"state":"remembered"`) {
		t.Errorf("the remembered browser was asked again: %s", b)
	}
}

func TestCancelEndsThePendingSignIn(t *testing.T) {
	e := newEnv(t, options{})
	e.addStrictOrg(nil)
	wantStatus(t, e.login("acme", "member@acme.test", testPassword), 200)
	code := e.lastCode()
	wantStatus(t, e.do("POST", "/api/v1/login/cancel", "", ""), 204)
	b := wantStatus(t, e.do("POST", "/api/v1/login/verify", "application/json", `{"code":"`+code+`"}`), 401)
	if errorOf(t, b)["code"] != "no_pending_login" {
		t.Errorf("verify after cancel: %s", b)
	}
}

func TestAFailedDeliveryAnswers502AndCanBeRetried(t *testing.T) {
	e := newEnv(t, options{})
	e.addStrictOrg(nil)
	e.box.mu.Lock()
	e.box.fail = true
	e.box.mu.Unlock()
	b := wantStatus(t, e.login("acme", "member@acme.test", testPassword), 502)
	if errorOf(t, b)["code"] != "delivery_failed" {
		t.Errorf("login: %s", b)
	}
	e.box.mu.Lock()
	e.box.fail = false
	e.box.mu.Unlock()
	wantStatus(t, e.do("POST", "/api/v1/login/resend", "", ""), 200)
	wantStatus(t, e.do("POST", "/api/v1/login/verify", "application/json", `{"code":"`+e.lastCode()+`"}`), 200)
	m := wantStatus(t, e.do("GET", "/metrics", "", ""), 200)
	for _, want := range []string{
		`gatehouse_deliveries_total{channel="email",result="failed"} 1`,
		`gatehouse_deliveries_total{channel="email",result="sent"} 1`,
		`gatehouse_signins_total{outcome="delivery_failed"} 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestThePhonePrompt(t *testing.T) {
	e := newEnv(t, options{})
	e.addStrictOrg(func(s *gatehouse.PasswordSettings) { s.OTPMethod = gatehouse.OTPSMS })
	b := wantStatus(t, e.login("acme", "member@acme.test", testPassword), 200)
	if strings.TrimSpace(b) != `{"status":"phone_required","login_expires_at":"`+decode(t, b)["login_expires_at"].(string)+`"}` {
		t.Errorf("login: %s", b)
	}
	b = wantStatus(t, e.do("POST", "/api/v1/login/phone", "application/json", `{"phone":"12"}`), 400)
	if errorOf(t, b)["code"] != "invalid_phone" {
		t.Errorf("bad phone: %s", b)
	}
	b = wantStatus(t, e.do("POST", "/api/v1/login/phone", "application/json", `{"phone":"+358401234567"}`), 200)
	if decode(t, b)["method"] != "sms" {
		t.Errorf("phone: %s", b)
	}
	wantStatus(t, e.do("POST", "/api/v1/login/verify", "application/json", `{"code":"`+e.lastCode()+`"}`), 200)
}

// newClientFor returns another browser on the same server.
func newClientFor(t *testing.T, e *env) *env {
	other := *e
	jar, _ := cookiejarNew()
	other.client = &http.Client{Jar: jar, CheckRedirect: e.client.CheckRedirect}
	return &other
}

func TestTheCodePagesWorkWithoutJavaScript(t *testing.T) {
	e := newEnv(t, options{})
	e.addStrictOrg(nil)
	form := func(path string, v url.Values) *http.Response {
		return e.do("POST", path, "application/x-www-form-urlencoded", v.Encode())
	}
	res := form("/o/acme/login", url.Values{"email": {"member@acme.test"}, "password": {testPassword}})
	if res.StatusCode != 303 || res.Header.Get("Location") != "/login/code" {
		t.Fatalf("login: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	doc := parseHTML(t, wantStatus(t, e.do("GET", "/login/code", "", ""), 200))
	in := findByID(doc, "code")
	if attr(in, "autocomplete") != "one-time-code" || attr(in, "inputmode") != "numeric" || findLabelFor(doc, "code") == nil {
		t.Errorf("code input %v", in)
	}
	if !strings.Contains(text(doc), "m•••@acme.test") {
		t.Error("the page does not say where the code went")
	}
	if resend := findByID(doc, "resend"); resend == nil || attr(resend, "data-resend-at") == "" {
		t.Error("no resend button with its time")
	}

	res = form("/login/resend", url.Values{})
	doc = parseHTML(t, wantStatus(t, res, 429))
	if alert := findByID(doc, "form-error"); alert == nil || !strings.Contains(text(alert), "moment ago") {
		t.Error("an early resend shows no clear message")
	}

	code := e.lastCode()
	wrong := "000000"
	if code == wrong {
		wrong = "000001"
	}
	doc = parseHTML(t, wantStatus(t, form("/login/code", url.Values{"code": {wrong}}), 400))
	if alert := findByID(doc, "form-error"); alert == nil || !strings.Contains(text(alert), "4 tries are left") {
		t.Errorf("a wrong code shows %q", text(findByID(doc, "form-error")))
	}
	if attr(findByID(doc, "code"), "aria-invalid") != "true" {
		t.Error("the code field is not marked invalid")
	}
	res = form("/login/code", url.Values{"code": {code}})
	if res.StatusCode != 303 || res.Header.Get("Location") != "/" {
		t.Fatalf("right code: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	if !strings.Contains(wantStatus(t, e.do("GET", "/", "", ""), 200), "verified") {
		t.Error("home does not show the verified sign-in")
	}
	doc = parseHTML(t, wantStatus(t, e.do("GET", "/account", "", ""), 200))
	if !strings.Contains(text(doc), "Firefox") && !strings.Contains(text(doc), "Unknown browser") && !strings.Contains(text(doc), "Forget") {
		t.Error("the account page lists no remembered browser")
	}
	forget := find(doc, func(n *html.Node) bool { return n.Data == "form" && strings.HasSuffix(attr(n, "action"), "/revoke") })
	if forget == nil {
		t.Fatal("no form to forget the browser")
	}
	res = form(attr(forget, "action"), url.Values{})
	if res.StatusCode != 303 {
		t.Fatalf("forget: %d", res.StatusCode)
	}
	wantStatus(t, e.do("POST", "/api/v1/logout", "", ""), 204)
	b := wantStatus(t, e.login("acme", "member@acme.test", testPassword), 200)
	if !strings.Contains(b, "code_sent") {
		t.Errorf("a forgotten browser was not asked again: %s", b)
	}
}

func TestFiveWrongCodesOnThePageEndTheSignIn(t *testing.T) {
	e := newEnv(t, options{})
	e.addStrictOrg(nil)
	e.do("POST", "/o/acme/login", "application/x-www-form-urlencoded", url.Values{"email": {"member@acme.test"}, "password": {testPassword}}.Encode())
	code := e.lastCode()
	wrong := "000000"
	if code == wrong {
		wrong = "000001"
	}
	var last string
	for range 5 {
		last = body(t, e.do("POST", "/login/code", "application/x-www-form-urlencoded", "code="+wrong))
	}
	doc := parseHTML(t, last)
	if findByID(doc, "password") == nil || !strings.Contains(text(findByID(doc, "form-error")), "sign in again") {
		t.Errorf("after 5 wrong codes the page is not the password form with the reason")
	}
	if e.cookie("gatehouse_pending") != nil {
		t.Error("the spent pending cookie is still there")
	}
}

// "This is a shared computer" on the code page (and shared_computer in the
// API) signs in without remembering the browser: no remember cookie, no
// remembered browser stored, and the next sign-in asks for a code again.
func TestASharedComputerIsNotRemembered(t *testing.T) {
	for _, via := range []string{"page", "api"} {
		t.Run(via, func(t *testing.T) {
			e := newEnv(t, options{})
			org := e.addStrictOrg(nil)
			if via == "page" {
				wantStatus(t, e.form("/login", url.Values{"organization": {"acme"}, "email": {"member@acme.test"}, "password": {testPassword}}), 303)
				doc := parseHTML(t, wantStatus(t, e.do("GET", "/login/code", "", ""), 200))
				if findByID(doc, "shared_computer") == nil || findLabelFor(doc, "shared_computer") == nil ||
					!strings.Contains(text(doc), "remembered for 30 days") {
					t.Fatalf("the code page offers no labelled shared-computer choice: %s", text(doc))
				}
				res := e.form("/login/code", url.Values{"code": {e.lastCode()}, "shared_computer": {"1"}})
				if res.StatusCode != 303 || e.cookie("gatehouse_session") == nil {
					t.Fatalf("code with shared_computer: %d, session %v", res.StatusCode, e.cookie("gatehouse_session"))
				}
			} else {
				wantStatus(t, e.login("acme", "member@acme.test", testPassword), 200)
				b := wantStatus(t, e.do("POST", "/api/v1/login/verify", "application/json", `{"code":"`+e.lastCode()+`","shared_computer":true}`), 200)
				if tf, _ := decode(t, b)["two_factor"].(map[string]any); tf["remembered_until"] != nil {
					t.Errorf("verify on a shared computer answered %s, want no remembered_until", b)
				}
			}
			if e.cookie("gatehouse_remember") != nil {
				t.Error("a shared computer got a remember cookie")
			}
			member, err := e.db.UserByEmail(context.Background(), org.ID, "member@acme.test")
			if err != nil {
				t.Fatal(err)
			}
			if n, err := e.db.CountRememberedBrowsers(context.Background(), org.ID, []string{member.ID}, time.Now()); err != nil || n[member.ID] != 0 {
				t.Errorf("remembered browsers after a shared-computer sign-in: %v %v", n, err)
			}
			wantStatus(t, e.do("POST", "/api/v1/logout", "", ""), 204)
			if b := wantStatus(t, e.login("acme", "member@acme.test", testPassword), 200); !strings.Contains(b, `"status":"code_sent"`) {
				t.Errorf("the next sign-in on the shared computer: %s, want a code asked", b)
			}
		})
	}
}

// In dev mode the code page says where the code went: /dev/outbox.
func TestTheCodePageLinksToTheDevOutboxInDevMode(t *testing.T) {
	for _, dev := range []bool{false, true} {
		e := newEnv(t, options{dev: dev})
		e.addStrictOrg(nil)
		wantStatus(t, e.form("/login", url.Values{"organization": {"acme"}, "email": {"member@acme.test"}, "password": {testPassword}}), 303)
		page := wantStatus(t, e.do("GET", "/login/code", "", ""), 200)
		if got := strings.Contains(page, `href="/dev/outbox"`); got != dev {
			t.Errorf("dev mode %v: link to /dev/outbox %v", dev, got)
		}
	}
}
