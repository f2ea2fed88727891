package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// The user's own change of password at /account: the current password
// (throttled like a re-authentication), the new one against the policy;
// it ends the other sessions and the remembered browsers, keeps this one,
// and only the new password signs in after it.
func TestAUserChangesTheirPasswordAtTheAccountPage(t *testing.T) {
	e := newEnv(t, options{})
	org := e.addStrictOrg(nil)
	e.signInWithCode("member@acme.test") // this browser: remembered, signed in
	other := newClientFor(t, e)
	other.signInWithCode("member@acme.test") // another browser

	doc := parseHTML(t, wantStatus(t, e.do("GET", "/account", "", ""), 200))
	for _, id := range []string{"current_password", "new_password"} {
		if findByID(doc, id) == nil || findLabelFor(doc, id) == nil {
			t.Fatalf("the account page has no labelled #%s", id)
		}
	}
	if attr(findByID(doc, "new_password"), "autocomplete") != "new-password" {
		t.Error("the new password field is not autocomplete=new-password")
	}

	change := func(current, next string) *gatehouseResponse {
		t.Helper()
		res := e.form("/account/password", url.Values{"current_password": {current}, "new_password": {next}})
		return &gatehouseResponse{status: res.StatusCode, location: res.Header.Get("Location"), body: body(t, res)}
	}
	r := change("not my password", "a brand new passphrase here")
	if r.status != 401 || !strings.Contains(r.body, "The password is incorrect") || !strings.Contains(r.body, `id="current_password" name="current_password" type="password" autocomplete="current-password" aria-invalid="true"`) {
		t.Errorf("a wrong current password: %d %s", r.status, r.body)
	}
	r = change(testPassword, "short")
	if r.status != 400 || !strings.Contains(r.body, "at least 12 characters") || !strings.Contains(r.body, `aria-invalid="true"`) {
		t.Errorf("a weak new password: %d", r.status)
	}

	const next = "a brand new passphrase here"
	if r = change(testPassword, next); r.status != 303 || r.location != "/account?done=password#change-password" {
		t.Fatalf("the change: %d to %q %s", r.status, r.location, r.body)
	}
	if page := text(parseHTML(t, wantStatus(t, e.do("GET", "/account?done=password", "", ""), 200))); !strings.Contains(page, "Your password is changed") {
		t.Errorf("after the change, this browser: %s", page)
	}
	wantStatus(t, other.do("GET", "/api/v1/session", "", ""), 401)
	member, err := e.db.UserByEmail(context.Background(), org.ID, "member@acme.test")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := e.db.CountOrgRememberedBrowsers(context.Background(), org.ID, time.Now()); err != nil || n != 0 {
		t.Errorf("remembered browsers after the change: %d, %v; want none", n, err)
	}
	events, _ := e.db.ListAudit(context.Background(), org.ID, 0, 1)
	if len(events) != 1 || events[0].Event != gatehouse.AuditPasswordChanged || events[0].UserID != member.ID || events[0].Detail["sessions_ended"] != "1" {
		t.Errorf("audit = %+v, want %s with one other session ended", events, gatehouse.AuditPasswordChanged)
	}
	fresh := newClientFor(t, e)
	if b := wantStatus(t, fresh.login("acme", "member@acme.test", testPassword), 401); !strings.Contains(b, "invalid_credentials") {
		t.Errorf("the old password after the change: %s", b)
	}
	if b := wantStatus(t, fresh.login("acme", "member@acme.test", next), 200); !strings.Contains(b, "code_sent") {
		t.Errorf("the new password: %s", b)
	}

	t.Run("the API, and its throttle", func(t *testing.T) {
		wantStatus(t, e.do("POST", "/api/v1/account/password", "application/json", `{"current_password":"wrong one","new_password":"yet another passphrase"}`), 401)
		var last string
		for range 6 {
			last = body(t, e.do("POST", "/api/v1/account/password", "application/json", `{"current_password":"wrong one","new_password":"yet another passphrase"}`))
		}
		if !strings.Contains(last, "too_many_attempts") {
			t.Errorf("wrong current passwords are not throttled: %s", last)
		}
	})
}

type gatehouseResponse struct {
	status   int
	location string
	body     string
}
