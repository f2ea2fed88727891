package main

import (
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browser starts Debian's Chromium headless for the test, with extra
// options if any. Without a browser the test is skipped with a message,
// except where GATEHOUSE_TEST_REQUIRE_BROWSER is set (CI), where that is a
// failure.
func browser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	var path string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("GATEHOUSE_TEST_REQUIRE_BROWSER") != "" {
			t.Fatal("no Chromium found, and GATEHOUSE_TEST_REQUIRE_BROWSER is set")
		}
		t.Skip("no Chromium found: apt-get install chromium to run the browser tests")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1100, 900),
	)
	opts = append(opts, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	// The first run starts the browser; it must not carry a timeout.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return bctx
}

// person is one user's browser window, with cookies of its own.
type person struct {
	t   *testing.T
	ctx context.Context
}

func newPerson(t *testing.T, b context.Context) *person {
	ctx, cancel := chromedp.NewContext(b, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	return &person{t: t, ctx: ctx}
}

func (p *person) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		// Say where the browser was, to make a failure in CI readable.
		lctx, lcancel := context.WithTimeout(p.ctx, 5*time.Second)
		defer lcancel()
		loc, _ := chromedp.Run(lctx, chromedp.Location())
		body, _ := chromedp.Run(lctx, chromedp.Text(chromedp.CSS("body"), chromedp.AtLeast(0)))
		p.t.Fatalf("%v\nat %s:\n%s", err, loc, body)
	}
}

// text reads the text of the first element matching sel once the page has
// loaded; a page that is replaced under the query is read again.
func (p *person) text(sel string) string {
	p.t.Helper()
	var err error
	for range 5 {
		ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
		var s string
		err = chromedp.Do(ctx, chromedp.WaitReady(chromedp.CSS("body")), chromedp.WaitVisible(chromedp.CSS(sel)))
		if err == nil {
			s, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		}
		cancel()
		if err == nil {
			return s
		}
	}
	p.t.Fatalf("text of %s: %v", sel, err)
	return ""
}

func (p *person) location() string {
	p.t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.Location())
	if err != nil {
		p.t.Fatal(err)
	}
	return s
}

// updateScreenshots makes the browser test refresh docs/screenshots, like a
// golden file: go test ./cmd/gatehouse -run Browser -update-screenshots.
var updateScreenshots = flag.Bool("update-screenshots", false, "write the browser test's screenshots to docs/screenshots")

// shot takes a PNG screenshot of the page (quality 100 makes Chromium answer
// PNG rather than JPEG) into docs/screenshots with -update-screenshots,
// else into the test's temporary folder.
func (p *person) shot(name string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Fatal(err)
	}
	dir := p.t.TempDir()
	if *updateScreenshots {
		dir = filepath.Join("..", "..", "docs", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

func (p *person) signIn(base, email, password string) {
	p.t.Helper()
	p.do(
		chromedp.Navigate(base+"/o/clinic/login"),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		// Every page after a right password lacks the password field.
		chromedp.WaitNotPresent(chromedp.ID("password")),
	)
}

// TestAdminAndMemberInARealBrowser is the story of the admin console:
// the admin turns on 2FA by e-mail and lists the office network (with one
// bad line first), a member signs in with the code from the outbox, and
// after the admin resets the member's remembered browsers the member is
// asked again.
func TestAdminAndMemberInARealBrowser(t *testing.T) {
	b := browser(t)
	te := newTestEnv(t)
	delete(te.vars, "GATEHOUSE_SMTP_URL") // dev mode: codes go to the outbox page
	te.mustCLI("", "org", "create", "--slug", "clinic", "--name", "North Clinic", "--enforce-2fa=false")
	te.mustCLI("blue harbour lanterns\n", "user", "create", "--org", "clinic", "--email", "admin@clinic.test", "--name", "Ada Admin", "--admin")
	te.mustCLI("quiet meadow sparrows\n", "user", "create", "--org", "clinic", "--email", "nurse@clinic.test", "--name", "Max Nurse")
	base := te.serve("--dev")

	admin := newPerson(t, b)
	admin.do(chromedp.Navigate(base + "/o/clinic/login"))
	admin.shot("sign-in")
	admin.signIn(base, "admin@clinic.test", "blue harbour lanterns")
	if !strings.Contains(admin.text("main"), "You are signed in") {
		t.Fatalf("admin not signed in: %s", admin.location())
	}

	// Settings > Users > Password settings.
	admin.do(chromedp.Navigate(base + "/settings/users/password"))
	admin.shot("password-settings")
	admin.do(
		chromedp.Click(chromedp.ID("enforce_two_factor")),
		chromedp.SetValue(chromedp.ID("otp_method"), "email"),
		chromedp.SetValue(chromedp.ID("skip_networks"), "192.0.2.0/24\n10.20.30.40"),
		chromedp.Click(chromedp.CSS(`#settings-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("networks-error")),
	)
	if msg := admin.text("#networks-error"); !strings.Contains(msg, `"10.20.30.40"`) {
		t.Errorf("the error does not name the bad line: %q", msg)
	}
	admin.shot("password-settings-error")
	admin.do(
		chromedp.SetValue(chromedp.ID("skip_networks"), "192.0.2.0/24\n10.20.30.40/32"),
		chromedp.Click(chromedp.CSS(`#settings-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/o/clinic/login"]`)),
	)
	// The admin signed in without a code, so turning enforcement on
	// signed them out too: they sign in again, with a code.
	if page := admin.text("main"); !strings.Contains(page, "saved") || !strings.Contains(page, "sign in again") {
		t.Errorf("after turning enforcement on: %s", page)
	}
	admin.signIn(base, "admin@clinic.test", "blue harbour lanterns")
	if !strings.HasSuffix(admin.location(), "/login/code") {
		t.Fatalf("the admin's next sign-in went to %s, want the code page", admin.location())
	}
	adminCode := regexp.MustCompile(`\b\d{6}\b`).FindString(admin.outbox(base))
	admin.do(
		chromedp.Navigate(base+"/login/code"),
		chromedp.SendKeys(chromedp.ID("code"), adminCode),
		chromedp.Click(chromedp.CSS(`form[action="/login/code"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/logout"]`)),
	)
	if out := te.mustCLI("", "org", "settings", "--org", "clinic"); !strings.Contains(out, "enforce two-factor: true") || !strings.Contains(out, "10.20.30.40/32") {
		t.Errorf("saved settings: %s", out)
	}

	// A member signs in and is asked for a code, read from the outbox.
	member := newPerson(t, b)
	member.signIn(base, "nurse@clinic.test", "quiet meadow sparrows")
	if !strings.HasSuffix(member.location(), "/login/code") {
		t.Fatalf("member at %s, want the code page", member.location())
	}
	// The countdown script runs (it needs its type: the server sends nosniff).
	if label := member.text("#resend"); !strings.Contains(label, " s)") {
		t.Errorf("the resend button shows no countdown: %q", label)
	}
	member.shot("code-entry")
	// The same page on a phone.
	member.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2)))
	member.shot("code-entry-phone")
	member.do(chromedp.ResetViewport())
	code := regexp.MustCompile(`\b\d{6}\b`).FindString(member.outbox(base))
	if code == "" {
		t.Fatal("no code in the outbox")
	}
	member.do(
		chromedp.Navigate(base+"/login/code"),
		chromedp.SendKeys(chromedp.ID("code"), code),
		chromedp.Click(chromedp.CSS(`form[action="/login/code"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/logout"]`)),
	)
	if page := member.text("main"); !strings.Contains(page, "verified") {
		t.Fatalf("member after the code: %s", page)
	}
	member.shot("signed-in")

	// Signed out and in again, the browser is remembered.
	member.do(chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)), chromedp.WaitVisible(chromedp.ID("password")))
	member.signIn(base, "nurse@clinic.test", "quiet meadow sparrows")
	if page := member.text("main"); !strings.Contains(page, "remembered browser") {
		t.Fatalf("second sign-in was not remembered: %s (%s)", page, member.location())
	}
	member.do(chromedp.Navigate(base + "/account"))
	member.shot("remembered-browsers")
	if page := member.text("#sessions + p + table"); !strings.Contains(page, "this browser") || !strings.Contains(page, "Chrome") {
		t.Errorf("the account page's sessions: %q", page)
	}

	// The admin resets the member's two-factor authentication.
	admin.do(
		chromedp.Navigate(base+"/settings/users"),
		chromedp.SendKeys(chromedp.ID("q"), "nurse"),
		chromedp.Submit(chromedp.ID("q")),
		chromedp.WaitVisible(chromedp.CSS(`a[href^="/settings/users/"]`)),
	)
	admin.shot("users")
	admin.do(
		chromedp.Click(chromedp.CSS(`td a[href^="/settings/users/"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/reset-two-factor"]`)),
	)
	admin.shot("user")
	admin.do(
		chromedp.Click(chromedp.CSS(`form[action$="/reset-two-factor"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)),
	)
	if !strings.Contains(admin.text("p.notice"), "forgotten") {
		t.Errorf("reset notice: %s", admin.text("main"))
	}

	// The reset signed the member out everywhere: the next page is the
	// sign-in, and it asks for a code again.
	member.do(chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("password")))
	member.signIn(base, "nurse@clinic.test", "quiet meadow sparrows")
	if !strings.HasSuffix(member.location(), "/login/code") {
		t.Errorf("after the admin's reset the member went to %s, want the code page", member.location())
	}

	admin.do(chromedp.Navigate(base + "/settings/audit"))
	admin.shot("audit-log")
	if page := admin.text("tbody"); !strings.Contains(page, "Two-factor reset") || !strings.Contains(page, "Password settings changed") || !strings.Contains(page, "admin@clinic.test") {
		t.Errorf("audit log: %s", page)
	}
}

// outbox reads the dev outbox page.
func (p *person) outbox(base string) string {
	p.t.Helper()
	p.do(chromedp.Navigate(base + "/dev/outbox"))
	return p.text("main")
}
