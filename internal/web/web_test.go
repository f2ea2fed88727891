package web_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/accounts"
	"github.com/gatehousehq/gatehouse/internal/clientip"
	"github.com/gatehousehq/gatehouse/internal/forwardauth"
	"github.com/gatehousehq/gatehouse/internal/metrics"
	"github.com/gatehousehq/gatehouse/internal/password"
	"github.com/gatehousehq/gatehouse/internal/phone"
	"github.com/gatehousehq/gatehouse/internal/signin"
	"github.com/gatehousehq/gatehouse/internal/sqlstore"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/web"
)

const testPassword = "correct horse battery staple"

type pinger struct{ err error }

func (p *pinger) Ping(context.Context) error { return p.err }

type env struct {
	box    *outboxMessenger
	t      *testing.T
	db     *sqlstore.DB
	srv    *httptest.Server
	client *http.Client
	ready  *pinger
}

type options struct {
	publicURL string
	dev       bool
	now       func() time.Time // nil: the real clock
	db        *sqlstore.DB     // nil: a new SQLite store
	outbox    *sqlstore.DB     // where the test messenger keeps messages; nil: db
	// What forward-auth adds (signin_return_test.go).
	cookieDomain string
	returns      web.ReturnURLs
	forwardAuth  web.ForwardAuth
}

func newEnv(t *testing.T, opt options) *env {
	t.Helper()
	db := opt.db
	if db == nil {
		db = testdb.SQLite(t)
	}
	outbox := opt.outbox
	if outbox == nil {
		outbox = db
	}
	ctx := context.Background()
	h, err := password.NewHasher(password.HasherConfig{Params: password.TestParams()})
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New()
	box := &outboxMessenger{db: outbox}
	svc, err := signin.New(signin.Config{Store: db, Hasher: h, Secret: make([]byte, 32), Observe: m.SignIn, ObserveDelivery: m.Delivery, Messenger: box, NormalizePhone: phone.Normalize, Policy: password.DefaultPolicy(), Now: opt.now})
	if err != nil {
		t.Fatal(err)
	}
	s := gatehouse.DefaultPasswordSettings()
	s.EnforceTwoFactor = false
	org := &gatehouse.Organization{ID: gatehouse.NewID(), Slug: "clinic", Name: "Clinic", Settings: s}
	if err := db.CreateOrganization(ctx, org); err != nil {
		t.Fatal(err)
	}
	hash, _ := h.Hash(ctx, testPassword)
	if err := db.CreateUser(ctx, &gatehouse.User{ID: gatehouse.NewID(), OrgID: org.ID, Email: "staff@clinic.test", Name: "Staff", Role: gatehouse.RoleMember, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	strict := &gatehouse.Organization{ID: gatehouse.NewID(), Slug: "strict", Name: "Strict", Settings: gatehouse.DefaultPasswordSettings()}
	if err := db.CreateOrganization(ctx, strict); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateUser(ctx, &gatehouse.User{ID: gatehouse.NewID(), OrgID: strict.ID, Email: "staff@strict.test", Role: gatehouse.RoleMember, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}

	e := &env{t: t, db: db, ready: &pinger{}, box: box}
	e.srv = httptest.NewUnstartedServer(nil)
	pub := opt.publicURL
	if pub == "" {
		pub = "http://" + e.srv.Listener.Addr().String()
	}
	u, _ := url.Parse(pub)
	acc, err := accounts.New(accounts.Config{Store: db, Hasher: h, Policy: password.DefaultPolicy(), Phone: phone.Normalize, Now: opt.now,
		Secret: make([]byte, 32), PublicURL: pub, Messenger: box, SMSAvailable: true})
	if err != nil {
		t.Fatal(err)
	}
	returns := opt.returns
	if returns == nil { // as serve has it: local paths only
		r, err := forwardauth.NewReturns(u, nil)
		if err != nil {
			t.Fatal(err)
		}
		returns = r
	}
	handler, err := web.New(web.Config{SignIn: svc, Accounts: acc, Console: acc, SMSAvailable: true, Ready: e.ready, Outbox: db, Orgs: db, ClientIP: clientip.New(nil),
		Metrics: m, PublicURL: u, Dev: opt.dev, CookieDomain: opt.cookieDomain, ReturnURLs: returns, ForwardAuth: opt.forwardAuth})
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Config.Handler = handler
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	jar, _ := cookiejar.New(nil)
	e.client = &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return e
}

func (e *env) do(method, path, contentType, body string, header ...string) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { res.Body.Close() })
	return res
}

func (e *env) login(org, email, pw string) *http.Response {
	e.t.Helper()
	return e.do("POST", "/api/v1/login", "application/json",
		`{"organization":"`+org+`","email":"`+email+`","password":"`+pw+`"}`)
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func wantStatus(t *testing.T, res *http.Response, want int) string {
	t.Helper()
	b := body(t, res)
	if res.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d; body %s", res.Request.Method, res.Request.URL.Path, res.StatusCode, want, b)
	}
	return b
}

func TestAPISignInSessionAndSignOut(t *testing.T) {
	e := newEnv(t, options{})
	b := wantStatus(t, e.login("clinic", "staff@clinic.test", testPassword), 200)
	if want := `{"status":"authenticated","two_factor":{"state":"not_enforced"}}`; strings.TrimSpace(b) != want {
		t.Errorf("login body = %s, want %s", b, want)
	}
	b = wantStatus(t, e.do("GET", "/api/v1/session", "", ""), 200)
	for _, want := range []string{`"email":"staff@clinic.test"`, `"slug":"clinic"`, `"state":"not_enforced"`, `"authenticated_at":"`} {
		if !strings.Contains(b, want) {
			t.Errorf("session body %s lacks %s", b, want)
		}
	}
	u, _ := url.Parse(e.srv.URL)
	held := e.client.Jar.Cookies(u)
	res := e.do("POST", "/api/v1/logout", "", "")
	wantStatus(t, res, 204)
	for _, c := range e.client.Jar.Cookies(u) {
		if strings.Contains(c.Name, "gatehouse_session") {
			t.Error("logout did not clear the session cookie")
		}
	}
	e.client.Jar.SetCookies(u, held)
	b = wantStatus(t, e.do("GET", "/api/v1/session", "", ""), 401)
	if !strings.Contains(b, `"code":"unauthorized"`) {
		t.Errorf("the signed-out session's cookie still works: %s", b)
	}
}

func TestWrongPasswordAndUnknownEmailAnswerAlike(t *testing.T) {
	e := newEnv(t, options{})
	a := wantStatus(t, e.login("clinic", "staff@clinic.test", "not the password"), 401)
	b := wantStatus(t, e.login("clinic", "nobody@clinic.test", "not the password"), 401)
	if a != b {
		t.Errorf("wrong password answered %s but unknown e-mail %s", a, b)
	}
	if !strings.Contains(a, `"code":"invalid_credentials"`) {
		t.Errorf("body %s lacks invalid_credentials", a)
	}
}

func TestThrottledSignInsCarryRetryAfter(t *testing.T) {
	e := newEnv(t, options{})
	for range 5 {
		wantStatus(t, e.login("clinic", "staff@clinic.test", "not the password"), 401)
	}
	res := e.login("clinic", "staff@clinic.test", testPassword)
	b := wantStatus(t, res, 429)
	if res.Header.Get("Retry-After") != "30" || !strings.Contains(b, `"code":"too_many_attempts"`) {
		t.Errorf("Retry-After %q, body %s", res.Header.Get("Retry-After"), b)
	}
}

func TestCookies(t *testing.T) {
	t.Run("are HttpOnly and SameSite=Lax on http, without Secure", func(t *testing.T) {
		e := newEnv(t, options{})
		res := e.login("clinic", "staff@clinic.test", testPassword)
		c := sessionCookie(t, res)
		if c.Name != "gatehouse_session" || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure || c.Path != "/" {
			t.Errorf("cookie %+v", c)
		}
	})
	t.Run("carry the __Host- prefix and Secure with an https public URL", func(t *testing.T) {
		e := newEnv(t, options{publicURL: "https://login.example.test"})
		res := e.do("POST", "/api/v1/login", "application/json",
			`{"organization":"clinic","email":"staff@clinic.test","password":"`+testPassword+`"}`)
		c := sessionCookie(t, res)
		if c.Name != "__Host-gatehouse_session" || !c.Secure || !c.HttpOnly || c.Domain != "" || c.Path != "/" {
			t.Errorf("cookie %+v", c)
		}
		if res.Header.Get("Strict-Transport-Security") == "" {
			t.Error("no HSTS header with an https public URL")
		}
	})
}

func sessionCookie(t *testing.T, res *http.Response) *http.Cookie {
	t.Helper()
	wantStatus(t, res, 200)
	for _, c := range res.Cookies() {
		if strings.Contains(c.Name, "gatehouse_session") {
			return c
		}
	}
	t.Fatal("no session cookie set")
	return nil
}

func TestJSONDecodingIsStrict(t *testing.T) {
	e := newEnv(t, options{})
	cases := []struct {
		name, ctype, body string
		status            int
		code              string
	}{
		{"an unknown field is refused", "application/json", `{"organization":"clinic","email":"a@b.test","password":"x","admin":true}`, 400, "invalid_input"},
		{"two objects are refused", "application/json", `{"organization":"clinic","email":"a@b.test","password":"x"}{}`, 400, "invalid_input"},
		{"broken JSON is refused", "application/json", `{"organization":`, 400, "invalid_input"},
		{"a wrong type is refused", "application/json", `{"organization":1}`, 400, "invalid_input"},
		{"a form body is refused", "application/x-www-form-urlencoded", `organization=clinic`, 415, "unsupported_media_type"},
		{"a missing e-mail is named", "application/json", `{"organization":"clinic","password":"x"}`, 400, "invalid_input"},
		{"a body over the bound is refused", "application/json", `{"organization":"` + strings.Repeat("a", 70<<10) + `"}`, 413, "request_too_large"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := wantStatus(t, e.do("POST", "/api/v1/login", tc.ctype, tc.body), tc.status)
			if !strings.Contains(b, `"code":"`+tc.code+`"`) {
				t.Errorf("body %s lacks code %s", b, tc.code)
			}
		})
	}
}

func TestCrossOriginUnsafeRequestsAreRefused(t *testing.T) {
	e := newEnv(t, options{})
	res := e.do("POST", "/api/v1/login", "application/json",
		`{"organization":"clinic","email":"staff@clinic.test","password":"`+testPassword+`"}`,
		"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
	wantStatus(t, res, 403)
	res = e.do("POST", "/login", "application/x-www-form-urlencoded",
		url.Values{"organization": {"clinic"}, "email": {"staff@clinic.test"}, "password": {testPassword}}.Encode(),
		"Origin", "https://evil.example")
	wantStatus(t, res, 403)
	// A same-origin browser request passes.
	res = e.do("POST", "/api/v1/login", "application/json",
		`{"organization":"clinic","email":"staff@clinic.test","password":"`+testPassword+`"}`,
		"Sec-Fetch-Site", "same-origin")
	wantStatus(t, res, 200)
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	e := newEnv(t, options{})
	for _, path := range []string{"/login", "/api/v1/session", "/nowhere", "/healthz"} {
		res := e.do("GET", path, "", "")
		h := res.Header
		if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: nosniff %q, referrer %q", path, h.Get("X-Content-Type-Options"), h.Get("Referrer-Policy"))
		}
	}
}

func TestLoginPage(t *testing.T) {
	e := newEnv(t, options{})
	doc := parseHTML(t, wantStatus(t, e.do("GET", "/login", "", ""), 200))
	for id, ac := range map[string]string{"organization": "organization", "email": "username", "password": "current-password"} {
		in := findByID(doc, id)
		if in == nil {
			t.Fatalf("no input #%s", id)
		}
		if got := attr(in, "autocomplete"); got != ac {
			t.Errorf("#%s autocomplete = %q, want %q", id, got, ac)
		}
		if findLabelFor(doc, id) == nil {
			t.Errorf("#%s has no label", id)
		}
	}

	t.Run("signs in with the form and goes home", func(t *testing.T) {
		res := e.do("POST", "/login", "application/x-www-form-urlencoded",
			url.Values{"organization": {"clinic"}, "email": {"staff@clinic.test"}, "password": {testPassword}}.Encode())
		if res.StatusCode != 303 || res.Header.Get("Location") != "/" {
			t.Fatalf("status %d location %q", res.StatusCode, res.Header.Get("Location"))
		}
		home := wantStatus(t, e.do("GET", "/", "", ""), 200)
		if !strings.Contains(home, "staff@clinic.test") {
			t.Errorf("home page does not show the user: %s", home)
		}
	})
	t.Run("shows a wrong password as an alert on the form", func(t *testing.T) {
		res := e.do("POST", "/o/clinic/login", "application/x-www-form-urlencoded",
			url.Values{"email": {"staff@clinic.test"}, "password": {"not the password"}}.Encode())
		doc := parseHTML(t, wantStatus(t, res, 401))
		alert := findByID(doc, "form-error")
		if alert == nil || attr(alert, "role") != "alert" || !strings.Contains(text(alert), "incorrect") {
			t.Errorf("no alert naming the failure")
		}
		if pw := findByID(doc, "password"); attr(pw, "aria-invalid") != "true" || attr(pw, "aria-describedby") != "form-error" {
			t.Error("the password field is not tied to the error")
		}
	})
}

func TestDevOutboxOnlyInDevMode(t *testing.T) {
	wantStatus(t, newEnv(t, options{}).do("GET", "/dev/outbox", "", ""), 404)
	e := newEnv(t, options{dev: true})
	if err := e.db.AddOutboxMessage(context.Background(), &gatehouse.OutboxMessage{Channel: "email", To: "staff@clinic.test", Subject: "Hello", Body: "A message body"}); err != nil {
		t.Fatal(err)
	}
	b := wantStatus(t, e.do("GET", "/dev/outbox", "", ""), 200)
	if !strings.Contains(b, "A message body") {
		t.Errorf("outbox page lacks the message: %s", b)
	}
}

func TestHealthReadinessAndMetrics(t *testing.T) {
	e := newEnv(t, options{})
	wantStatus(t, e.do("GET", "/healthz", "", ""), 200)
	wantStatus(t, e.do("GET", "/readyz", "", ""), 200)
	e.ready.err = errors.New("connection refused")
	b := wantStatus(t, e.do("GET", "/readyz", "", ""), 503)
	if strings.Contains(b, "connection refused") {
		t.Error("readiness leaks the internal error")
	}
	e.login("clinic", "staff@clinic.test", testPassword)
	e.login("clinic", "staff@clinic.test", "not the password")
	m := wantStatus(t, e.do("GET", "/metrics", "", ""), 200)
	for _, want := range []string{
		`gatehouse_signins_total{outcome="authenticated"} 1`,
		`gatehouse_signins_total{outcome="invalid_credentials"} 1`,
		`gatehouse_password_hash_wait_seconds_count`,
		`gatehouse_http_request_duration_seconds_count{code="200",method="POST",route="POST /api/v1/login"}`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestUnknownAPIPathsAnswerJSON(t *testing.T) {
	e := newEnv(t, options{})
	res := e.do("GET", "/api/v1/nothing", "", "")
	b := wantStatus(t, res, 404)
	if res.Header.Get("Content-Type") != "application/json" || !strings.Contains(b, `"code":"not_found"`) {
		t.Errorf("got %s %s", res.Header.Get("Content-Type"), b)
	}
}

func TestClientAddressComesFromTheConnection(t *testing.T) {
	// A client without trusted proxies cannot choose its address with a
	// header: the skip network does not let it in.
	e := newEnv(t, options{})
	ctx := context.Background()
	org, err := e.db.OrganizationBySlug(ctx, "strict")
	if err != nil {
		t.Fatal(err)
	}
	s := org.Settings
	s.SkipNetworks = []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}
	if err := e.db.UpdatePasswordSettings(ctx, org.ID, s, org.UpdatedAt); err != nil {
		t.Fatal(err)
	}
	res := e.do("POST", "/api/v1/login", "application/json",
		`{"organization":"strict","email":"staff@strict.test","password":"`+testPassword+`"}`,
		"X-Forwarded-For", "203.0.113.5", "Forwarded", "for=203.0.113.5")
	if b := wantStatus(t, res, 200); !strings.Contains(b, `"status":"code_sent"`) {
		t.Errorf("a spoofed header skipped the code: %s", b)
	}
}

func parseHTML(t *testing.T, s string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func find(n *html.Node, ok func(*html.Node) bool) *html.Node {
	if n.Type == html.ElementNode && ok(n) {
		return n
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if f := find(c, ok); f != nil {
			return f
		}
	}
	return nil
}

func findByID(doc *html.Node, id string) *html.Node {
	return find(doc, func(n *html.Node) bool { return attr(n, "id") == id })
}

func findLabelFor(doc *html.Node, id string) *html.Node {
	return find(doc, func(n *html.Node) bool { return n.Data == "label" && attr(n, "for") == id })
}

func attr(n *html.Node, key string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// hasAttr reports whether n has the attribute key (hidden, checked, …).
func hasAttr(n *html.Node, key string) bool {
	if n == nil {
		return false
	}
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

// brokenSignIn fails as a driver would, with internals in the message. The
// methods it does not define are never called by this test.
type brokenSignIn struct{ web.SignIn }

var errInternal = errors.New(`pq: password authentication failed for user "gatehouse" at 10.0.0.5`)

func (brokenSignIn) Login(context.Context, signin.LoginRequest) (*signin.LoginResult, error) {
	return nil, errInternal
}
func (brokenSignIn) Authenticate(context.Context, string) (*signin.Current, error) {
	return nil, errInternal
}
func (brokenSignIn) Logout(context.Context, string, netip.Addr) error { return errInternal }

func TestInternalErrorsShowNothingInternal(t *testing.T) {
	u, _ := url.Parse("http://127.0.0.1")
	h, err := web.New(web.Config{SignIn: brokenSignIn{}, Accounts: &accounts.Service{}, Console: &accounts.Service{}, Ready: &pinger{}, ClientIP: clientip.New(nil), PublicURL: u})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ method, path, ctype, body string }{
		{"POST", "/api/v1/login", "application/json", `{"organization":"a","email":"a@b.test","password":"x"}`},
		{"GET", "/api/v1/session", "", ""},
		{"GET", "/", "", ""},
		{"POST", "/login", "application/x-www-form-urlencoded", "organization=a&email=a@b.test&password=x"},
	} {
		req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
		if tc.ctype != "" {
			req.Header.Set("Content-Type", tc.ctype)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		b := rec.Body.String()
		if rec.Code != 500 || !strings.Contains(b, "Internal error.") {
			t.Errorf("%s %s: %d %s, want 500 Internal error.", tc.method, tc.path, rec.Code, b)
		}
		for _, leak := range []string{"pq:", "10.0.0.5", "gatehouse\""} {
			if strings.Contains(b, leak) {
				t.Errorf("%s %s leaks %q: %s", tc.method, tc.path, leak, b)
			}
		}
	}
}

// outboxMessenger keeps codes and notices in the development outbox, as
// dev mode does, so tests read them the way a developer would.
type outboxMessenger struct {
	db         *sqlstore.DB
	mu         sync.Mutex
	fail       bool
	failNotice bool // notices (links, warnings) fail to go out
}

func (o *outboxMessenger) SendCode(ctx context.Context, m gatehouse.CodeMessage) error {
	o.mu.Lock()
	fail := o.fail
	o.mu.Unlock()
	if fail {
		return errors.New("provider down")
	}
	return o.db.AddOutboxMessage(ctx, &gatehouse.OutboxMessage{Channel: string(m.Channel), To: m.To, Subject: "code", Body: m.Code, CreatedAt: time.Now()})
}

func (o *outboxMessenger) Notify(ctx context.Context, n gatehouse.Notice) error {
	o.mu.Lock()
	fail := o.failNotice
	o.mu.Unlock()
	if fail {
		return errors.New("mail server down")
	}
	return o.db.AddOutboxMessage(ctx, &gatehouse.OutboxMessage{Channel: "email", To: n.To, Subject: n.Kind, Body: n.Link, CreatedAt: time.Now()})
}

// lastCode is the newest code in the outbox.
func (e *env) lastCode() string {
	e.t.Helper()
	msgs, err := e.box.db.ListOutboxMessages(context.Background(), 50)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Subject == "code" {
			return m.Body
		}
	}
	e.t.Fatal("no code in the outbox")
	return ""
}

func cookiejarNew() (*cookiejar.Jar, error) { return cookiejar.New(nil) }

func TestAssetsCarryTheirTypes(t *testing.T) {
	// The server sends nosniff, so a browser uses an asset only if its
	// Content-Type is right.
	e := newEnv(t, options{})
	e.addStrictOrg(nil)
	e.login("acme", "member@acme.test", testPassword)
	doc := parseHTML(t, wantStatus(t, e.do("GET", "/login/code", "", ""), 200))
	css := find(doc, func(n *html.Node) bool { return n.Data == "link" && attr(n, "rel") == "stylesheet" })
	js := find(doc, func(n *html.Node) bool { return n.Data == "script" })
	for _, a := range []struct{ url, want string }{{attr(css, "href"), "text/css"}, {attr(js, "src"), "text/javascript"}} {
		res := e.do("GET", a.url, "", "")
		wantStatus(t, res, 200)
		if !strings.HasPrefix(res.Header.Get("Content-Type"), a.want) || !strings.Contains(res.Header.Get("Cache-Control"), "immutable") {
			t.Errorf("%s: Content-Type %q, Cache-Control %q", a.url, res.Header.Get("Content-Type"), res.Header.Get("Cache-Control"))
		}
	}
}
