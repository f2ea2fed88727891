package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A certified relying party from Debian against the provider: Apache
// with libapache2-mod-auth-openidc protects /protected and proxies it to
// the echo upstream of proxy_test.go, and the test browses with a cookie
// jar. The configuration is the one docs/notes/apache.md shows.

// apacheModules is where Debian puts Apache's modules.
const apacheModules = "/usr/lib/apache2/modules"

// requireApache finds apache2 and mod_auth_openidc, or skips the test
// (fails it when GATEHOUSE_TEST_REQUIRE_APACHE is set, as in CI).
func requireApache(t *testing.T) string {
	t.Helper()
	bin := "/usr/sbin/apache2"
	if p, err := exec.LookPath("apache2"); err == nil {
		bin = p
	}
	missing := ""
	if !isExecutable(bin) {
		missing = "apache2"
	} else if _, err := os.Stat(filepath.Join(apacheModules, "mod_auth_openidc.so")); err != nil {
		missing = "mod_auth_openidc"
	}
	if missing == "" {
		return bin
	}
	msg := missing + " not found: install it (apt-get install -y --no-install-recommends apache2 libapache2-mod-auth-openidc) to run the Apache relying-party test"
	if os.Getenv("GATEHOUSE_TEST_REQUIRE_APACHE") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// TestApacheModAuthOpenIDC: mod_auth_openidc answers a request that does
// not ask for HTML, or comes from a script, with 401, sends a browser to the authorization
// endpoint (code + PKCE S256), takes the code back at its redirect URI
// after the sign-in with the e-mailed code, and then lets the browser
// through with the user's claims: to the application as OIDC_CLAIM_*
// request headers (a client's own copies scrubbed), to the browser as
// X-User, and as REMOTE_USER in the access log.
func TestApacheModAuthOpenIDC(t *testing.T) {
	apache := requireApache(t)
	te := newTestEnv(t)
	te.mustCLI("", "migrate")
	te.mustCLI("", "org", "create", "--slug", "clinic", "--name", "Clinic")
	te.mustCLI("a long enough passphrase\n", "user", "create", "--org", "clinic", "--email", "nurse@clinic.test", "--name", "Nurse Joy")
	port := freePort(t)
	app := fmt.Sprintf("http://127.0.0.1:%d", port)
	id, secret := clientFromCLI(t, te, "--name", "Apache", "--redirect-uri", app+"/protected/redirect_uri", "--org", "clinic",
		"--post-logout-redirect-uri", app+"/signed-out")
	if secret == "" {
		t.Fatal("a confidential client got no secret")
	}
	base := te.serve()
	up := startEcho(t)
	dir := startApache(t, apache, port, "GATEHOUSE", base, "CLIENT_ID", id, "CLIENT_SECRET", secret,
		"UPSTREAM", fmt.Sprintf("http://127.0.0.1:%d", up.port()))

	// One cookie jar, two ways of browsing: b stops at every answer of
	// Apache's, gh follows Gatehouse's redirects until one leaves it.
	jar, _ := cookiejar.New(nil)
	b := &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	gh := &http.Client{Jar: jar, Timeout: 20 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Host != strings.TrimPrefix(base, "http://") || len(via) > 10 {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	html := http.Header{"Accept": {"text/html,application/xhtml+xml;q=0.9"}}

	// Not a browser's navigation: 401, not a redirect.
	for _, h := range []http.Header{nil, {"Accept": {"application/json"}},
		{"Accept": {"text/html"}, "X-Requested-With": {"XMLHttpRequest"}}, {"Accept": {"text/html"}, "Sec-Fetch-Mode": {"cors"}}} {
		if res := browse(t, b, "GET", app+"/protected/", nil, h); res.StatusCode != http.StatusUnauthorized || res.Header.Get("Location") != "" {
			t.Fatalf("GET /protected/ with %v: %d to %q, want 401 without a redirect", h, res.StatusCode, res.Header.Get("Location"))
		}
	}

	// A browser: to the authorization endpoint, with PKCE.
	res := browse(t, b, "GET", app+"/protected/", nil, html)
	loc, _ := res.Location()
	if res.StatusCode != http.StatusFound || loc == nil || !strings.HasPrefix(loc.String(), base+"/") {
		t.Fatalf("GET /protected/ with Accept text/html: %d to %q, want 302 to %s", res.StatusCode, res.Header.Get("Location"), base)
	}
	q := loc.Query()
	if q.Get("client_id") != id || q.Get("redirect_uri") != app+"/protected/redirect_uri" || q.Get("code_challenge_method") != "S256" ||
		q.Get("code_challenge") == "" || q.Get("response_type") != "code" {
		t.Fatalf("authorization request %v: want this client's code flow with PKCE S256", q)
	}
	for _, s := range []string{"openid", "email", "profile"} {
		if !strings.Contains(" "+q.Get("scope")+" ", " "+s+" ") {
			t.Errorf("scope %q lacks %s", q.Get("scope"), s)
		}
	}

	// The sign-in: password, the code from the e-mail, back to Apache's
	// redirect URI with the code.
	callback := signInForApache(t, te, gh, base, loc.String(), "nurse@clinic.test")
	if callback.Path != "/protected/redirect_uri" || callback.Query().Get("code") == "" {
		t.Fatalf("Gatehouse sent the browser to %s, want the redirect URI with a code", callback)
	}
	res = browse(t, b, "GET", callback.String(), nil, html)
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != app+"/protected/" {
		t.Fatalf("redirect URI: %d to %q, want 302 back to %s/protected/", res.StatusCode, res.Header.Get("Location"), app)
	}

	// Signed in: the application gets the claims, not the client's forgeries.
	req, _ := http.NewRequest("GET", app+"/protected/", nil)
	req.Header.Set("Accept", "text/html")
	req.Header.Set("OIDC_CLAIM_email", "admin@clinic.test")
	req.Header.Set("OIDC-CLAIM-email", "admin@clinic.test")
	res, err := b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("X-User") != "nurse@clinic.test" {
		t.Fatalf("GET /protected/ signed in: %d, X-User %q: %s", res.StatusCode, res.Header.Get("X-User"), body)
	}
	seen := up.requests()
	if len(seen) != 1 {
		t.Fatalf("the application got %d requests, want only the signed-in one", len(seen))
	}
	for name, want := range map[string]string{"Oidc_claim_email": "nurse@clinic.test", "Oidc_claim_name": "Nurse Joy",
		"Oidc_claim_email_verified": "1", "Oidc_claim_role": "member"} {
		if got := seen[0].Values(name); len(got) != 1 || got[0] != want {
			t.Errorf("the application got %s %q, want %q (all: %v)", name, got, want, seen[0])
		}
	}
	if got := seen[0].Get("Oidc_claim_two_factor"); !strings.Contains(got, `"state": "verified"`) {
		t.Errorf("the application got two_factor %q, want it verified", got)
	}
	if got := seen[0].Values("Oidc-Claim-Email"); len(got) != 0 {
		t.Errorf("the client's forged Oidc-Claim-Email reached the application: %q", got)
	}
	// REMOTE_USER is the e-mail (OIDCRemoteUserClaim), as the access log
	// shows; Apache writes it once the answer is out.
	logged, found := "", false
	for deadline := time.Now().Add(5 * time.Second); !found && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		data, _ := os.ReadFile(filepath.Join(dir, "access.log"))
		logged = string(data)
		found = strings.Contains(logged, `127.0.0.1 nurse@clinic.test "GET /protected/ HTTP/1.1" 200`)
	}
	if !found {
		t.Errorf("access log without the user's signed-in request:\n%s", logged)
	}

	// RP-initiated logout from the application: mod_auth_openidc ends its
	// own session and sends the browser to Gatehouse's end-session
	// endpoint with the ID token as the hint; Gatehouse ends its session
	// and sends the browser to the registered post-logout address.
	res = browse(t, b, "GET", app+"/protected/redirect_uri?logout="+url.QueryEscape(app+"/signed-out"), nil, html)
	loc, _ = res.Location()
	if res.StatusCode != http.StatusFound || loc == nil || !strings.HasPrefix(loc.String(), base+"/oauth2/logout?") ||
		loc.Query().Get("id_token_hint") == "" || loc.Query().Get("post_logout_redirect_uri") != app+"/signed-out" {
		t.Fatalf("logout at Apache: %d to %q, want 302 to Gatehouse's end-session endpoint with the ID token and the way back", res.StatusCode, res.Header.Get("Location"))
	}
	res, err = gh.Get(loc.String())
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if back, _ := res.Location(); back == nil || back.String() != app+"/signed-out" {
		t.Errorf("Gatehouse's end-session sent the browser to %v (%d), want %s/signed-out", back, res.StatusCode, app)
	}
	if st := get(t, gh, base+"/api/v1/session"); st != http.StatusUnauthorized {
		t.Errorf("the Gatehouse session after logging out of the application: %d, want 401", st)
	}
	if res := browse(t, b, "GET", app+"/protected/", nil, html); res.StatusCode != http.StatusFound || !strings.HasPrefix(res.Header.Get("Location"), base+"/") {
		t.Errorf("GET /protected/ after the logout: %d to %q, want a new sign-in at Gatehouse", res.StatusCode, res.Header.Get("Location"))
	}
}

// signInForApache follows authURL through the sign-in pages (password,
// then the code from the e-mail) and returns where Gatehouse sends the
// browser back to.
func signInForApache(t *testing.T, te *testEnv, b *http.Client, base, authURL, email string) *url.URL {
	t.Helper()
	res, err := b.Get(authURL)
	for range 6 {
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if loc, _ := res.Location(); loc != nil && !strings.HasPrefix(loc.String(), base+"/") && !strings.HasPrefix(loc.String(), "/") {
			return loc
		}
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", res.Request.URL, res.StatusCode, body)
		}
		switch path := res.Request.URL.Path; {
		case path == "/login" || strings.HasSuffix(path, "/login") && strings.HasPrefix(path, "/o/"):
			res, err = b.PostForm(base+path, url.Values{"organization": {"clinic"}, "email": {email}, "password": {"a long enough passphrase"}})
		case path == "/login/code":
			res, err = b.PostForm(base+path, url.Values{"code": {te.mail.lastCode(t, email)}})
		default:
			t.Fatalf("the browser ended at %s: %s", res.Request.URL, body)
		}
	}
	t.Fatal("the browser never came back to Apache")
	return nil
}

// startApache runs apache2 in the foreground, one process, with
// apacheConf (the placeholders in vars filled in, and DIR, PORT and
// MODULES) and every file under a temporary directory, which it returns.
func startApache(t *testing.T, apache string, port int, vars ...string) string {
	t.Helper()
	dir := t.TempDir()
	// One pass: a value (the client's secret) is never read for placeholders.
	vars = append(vars, "DIR", dir, "PORT", fmt.Sprint(port), "MODULES", apacheModules)
	conf := strings.NewReplacer(vars...).Replace(apacheConf)
	file := filepath.Join(dir, "apache2.conf")
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(apache, "-X", "-d", dir, "-f", file)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "TMPDIR=" + dir, "LANG=C"}
	runProxy(t, cmd, port, dir, filepath.Join(dir, "error.log"))
	return dir
}

// apacheConf: Apache on 127.0.0.1:PORT, one process in the foreground
// (-X), /protected behind mod_auth_openidc and proxied to UPSTREAM.
// User and Group matter only when run as root.
const apacheConf = `
ServerRoot DIR
DefaultRuntimeDir DIR
PidFile DIR/apache2.pid
ErrorLog DIR/error.log
LogLevel warn auth_openidc:info
Listen 127.0.0.1:PORT
ServerName 127.0.0.1:PORT
User www-data
Group www-data

LoadModule mpm_event_module MODULES/mod_mpm_event.so
LoadModule authn_core_module MODULES/mod_authn_core.so
LoadModule authz_core_module MODULES/mod_authz_core.so
LoadModule authz_user_module MODULES/mod_authz_user.so
LoadModule headers_module MODULES/mod_headers.so
LoadModule proxy_module MODULES/mod_proxy.so
LoadModule proxy_http_module MODULES/mod_proxy_http.so
LoadModule auth_openidc_module MODULES/mod_auth_openidc.so

LogFormat "%h %u \"%r\" %>s" short
CustomLog DIR/access.log short

OIDCProviderMetadataURL GATEHOUSE/.well-known/openid-configuration
OIDCClientID CLIENT_ID
OIDCClientSecret CLIENT_SECRET
OIDCRedirectURI http://127.0.0.1:PORT/protected/redirect_uri
OIDCCryptoPassphrase a-test-passphrase-for-the-session-cookie
OIDCScope "openid email profile"
OIDCPKCEMethod S256
OIDCRemoteUserClaim email

<Location /protected>
  AuthType openid-connect
  Require valid-user
  Header set X-User "%{OIDC_CLAIM_email}e"
  ProxyPass UPSTREAM
</Location>
`
