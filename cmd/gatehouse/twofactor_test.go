package main

import (
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/internal/testdb"
)

func newBrowser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 20 * time.Second}
}

func status(t *testing.T, body string) string {
	t.Helper()
	var m struct {
		Status    string `json:"status"`
		TwoFactor struct {
			State string `json:"state"`
		} `json:"two_factor"`
	}
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("not JSON: %s", body)
	}
	if m.Status == "authenticated" {
		return m.TwoFactor.State
	}
	return m.Status
}

// TestTwoFactorByEmailOverSMTP is the product's default, end to end: a new
// organization enforces 2FA by e-mail, the code arrives at a real SMTP
// server, and the browser is not asked again.
func TestTwoFactorByEmailOverSMTP(t *testing.T) {
	te := newTestEnv(t)
	te.mustCLI("", "org", "create", "--slug", "clinic", "--name", "North Clinic")
	te.mustCLI("a long enough passphrase\n", "user", "create", "--org", "clinic", "--email", "nurse@clinic.test")
	base := te.serve()
	c := newBrowser()
	login := `{"organization":"clinic","email":"nurse@clinic.test","password":"a long enough passphrase"}`

	_, body := post(t, c, base+"/api/v1/login", login)
	if got := status(t, body); got != "code_sent" {
		t.Fatalf("login: %s", body)
	}
	code := te.mail.lastCode(t, "nurse@clinic.test")
	te.mail.mu.Lock()
	subject := te.mail.mails[len(te.mail.mails)-1].Subject
	text := te.mail.mails[len(te.mail.mails)-1].Text
	te.mail.mu.Unlock()
	if strings.Contains(subject, code) || !strings.Contains(text, "North Clinic") || !strings.Contains(text, "10 minutes") {
		t.Errorf("e-mail subject %q text %q", subject, text)
	}
	st, body := post(t, c, base+"/api/v1/login/verify", `{"code":"`+code+`"}`)
	if st != 200 || status(t, body) != "verified" {
		t.Fatalf("verify: %d %s", st, body)
	}
	post(t, c, base+"/api/v1/logout", "")
	_, body = post(t, c, base+"/api/v1/login", login)
	if got := status(t, body); got != "remembered" {
		t.Errorf("second sign-in in the same browser: %s, want remembered", body)
	}
	_, body = post(t, newBrowser(), base+"/api/v1/login", login)
	if got := status(t, body); got != "code_sent" {
		t.Errorf("another browser: %s, want code_sent", body)
	}
	if strings.Contains(te.logs.String(), code) {
		t.Error("the code is in the logs")
	}

	// The admin's reset from the command line makes the browser verify again.
	te.mustCLI("", "user", "reset-2fa", "--org", "clinic", "--email", "nurse@clinic.test")
	post(t, c, base+"/api/v1/logout", "")
	_, body = post(t, c, base+"/api/v1/login", login)
	if got := status(t, body); got != "code_sent" {
		t.Errorf("after reset-2fa: %s, want code_sent", body)
	}
}

// TestTwoFactorBySMSThroughTwilio: codes by SMS through Twilio's API (a
// local server that checks the documented request), with the phone prompt.
func TestTwoFactorBySMSThroughTwilio(t *testing.T) {
	te := newTestEnv(t)
	tw := startTwilio(t)
	te.vars["GATEHOUSE_SMS_PROVIDER"] = "twilio"
	te.vars["GATEHOUSE_TWILIO_ACCOUNT_SID"] = tw.sid
	te.vars["GATEHOUSE_TWILIO_AUTH_TOKEN"] = tw.token
	te.vars["GATEHOUSE_TWILIO_FROM"] = tw.from
	te.vars["GATEHOUSE_TWILIO_API_URL"] = tw.URL
	te.vars["GATEHOUSE_PUBLIC_URL"] = "http://login.clinic.test:8080"
	te.mustCLI("", "org", "create", "--slug", "clinic", "--name", "North Clinic")
	out := te.mustCLI("", "org", "settings", "--org", "clinic", "--otp-method", "sms", "--skip-networks", "192.0.2.0/24", "--remember-days", "7")
	if !strings.Contains(out, "code method: sms") || !strings.Contains(out, "192.0.2.0/24") || !strings.Contains(out, "remember days: 7") {
		t.Errorf("org settings printed %q", out)
	}
	te.mustCLI("a long enough passphrase\n", "user", "create", "--org", "clinic", "--email", "nurse@clinic.test")
	base := te.serve()
	c := newBrowser()

	_, body := post(t, c, base+"/api/v1/login", `{"organization":"clinic","email":"nurse@clinic.test","password":"a long enough passphrase"}`)
	if got := status(t, body); got != "phone_required" {
		t.Fatalf("login: %s", body)
	}
	st, body := post(t, c, base+"/api/v1/login/phone", `{"phone":"+358 40 123 4567"}`)
	if st != 200 || status(t, body) != "code_sent" {
		t.Fatalf("phone: %d %s", st, body)
	}
	sms := tw.last(t)
	code := codeRE.FindString(sms.Body)
	if sms.To != "+358401234567" || !strings.HasSuffix(sms.Body, "\n\n@login.clinic.test #"+code) {
		t.Errorf("SMS to %s: %q, want it to end with the WebOTP line", sms.To, sms.Body)
	}
	st, body = post(t, c, base+"/api/v1/login/verify", `{"code":"`+code+`"}`)
	if st != 200 || status(t, body) != "verified" {
		t.Fatalf("verify: %d %s", st, body)
	}
	if out := te.mustCLI("", "user", "list", "--org", "clinic"); !strings.Contains(out, "+358401234567") {
		t.Errorf("the verified phone is not on the profile: %s", out)
	}
	te.mail.waitFor(t, "nurse@clinic.test", "phone") // a queued notice: the worker sends it

	if strings.Contains(te.logs.String(), tw.token) {
		t.Error("the Twilio token is in the logs")
	}
}

// smsWebhookFlags configure an SMS provider for one command: the webhook
// is only built, never called, by org settings.
var smsWebhookFlags = []string{"--sms-provider", "webhook", "--sms-webhook-url", "https://sms.clinic.test/send",
	"--sms-webhook-secret", strings.Repeat("s", 32)}

// TestServeRefusesAMethodWithoutAProvider: an organization left with SMS
// codes on a server without an SMS provider (the provider was configured
// when the method was chosen, and is gone) stops serve, which names the
// setting and prints the command that undoes the choice; that command works.
func TestServeRefusesAMethodWithoutAProvider(t *testing.T) {
	te := newTestEnv(t)
	te.mustCLI("", "org", "create", "--slug", "clinic", "--name", "Clinic")
	te.mustCLI("", append([]string{"org", "settings", "--org", "clinic", "--otp-method", "sms"}, smsWebhookFlags...)...)
	code, _, errOut := te.cli("", "serve", "--addr", "127.0.0.1:0")
	undo := "gatehouse org settings --org clinic --otp-method email"
	if code != 2 || !strings.Contains(errOut, "clinic") || !strings.Contains(errOut, "--sms-provider") || !strings.Contains(errOut, undo) {
		t.Fatalf("serve with an SMS organization and no provider: exit %d, %q; want refused, naming --sms-provider and %q", code, errOut, undo)
	}
	delete(te.vars, "GATEHOUSE_SMTP_URL")
	code, _, errOut = te.cli("", "serve", "--addr", "127.0.0.1:0")
	if code != 2 || !strings.Contains(errOut, "--smtp-url") {
		t.Errorf("serve without SMTP outside dev mode: exit %d, %q", code, errOut)
	}
	te.vars["GATEHOUSE_SMS_PROVIDER"] = "outbox"
	te.vars["GATEHOUSE_SMTP_URL"] = te.mail.url()
	code, _, errOut = te.cli("", "serve", "--addr", "127.0.0.1:0")
	if code != 2 || !strings.Contains(errOut, "dev mode") {
		t.Errorf("the outbox outside dev mode: exit %d, %q", code, errOut)
	}
	delete(te.vars, "GATEHOUSE_SMS_PROVIDER")
	te.mustCLI("", strings.Fields(undo)[1:]...)
	te.serve()
}

// TestOrgSettingsRefusesSMSWithoutAProvider: the CLI refuses codes by SMS
// as the page and the API do when serve's settings name no SMS provider,
// reading the provider from the same flags and variables as serve.
func TestOrgSettingsRefusesSMSWithoutAProvider(t *testing.T) {
	te := newTestEnv(t)
	te.mustCLI("", "org", "create", "--slug", "clinic", "--name", "Clinic")
	code, _, errOut := te.cli("", "org", "settings", "--org", "clinic", "--otp-method", "sms")
	if code != 2 || !strings.Contains(errOut, "--sms-provider") {
		t.Errorf("org settings --otp-method sms without a provider: exit %d, %q; want 2 naming --sms-provider", code, errOut)
	}
	if out := te.mustCLI("", "org", "settings", "--org", "clinic"); !strings.Contains(out, "code method: email") {
		t.Errorf("the refused method was saved:\n%s", out)
	}
	// A provider that is named but incomplete is refused like serve refuses it.
	te.vars["GATEHOUSE_SMS_PROVIDER"] = "twilio"
	if code, _, errOut := te.cli("", "org", "settings", "--org", "clinic", "--otp-method", "sms"); code != 2 || !strings.Contains(errOut, "GATEHOUSE_TWILIO") {
		t.Errorf("an incomplete Twilio set-up: exit %d, %q; want 2 naming the Twilio settings", code, errOut)
	}
	// Through the variables, as serve reads them.
	te.vars["GATEHOUSE_SMS_PROVIDER"] = "webhook"
	te.vars["GATEHOUSE_SMS_WEBHOOK_URL"] = "https://sms.clinic.test/send"
	te.vars["GATEHOUSE_SMS_WEBHOOK_SECRET"] = strings.Repeat("s", 32)
	if out := te.mustCLI("", "org", "settings", "--org", "clinic", "--otp-method", "sms"); !strings.Contains(out, "code method: sms") {
		t.Errorf("with a provider configured:\n%s", out)
	}
}

func TestOrgSettingsRefusesABadNetworkAndSavesNothing(t *testing.T) {
	te := newTestEnv(t)
	te.mustCLI("", "org", "create", "--slug", "clinic", "--name", "Clinic")
	code, _, errOut := te.cli("", "org", "settings", "--org", "clinic", "--remember-days", "3", "--skip-networks", "192.0.2.0/24,10.0.0.1")
	if code != 2 || !strings.Contains(errOut, `"10.0.0.1"`) {
		t.Errorf("exit %d, %q", code, errOut)
	}
	if out := te.mustCLI("", "org", "settings", "--org", "clinic"); !strings.Contains(out, "remember days: 30") || !strings.Contains(out, "skip networks: -") {
		t.Errorf("settings changed after a refused call: %s", out)
	}
}

// TestTwoNodesSharePendingSignInsAndTakeACodeOnce: a code asked for on one
// node is entered on the other, and 20 submissions of one code spread over
// both nodes succeed exactly once.
func TestTwoNodesSharePendingSignInsAndTakeACodeOncePostgres(t *testing.T) {
	te := newTestEnv(t)
	te.useDatabase(testdb.PostgresURL(t))
	te.mustCLI("", "org", "create", "--slug", "pg", "--name", "PG Clinic")
	te.mustCLI("a long enough passphrase\n", "user", "create", "--org", "pg", "--email", "nurse@pg.test")
	a, b := te.serve(), te.serve()
	login := `{"organization":"pg","email":"nurse@pg.test","password":"a long enough passphrase"}`

	c := newBrowser()
	if _, body := post(t, c, a+"/api/v1/login", login); status(t, body) != "code_sent" {
		t.Fatalf("login on A: %s", body)
	}
	if st, body := post(t, c, b+"/api/v1/login/verify", `{"code":"`+te.mail.lastCode(t, "nurse@pg.test")+`"}`); st != 200 {
		t.Fatalf("verify on B of a code asked for on A: %d %s", st, body)
	}

	c = newBrowser()
	if _, body := post(t, c, b+"/api/v1/login", login); status(t, body) != "code_sent" {
		t.Fatalf("second login: %s", body)
	}
	code := te.mail.lastCode(t, "nurse@pg.test")
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := range 20 {
		node := a
		if i%2 == 1 {
			node = b
		}
		wg.Go(func() {
			// Each submission carries the same pending cookie, as a
			// replayed request would; none shares the jar's later state.
			req, _ := http.NewRequest("POST", node+"/api/v1/login/verify", strings.NewReader(`{"code":"`+code+`"}`))
			req.Header.Set("Content-Type", "application/json")
			for _, ck := range c.Jar.Cookies(mustURL(t, node)) {
				req.AddCookie(ck)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			if res.StatusCode == 200 {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d of 20 submissions of one code across two nodes succeeded, want exactly 1", wins)
	}
}
