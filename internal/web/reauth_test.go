package web_test

import (
	"context"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/gatehousehq/gatehouse"
)

// wrongCode is a 6-digit code that is not code.
func wrongCode(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}

func TestChangesNeedARecentAuthenticationThroughTheAPI(t *testing.T) {
	ck := &clock{t: time.Now()}
	e := newEnv(t, options{now: ck.now})
	org := e.addStrictOrg(nil)
	e.signInWithCode("admin@acme.test")
	member, _ := e.db.UserByEmail(context.Background(), org.ID, "member@acme.test")
	exempt := func() string {
		return body(t, e.do("PUT", "/api/v1/organizations/acme/users/"+member.ID+"/two-factor-exemption", "application/json", `{"exempt":true}`))
	}
	wantStatus(t, e.do("PUT", "/api/v1/organizations/acme/users/"+member.ID+"/two-factor-exemption", "application/json", `{"exempt":false}`), 200)

	ck.add(gatehouse.ReauthWindow + time.Second)
	for name, res := range map[string]func() string{
		"exemption": exempt,
		"disable": func() string {
			return wantStatus(t, e.do("PUT", "/api/v1/organizations/acme/users/"+member.ID+"/disabled", "application/json", `{"disabled":true}`), 401)
		},
		"password settings": func() string {
			return wantStatus(t, e.do("PUT", "/api/v1/organizations/acme/password-settings", "application/json",
				`{"enforce_two_factor":true,"otp_method":"email","skip_networks":["0.0.0.0/1"],"remember_days":30,"auth_method":"password"}`), 401)
		},
	} {
		if got := errorOf(t, res())["code"]; got != "reauth_required" {
			t.Errorf("%s after 10 minutes: %v, want reauth_required", name, got)
		}
	}
	if u, _ := e.db.UserByID(context.Background(), org.ID, member.ID); u.TwoFactorExempt || u.Disabled {
		t.Fatal("a change was saved without a recent authentication")
	}

	reauth := func(in string) (int, map[string]any) {
		res := e.do("POST", "/api/v1/session/reauthenticate", "application/json", in)
		b := body(t, res)
		return res.StatusCode, decode(t, b)
	}
	if st, m := reauth(`{"password":"not the password"}`); st != 401 || m["error"].(map[string]any)["code"] != "invalid_credentials" {
		t.Fatalf("wrong password: %d %v", st, m)
	}
	st, m := reauth(`{"password":"` + testPassword + `"}`)
	if st != 202 || m["status"] != "code_required" || m["challenge"] == "" || m["method"] != "email" {
		t.Fatalf("password in an organization that enforces 2FA: %d %v, want 202 code_required", st, m)
	}
	challenge := m["challenge"].(string)
	if got := errorOf(t, exempt())["code"]; got != "reauth_required" {
		t.Fatalf("the password alone let the change through: %v", got)
	}
	code := e.lastCode()
	if st, m := reauth(`{"challenge":"` + challenge + `","code":"` + wrongCode(code) + `"}`); st != 400 || m["error"].(map[string]any)["code"] != "invalid_code" {
		t.Fatalf("wrong code: %d %v", st, m)
	}

	t.Run("another session cannot finish this one's code step", func(t *testing.T) {
		other := newClientFor(t, e)
		other.signInWithCode("admin@acme.test")
		res := other.do("POST", "/api/v1/session/reauthenticate", "application/json", `{"challenge":"`+challenge+`","code":"`+code+`"}`)
		if b := wantStatus(t, res, 410); errorOf(t, b)["code"] != "login_expired" {
			t.Errorf("answered %s", b)
		}
	})

	st, m = reauth(`{"challenge":"` + challenge + `","code":"` + code + `"}`)
	if st != 200 || m["status"] != "reauthenticated" || m["valid_until"] == nil {
		t.Fatalf("right code: %d %v", st, m)
	}
	if b := exempt(); !strings.Contains(b, `"exempt":true`) {
		t.Fatalf("after re-authenticating: %s", b)
	}
	if st, _ := reauth(`{"challenge":"` + challenge + `","code":"` + code + `"}`); st != 410 {
		t.Errorf("the code step was taken twice: %d", st)
	}
	ck.add(gatehouse.ReauthWindow + time.Second)
	if got := errorOf(t, exempt())["code"]; got != "reauth_required" {
		t.Errorf("10 minutes after re-authenticating: %v", got)
	}
}

func TestAPasswordAloneReauthenticatesWhereSignInAsksNoCode(t *testing.T) {
	for name, mod := range map[string]func(*gatehouse.PasswordSettings){
		"2FA not enforced": func(s *gatehouse.PasswordSettings) { s.EnforceTwoFactor = false },
		"from a skip network": func(s *gatehouse.PasswordSettings) {
			s.SkipNetworks = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		},
	} {
		t.Run(name, func(t *testing.T) {
			ck := &clock{t: time.Now()}
			e := newEnv(t, options{now: ck.now})
			org := e.addStrictOrg(mod)
			wantStatus(t, e.login("acme", "admin@acme.test", testPassword), 200)
			member, _ := e.db.UserByEmail(context.Background(), org.ID, "member@acme.test")
			ck.add(time.Hour)
			path := "/api/v1/organizations/acme/users/" + member.ID + "/disabled"
			wantStatus(t, e.do("PUT", path, "application/json", `{"disabled":true}`), 401)
			b := wantStatus(t, e.do("POST", "/api/v1/session/reauthenticate", "application/json", `{"password":"`+testPassword+`"}`), 200)
			if decode(t, b)["status"] != "reauthenticated" {
				t.Fatalf("answered %s", b)
			}
			wantStatus(t, e.do("PUT", path, "application/json", `{"disabled":true}`), 200)
		})
	}
}

func TestTurningTwoFactorOffThroughTheAPINeedsConfirmation(t *testing.T) {
	e := newEnv(t, options{})
	org := e.addStrictOrg(nil)
	e.signInWithCode("admin@acme.test")
	off := `{"enforce_two_factor":false,"otp_method":"email","skip_networks":[],"remember_days":30,"auth_method":"password"`
	b := wantStatus(t, e.do("PUT", "/api/v1/organizations/acme/password-settings", "application/json", off+`}`), 400)
	if errorOf(t, b)["field"] != "confirm_disable_two_factor" {
		t.Errorf("answered %s", b)
	}
	if got, _ := e.db.OrganizationByID(context.Background(), org.ID); !got.Settings.EnforceTwoFactor {
		t.Fatal("turned off without confirmation")
	}
	b = wantStatus(t, e.do("PUT", "/api/v1/organizations/acme/password-settings", "application/json", off+`,"confirm_disable_two_factor":true}`), 200)
	if strings.Contains(b, "confirm") {
		t.Errorf("the confirmation is answered back: %s", b)
	}
}

func TestTheSettingsPageAsksForTheCodeWhenReauthenticating(t *testing.T) {
	ck := &clock{t: time.Now()}
	e := newEnv(t, options{now: ck.now})
	org := e.addStrictOrg(nil)
	e.signInWithCode("admin@acme.test")
	ck.add(time.Hour)
	v := settingsForm(true, "email", "", "14")
	v.Set("password", testPassword)
	doc := parseHTML(t, wantStatus(t, e.form("/settings/users/password", v), 200))
	code := findByID(doc, "code")
	if code == nil || attr(code, "autocomplete") != "one-time-code" || findLabelFor(doc, "code") == nil {
		t.Fatal("no labelled code field after the password")
	}
	var challenge string
	find(doc, func(n *html.Node) bool {
		if attr(n, "name") == "reauth_challenge" {
			challenge = attr(n, "value")
		}
		return false
	})
	if challenge == "" || !strings.Contains(text(findByID(doc, "code-sent")), "a•") {
		t.Fatalf("no challenge or destination on the page")
	}
	if got, _ := e.db.OrganizationByID(context.Background(), org.ID); got.Settings.RememberDays == 14 {
		t.Fatal("saved after the password alone")
	}
	v = settingsForm(true, "email", "", "14")
	v.Set("reauth_challenge", challenge)
	v.Set("code", wrongCode(e.lastCode()))
	doc = parseHTML(t, wantStatus(t, e.form("/settings/users/password", v), 400))
	if findByID(doc, "code-error") == nil {
		t.Error("a wrong code is not named beside the field")
	}
	v.Set("code", e.lastCode())
	if res := e.form("/settings/users/password", v); res.StatusCode != 303 {
		t.Fatalf("with the code: %d %s", res.StatusCode, body(t, res))
	}
	if got, _ := e.db.OrganizationByID(context.Background(), org.ID); got.Settings.RememberDays != 14 {
		t.Error("not saved after the code")
	}
}

func TestOtherAdminPagesSendToTheReauthenticationPage(t *testing.T) {
	ck := &clock{t: time.Now()}
	e := newEnv(t, options{now: ck.now})
	org := e.addStrictOrg(nil)
	e.signInWithCode("admin@acme.test")
	member, _ := e.db.UserByEmail(context.Background(), org.ID, "member@acme.test")
	ck.add(time.Hour)
	res := e.form("/settings/users/"+member.ID+"/exempt", url.Values{})
	if res.StatusCode != 303 || res.Header.Get("Location") != "/settings/reauth?next="+url.QueryEscape("/settings/users/"+member.ID) {
		t.Fatalf("exempt with an old sign-in: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	doc := parseHTML(t, wantStatus(t, e.do("GET", res.Header.Get("Location"), "", ""), 200))
	if findByID(doc, "password") == nil {
		t.Fatal("no password field on the re-authentication page")
	}
	doc = parseHTML(t, wantStatus(t, e.form("/settings/reauth", url.Values{"next": {"/settings/users/" + member.ID}, "password": {testPassword}}), 200))
	var challenge string
	find(doc, func(n *html.Node) bool {
		if attr(n, "name") == "reauth_challenge" {
			challenge = attr(n, "value")
		}
		return false
	})
	if challenge == "" || findByID(doc, "code") == nil {
		t.Fatal("no code step")
	}
	res = e.form("/settings/reauth", url.Values{"next": {"https://evil.example/"}, "reauth_challenge": {challenge}, "code": {e.lastCode()}})
	if res.StatusCode != 303 || res.Header.Get("Location") != "/settings/users" {
		t.Fatalf("after the code: %d, to %q (never another site)", res.StatusCode, res.Header.Get("Location"))
	}
	if res := e.form("/settings/users/"+member.ID+"/exempt", url.Values{}); res.StatusCode != 303 || !strings.Contains(res.Header.Get("Location"), "done=exempt") {
		t.Fatalf("exempt after re-authenticating: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if u, _ := e.db.UserByID(context.Background(), org.ID, member.ID); !u.TwoFactorExempt {
		t.Error("not saved")
	}
}
