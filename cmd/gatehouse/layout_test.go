package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// overflowJS lists what sticks out sideways on the page: the page itself
// (it would scroll sideways) and any card or table wider than the box it
// was given. Long words, addresses and tables must wrap or stack instead.
const overflowJS = `(() => {
	const out = [];
	const d = document.documentElement;
	if (d.scrollWidth > d.clientWidth) out.push("the page is " + d.scrollWidth + " px wide in " + d.clientWidth);
	for (const el of document.querySelectorAll(".card, table, dl, form, pre")) {
		if (el.scrollWidth > el.clientWidth + 1) {
			out.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className ? "." + el.className : "") +
				" is " + el.scrollWidth + " px wide in " + el.clientWidth);
		}
	}
	return out.join("; ");
})()`

// TestNoPageScrollsSideways opens every page, signed out and as an admin,
// in English and Finnish, on a 390 px phone and a 1280 px screen, with a
// long clinic name and long addresses, and fails on anything wider than
// its box.
func TestNoPageScrollsSideways(t *testing.T) {
	if testing.Short() {
		t.Skip("a browser test")
	}
	te := newTestEnv(t)
	delete(te.vars, "GATEHOUSE_SMTP_URL") // dev mode: codes go to the outbox page
	te.mustCLI("", "org", "create", "--slug", "clinic", "--name", "Eläinlääkäriasema Pohjoinen Helsinginkatu", "--enforce-2fa=false")
	te.mustCLI("", "org", "create", "--slug", "strict", "--name", "Strict Clinic")
	admin := "administrator.with.a.long.address@pohjoinen-elainlaakariasema.example"
	te.mustCLI("blue harbour lanterns\n", "user", "create", "--org", "clinic", "--email", admin, "--name", "Ada Administrator-Lindqvist", "--admin")
	for i := range 3 {
		te.mustCLI("quiet meadow sparrows\n", "user", "create", "--org", "clinic", "--email", fmt.Sprintf("nurse.number.%d@pohjoinen-elainlaakariasema.example", i),
			"--name", fmt.Sprintf("Nurse %d Karjalainen-Väisänen", i), "--phone", fmt.Sprintf("+35840123456%d", i))
	}
	te.mustCLI("quiet meadow sparrows\n", "user", "create", "--org", "strict", "--email", "member@strict.test")
	// The admin administers a group of two clinics (neither asks for a
	// code), so the switcher and the organizations page are measured too.
	te.mustCLI("", "org", "create", "--slug", "east", "--name", "Eläinklinikka Itäinen Satamakatu ja Kumppanit", "--enforce-2fa=false")
	te.mustCLI("", "group", "create", "--slug", "vets", "--name", "Pohjoisen Eläinlääkärit")
	te.mustCLI("", "group", "add-org", "--group", "vets", "--org", "clinic")
	te.mustCLI("", "group", "add-org", "--group", "vets", "--org", "east")
	te.mustCLI("", "group", "add-admin", "--group", "vets", "--org", "clinic", "--email", admin)
	base := te.serve("--dev")

	for _, lang := range []string{"en", "fi"} {
		t.Run(lang, func(t *testing.T) {
			b := browser(t, chromedp.Flag("accept-lang", lang))
			p := newPerson(t, b)
			signedOut := []string{"/login", "/o/clinic/login", "/o/nowhere/login", "/forgot-password", "/nowhere"}
			check := func(width int64, paths []string) {
				t.Helper()
				p.do(chromedp.EmulateViewport(width, 900, chromedp.EmulateScale(1)))
				for _, path := range paths {
					p.do(chromedp.Navigate(base+path), chromedp.WaitReady(chromedp.CSS("body")))
					var over string
					ctx, cancel := contextFor(p, 10*time.Second)
					over, err := chromedp.Run(ctx, chromedp.Evaluate[string](overflowJS))
					cancel()
					if err != nil {
						t.Fatalf("%s: %v", path, err)
					}
					if over != "" {
						t.Errorf("%s at %d px (%s): %s", path, width, lang, over)
					}
				}
			}
			for _, w := range []int64{390, 1280} {
				check(w, signedOut)
			}

			// The code page, from a pending sign-in of the strict clinic.
			p.do(chromedp.Navigate(base+"/o/strict/login"),
				chromedp.SendKeys(chromedp.ID("email"), "member@strict.test"),
				chromedp.SendKeys(chromedp.ID("password"), "quiet meadow sparrows"),
				chromedp.Click(chromedp.CSS(`button[type=submit]`)),
				chromedp.WaitVisible(chromedp.ID("code")))
			for _, w := range []int64{390, 1280} {
				check(w, []string{"/login/code"})
			}
			p.do(chromedp.Navigate(base+"/login/code"), chromedp.Click(chromedp.CSS(`form[action="/login/cancel"] button`)),
				chromedp.WaitVisible(chromedp.ID("password")))

			p.signIn(base, admin, "blue harbour lanterns")
			p.do(chromedp.Navigate(base+"/settings/users"), chromedp.WaitVisible(chromedp.CSS(`td a[href^="/settings/users/"]`)))
			var href string
			ctx, cancel := contextFor(p, 10*time.Second)
			href, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('td a[href^="/settings/users/"]').getAttribute("href")`))
			cancel()
			if err != nil || !strings.HasPrefix(href, "/settings/users/") {
				t.Fatalf("a user's page: %q, %v", href, err)
			}
			signedIn := []string{"/", "/account", "/settings/users/password", "/settings/users", href, "/settings/audit",
				"/settings/users/ldap", "/settings/users/saml", "/settings/organization", "/settings/organizations", "/settings/users?org=east",
				"/settings/audit?org=east", "/dev/outbox", "/nowhere"}
			for _, w := range []int64{390, 1280} {
				check(w, signedIn)
			}
		})
	}
}

// contextFor bounds one action of p.
func contextFor(p *person, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(p.ctx, d)
}
