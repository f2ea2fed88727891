package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/internal/forwardauth"
)

// testEnv runs the real main in-process with a fresh database and cheap
// password hashing (the same settings an operator would use, with test
// values).
type testEnv struct {
	t    *testing.T
	dir  string
	vars map[string]string
	logs *syncWriter
	mail *smtpServer
	// assertions, when set, signs forward-auth's Remote-Assertion in
	// serve (proxy_test.go).
	assertions forwardauth.Signer
	// clock, when set, is serve's clock.
	clock *clockOptions
}

func newTestEnv(t *testing.T) *testEnv {
	dir := t.TempDir()
	key := filepath.Join(dir, "secret.key")
	if err := os.WriteFile(key, bytes.Repeat([]byte("k"), 32), 0o600); err != nil {
		t.Fatal(err)
	}
	mail := startSMTP(t)
	te := &testEnv{t: t, dir: dir, logs: &syncWriter{}, mail: mail, vars: map[string]string{
		"GATEHOUSE_SMTP_URL":        mail.url(),
		"GATEHOUSE_EMAIL_FROM":      "Gatehouse <login@gatehouse.test>",
		"GATEHOUSE_DATABASE_URL":    "sqlite:" + filepath.Join(dir, "gatehouse.db"),
		"GATEHOUSE_SECRET_KEY_FILE": key,
		"GATEHOUSE_ARGON2_MEMORY":   "64",
		"GATEHOUSE_ARGON2_TIME":     "1",
		"GATEHOUSE_LOG_FORMAT":      "json",
	}}
	// Only serve, migrate and demo make a database; the admin commands the
	// tests start with need one, as an operator's would.
	te.mustCLI("", "migrate")
	return te
}

// useDatabase points the commands at databaseURL and migrates it.
func (te *testEnv) useDatabase(databaseURL string) {
	te.t.Helper()
	te.vars["GATEHOUSE_DATABASE_URL"] = databaseURL
	te.mustCLI("", "migrate")
}

// cli runs one command and returns its exit status, stdout and stderr.
func (te *testEnv) cli(stdin string, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), &env{args: args, stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut,
		getenv: func(k string) string { return te.vars[k] }})
	return code, out.String(), errOut.String()
}

func (te *testEnv) mustCLI(stdin string, args ...string) string {
	te.t.Helper()
	code, out, errOut := te.cli(stdin, args...)
	if code != 0 {
		te.t.Fatalf("gatehouse %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
	}
	return out
}

// serve starts `gatehouse serve` on a random port and returns its base URL;
// the server stops, gracefully, when the test ends.
func (te *testEnv) serve(args ...string) string {
	te.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan net.Addr, 1)
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, &env{args: append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), stdin: strings.NewReader(""),
			stdout: io.Discard, stderr: te.logs, getenv: func(k string) string { return te.vars[k] },
			listening: func(a net.Addr) { addr <- a }, assertions: te.assertions, clock: te.clock})
	}()
	select {
	case a := <-addr:
		te.t.Cleanup(func() {
			cancel()
			if code := <-done; code != 0 {
				te.t.Errorf("serve exited %d after shutdown", code)
			}
		})
		return "http://" + a.String()
	case code := <-done:
		cancel()
		te.t.Fatalf("serve exited %d before listening", code)
	case <-time.After(30 * time.Second):
		cancel()
		te.t.Fatal("serve did not start listening")
	}
	return ""
}

// syncWriter collects the server's logs from its goroutines.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func post(t *testing.T, c *http.Client, url, body string) (int, string) {
	t.Helper()
	res, err := c.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestEndToEnd(t *testing.T) {
	te := newTestEnv(t)
	te.mustCLI("", "migrate")
	out := te.mustCLI("", "org", "create", "--slug", "e2e", "--name", "End to End", "--enforce-2fa=false")
	if !strings.Contains(out, "created organization e2e") {
		t.Errorf("org create said %q", out)
	}
	te.mustCLI("a long enough passphrase\n", "user", "create", "--org", "e2e", "--email", "Nurse@E2E.test", "--name", "Nurse", "--phone", "+358 40 1234567")
	if out := te.mustCLI("", "user", "list", "--org", "e2e"); !strings.Contains(out, "nurse@e2e.test") || !strings.Contains(out, "+358401234567") {
		t.Errorf("user list = %q, want the user with the phone in E.164", out)
	}
	if out := te.mustCLI("", "org", "list"); !strings.Contains(out, "e2e") {
		t.Errorf("org list = %q", out)
	}

	base := te.serve()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}

	status, body := post(t, c, base+"/api/v1/login", `{"organization":"e2e","email":"nurse@e2e.test","password":"a long enough passphrase"}`)
	if status != 200 || !strings.Contains(body, `"status":"authenticated"`) {
		t.Fatalf("login: %d %s", status, body)
	}
	res, err := c.Get(base + "/api/v1/session")
	if err != nil {
		t.Fatal(err)
	}
	var sess struct {
		User struct {
			Email string `json:"email"`
		} `json:"user"`
		Organization struct {
			Slug string `json:"slug"`
		} `json:"organization"`
		TwoFactor struct {
			State string `json:"state"`
		} `json:"two_factor"`
	}
	if err := json.NewDecoder(res.Body).Decode(&sess); err != nil || res.StatusCode != 200 {
		t.Fatalf("session: %d %v", res.StatusCode, err)
	}
	res.Body.Close()
	if sess.User.Email != "nurse@e2e.test" || sess.Organization.Slug != "e2e" || sess.TwoFactor.State != "not_enforced" {
		t.Errorf("session = %+v", sess)
	}
	held := jar.Cookies(mustURL(t, base))
	if status, body := post(t, c, base+"/api/v1/logout", ""); status != 204 {
		t.Errorf("logout: %d %s", status, body)
	}
	// Only the known-device cookie outlives a sign-out.
	if got := jar.Cookies(mustURL(t, base)); len(got) != 1 || got[0].Name != "gh_device" {
		t.Errorf("logout left cookies in the jar: %v, want only gh_device", got)
	}
	if status := getWith(t, base+"/api/v1/session", held); status != 401 {
		t.Errorf("the signed-out session's cookie still works: %d, want 401", status)
	}

	s1, wrong := post(t, c, base+"/api/v1/login", `{"organization":"e2e","email":"nurse@e2e.test","password":"not the passphrase"}`)
	s2, unknown := post(t, c, base+"/api/v1/login", `{"organization":"e2e","email":"ghost@e2e.test","password":"not the passphrase"}`)
	if s1 != 401 || s2 != 401 || wrong != unknown {
		t.Errorf("wrong password: %d %s; unknown e-mail: %d %s; want the same 401", s1, wrong, s2, unknown)
	}

	// set-password ends sessions and the new password works.
	post(t, c, base+"/api/v1/login", `{"organization":"e2e","email":"nurse@e2e.test","password":"a long enough passphrase"}`)
	held = jar.Cookies(mustURL(t, base))
	if status := getWith(t, base+"/api/v1/session", held); status != 200 {
		t.Fatalf("session before set-password: %d", status)
	}
	te.mustCLI("another long passphrase\n", "user", "set-password", "--org", "e2e", "--email", "nurse@e2e.test")
	if status := withinSessionCache(func() int { return getWith(t, base+"/api/v1/session", held) }, 401); status != 401 {
		t.Errorf("session after set-password: %d, want 401", status)
	}
	if status, body := post(t, c, base+"/api/v1/login", `{"organization":"e2e","email":"nurse@e2e.test","password":"another long passphrase"}`); status != 200 {
		t.Errorf("login with the new password: %d %s", status, body)
	}

	logs := te.logs.String()
	if !strings.Contains(logs, `"route":"POST /api/v1/login"`) {
		t.Errorf("the server logged no requests: %q", logs)
	}
	for _, secret := range []string{"long enough passphrase", "not the passphrase", "another long passphrase"} {
		if strings.Contains(logs, secret) {
			t.Errorf("a password is in the logs")
		}
	}
	for _, c := range jar.Cookies(mustURL(t, base)) {
		if strings.Contains(logs, c.Value) {
			t.Errorf("a session token is in the logs")
		}
	}
}

// getWith sends exactly the given cookies, whatever a jar holds.
func getWith(t *testing.T, url string, cookies []*http.Cookie) int {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestBadInputGetsOneLineAndStatus2(t *testing.T) {
	te := newTestEnv(t)
	te.mustCLI("", "org", "create", "--slug", "taken", "--name", "Taken")
	cases := []struct {
		name  string
		stdin string
		args  []string
		says  string
	}{
		{"no command", "", nil, ""},
		{"an unknown command", "", []string{"frobnicate"}, "unknown command"},
		{"a bad slug", "", []string{"org", "create", "--slug", "Not A Slug", "--name", "X"}, "slug"},
		{"a taken slug", "", []string{"org", "create", "--slug", "taken", "--name", "X"}, "already exists"},
		{"a missing name", "", []string{"org", "create", "--slug", "x"}, "--name"},
		{"an unknown flag", "", []string{"org", "list", "--bogus"}, "bogus"},
		{"a bad e-mail", "a long enough passphrase\n", []string{"user", "create", "--org", "taken", "--email", "not-an-address"}, "e-mail"},
		{"a bad phone", "a long enough passphrase\n", []string{"user", "create", "--org", "taken", "--email", "a@b.test", "--phone", "12"}, "12"},
		{"a common password", "password1234\n", []string{"user", "create", "--org", "taken", "--email", "a@b.test"}, "common"},
		{"a short password", "short\n", []string{"user", "create", "--org", "taken", "--email", "a@b.test"}, "12"},
		{"no password on stdin", "", []string{"user", "create", "--org", "taken", "--email", "a@b.test"}, "password"},
		{"an unknown organization", "a long enough passphrase\n", []string{"user", "create", "--org", "nope", "--email", "a@b.test"}, "organization"},
		{"serve without a secret outside dev mode", "", []string{"serve", "--secret-key-file", ""}, "secret-key-file"},
		{"a bad database URL", "", []string{"migrate", "--database-url", "mysql://x"}, "sqlite:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := te.cli(tc.stdin, tc.args...)
			if code != 2 {
				t.Fatalf("exit %d, want 2; stderr %q", code, errOut)
			}
			if tc.says == "" {
				return
			}
			lines := strings.Split(strings.TrimSpace(errOut), "\n")
			if !strings.Contains(errOut, tc.says) {
				t.Errorf("stderr %q does not mention %q", errOut, tc.says)
			}
			if len(lines) != 1 {
				t.Errorf("stderr has %d lines, want 1: %q", len(lines), errOut)
			}
		})
	}
	if out := te.mustCLI("", "user", "list", "--org", "taken"); strings.Contains(out, "a@b.test") {
		t.Errorf("a refused user was saved: %q", out)
	}
}

func TestFlagsOverrideVariables(t *testing.T) {
	te := newTestEnv(t)
	other := "sqlite:" + filepath.Join(te.dir, "other.db")
	te.mustCLI("", "migrate", "--database-url", other)
	te.mustCLI("", "org", "create", "--slug", "viaflag", "--name", "Via flag", "--database-url", other)
	if out := te.mustCLI("", "org", "list"); strings.Contains(out, "viaflag") {
		t.Error("the flag's database was not used")
	}
	if out := te.mustCLI("", "org", "list", "--database-url", other); !strings.Contains(out, "viaflag") {
		t.Error("the organization is not in the flag's database")
	}
	te.vars["GATEHOUSE_SESSION_IDLE"] = "soon"
	code, _, errOut := te.cli("", "serve")
	if code != 2 || !strings.Contains(errOut, "GATEHOUSE_SESSION_IDLE") {
		t.Errorf("a bad variable: exit %d, %q", code, errOut)
	}
}

func TestHelpListsEveryVariable(t *testing.T) {
	te := newTestEnv(t)
	code, out, _ := te.cli("", "serve", "--help")
	if code != 0 {
		t.Errorf("serve --help: exit %d, want 0", code)
	}
	for _, v := range []string{"GATEHOUSE_ADDR", "GATEHOUSE_DATABASE_URL", "GATEHOUSE_SECRET_KEY_FILE", "GATEHOUSE_PUBLIC_URL", "GATEHOUSE_TRUSTED_PROXIES", "GATEHOUSE_DEV"} {
		if !strings.Contains(out, v) {
			t.Errorf("serve --help does not list %s", v)
		}
	}
}

// withinSessionCache asks check until it answers want, for at most the
// bound of the session cache (--session-cache, 1 s) and a margin, and
// returns its last answer: a command changes the database as another node
// would, and a serving node's cached check of a session may answer for
// that long.
func withinSessionCache(check func() int, want int) int {
	deadline := time.Now().Add(1500 * time.Millisecond)
	for {
		got := check()
		if got == want || time.Now().After(deadline) {
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
}
