package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/internal/forwardauth"
)

// acmeReturns allows the hosts under acme.test, as an operator's
// GATEHOUSE_ALLOWED_RETURN_HOSTS=.acme.test would.
func acmeReturns(t *testing.T, public string) *forwardauth.Returns {
	t.Helper()
	u, _ := url.Parse(public)
	hosts, err := forwardauth.ParseHosts(".acme.test")
	if err != nil {
		t.Fatal(err)
	}
	r, err := forwardauth.NewReturns(u, hosts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func newReturnEnv(t *testing.T) *env {
	t.Helper()
	// The public URL is the test server's, known only once it listens:
	// Returns allows its host by the name 127.0.0.1, whatever the port.
	return newEnv(t, options{returns: acmeReturns(t, "http://127.0.0.1")})
}

const appURL = "http://app.acme.test:8081/charts?id=7"

// landing follows a successful sign-in form the way a browser does: its
// 303 to the home page, then where the home page sends the browser ("/"
// when it shows itself).
func (e *env) landing(res *http.Response) string {
	e.t.Helper()
	if res.StatusCode != 303 || res.Header.Get("Location") != "/" {
		e.t.Fatalf("sign-in: %d to %q, want 303 to /", res.StatusCode, res.Header.Get("Location"))
	}
	home := e.do("GET", "/", "", "")
	switch home.StatusCode {
	case 200:
		return "/"
	case 303:
		return home.Header.Get("Location")
	}
	e.t.Fatalf("home page: %d", home.StatusCode)
	return ""
}

func TestTheSignInPageSendsTheBrowserBackToTheCheckedAddress(t *testing.T) {
	t.Run("after the password", func(t *testing.T) {
		e := newReturnEnv(t)
		wantStatus(t, e.do("GET", "/login?rd="+url.QueryEscape(appURL), "", ""), 200)
		res := e.form("/login", url.Values{"organization": {"clinic"}, "email": {"staff@clinic.test"}, "password": {testPassword}})
		if got := e.landing(res); got != appURL {
			t.Errorf("sign-in lands on %q, want %s", got, appURL)
		}
		if e.cookie("gatehouse_return") != nil {
			t.Error("the return cookie outlives its use")
		}
		if got := e.landing(e.form("/login", url.Values{"organization": {"clinic"}, "email": {"staff@clinic.test"}, "password": {testPassword}})); got != "/" {
			t.Errorf("the next sign-in lands on %q, want the home page", got)
		}
	})
	t.Run("after the code, through a wrong code first", func(t *testing.T) {
		e := newReturnEnv(t)
		e.addStrictOrg(nil)
		wantStatus(t, e.do("GET", "/o/acme/login?rd="+url.QueryEscape(appURL), "", ""), 200)
		res := e.form("/o/acme/login", url.Values{"email": {"member@acme.test"}, "password": {testPassword}})
		if res.StatusCode != 303 || res.Header.Get("Location") != "/login/code" {
			t.Fatalf("login: %d to %q", res.StatusCode, res.Header.Get("Location"))
		}
		code := e.lastCode()
		wrong := "000000"
		if code == wrong {
			wrong = "000001"
		}
		wantStatus(t, e.form("/login/code", url.Values{"code": {wrong}}), 400)
		if got := e.landing(e.form("/login/code", url.Values{"code": {code}})); got != appURL {
			t.Errorf("right code lands on %q, want %s", got, appURL)
		}
	})
	t.Run("whichever way the sign-in went, as the home page sends the browser on", func(t *testing.T) {
		// The SAML2 ACS, the JSON API: each ends at the home page.
		e := newReturnEnv(t)
		e.do("GET", "/login?rd="+url.QueryEscape(appURL), "", "")
		wantStatus(t, e.login("clinic", "staff@clinic.test", testPassword), 200)
		res := e.do("GET", "/", "", "")
		if res.StatusCode != 303 || res.Header.Get("Location") != appURL {
			t.Errorf("home page: %d to %q, want 303 to %s", res.StatusCode, res.Header.Get("Location"), appURL)
		}
		wantStatus(t, e.do("GET", "/", "", ""), 200)
	})
	t.Run("a path on Gatehouse itself", func(t *testing.T) {
		e := newReturnEnv(t)
		e.do("GET", "/login?rd=%2Faccount", "", "")
		res := e.form("/login", url.Values{"organization": {"clinic"}, "email": {"staff@clinic.test"}, "password": {testPassword}})
		if got := e.landing(res); got != "/account" {
			t.Errorf("sign-in lands on %q, want /account", got)
		}
	})
}

func TestTheSignInPageNeverSendsTheBrowserElsewhere(t *testing.T) {
	for _, rd := range []string{"https://evil.test/", "//evil.test/", "/\\evil.test", "https://app.acme.test@evil.test/", "javascript:alert(1)"} {
		t.Run(rd, func(t *testing.T) {
			e := newReturnEnv(t)
			e.do("GET", "/login?rd="+url.QueryEscape(rd), "", "")
			res := e.form("/login", url.Values{"organization": {"clinic"}, "email": {"staff@clinic.test"}, "password": {testPassword}})
			if got := e.landing(res); got != "/" {
				t.Errorf("sign-in lands on %q, want /", got)
			}
		})
	}
	t.Run("a sign-in page without rd forgets an older one", func(t *testing.T) {
		e := newReturnEnv(t)
		e.do("GET", "/login?rd="+url.QueryEscape(appURL), "", "")
		e.do("GET", "/login", "", "")
		res := e.form("/login", url.Values{"organization": {"clinic"}, "email": {"staff@clinic.test"}, "password": {testPassword}})
		if got := e.landing(res); got != "/" {
			t.Errorf("sign-in lands on %q, want /", got)
		}
	})
	t.Run("without allowed return hosts only a path on Gatehouse is kept", func(t *testing.T) {
		for rd, want := range map[string]string{"/account": "/account", appURL: "/"} {
			e := newEnv(t, options{})
			e.do("GET", "/login?rd="+url.QueryEscape(rd), "", "")
			res := e.form("/login", url.Values{"organization": {"clinic"}, "email": {"staff@clinic.test"}, "password": {testPassword}})
			if got := e.landing(res); got != want {
				t.Errorf("rd %s: sign-in lands on %q, want %s", rd, got, want)
			}
		}
	})
	t.Run("a planted return cookie is checked again", func(t *testing.T) {
		e := newReturnEnv(t)
		u, _ := url.Parse(e.srv.URL)
		e.client.Jar.SetCookies(u, []*http.Cookie{{Name: "gatehouse_return", Value: url.QueryEscape("https://evil.test/"), Path: "/"}})
		res := e.form("/login", url.Values{"organization": {"clinic"}, "email": {"staff@clinic.test"}, "password": {testPassword}})
		if got := e.landing(res); got != "/" {
			t.Errorf("sign-in lands on %q, want /", got)
		}
	})
}

func TestFormActionAllowsTheReturnHosts(t *testing.T) {
	// Browsers check the redirect after the sign-in form against
	// form-action: the application's host must be there.
	e := newReturnEnv(t)
	csp := e.do("GET", "/login", "", "").Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "form-action 'self' acme.test:* *.acme.test:*;") {
		t.Errorf("CSP %q does not allow the return hosts in form-action", csp)
	}
	csp = newEnv(t, options{}).do("GET", "/login", "", "").Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "form-action 'self';") {
		t.Errorf("CSP without return hosts %q", csp)
	}
}

func TestACookieDomainSharesOnlyTheSessionCookie(t *testing.T) {
	e := newEnv(t, options{publicURL: "https://login.acme.test", cookieDomain: "acme.test"})
	res := e.login("clinic", "staff@clinic.test", testPassword)
	c := sessionCookie(t, res)
	// A cookie with a Domain cannot carry __Host-; __Secure- still needs
	// Secure.
	if c.Name != "__Secure-gatehouse_session" || c.Domain != "acme.test" || !c.Secure || !c.HttpOnly || c.Path != "/" || c.SameSite != http.SameSiteLaxMode {
		t.Errorf("session cookie %+v", c)
	}
	for _, other := range res.Cookies() {
		if other != nil && other.Name != c.Name && other.Domain != "" {
			t.Errorf("%s has Domain %q: only the session cookie is shared", other.Name, other.Domain)
		}
	}
	res = e.do("POST", "/api/v1/logout", "", "", "Cookie", c.Name+"="+c.Value)
	var cleared *http.Cookie
	for _, k := range res.Cookies() {
		if k.Name == c.Name {
			cleared = k
		}
	}
	if res.StatusCode != 204 || cleared == nil || cleared.Domain != "acme.test" || cleared.MaxAge >= 0 {
		t.Errorf("sign-out: %d, cleared %+v; want the Domain cookie cleared", res.StatusCode, cleared)
	}
	if got := e.do("GET", "/api/v1/session", "", "", "Cookie", c.Name+"="+c.Value).StatusCode; got != 401 {
		t.Errorf("the signed-out session still answers %d", got)
	}
}

type fakeForwardAuth struct{}

func (fakeForwardAuth) Forward(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Remote-User", "forward")
}
func (fakeForwardAuth) Request(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Remote-User", "request")
}

func TestForwardAuthIsMountedOnlyWithOne(t *testing.T) {
	e := newEnv(t, options{forwardAuth: fakeForwardAuth{}})
	for path, want := range map[string]string{"/auth/forward": "forward", "/auth/request": "request"} {
		res := e.do("GET", path, "", "")
		if res.StatusCode != 200 || res.Header.Get("Remote-User") != want {
			t.Errorf("%s: %d %q", path, res.StatusCode, res.Header.Get("Remote-User"))
		}
		if res.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("%s skips the server-wide middleware", path)
		}
	}
	if got := newEnv(t, options{}).do("GET", "/auth/forward", "", "").StatusCode; got != 404 {
		t.Errorf("/auth/forward without forward-auth: %d, want 404", got)
	}
}
