package forwardauth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/clientip"
	"github.com/gatehousehq/gatehouse/internal/forwardauth"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

// joseSigner is a real ES256 signer, as the OIDC provider's keys will be.
type joseSigner struct {
	key *ecdsa.PrivateKey
	kid string
	err error // when set, signing fails
}

func newSigner(t testing.TB) *joseSigner {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &joseSigner{key: key, kid: "test-key-1"}
}

func (s *joseSigner) SignAssertion(_ context.Context, claims map[string]any) (string, error) {
	if s.err != nil {
		return "", s.err
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: s.key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", s.kid))
	if err != nil {
		return "", err
	}
	return jwt.Signed(sig).Claims(claims).Serialize()
}

// sessions is the sign-in service's session check: one token, one user.
type sessions struct {
	token string
	cur   *signin.Current
	err   error // what any token answers when set
}

func (s *sessions) Authenticate(_ context.Context, token string) (*signin.Current, error) {
	if s.err != nil {
		return nil, s.err
	}
	if token == "" || token != s.token {
		return nil, gatehouse.Errorf(gatehouse.EUNAUTHORIZED, "You are not signed in.")
	}
	return s.cur, nil
}

var now = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

func member(role gatehouse.Role, name string) *signin.Current {
	return &signin.Current{
		Session:      &gatehouse.Session{UserID: "u1", OrgID: "o1", TwoFactorState: gatehouse.TwoFactorVerified, CreatedAt: now.Add(-time.Hour)},
		User:         &gatehouse.User{ID: "u1", OrgID: "o1", Email: "nurse@acme.test", Name: name, Role: role},
		Organization: &gatehouse.Organization{ID: "o1", Slug: "acme", Name: "Acme Clinic"},
	}
}

type fixture struct {
	h      *forwardauth.Handler
	signer *joseSigner
	sess   *sessions
	at     time.Time // the handler's clock
}

func newFixture(t *testing.T, cur *signin.Current, withSigner bool) *fixture {
	t.Helper()
	public, _ := url.Parse("https://login.acme.test")
	hosts, err := forwardauth.ParseHosts(".acme.test, wiki.example.org")
	if err != nil {
		t.Fatal(err)
	}
	returns, err := forwardauth.NewReturns(public, hosts)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{sess: &sessions{token: "good-token", cur: cur}, at: now}
	cfg := forwardauth.Config{
		Sessions: f.sess, Proxies: clientip.New([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}),
		Returns: returns, SessionCookie: "__Secure-gatehouse_session", PublicURL: public,
		Issuer: "https://login.acme.test", Now: func() time.Time { return f.at },
	}
	if withSigner {
		f.signer = newSigner(t)
		cfg.Signer = f.signer
	}
	if f.h, err = forwardauth.New(cfg); err != nil {
		t.Fatal(err)
	}
	return f
}

// request is what a proxy sends: from peer, with the forwarding headers.
type request struct {
	path    string
	host    string // the Host header; login.acme.test when empty
	peer    string
	cookie  string
	headers map[string]string
}

func (f *fixture) do(req request) *http.Response {
	r := httptest.NewRequest("GET", "http://login.acme.test"+req.path, nil)
	if req.host != "" {
		r.Host = req.host
	}
	r.RemoteAddr = req.peer
	if r.RemoteAddr == "" {
		r.RemoteAddr = "10.0.0.2:40000"
	}
	if req.cookie != "" {
		r.AddCookie(&http.Cookie{Name: "__Secure-gatehouse_session", Value: req.cookie})
	}
	for k, v := range req.headers {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	u, _ := url.Parse(req.path)
	if u.Path == "/auth/request" {
		f.h.Request(w, r)
	} else {
		f.h.Forward(w, r)
	}
	return w.Result()
}

var fromApp = map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "app.acme.test", "X-Forwarded-Uri": "/charts?id=7"}

func TestASignedInBrowserGetsEveryHeader(t *testing.T) {
	for _, path := range []string{"/auth/forward", "/auth/request"} {
		t.Run(path, func(t *testing.T) {
			f := newFixture(t, member(gatehouse.RoleMember, "Nora Nurse"), true)
			res := f.do(request{path: path, cookie: "good-token", headers: fromApp})
			if res.StatusCode != 200 {
				t.Fatalf("status %d, want 200", res.StatusCode)
			}
			want := map[string]string{"Remote-User": "nurse@acme.test", "Remote-Email": "nurse@acme.test", "Remote-Name": "Nora Nurse",
				"Remote-Organization": "acme", "Remote-Role": "member", "Remote-Two-Factor": "verified"}
			for k, v := range want {
				if got := res.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if res.Header.Get("Remote-Assertion") == "" {
				t.Error("no Remote-Assertion")
			}
		})
	}
}

func TestUnknownValuesAreEmptyHeadersNotMissingOnes(t *testing.T) {
	f := newFixture(t, member(gatehouse.RoleMember, ""), false)
	res := f.do(request{path: "/auth/forward", cookie: "good-token", headers: fromApp})
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	for _, h := range forwardauth.Headers {
		if _, ok := res.Header[h]; !ok {
			t.Errorf("%s is missing; every header must be set, empty when unknown", h)
		}
	}
	if got := res.Header.Get("Remote-Name"); got != "" {
		t.Errorf("Remote-Name = %q, want empty", got)
	}
	if got := res.Header.Get("Remote-Assertion"); got != "" {
		t.Errorf("Remote-Assertion without a signer = %q, want empty", got)
	}
}

func TestAControlCharacterInANameStaysOnOneHeaderLine(t *testing.T) {
	f := newFixture(t, member(gatehouse.RoleMember, "Nora\r\nRemote-Role: admin"), false)
	res := f.do(request{path: "/auth/forward", cookie: "good-token", headers: fromApp})
	if got := res.Header.Get("Remote-Name"); got != "Nora  Remote-Role: admin" {
		t.Errorf("Remote-Name = %q", got)
	}
	if got := res.Header.Values("Remote-Role"); !slices.Equal(got, []string{"member"}) {
		t.Errorf("Remote-Role = %q, want [member]", got)
	}
}

func TestTheAssertionIsAOneMinuteJWTForTheRequestedHost(t *testing.T) {
	f := newFixture(t, member(gatehouse.RoleAdmin, "Ada Admin"), true)
	res := f.do(request{path: "/auth/forward", cookie: "good-token",
		headers: map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "App.Acme.Test:8443", "X-Forwarded-Uri": "/"}})
	raw := res.Header.Get("Remote-Assertion")
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("Remote-Assertion %q: %v", raw, err)
	}
	if len(tok.Headers) != 1 || tok.Headers[0].KeyID != "test-key-1" {
		t.Errorf("JWS headers %+v, want the signer's kid", tok.Headers)
	}
	var std jwt.Claims
	var own struct {
		Email        string `json:"email"`
		Name         string `json:"name"`
		Organization string `json:"organization"`
		Role         string `json:"role"`
		TwoFactor    string `json:"two_factor"`
		AuthTime     int64  `json:"auth_time"`
	}
	if err := tok.Claims(&f.signer.key.PublicKey, &std, &own); err != nil {
		t.Fatalf("the assertion does not verify with the signer's public key: %v", err)
	}
	if err := std.ValidateWithLeeway(jwt.Expected{Issuer: "https://login.acme.test", Subject: "u1",
		AnyAudience: jwt.Audience{"app.acme.test"}, Time: now}, 0); err != nil {
		t.Errorf("claims %+v: %v", std, err)
	}
	if got := std.Expiry.Time().Sub(std.IssuedAt.Time()); got != time.Minute {
		t.Errorf("lifetime %v, want one minute", got)
	}
	if err := std.ValidateWithLeeway(jwt.Expected{Time: now.Add(61 * time.Second)}, 0); err == nil {
		t.Error("the assertion is still valid after a minute")
	}
	if err := std.ValidateWithLeeway(jwt.Expected{AnyAudience: jwt.Audience{"wiki.example.org"}, Time: now}, 0); err == nil {
		t.Error("the assertion for app.acme.test is accepted by another host")
	}
	if std.ID == "" {
		t.Error("no jti")
	}
	if own.Email != "nurse@acme.test" || own.Name != "Ada Admin" || own.Organization != "acme" || own.Role != "admin" ||
		own.TwoFactor != "verified" || own.AuthTime != now.Add(-time.Hour).Unix() {
		t.Errorf("identity claims %+v", own)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err := tok.Claims(&other.PublicKey, &std); err == nil {
		t.Error("the assertion verifies with another key")
	}
}

func TestASigningFailureGivesNoHeaders(t *testing.T) {
	f := newFixture(t, member(gatehouse.RoleMember, "Nora"), true)
	f.signer.err = errors.New("no key")
	res := f.do(request{path: "/auth/forward", cookie: "good-token", headers: fromApp})
	if res.StatusCode != 500 || res.Header.Get("Remote-User") != "" {
		t.Errorf("status %d, Remote-User %q; want 500 without identity", res.StatusCode, res.Header.Get("Remote-User"))
	}
}

func TestWithoutASessionTheBrowserIsSentToSignIn(t *testing.T) {
	tests := []struct {
		name, path, cookie string
		headers            map[string]string
		status             int
		location           string
	}{
		{"forward: no cookie", "/auth/forward", "", fromApp, 302,
			"https://login.acme.test/login?rd=https%3A%2F%2Fapp.acme.test%2Fcharts%3Fid%3D7"},
		{"forward: a stale cookie", "/auth/forward", "stale", fromApp, 302,
			"https://login.acme.test/login?rd=https%3A%2F%2Fapp.acme.test%2Fcharts%3Fid%3D7"},
		{"request (nginx): 401 with the sign-in page in Location", "/auth/request", "", fromApp, 401,
			"https://login.acme.test/login?rd=https%3A%2F%2Fapp.acme.test%2Fcharts%3Fid%3D7"},
		{"a site of one organization signs in there", "/auth/forward?org=acme", "", fromApp, 302,
			"https://login.acme.test/o/acme/login?rd=https%3A%2F%2Fapp.acme.test%2Fcharts%3Fid%3D7"},
		{"a site of two organizations asks for the organization", "/auth/forward?org=acme&org=beta", "", fromApp, 302,
			"https://login.acme.test/login?rd=https%3A%2F%2Fapp.acme.test%2Fcharts%3Fid%3D7"},
		{"without X-Forwarded-Uri the return is the site's root", "/auth/forward", "",
			map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "app.acme.test"}, 302,
			"https://login.acme.test/login?rd=https%3A%2F%2Fapp.acme.test%2F"},
		{"an http return is refused when Gatehouse is https: no return URL", "/auth/forward", "",
			map[string]string{"X-Forwarded-Proto": "http", "X-Forwarded-Host": "app.acme.test", "X-Forwarded-Uri": "/"}, 302,
			"https://login.acme.test/login"},
		{"a protocol-relative X-Forwarded-Uri is the site's root", "/auth/forward", "",
			map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "app.acme.test", "X-Forwarded-Uri": "//evil.test/x"}, 302,
			"https://login.acme.test/login?rd=https%3A%2F%2Fapp.acme.test%2F%2Fevil.test%2Fx"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, member(gatehouse.RoleMember, "Nora"), true)
			res := f.do(request{path: tc.path, cookie: tc.cookie, headers: tc.headers})
			if res.StatusCode != tc.status || res.Header.Get("Location") != tc.location {
				t.Errorf("got %d Location %q, want %d %q", res.StatusCode, res.Header.Get("Location"), tc.status, tc.location)
			}
			if res.Header.Get("Remote-User") != "" {
				t.Error("identity headers without a session")
			}
		})
	}
}

func TestForwardingHeadersAreBelievedOnlyFromTrustedProxies(t *testing.T) {
	f := newFixture(t, member(gatehouse.RoleMember, "Nora"), true)
	// A client straight at Gatehouse names a host: it is not believed, so
	// there is nothing to return to but Gatehouse itself.
	res := f.do(request{path: "/auth/forward", peer: "203.0.113.9:5000", headers: fromApp})
	if res.StatusCode != 302 || res.Header.Get("Location") != "https://login.acme.test/login" {
		t.Errorf("untrusted peer: %d %q, want 302 to the bare sign-in page", res.StatusCode, res.Header.Get("Location"))
	}
	res = f.do(request{path: "/auth/forward", peer: "203.0.113.9:5000", cookie: "good-token",
		headers: map[string]string{"X-Forwarded-Host": "evil.test", "X-Forwarded-Proto": "https", "X-Forwarded-Uri": "/"}})
	if res.StatusCode != 200 {
		t.Errorf("untrusted peer naming an unknown host: %d; its header is ignored, so 200 for Gatehouse's own host", res.StatusCode)
	}
	// Nor is the Host header, which the client chooses: the assertion of
	// an untrusted peer's request is for Gatehouse itself.
	res = f.do(request{path: "/auth/forward", peer: "203.0.113.9:5000", cookie: "good-token", host: "app.acme.test"})
	tok, err := jwt.ParseSigned(res.Header.Get("Remote-Assertion"), []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	var std jwt.Claims
	if err := tok.Claims(&f.signer.key.PublicKey, &std); err != nil || !slices.Equal([]string(std.Audience), []string{"login.acme.test"}) {
		t.Errorf("untrusted peer with Host app.acme.test: audience %q (%v), want login.acme.test", std.Audience, err)
	}
}

func TestOnlyAllowedHostsAreServed(t *testing.T) {
	tests := []struct {
		name    string
		headers map[string]string
		status  int
	}{
		{"an unknown host", map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.test", "X-Forwarded-Uri": "/"}, 403},
		{"a host that only ends like an allowed domain", map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evilacme.test", "X-Forwarded-Uri": "/"}, 403},
		{"userinfo in the host", map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "app.acme.test@evil.test", "X-Forwarded-Uri": "/"}, 403},
		{"a path in the host", map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.test/.acme.test", "X-Forwarded-Uri": "/"}, 403},
		{"two hosts in one header", map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "app.acme.test, evil.test", "X-Forwarded-Uri": "/"}, 400},
		{"the suffix rule's own domain", map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "acme.test", "X-Forwarded-Uri": "/"}, 302},
		{"an exact host", map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "wiki.example.org", "X-Forwarded-Uri": "/"}, 302},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, member(gatehouse.RoleMember, "Nora"), true)
			for _, cookie := range []string{"", "good-token"} {
				res := f.do(request{path: "/auth/forward", cookie: cookie, headers: tc.headers})
				want := tc.status
				if want == 302 && cookie != "" {
					want = 200
				}
				if res.StatusCode != want {
					t.Errorf("cookie %q: status %d, want %d", cookie, res.StatusCode, want)
				}
				if want != 302 && res.Header.Get("Location") != "" {
					t.Errorf("cookie %q: Location %q on a refusal", cookie, res.Header.Get("Location"))
				}
			}
		})
	}
}

func TestASiteLimitedToAnOrganizationOrItsAdmins(t *testing.T) {
	tests := []struct {
		name  string
		query string
		role  gatehouse.Role
		want  int
	}{
		{"the organization's member", "?org=acme", gatehouse.RoleMember, 200},
		{"another organization's site", "?org=beta", gatehouse.RoleMember, 403},
		{"one of two organizations", "?org=beta&org=acme", gatehouse.RoleMember, 200},
		{"a member where admins are asked for", "?org=acme&role=admin", gatehouse.RoleMember, 403},
		{"an admin where admins are asked for", "?org=acme&role=admin", gatehouse.RoleAdmin, 200},
		{"an admin of another organization", "?org=beta&role=admin", gatehouse.RoleAdmin, 403},
		{"role=member lets every member in", "?role=member", gatehouse.RoleMember, 200},
		{"an unknown role is a configuration error", "?role=owner", gatehouse.RoleAdmin, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, member(tc.role, "Nora"), true)
			for _, path := range []string{"/auth/forward", "/auth/request"} {
				res := f.do(request{path: path + tc.query, cookie: "good-token", headers: fromApp})
				if res.StatusCode != tc.want {
					t.Errorf("%s: status %d, want %d", path, res.StatusCode, tc.want)
				}
				if tc.want != 200 && res.Header.Get("Remote-User") != "" {
					t.Errorf("%s: identity headers on a refusal", path)
				}
			}
		})
	}
}

func TestAnUnavailableSessionStoreFailsClosed(t *testing.T) {
	f := newFixture(t, member(gatehouse.RoleMember, "Nora"), true)
	f.sess.err = &gatehouse.Error{Code: gatehouse.EUNAVAILABLE, Message: "Sign-in is unavailable right now."}
	res := f.do(request{path: "/auth/request", cookie: "good-token", headers: fromApp})
	if res.StatusCode != 503 || res.Header.Get("Remote-User") != "" {
		t.Errorf("status %d, want 503 without identity", res.StatusCode)
	}
}

func TestNewNamesEveryMissingField(t *testing.T) {
	_, err := forwardauth.New(forwardauth.Config{})
	if err == nil {
		t.Fatal("New accepted an empty Config")
	}
	for _, f := range []string{"Sessions", "Proxies", "Returns", "SessionCookie", "PublicURL"} {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not name %s", err, f)
		}
	}
}

// One assertion is given again to the requests of one session to one
// host for AssertionReuse while what it says holds; another host, a
// change of what it says, or the time passing gets a new one, and an
// ended session gets none.
func TestAnAssertionIsReusedBrieflyForOneSessionAndHost(t *testing.T) {
	cur := member(gatehouse.RoleMember, "Nurse Joy")
	cur.Session.PublicID = "s1"
	f := newFixture(t, cur, true)
	assertionFor := func(host string) string {
		t.Helper()
		res := f.do(request{path: "/auth/request", cookie: "good-token",
			headers: map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": host, "X-Forwarded-Uri": "/"}})
		if res.StatusCode != 200 {
			t.Fatalf("check for %s: %d", host, res.StatusCode)
		}
		return res.Header.Get(forwardauth.HeaderAssertion)
	}
	first := assertionFor("app.acme.test")
	f.at = now.Add(forwardauth.AssertionReuse - time.Second)
	if again := assertionFor("app.acme.test"); again != first {
		t.Error("a second request within the reuse window got a new signature")
	}
	if other := assertionFor("wiki.example.org"); other == first {
		t.Error("another host got the same assertion")
	}
	cur.User.Name = "Nurse Joy Renamed"
	if renamed := assertionFor("app.acme.test"); renamed == first {
		t.Error("an assertion was given again after what it says changed")
	}
	cur.User.Name = "Nurse Joy"
	f.at = now.Add(forwardauth.AssertionReuse)
	if later := assertionFor("app.acme.test"); later == first {
		t.Error("an assertion was given again after the reuse window")
	}
	f.sess.token = "" // signed out
	if res := f.do(request{path: "/auth/request", cookie: "good-token", headers: fromApp}); res.StatusCode != 401 || res.Header.Get(forwardauth.HeaderAssertion) != "" {
		t.Errorf("an ended session: %d with assertion %q; want 401 and none", res.StatusCode, res.Header.Get(forwardauth.HeaderAssertion))
	}
}
