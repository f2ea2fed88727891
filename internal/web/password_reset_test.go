package web_test

import (
	"context"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// Anyone may ask for a password reset for anyone. Those requests used to
// count in the user's code sends, so a few of them made the user's own next
// sign-in answer 429; they have caps of their own now.
func TestForgotPasswordRequestsNeverUseUpTheUsersCodes(t *testing.T) {
	e := newEnv(t, options{})
	org := e.addStrictOrg(nil)
	for range 2 * gatehouse.MaxSendsPerUser {
		wantStatus(t, e.do("POST", "/api/v1/password/forgot", "application/json", `{"organization":"acme","email":"member@acme.test"}`), 202)
	}
	msgs, err := e.db.ListOutboxMessages(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	resets := 0
	for _, m := range msgs {
		if m.Subject == gatehouse.NoticePasswordReset {
			resets++
		}
	}
	if resets != gatehouse.MaxResetSendsPerUser {
		t.Errorf("%d reset e-mails were sent, want the reset cap %d", resets, gatehouse.MaxResetSendsPerUser)
	}
	b := wantStatus(t, e.login("acme", "member@acme.test", testPassword), 200)
	if !strings.Contains(b, "code_sent") {
		t.Errorf("the user's own sign-in after the reset requests: %s", b)
	}
	member, _ := e.db.UserByEmail(context.Background(), org.ID, "member@acme.test")
	counts, err := e.db.CountSends(context.Background(), member.ID, member.Email, netip.Addr{}, time.Time{})
	if err != nil || counts.User != 1 {
		t.Errorf("the code-send log counts %d sends of the user (%v), want only the sign-in's 1", counts.User, err)
	}
}

func TestForgotPasswordNeverSignsIn(t *testing.T) {
	e := newEnv(t, options{})
	e.addStrictOrg(nil)
	known := wantStatus(t, e.do("POST", "/api/v1/password/forgot", "application/json", `{"organization":"acme","email":"member@acme.test"}`), 202)
	unknown := wantStatus(t, e.do("POST", "/api/v1/password/forgot", "application/json", `{"organization":"acme","email":"ghost@acme.test"}`), 202)
	if known != unknown {
		t.Errorf("known %s, unknown %s: the answers differ", known, unknown)
	}
	msgs, _ := e.db.ListOutboxMessages(context.Background(), 10)
	var link string
	for _, m := range msgs {
		if m.Subject == gatehouse.NoticePasswordReset && m.To == "member@acme.test" {
			link = m.Body
		}
		if m.To == "ghost@acme.test" {
			t.Error("a message went to an unknown address")
		}
	}
	u, err := url.Parse(link)
	if err != nil || u.Query().Get("token") == "" {
		t.Fatalf("no reset link: %q", link)
	}
	token := u.Query().Get("token")
	b := wantStatus(t, e.do("POST", "/api/v1/password/reset", "application/json", `{"token":"`+token+`","password":"short"}`), 400)
	if errorOf(t, b)["code"] != "weak_password" {
		t.Errorf("weak: %s", b)
	}
	res := e.do("POST", "/api/v1/password/reset", "application/json", `{"token":"`+token+`","password":"a brand new passphrase"}`)
	wantStatus(t, res, 204)
	if len(res.Cookies()) != 0 {
		t.Error("a password reset set cookies")
	}
	wantStatus(t, e.do("POST", "/api/v1/password/reset", "application/json", `{"token":"`+token+`","password":"another new passphrase"}`), 404)
	b = wantStatus(t, e.login("acme", "member@acme.test", "a brand new passphrase"), 200)
	if !strings.Contains(b, "code_sent") {
		t.Errorf("the sign-in after a reset did not ask for a code: %s", b)
	}
}
