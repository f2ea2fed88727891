package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// The forward-auth tests put Debian's nginx (auth_request) and Caddy
// (forward_auth) in front of a tiny upstream that echoes the headers it
// got, with the real serve behind them, and browse with a cookie jar:
// Gatehouse at login.acme.test, the application at app.acme.test, one
// session cookie for acme.test (GATEHOUSE_COOKIE_DOMAIN). Every name
// resolves to 127.0.0.1 (acmeDialer); the ports differ.

// requireProxy finds a proxy's binary, or skips the test (fails it when
// GATEHOUSE_TEST_REQUIRE_PROXIES is set, as in CI).
func requireProxy(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin"} {
		if p := filepath.Join(dir, name); isExecutable(p) {
			return p
		}
	}
	msg := fmt.Sprintf("%s not found: install it (apt-get install -y nginx caddy) to run the forward-auth proxy tests", name)
	if os.Getenv("GATEHOUSE_TEST_REQUIRE_PROXIES") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// freePort returns a loopback port nobody listens on: the proxies'
// configuration and Gatehouse's public URL name their ports up front.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// acmeBrowser is a browser with its own cookie jar that reaches every
// host name at 127.0.0.1 and does not follow redirects.
func acmeBrowser() *http.Client {
	jar, _ := cookiejar.New(nil)
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		return dialer.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
	}}
	return &http.Client{Jar: jar, Transport: tr, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// echoUpstream is the application: it answers with the headers it got,
// and keeps them, so a test sees every request that got through.
type echoUpstream struct {
	*httptest.Server
	mu   sync.Mutex
	seen []http.Header
}

func startEcho(t *testing.T) *echoUpstream {
	e := &echoUpstream{}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.seen = append(e.seen, r.Header.Clone())
		e.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(r.Header)
	}))
	t.Cleanup(e.Close)
	return e
}

func (e *echoUpstream) port() int { return e.Listener.Addr().(*net.TCPAddr).Port }

// requests returns the headers of every request the upstream got.
func (e *echoUpstream) requests() []http.Header {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]http.Header(nil), e.seen...)
}

// fwdGatehouse is the real serve for the proxies: organizations acme
// (two-factor by e-mail, the default) and beta. Remote-Assertion is signed
// with the OpenID Connect provider's keys, as in production.
type fwdGatehouse struct {
	te   *testEnv
	port int
	base string // http://login.acme.test:PORT
}

func startFwdGatehouse(t *testing.T) *fwdGatehouse {
	t.Helper()
	te := newTestEnv(t)
	te.mustCLI("", "org", "create", "--slug", "acme", "--name", "Acme Clinic")
	te.mustCLI("a long enough passphrase\n", "user", "create", "--org", "acme", "--email", "nurse@acme.test", "--name", "Nora Nurse")
	te.mustCLI("a long enough passphrase\n", "user", "create", "--org", "acme", "--email", "clerk@acme.test")
	te.mustCLI("", "org", "create", "--slug", "beta", "--name", "Beta Clinic")
	g := &fwdGatehouse{te: te, port: freePort(t)}
	g.base = fmt.Sprintf("http://login.acme.test:%d", g.port)
	te.serve("--addr", fmt.Sprintf("127.0.0.1:%d", g.port), "--public-url", g.base,
		"--trusted-proxies", "127.0.0.1", "--allowed-return-hosts", ".acme.test", "--cookie-domain", "acme.test")
	return g
}

// signIn follows a sign-in redirect the way a browser does: the sign-in
// page, the password form, the code from the e-mail, the home page, and
// returns where Gatehouse sends the browser at the end.
func (g *fwdGatehouse) signIn(t *testing.T, c *http.Client, signInURL, email string) string {
	t.Helper()
	res := browse(t, c, "GET", signInURL, nil, nil)
	if res.StatusCode != 200 {
		t.Fatalf("sign-in page %s: %d", signInURL, res.StatusCode)
	}
	form := url.Values{"organization": {"acme"}, "email": {email}, "password": {"a long enough passphrase"}}
	res = browse(t, c, "POST", g.base+"/login", form, nil)
	if res.StatusCode != 303 || res.Header.Get("Location") != "/login/code" {
		t.Fatalf("password: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	res = browse(t, c, "POST", g.base+"/login/code", url.Values{"code": {g.te.mail.lastCode(t, email)}}, nil)
	if res.StatusCode != 303 || res.Header.Get("Location") != "/" {
		t.Fatalf("code: %d to %q, want 303 to the home page", res.StatusCode, res.Header.Get("Location"))
	}
	// The home page sends the browser on.
	if res = browse(t, c, "GET", g.base+"/", nil, nil); res.StatusCode != 303 {
		t.Fatalf("home page after the sign-in: %d, want 303", res.StatusCode)
	}
	return res.Header.Get("Location")
}

// browse sends one request (a form when form is set) and reads the body.
func browse(t *testing.T, c *http.Client, method, u string, form url.Values, header http.Header) *http.Response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

// echoed fetches u through the proxy and returns the headers the upstream
// echoed.
func echoed(t *testing.T, c *http.Client, u string, header http.Header) http.Header {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d, want 200 from the upstream", u, res.StatusCode)
	}
	var h http.Header
	if err := json.NewDecoder(res.Body).Decode(&h); err != nil {
		t.Fatalf("GET %s: not the upstream's echo: %v", u, err)
	}
	return h
}

// runProxy starts a proxy process, its output in DIR/proxy.out, waits
// until it listens on port and stops it when the test ends. On failure it
// shows the output and logs.
func runProxy(t *testing.T, cmd *exec.Cmd, port int, dir string, logs ...string) {
	t.Helper()
	outFile := filepath.Join(dir, "proxy.out")
	out, err := os.Create(outFile)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); out.Close() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	show := func() string {
		var b strings.Builder
		for _, f := range append([]string{outFile}, logs...) {
			data, _ := os.ReadFile(f)
			fmt.Fprintf(&b, "--- %s\n%s", f, data)
		}
		return b.String()
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("%s exited (%v) before listening:\n%s", cmd.Path, err, show())
		default:
		}
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("%s", show())
				}
			})
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s is not listening on %d:\n%s", cmd.Path, port, show())
}

// The identity the upstream must see for nurse@acme.test after a sign-in
// with the e-mailed code.
var nurseHeaders = map[string]string{
	"Remote-User": "nurse@acme.test", "Remote-Email": "nurse@acme.test", "Remote-Name": "Nora Nurse",
	"Remote-Organization": "acme", "Remote-Role": "member", "Remote-Two-Factor": "verified",
}

// forged is what a client sends to pass itself off as someone.
var forged = http.Header{
	"Remote-User": {"admin@acme.test"}, "Remote-Email": {"admin@acme.test"}, "Remote-Name": {"Mallory"},
	"Remote-Organization": {"beta"}, "Remote-Role": {"admin"}, "Remote-Two-Factor": {"verified"},
	"Remote-Assertion": {"forged"},
}

// checkAssertion verifies a Remote-Assertion as an application would:
// the signature with Gatehouse's public key, issuer, audience, lifetime
// and the identity.
func (g *fwdGatehouse) checkAssertion(t *testing.T, raw, audience string) {
	t.Helper()
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("Remote-Assertion %q: %v", raw, err)
	}
	var std jwt.Claims
	var own struct {
		Email        string `json:"email"`
		Organization string `json:"organization"`
		TwoFactor    string `json:"two_factor"`
	}
	// Signed with the OpenID Connect provider's current ES256 key, whose
	// public half is in its JWKS.
	res, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/oauth2/jwks", g.port))
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	err = json.NewDecoder(res.Body).Decode(&set)
	res.Body.Close()
	if err != nil || len(tok.Headers) != 1 {
		t.Fatalf("JWKS: %v", err)
	}
	keys := set.Key(tok.Headers[0].KeyID)
	if len(keys) != 1 {
		t.Fatalf("the Remote-Assertion's key %q is not in the JWKS", tok.Headers[0].KeyID)
	}
	if err := tok.Claims(keys[0].Key, &std, &own); err != nil {
		t.Fatalf("Remote-Assertion does not verify: %v", err)
	}
	if err := std.ValidateWithLeeway(jwt.Expected{Issuer: g.base, AnyAudience: jwt.Audience{audience}, Time: time.Now()}, 5*time.Second); err != nil {
		t.Errorf("Remote-Assertion claims %+v: %v", std, err)
	}
	if d := std.Expiry.Time().Sub(std.IssuedAt.Time()); d != time.Minute {
		t.Errorf("Remote-Assertion lives %v, want a minute", d)
	}
	if own.Email != "nurse@acme.test" || own.Organization != "acme" || own.TwoFactor != "verified" {
		t.Errorf("Remote-Assertion says %+v", own)
	}
}

// proxyCase is what the shared checks need of one proxy set-up.
type proxyCase struct {
	app  string // http://app.acme.test:PORT, the protected application
	evil string // the same proxy under a host Gatehouse does not allow
	// signInStatus is what a request without a session answers: the
	// redirect to the sign-in page.
	signInStatus int
}

func checkProxy(t *testing.T, g *fwdGatehouse, up *echoUpstream, pc proxyCase) {
	c := acmeBrowser()
	target := pc.app + "/charts?id=7"

	t.Run("without a session the browser is sent to sign in", func(t *testing.T) {
		res := browse(t, c, "GET", target, nil, forged)
		want := g.base + "/login?rd=" + url.QueryEscape(target)
		if res.StatusCode != pc.signInStatus || res.Header.Get("Location") != want {
			t.Fatalf("got %d to %q, want %d to %q", res.StatusCode, res.Header.Get("Location"), pc.signInStatus, want)
		}
		if n := len(up.requests()); n != 0 {
			t.Errorf("the upstream got %d requests without a session", n)
		}
	})
	if t.Failed() {
		return
	}
	t.Run("after the sign-in and its code the browser is back and the upstream sees who", func(t *testing.T) {
		back := g.signIn(t, c, g.base+"/login?rd="+url.QueryEscape(target), "nurse@acme.test")
		if back != target {
			t.Fatalf("after the code Gatehouse sent the browser to %q, want %q", back, target)
		}
		h := echoed(t, c, target, forged)
		for k, v := range nurseHeaders {
			if got := h.Values(k); len(got) != 1 || got[0] != v {
				t.Errorf("upstream got %s = %q, want %q", k, got, v)
			}
		}
		g.checkAssertion(t, h.Get("Remote-Assertion"), "app.acme.test")
		for k, vs := range h {
			for _, v := range vs {
				if strings.Contains(v, "{http.") || v == "Mallory" || v == "forged" || v == "admin@acme.test" {
					t.Errorf("upstream got %s: %q", k, v)
				}
			}
		}
	})
	t.Run("a site limited to another organization answers 403", func(t *testing.T) {
		res := browse(t, c, "GET", pc.app+"/beta/", nil, nil)
		if res.StatusCode != 403 {
			t.Errorf("the beta-only site: %d, want 403", res.StatusCode)
		}
		echoed(t, c, pc.app+"/acme/", nil)
	})
	t.Run("a user without a name gets an empty Remote-Name, never a placeholder", func(t *testing.T) {
		clerk := acmeBrowser()
		if back := g.signIn(t, clerk, g.base+"/login?rd="+url.QueryEscape(pc.app+"/"), "clerk@acme.test"); back != pc.app+"/" {
			t.Fatalf("after the code Gatehouse sent the browser to %q", back)
		}
		h := echoed(t, clerk, pc.app+"/", forged)
		if got := h.Values("Remote-Name"); len(got) > 1 || (len(got) == 1 && got[0] != "") {
			t.Errorf("upstream got Remote-Name %q, want it empty (nginx drops an empty header)", got)
		}
		if got := h.Get("Remote-User"); got != "clerk@acme.test" {
			t.Errorf("upstream got Remote-User %q", got)
		}
	})
	t.Run("an unknown host is refused, never redirected to", func(t *testing.T) {
		res := browse(t, acmeBrowser(), "GET", pc.evil+"/", nil, nil)
		if res.StatusCode != 403 || res.Header.Get("Location") != "" {
			t.Errorf("evil.test: %d to %q, want 403 without Location", res.StatusCode, res.Header.Get("Location"))
		}
	})
	t.Run("the upstream only ever saw signed-in users", func(t *testing.T) {
		for i, h := range up.requests() {
			if u := h.Values("Remote-User"); len(u) != 1 || (u[0] != "nurse@acme.test" && u[0] != "clerk@acme.test") {
				t.Errorf("request %d reached the upstream as %q", i, h.Values("Remote-User"))
			}
		}
	})
}

// TestNginxAuthRequest: nginx's auth_request asks /auth/request, turns
// its 401 into the redirect to its Location, and passes the identity
// headers on. The configuration is the one docs/notes/fwdauth.md shows.
func TestNginxAuthRequest(t *testing.T) {
	nginx := requireProxy(t, "nginx")
	g := startFwdGatehouse(t)
	up := startEcho(t)
	port := startNginx(t, nginx, g, up)
	checkProxy(t, g, up, proxyCase{app: fmt.Sprintf("http://app.acme.test:%d", port), evil: fmt.Sprintf("http://evil.test:%d", port),
		signInStatus: http.StatusFound})
}

// startNginx runs nginx with nginxConf in front of g and up, and returns
// its port.
func startNginx(t *testing.T, nginx string, g *fwdGatehouse, up *echoUpstream) int {
	t.Helper()
	dir, port := t.TempDir(), freePort(t)
	vars := strings.NewReplacer("DIR", dir, "PORT", fmt.Sprint(port), "GATEHOUSE", fmt.Sprintf("127.0.0.1:%d", g.port),
		"UPSTREAM", fmt.Sprintf("127.0.0.1:%d", up.port()))
	for name, text := range map[string]string{"nginx.conf": nginxConf, "gatehouse-auth.conf": nginxAuth, "protect.conf": nginxProtect} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(vars.Replace(text)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	runProxy(t, exec.Command(nginx, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "error.log")),
		port, dir, filepath.Join(dir, "error.log"))
	return port
}

// nginxConf protects every host on PORT; /beta/ is for organization
// beta only, /acme/ for acme: each limit is its own auth location, as
// nginx runs a subrequest's rewrites afresh. Single process, in the foreground, every
// file under DIR.
const nginxConf = `
daemon off;
master_process off;
worker_processes 1;
pid DIR/nginx.pid;
error_log DIR/error.log info;
events { worker_connections 64; }
http {
  access_log DIR/access.log;
  client_body_temp_path DIR/client_body;
  proxy_temp_path DIR/proxy;
  fastcgi_temp_path DIR/fastcgi;
  uwsgi_temp_path DIR/uwsgi;
  scgi_temp_path DIR/scgi;

  server {
    listen 127.0.0.1:PORT default_server;
    server_name _;

    # Gatehouse's answer: the identity headers, or where to sign in.
    location = /gatehouse-auth {
      internal;
      proxy_pass http://GATEHOUSE/auth/request;
      include DIR/gatehouse-auth.conf;
    }
    # The same for a site of organization beta only.
    location = /gatehouse-auth-beta {
      internal;
      proxy_pass http://GATEHOUSE/auth/request?org=beta;
      include DIR/gatehouse-auth.conf;
    }
    location = /gatehouse-auth-acme {
      internal;
      proxy_pass http://GATEHOUSE/auth/request?org=acme;
      include DIR/gatehouse-auth.conf;
    }

    location /beta/ {
      auth_request /gatehouse-auth-beta;
      include DIR/protect.conf;
    }
    location /acme/ {
      auth_request /gatehouse-auth-acme;
      include DIR/protect.conf;
    }
    location / {
      auth_request /gatehouse-auth;
      include DIR/protect.conf;
    }
  }
}
`

// nginxAuth is how every auth location asks Gatehouse: no body, and
// where the browser was going.
const nginxAuth = `
proxy_pass_request_body off;
proxy_set_header Content-Length "";
proxy_set_header X-Forwarded-Proto $scheme;
proxy_set_header X-Forwarded-Host $http_host;
proxy_set_header X-Forwarded-Uri $request_uri;
proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
`

// nginxProtect is what every protected location includes after its
// auth_request: send a 401 to the sign-in page, pass exactly Gatehouse's
// headers on. proxy_set_header replaces what the client sent under the
// same names.
const nginxProtect = `
auth_request_set $gatehouse_location $upstream_http_location;
error_page 401 =302 $gatehouse_location;

auth_request_set $remote_user_h $upstream_http_remote_user;
auth_request_set $remote_email $upstream_http_remote_email;
auth_request_set $remote_name $upstream_http_remote_name;
auth_request_set $remote_organization $upstream_http_remote_organization;
auth_request_set $remote_role $upstream_http_remote_role;
auth_request_set $remote_two_factor $upstream_http_remote_two_factor;
auth_request_set $remote_assertion $upstream_http_remote_assertion;
proxy_set_header Remote-User $remote_user_h;
proxy_set_header Remote-Email $remote_email;
proxy_set_header Remote-Name $remote_name;
proxy_set_header Remote-Organization $remote_organization;
proxy_set_header Remote-Role $remote_role;
proxy_set_header Remote-Two-Factor $remote_two_factor;
proxy_set_header Remote-Assertion $remote_assertion;

proxy_set_header Host $http_host;
proxy_pass http://UPSTREAM;
`

// TestCaddyForwardAuth: Caddy's forward_auth asks /auth/forward, passes
// its 302 to the browser, and copies the identity headers. Debian 12's
// Caddy 2.6 copies a header the answer lacks as a literal placeholder.
func TestCaddyForwardAuth(t *testing.T) {
	caddy := requireProxy(t, "caddy")
	g := startFwdGatehouse(t)
	up := startEcho(t)
	dir, port := t.TempDir(), freePort(t)
	conf := strings.NewReplacer("DIR", dir, "PORT", fmt.Sprint(port), "GATEHOUSE", fmt.Sprintf("127.0.0.1:%d", g.port),
		"UPSTREAM", fmt.Sprintf("127.0.0.1:%d", up.port())).Replace(caddyfile)
	file := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(caddy, "run", "--config", file, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
	runProxy(t, cmd, port, dir)
	checkProxy(t, g, up, proxyCase{app: fmt.Sprintf("http://app.acme.test:%d", port), evil: fmt.Sprintf("http://evil.test:%d", port),
		signInStatus: http.StatusFound})
}

// caddyfile protects every host on PORT; /beta/* is for organization beta
// only, /acme/* for acme.
const caddyfile = `{
	admin off
	auto_https off
	storage file_system DIR/data
}

(gatehouse) {
	copy_headers Remote-User Remote-Email Remote-Name Remote-Organization Remote-Role Remote-Two-Factor Remote-Assertion
}

http://:PORT {
	bind 127.0.0.1
	handle /beta/* {
		forward_auth GATEHOUSE {
			uri /auth/forward?org=beta
			import gatehouse
		}
		reverse_proxy UPSTREAM
	}
	handle /acme/* {
		forward_auth GATEHOUSE {
			uri /auth/forward?org=acme
			import gatehouse
		}
		reverse_proxy UPSTREAM
	}
	handle {
		forward_auth GATEHOUSE {
			uri /auth/forward
			import gatehouse
		}
		reverse_proxy UPSTREAM
	}
}
`

// TestForwardAuthInARealBrowser: Chromium, behind nginx, is sent to sign
// in, signs in with the e-mailed code and lands back on the application.
// The redirect after the code form passes the CSP's form-action only
// because it lists the allowed return hosts: a browser applies form-action
// to the redirect that follows a form, which no Go client checks.
func TestForwardAuthInARealBrowser(t *testing.T) {
	nginx := requireProxy(t, "nginx")
	g := startFwdGatehouse(t)
	up := startEcho(t)
	app := fmt.Sprintf("http://app.acme.test:%d", startNginx(t, nginx, g, up))
	target := app + "/charts?id=7"
	// Over plain http Chromium sends no Sec-Fetch-Site and, under our
	// Referrer-Policy, Origin: null, which the cross-origin check refuses:
	// the test's http origins are taken as secure, as https ones would be.
	b := browser(t, chromedp.Flag("host-resolver-rules", "MAP *.acme.test 127.0.0.1"),
		chromedp.Flag("unsafely-treat-insecure-origin-as-secure", g.base+","+app))

	p := newPerson(t, b)
	p.do(chromedp.Navigate(target), chromedp.WaitVisible(chromedp.ID("password")))
	if want := g.base + "/login?rd=" + url.QueryEscape(target); p.location() != want {
		t.Fatalf("the application sent the browser to %s, want %s", p.location(), want)
	}
	p.do(
		chromedp.SendKeys(chromedp.ID("organization"), "acme"),
		chromedp.SendKeys(chromedp.ID("email"), "nurse@acme.test"),
		chromedp.SendKeys(chromedp.ID("password"), "a long enough passphrase"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("code")),
	)
	p.do(
		chromedp.SendKeys(chromedp.ID("code"), g.te.mail.lastCode(t, "nurse@acme.test")),
		chromedp.Click(chromedp.CSS(`form[action="/login/code"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("body")),
	)
	deadline := time.Now().Add(10 * time.Second)
	for p.location() != target && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if p.location() != target {
		t.Fatalf("after the code the browser is at %s, want %s", p.location(), target)
	}
	if page := p.text("body"); !strings.Contains(page, `"Remote-User":["nurse@acme.test"]`) {
		t.Errorf("the application's page: %s", page)
	}
}
