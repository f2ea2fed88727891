package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
)

func TestAdminAPI(t *testing.T) {
	e := newEnv(t, options{})
	org := e.addStrictOrg(nil)
	e.signInWithCode("admin@acme.test")

	b := wantStatus(t, e.do("GET", "/api/v1/organizations/acme/password-settings", "", ""), 200)
	if strings.TrimSpace(b) != `{"enforce_two_factor":true,"otp_method":"email","skip_networks":[],"remember_days":30,"auth_method":"password"}` {
		t.Errorf("settings = %s", b)
	}
	wantStatus(t, e.do("GET", "/api/v1/organizations/clinic/password-settings", "", ""), 404)

	t.Run("a bad network is named and nothing is saved", func(t *testing.T) {
		b := wantStatus(t, e.do("PUT", "/api/v1/organizations/acme/password-settings", "application/json",
			`{"enforce_two_factor":true,"otp_method":"sms","skip_networks":["192.0.2.0/24","10.1.2.3"],"remember_days":7,"auth_method":"password"}`), 400)
		er := errorOf(t, b)
		if er["code"] != "invalid_network" || er["entry"] != "10.1.2.3" || !strings.Contains(er["message"].(string), `"10.1.2.3"`) {
			t.Errorf("answered %s", b)
		}
		got, _ := e.db.OrganizationByID(context.Background(), org.ID)
		if got.Settings.OTPMethod != gatehouse.OTPEmail || got.Settings.RememberDays != 30 {
			t.Errorf("half-saved: %+v", got.Settings)
		}
	})
	t.Run("enforcement with LDAP is refused", func(t *testing.T) {
		b := wantStatus(t, e.do("PUT", "/api/v1/organizations/acme/password-settings", "application/json",
			`{"enforce_two_factor":true,"otp_method":"email","skip_networks":[],"remember_days":30,"auth_method":"ldap"}`), 409)
		if errorOf(t, b)["code"] != "two_factor_unavailable" {
			t.Errorf("answered %s", b)
		}
	})
	t.Run("a missing field is refused", func(t *testing.T) {
		b := wantStatus(t, e.do("PUT", "/api/v1/organizations/acme/password-settings", "application/json",
			`{"enforce_two_factor":false,"otp_method":"email","skip_networks":[],"auth_method":"password"}`), 400)
		if errorOf(t, b)["field"] != "remember_days" {
			t.Errorf("answered %s", b)
		}
	})
	t.Run("a good body is saved and returned", func(t *testing.T) {
		b := wantStatus(t, e.do("PUT", "/api/v1/organizations/acme/password-settings", "application/json",
			`{"enforce_two_factor":true,"otp_method":"sms","skip_networks":["192.0.2.0/24","2001:db8::/48"],"remember_days":7,"auth_method":"password"}`), 200)
		if strings.TrimSpace(b) != `{"enforce_two_factor":true,"otp_method":"sms","skip_networks":["192.0.2.0/24","2001:db8::/48"],"remember_days":7,"auth_method":"password"}` {
			t.Errorf("answered %s", b)
		}
		events, _ := e.db.ListAudit(context.Background(), org.ID, 0, 1)
		if events[0].Event != gatehouse.AuditSettingsChanged || !strings.Contains(events[0].Detail["before"], "otp_method=email") || !strings.Contains(events[0].Detail["after"], "otp_method=sms") {
			t.Errorf("audit = %+v", events[0])
		}
	})

	b = wantStatus(t, e.do("GET", "/api/v1/organizations/acme/users?limit=1", "", ""), 200)
	page := decode(t, b)
	users := page["users"].([]any)
	if len(users) != 1 || page["next"] == nil || users[0].(map[string]any)["email"] != "admin@acme.test" {
		t.Errorf("first page %s", b)
	}
	b = wantStatus(t, e.do("GET", "/api/v1/organizations/acme/users?cursor="+url.QueryEscape(page["next"].(string)), "", ""), 200)
	page = decode(t, b)
	users = page["users"].([]any)
	if len(users) != 1 || page["next"] != nil {
		t.Errorf("second page %s", b)
	}
	memberID := users[0].(map[string]any)["id"].(string)

	b = wantStatus(t, e.do("PUT", "/api/v1/organizations/acme/users/"+memberID+"/two-factor-exemption", "application/json", `{"exempt":true}`), 200)
	if !strings.Contains(b, `"exempt":true`) {
		t.Errorf("exemption: %s", b)
	}
	wantStatus(t, e.do("POST", "/api/v1/organizations/acme/users/"+memberID+"/unlock", "", ""), 204)
	wantStatus(t, e.do("POST", "/api/v1/organizations/acme/users/"+memberID+"/reset-two-factor", "", ""), 204)
	wantStatus(t, e.do("POST", "/api/v1/organizations/acme/users/nobody/reset-two-factor", "", ""), 404)

	b = wantStatus(t, e.do("GET", "/api/v1/organizations/acme/audit-events?limit=2", "", ""), 200)
	audit := decode(t, b)
	if len(audit["events"].([]any)) != 2 || audit["next"] == nil {
		t.Errorf("audit page %s", b)
	}
	// The latest event is the admin's reset of the member: both by e-mail.
	latest, _ := audit["events"].([]any)[0].(map[string]any)
	user, _ := latest["user"].(map[string]any)
	actor, _ := latest["actor"].(map[string]any)
	if latest["event"] != gatehouse.AuditTwoFactorReset || user["email"] != "member@acme.test" || actor["email"] != "admin@acme.test" {
		t.Errorf("the latest audit event %v; want the reset naming the member and the admin", latest)
	}
	if strings.Contains(b, testPassword) {
		t.Error("the audit log holds a password")
	}
}

func TestMembersAreNotAdmins(t *testing.T) {
	e := newEnv(t, options{})
	e.addStrictOrg(nil)
	e.signInWithCode("member@acme.test")
	for _, path := range []string{"/api/v1/organizations/acme/password-settings", "/api/v1/organizations/acme/users", "/api/v1/organizations/acme/audit-events"} {
		wantStatus(t, e.do("GET", path, "", ""), 403)
	}
}

func TestAdminResetMakesTheMemberVerifyAgain(t *testing.T) {
	e := newEnv(t, options{})
	org := e.addStrictOrg(nil)
	e.signInWithCode("member@acme.test")
	wantStatus(t, e.do("POST", "/api/v1/logout", "", ""), 204)
	b := wantStatus(t, e.login("acme", "member@acme.test", testPassword), 200)
	if !strings.Contains(b, "remembered") {
		t.Fatalf("not remembered: %s", b)
	}
	wantStatus(t, e.do("POST", "/api/v1/logout", "", ""), 204)
	member, _ := e.db.UserByEmail(context.Background(), org.ID, "member@acme.test")

	admin := newClientFor(t, e)
	admin.signInWithCode("admin@acme.test")
	wantStatus(t, admin.do("POST", "/api/v1/organizations/acme/users/"+member.ID+"/reset-two-factor", "", ""), 204)

	b = wantStatus(t, e.login("acme", "member@acme.test", testPassword), 200)
	if !strings.Contains(b, "code_sent") {
		t.Errorf("after the admin's reset the member was not asked for a code: %s", b)
	}
}
