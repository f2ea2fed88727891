package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/gatehousehq/gatehouse"
)

// clock is a settable time source shared by the server's services.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (e *env) form(path string, v url.Values, header ...string) *http.Response {
	e.t.Helper()
	return e.do("POST", path, "application/x-www-form-urlencoded", v.Encode(), header...)
}

// settingsForm is the password settings form as a browser sends it.
func settingsForm(enforce bool, method, networks, days string) url.Values {
	v := url.Values{"auth_method": {"password"}, "otp_method": {method}, "skip_networks": {networks}, "remember_days": {days}}
	if enforce {
		v.Set("enforce_two_factor", "on")
	}
	return v
}

func TestThePasswordSettingsPage(t *testing.T) {
	ck := &clock{t: time.Now()}
	e := newEnv(t, options{now: ck.now})
	org := e.addStrictOrg(nil)
	e.signInWithCode("admin@acme.test")

	doc := parseHTML(t, wantStatus(t, e.do("GET", "/settings/users/password", "", ""), 200))
	page := text(doc)
	for _, label := range []string{
		"Enforce two-factor authentication for all users in this organization",
		"One-time passcode retrieval method",
		"Skip two-factor verification from specific IP addresses",
		"Remember verification for N days",
		"Settings › Users › Password settings",
	} {
		if !strings.Contains(page, label) {
			t.Errorf("the page lacks %q", label)
		}
	}
	for _, id := range []string{"enforce_two_factor", "otp_method", "skip_networks", "remember_days", "auth_method"} {
		if findByID(doc, id) == nil || findLabelFor(doc, id) == nil {
			t.Errorf("no labelled field #%s", id)
		}
	}
	if !strings.Contains(page, "Your address 127.0.0.1 is not in the list") {
		t.Error("the page does not show the admin's own address")
	}

	t.Run("every bad network line is named and nothing is saved", func(t *testing.T) {
		res := e.form("/settings/users/password", settingsForm(true, "email", "198.51.100.0/24\n10.1.2.3\nclinic.example\n0.0.0.0/0", "7"))
		doc := parseHTML(t, wantStatus(t, res, 400))
		errs := text(findByID(doc, "networks-error"))
		for _, bad := range []string{`"10.1.2.3"`, `"clinic.example"`, `"0.0.0.0/0"`} {
			if !strings.Contains(errs, bad) {
				t.Errorf("the error does not name %s: %q", bad, errs)
			}
		}
		if strings.Contains(errs, "198.51.100.0/24") {
			t.Error("a good line is named as bad")
		}
		if attr(findByID(doc, "skip_networks"), "aria-invalid") != "true" {
			t.Error("the field is not marked invalid")
		}
		if !strings.Contains(text(findByID(doc, "skip_networks")), "clinic.example") {
			t.Error("the admin's input was not kept")
		}
		got, _ := e.db.OrganizationByID(context.Background(), org.ID)
		if len(got.Settings.SkipNetworks) != 0 || got.Settings.RememberDays != 30 {
			t.Errorf("half-saved: %+v", got.Settings)
		}
	})

	t.Run("in Finnish, the bad lines of a CRLF form are named in Finnish, as typed without the CR", func(t *testing.T) {
		res := e.form("/settings/users/password", settingsForm(true, "email", "198.51.100.0/24\r\n10.1.2.3\r\n192.0.2.7/24\r\n", "7"),
			"Accept-Language", "fi")
		errs := text(findByID(parseHTML(t, wantStatus(t, res, 400)), "networks-error"))
		for _, want := range []string{"”10.1.2.3” ei ole CIDR-muodossa", "”192.0.2.7/24” sisältää isäntäosan bittejä; tarkoititko 192.0.2.0/24?"} {
			if !strings.Contains(errs, want) {
				t.Errorf("the Finnish error lacks %q: %q", want, errs)
			}
		}
		if strings.Contains(errs, "\r") || strings.Contains(errs, "CIDR notation") {
			t.Errorf("the Finnish error quotes a CR or is in English: %q", errs)
		}
	})

	t.Run("fixed networks are saved and the admin's address is placed", func(t *testing.T) {
		res := e.form("/settings/users/password", settingsForm(true, "email", "192.0.2.0/24\n127.0.0.0/8", "7"))
		if res.StatusCode != 303 {
			t.Fatalf("save: %d %s", res.StatusCode, body(t, res))
		}
		page := text(parseHTML(t, wantStatus(t, e.do("GET", "/settings/users/password?saved=1", "", ""), 200)))
		if !strings.Contains(page, "The settings are saved") || !strings.Contains(page, "127.0.0.1 is inside 127.0.0.0/8") {
			t.Errorf("after saving: %s", page)
		}
		events, _ := e.db.ListAudit(context.Background(), org.ID, 0, 1)
		if events[0].Event != gatehouse.AuditSettingsChanged || !strings.Contains(events[0].Detail["after"], "127.0.0.0/8") {
			t.Errorf("audit: %+v", events[0])
		}
	})

	t.Run("turning two-factor off asks to confirm", func(t *testing.T) {
		doc := parseHTML(t, wantStatus(t, e.form("/settings/users/password", settingsForm(false, "email", "", "7")), 200))
		if w := findByID(doc, "enforce-warning"); w == nil || attr(w, "hidden") != "" || !strings.Contains(text(w), "not recommended") {
			t.Error("no visible warning that turning it off is not recommended")
		}
		if got, _ := e.db.OrganizationByID(context.Background(), org.ID); !got.Settings.EnforceTwoFactor {
			t.Fatal("turned off without a confirmation")
		}
		v := settingsForm(false, "email", "", "7")
		v.Set("confirm_disable", "yes")
		if res := e.form("/settings/users/password", v); res.StatusCode != 303 {
			t.Fatalf("confirmed: %d", res.StatusCode)
		}
		if got, _ := e.db.OrganizationByID(context.Background(), org.ID); got.Settings.EnforceTwoFactor {
			t.Error("a confirmed change was not saved")
		}
		// After the save the page states what is, not the question again.
		doc = parseHTML(t, wantStatus(t, e.do("GET", "/settings/users/password?saved=1", "", ""), 200))
		if w := findByID(doc, "enforce-warning"); w == nil || !hasAttr(w, "hidden") {
			t.Error("the confirmation box shows after turning two-factor off was saved")
		}
		if !strings.Contains(text(findByID(doc, "two-factor-off")), "Two-factor authentication is off for this organization") {
			t.Errorf("the page does not say plainly that 2FA is off: %s", text(doc))
		}
	})

	t.Run("the page says how many remembered browsers a save would forget", func(t *testing.T) {
		member, err := e.db.UserByEmail(context.Background(), org.ID, "member@acme.test")
		if err != nil {
			t.Fatal(err)
		}
		before, err := e.db.CountOrgRememberedBrowsers(context.Background(), org.ID, ck.now()) // the admin's own, from the sign-in
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if err := e.db.CreateRememberedBrowser(context.Background(), &gatehouse.RememberedBrowser{ID: gatehouse.NewID(),
				TokenHash: []byte(fmt.Sprintf("%-32d", i)), OrgID: org.ID, UserID: member.ID, CreatedAt: ck.now(), LastUsedAt: ck.now(),
				ExpiresAt: ck.now().Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
		doc := parseHTML(t, wantStatus(t, e.do("GET", "/settings/users/password", "", ""), 200))
		if note, want := text(findByID(doc, "forget-note")), fmt.Sprintf("%d browsers are remembered now", before+3); !strings.Contains(note, want) {
			t.Errorf("forget note %q, want %q", note, want)
		}
	})

	t.Run("saving after 10 minutes asks for the password again", func(t *testing.T) {
		ck.add(11 * time.Minute)
		res := e.form("/settings/users/password", settingsForm(true, "email", "", "14"))
		doc := parseHTML(t, wantStatus(t, res, 401))
		if attr(findByID(doc, "password"), "autocomplete") != "current-password" {
			t.Error("no password field")
		}
		if got, _ := e.db.OrganizationByID(context.Background(), org.ID); got.Settings.RememberDays == 14 {
			t.Fatal("saved without a recent sign-in")
		}
		v := settingsForm(true, "email", "", "14")
		v.Set("password", "not the password")
		wantStatus(t, e.form("/settings/users/password", v), 401)
		v.Set("password", testPassword)
		if res := e.form("/settings/users/password", v); res.StatusCode != 303 {
			t.Fatalf("with the password: %d %s", res.StatusCode, body(t, res))
		}
		if got, _ := e.db.OrganizationByID(context.Background(), org.ID); got.Settings.RememberDays != 14 {
			t.Error("not saved after the password")
		}
	})

	t.Run("LDAP cannot be chosen before it is set up", func(t *testing.T) {
		v := settingsForm(true, "email", "", "14")
		v.Set("auth_method", "ldap")
		doc := parseHTML(t, wantStatus(t, e.form("/settings/users/password", v), 400))
		if !strings.Contains(text(doc), "not set up") {
			t.Error("no reason given")
		}
	})
}

func TestMembersCannotOpenTheSettings(t *testing.T) {
	e := newEnv(t, options{})
	e.addStrictOrg(nil)
	e.signInWithCode("member@acme.test")
	for _, p := range []string{"/settings/users/password", "/settings/users", "/settings/audit", "/settings/audit.csv"} {
		wantStatus(t, e.do("GET", p, "", ""), 403)
	}
	wantStatus(t, e.form("/settings/users/password", settingsForm(false, "email", "", "1")), 403)
}

func TestTheUsersPages(t *testing.T) {
	e := newEnv(t, options{})
	org := e.addStrictOrg(nil)
	e.signInWithCode("admin@acme.test")

	doc := parseHTML(t, wantStatus(t, e.do("GET", "/settings/users", "", ""), 200))
	page := text(doc)
	if !strings.Contains(page, "1 / 2") || !strings.Contains(page, "entered a code") {
		t.Errorf("no coverage summary: %s", page)
	}

	res := e.form("/settings/users", url.Values{"email": {"New.Nurse@Acme.test"}, "name": {"New Nurse"}, "phone": {"+358 40 765 4321"}, "role": {"member"}})
	if res.StatusCode != 303 {
		t.Fatalf("create: %d %s", res.StatusCode, body(t, res))
	}
	msgs, _ := e.db.ListOutboxMessages(context.Background(), 5)
	if msgs[0].To != "new.nurse@acme.test" || msgs[0].Subject != gatehouse.NoticeWelcome || !strings.Contains(msgs[0].Body, "/reset-password?token=") {
		t.Errorf("welcome e-mail: %+v", msgs[0])
	}
	res = e.form("/settings/users", url.Values{"email": {"admin@acme.test"}, "role": {"member"}})
	doc = parseHTML(t, wantStatus(t, res, 409))
	if attr(findByID(doc, "new-email"), "aria-invalid") != "true" {
		t.Error("a taken e-mail is not tied to its field")
	}

	doc = parseHTML(t, wantStatus(t, e.do("GET", "/settings/users?q=NURSE", "", ""), 200))
	link := find(doc, func(n *html.Node) bool {
		return n.Data == "a" && strings.HasPrefix(attr(n, "href"), "/settings/users/") && text(n) == "new.nurse@acme.test"
	})
	if link == nil {
		t.Fatal("the search does not find the new user")
	}
	if find(doc, func(n *html.Node) bool { return n.Data == "a" && text(n) == "admin@acme.test" }) != nil {
		t.Error("the search shows users that do not match")
	}
	userPath := attr(link, "href")
	nurse, _ := e.db.UserByEmail(context.Background(), org.ID, "new.nurse@acme.test")

	for _, step := range []struct {
		action string
		check  func(*gatehouse.User) bool
	}{
		{"exempt", func(u *gatehouse.User) bool { return u.TwoFactorExempt }},
		{"unexempt", func(u *gatehouse.User) bool { return !u.TwoFactorExempt }},
		{"disable", func(u *gatehouse.User) bool { return u.Disabled }},
		{"enable", func(u *gatehouse.User) bool { return !u.Disabled }},
		{"reset-two-factor", func(*gatehouse.User) bool { return true }},
	} {
		res := e.form(userPath+"/"+step.action, url.Values{})
		if res.StatusCode != 303 {
			t.Fatalf("%s: %d %s", step.action, res.StatusCode, body(t, res))
		}
		if u, _ := e.db.UserByID(context.Background(), org.ID, nurse.ID); !step.check(u) {
			t.Errorf("%s did not take effect: %+v", step.action, u)
		}
	}
	res = e.form(userPath, url.Values{"name": {"Renamed"}, "email": {"new.nurse@acme.test"}, "phone": {"12"}, "role": {"member"}})
	doc = parseHTML(t, wantStatus(t, res, 400))
	if attr(findByID(doc, "phone"), "aria-invalid") != "true" {
		t.Error("a bad phone is not tied to its field")
	}
	if u, _ := e.db.UserByID(context.Background(), org.ID, nurse.ID); u.Name != "New Nurse" {
		t.Error("a refused edit was half-saved")
	}
	wantStatus(t, e.do("GET", "/settings/users/someone-elses-id", "", ""), 404)
}

func TestTheAuditLogPage(t *testing.T) {
	e := newEnv(t, options{})
	org := e.addStrictOrg(nil)
	e.signInWithCode("admin@acme.test")
	e.login("acme", "member@acme.test", "wrong password")

	rows := func(path string) string {
		doc := parseHTML(t, wantStatus(t, e.do("GET", path, "", ""), 200))
		return text(find(doc, func(n *html.Node) bool { return n.Data == "tbody" }))
	}
	// Events and reasons in words; who did what to whom by name and e-mail.
	if got := rows("/settings/audit?event=login.failed"); !strings.Contains(got, "Sign-in failed") || !strings.Contains(got, "wrong password") ||
		!strings.Contains(got, "member@acme.test") || strings.Contains(got, "Code sent") || strings.Contains(got, "login.failed") {
		t.Errorf("filtered rows: %s", got)
	}
	if got := rows("/settings/audit?user=member%40acme.test"); !strings.Contains(got, "Sign-in failed") || strings.Contains(got, "Signed in") {
		t.Errorf("the member's rows: %s", got)
	}
	fi := parseHTML(t, wantStatus(t, e.do("GET", "/settings/audit?event=login.failed", "", "", "Accept-Language", "fi"), 200))
	if got := text(find(fi, func(n *html.Node) bool { return n.Data == "tbody" })); !strings.Contains(got, "Kirjautuminen epäonnistui") || !strings.Contains(got, "väärä salasana") {
		t.Errorf("the Finnish rows: %s", got)
	}
	member, err := e.db.UserByEmail(context.Background(), org.ID, "member@acme.test")
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, e.form("/settings/users/"+member.ID+"/reset-two-factor", url.Values{}), 303)
	if got := rows("/settings/audit?event=user.two_factor_reset"); !strings.Contains(got, "Two-factor reset") || !strings.Contains(got, "admin@acme.test") ||
		!strings.Contains(got, "member@acme.test") {
		t.Errorf("an admin's action does not name the admin and the user: %s", got)
	}
	doc := parseHTML(t, wantStatus(t, e.do("GET", "/settings/audit?from=yesterday", "", ""), 400))
	if attr(findByID(doc, "from"), "aria-invalid") != "true" || !strings.Contains(text(doc), `"yesterday"`) {
		t.Error("a bad date is not named")
	}
	res := e.do("GET", "/settings/audit.csv?event=login.failed", "", "")
	csv := wantStatus(t, res, 200)
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") || !strings.HasPrefix(csv, "id,time,event,event_words,reason,reason_words,user_id,user_email") ||
		!strings.Contains(csv, ",login.failed,Sign-in failed,wrong_password,wrong password,") || !strings.Contains(csv, ",member@acme.test,") {
		t.Errorf("CSV: %q", csv)
	}
	if strings.Contains(csv, "code.sent") {
		t.Error("the CSV ignores the filter")
	}
}

func TestTheSettingsSpeakFinnish(t *testing.T) {
	e := newEnv(t, options{})
	e.addStrictOrg(nil)
	e.signInWithCode("admin@acme.test")
	res := e.do("GET", "/settings/users/password", "", "", "Accept-Language", "fi-FI,fi;q=0.9,en;q=0.5")
	page := text(parseHTML(t, wantStatus(t, res, 200)))
	if !strings.Contains(page, "Vaadi kaksivaiheinen tunnistautuminen") || res.Header.Get("Content-Language") != "fi" {
		t.Errorf("not Finnish: %s", page)
	}
}

func TestAUserChoosesTheirLanguage(t *testing.T) {
	e := newEnv(t, options{})
	e.addStrictOrg(nil)
	e.signInWithCode("member@acme.test")
	if res := e.form("/account/language", url.Values{"language": {"fi"}}); res.StatusCode != 303 {
		t.Fatalf("choose: %d", res.StatusCode)
	}
	res := e.do("GET", "/account", "", "", "Accept-Language", "en")
	wantStatus(t, res, 200)
	if res.Header.Get("Content-Language") != "fi" {
		t.Errorf("the profile's language lost to the browser's: %q", res.Header.Get("Content-Language"))
	}
	wantStatus(t, e.form("/account/language", url.Values{"language": {"xx"}}), 400)
	e.form("/account/language", url.Values{"language": {""}})
	if res := e.do("GET", "/account", "", "", "Accept-Language", "en"); res.Header.Get("Content-Language") != "en" {
		t.Errorf("back to the browser's language: %q", res.Header.Get("Content-Language"))
	}
}

// TestAnInvitationWhoseEMailFailedSaysSo: the user is created, and the
// page says the link did not go out instead of claiming it did.
func TestAnInvitationWhoseEMailFailedSaysSo(t *testing.T) {
	e := newEnv(t, options{})
	e.addStrictOrg(nil)
	e.signInWithCode("admin@acme.test")
	for _, c := range []struct {
		email, want string
		fail        bool
	}{
		{"sent@acme.test", "sent@acme.test was created and e-mailed a link to choose a password.", false},
		{"unsent@acme.test", "unsent@acme.test was created, but the e-mail with the link could not be sent.", true},
	} {
		e.box.mu.Lock()
		e.box.failNotice = c.fail
		e.box.mu.Unlock()
		res := e.form("/settings/users", url.Values{"email": {c.email}, "name": {"New"}, "role": {"member"}})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("creating %s: %d, want 303", c.email, res.StatusCode)
		}
		page := text(parseHTML(t, wantStatus(t, e.do("GET", res.Header.Get("Location"), "", ""), 200)))
		if !strings.Contains(page, c.want) {
			t.Errorf("after creating %s the page does not say %q:\n%s", c.email, c.want, page)
		}
		if org, err := e.db.OrganizationBySlug(context.Background(), "acme"); err != nil {
			t.Fatal(err)
		} else if _, err := e.db.UserByEmail(context.Background(), org.ID, c.email); err != nil {
			t.Errorf("%s was not created: %v", c.email, err)
		}
	}
}
