package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehousehq/gatehouse/internal/testdb"
)

// rpHost is the relying party's address: nothing listens there; the
// browser stops at the redirect to it and the test reads the code.
const rpHost = "127.0.0.1:9"

// testRP is a real relying party (golang.org/x/oauth2 + coreos/go-oidc)
// against the real server, and a browser with a cookie jar.
type testRP struct {
	t        *testing.T
	te       *testEnv
	base     string
	provider *gooidc.Provider
	conf     oauth2.Config
	verifier *gooidc.IDTokenVerifier
	email    string
	password string
}

// clientFromCLI runs gatehouse client create and returns the id and secret.
func clientFromCLI(t *testing.T, te *testEnv, args ...string) (id, secret string) {
	t.Helper()
	out := te.mustCLI("", append([]string{"client", "create"}, args...)...)
	if m := regexp.MustCompile(`client_id: (\S+)`).FindStringSubmatch(out); m != nil {
		id = m[1]
	}
	if m := regexp.MustCompile(`client_secret: (\S+)`).FindStringSubmatch(out); m != nil {
		secret = m[1]
	}
	if id == "" {
		t.Fatalf("client create said %q", out)
	}
	return id, secret
}

func newTestRP(t *testing.T, te *testEnv, base, id, secret string) *testRP {
	t.Helper()
	p, err := gooidc.NewProvider(t.Context(), base)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return &testRP{t: t, te: te, base: base, provider: p, verifier: p.Verifier(&gooidc.Config{ClientID: id}),
		conf: oauth2.Config{ClientID: id, ClientSecret: secret, Endpoint: p.Endpoint(), RedirectURL: "http://" + rpHost + "/cb",
			Scopes: []string{gooidc.ScopeOpenID, "email", "profile", gooidc.ScopeOfflineAccess}}}
}

// newRPBrowser is a cookie jar that stops at the relying party.
func newRPBrowser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 15 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Host == rpHost {
			return http.ErrUseLastResponse
		}
		if len(via) > 10 {
			return errors.New("too many redirects")
		}
		return nil
	}}
}

// authorize sends the browser to authURL and through the sign-in pages
// (password, then the code from the e-mail) until Gatehouse sends it back
// to the relying party; it returns that callback's query.
func (rp *testRP) authorize(b *http.Client, authURL string) url.Values {
	rp.t.Helper()
	res, err := b.Get(authURL)
	for range 6 {
		if err != nil {
			rp.t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if loc, _ := res.Location(); loc != nil && loc.Host == rpHost {
			q := loc.Query()
			if f, err := url.ParseQuery(loc.Fragment); err == nil { // an implicit answer would be there
				for k, v := range f {
					q[k] = append(q[k], v...)
				}
			}
			return q
		}
		if res.StatusCode != http.StatusOK {
			rp.t.Fatalf("%s: %d %s", res.Request.URL, res.StatusCode, body)
		}
		switch path := res.Request.URL.Path; {
		case path == "/login" || strings.HasSuffix(path, "/login") && strings.HasPrefix(path, "/o/"):
			res, err = b.PostForm(rp.base+path, url.Values{"organization": {"clinic"}, "email": {rp.email}, "password": {rp.password}})
		case path == "/login/code":
			res, err = b.PostForm(rp.base+path, url.Values{"code": {rp.te.mail.lastCode(rp.t, rp.email)}})
		default:
			rp.t.Fatalf("the browser ended at %s: %s", res.Request.URL, body)
		}
	}
	rp.t.Fatal("the browser never came back to the relying party")
	return nil
}

// signIn runs a whole code + PKCE flow and returns the tokens.
func (rp *testRP) signIn(b *http.Client, extra ...oauth2.AuthCodeOption) (*oauth2.Token, *gooidc.IDToken) {
	rp.t.Helper()
	verifier := oauth2.GenerateVerifier()
	opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), gooidc.Nonce("n-0S6_WzA2Mj")}, extra...)
	q := rp.authorize(b, rp.conf.AuthCodeURL("st-af0ifjsldkj", opts...))
	if q.Get("state") != "st-af0ifjsldkj" || q.Get("code") == "" {
		rp.t.Fatalf("callback %v; want the code and the state", q)
	}
	tok, err := rp.conf.Exchange(rp.t.Context(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		rp.t.Fatalf("code exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	id, err := rp.verifier.Verify(rp.t.Context(), raw)
	if err != nil {
		rp.t.Fatalf("ID token: %v", err)
	}
	if id.Nonce != "n-0S6_WzA2Mj" {
		rp.t.Errorf("nonce = %q", id.Nonce)
	}
	return tok, id
}

func (rp *testRP) userinfoWorks(tok *oauth2.Token) bool {
	_, err := rp.provider.UserInfo(rp.t.Context(), oauth2.StaticTokenSource(tok))
	return err == nil
}

// tokenError posts to the token endpoint and returns the status and the
// OAuth error code.
func tokenError(t *testing.T, endpoint string, form url.Values, id, secret string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var e struct {
		Error string `json:"error"`
	}
	_ = json.NewDecoder(res.Body).Decode(&e)
	return res.StatusCode, e.Error
}

func setUpOIDC(t *testing.T) (*testEnv, string, *testRP) { return setUpOIDCClock(t, nil) }

// setUpOIDCClock is setUpOIDC with the server on clock (nil: time.Now).
func setUpOIDCClock(t *testing.T, clock *clockOptions) (*testEnv, string, *testRP) {
	te := newTestEnv(t)
	te.clock = clock
	te.mustCLI("", "migrate")
	te.mustCLI("", "org", "create", "--slug", "clinic", "--name", "Clinic")
	te.mustCLI("", "org", "create", "--slug", "other", "--name", "Other")
	te.mustCLI("a long enough passphrase\n", "user", "create", "--org", "clinic", "--email", "nurse@clinic.test", "--name", "Nurse Joy", "--admin")
	id, secret := clientFromCLI(t, te, "--name", "Charts", "--redirect-uri", "http://"+rpHost+"/cb", "--org", "clinic",
		"--post-logout-redirect-uri", "http://"+rpHost+"/bye")
	if secret == "" {
		t.Fatal("a confidential client got no secret")
	}
	base := te.serve()
	rp := newTestRP(t, te, base, id, secret)
	rp.email, rp.password = "nurse@clinic.test", "a long enough passphrase"
	return te, base, rp
}

// The whole flow with a real relying party: code + PKCE through the 2FA
// code from the e-mail, the ID token verified against the JWKS with the
// claims of docs/design.md §10.1, userinfo, refresh rotation and reuse.
func TestOpenIDConnectWithARealRelyingParty(t *testing.T) {
	te, base, rp := setUpOIDC(t)
	b := newRPBrowser()
	tok, id := rp.signIn(b, oauth2.SetAuthURLParam("organization", "clinic"))

	var claims struct {
		Email        string   `json:"email"`
		Name         string   `json:"name"`
		AMR          []string `json:"amr"`
		ACR          string   `json:"acr"`
		SID          string   `json:"sid"`
		AZP          string   `json:"azp"`
		AuthTime     int64    `json:"auth_time"`
		Role         string   `json:"role"`
		Organization struct {
			ID, Slug, Name string
		} `json:"organization"`
		TwoFactor struct {
			State      string `json:"state"`
			VerifiedAt *int64 `json:"verified_at"`
		} `json:"two_factor"`
	}
	if err := id.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if id.Issuer != base || !slices.Equal(id.Audience, []string{rp.conf.ClientID}) || claims.Email != "nurse@clinic.test" || claims.Name != "Nurse Joy" ||
		!slices.Equal(claims.AMR, []string{"pwd", "otp", "mfa"}) || claims.ACR != "mfa" || claims.SID == "" || claims.AuthTime == 0 ||
		claims.Role != "admin" || claims.Organization.Slug != "clinic" || claims.Organization.Name != "Clinic" || claims.Organization.ID == "" ||
		claims.TwoFactor.State != "verified" || claims.TwoFactor.VerifiedAt == nil {
		t.Errorf("ID token claims = %+v (iss %s, aud %v)", claims, id.Issuer, id.Audience)
	}
	info, err := rp.provider.UserInfo(t.Context(), oauth2.StaticTokenSource(tok))
	if err != nil || info.Email != "nurse@clinic.test" || info.Subject != id.Subject {
		t.Fatalf("userinfo = %+v, %v", info, err)
	}
	var more struct {
		Organization struct{ Slug string } `json:"organization"`
	}
	if err := info.Claims(&more); err != nil || more.Organization.Slug != "clinic" {
		t.Errorf("userinfo organization = %+v, %v", more, err)
	}

	t.Run("a refresh token rotates, and reusing the old one revokes the family", func(t *testing.T) {
		fresh, err := rp.conf.TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		if err != nil || fresh.RefreshToken == "" || fresh.RefreshToken == tok.RefreshToken || fresh.AccessToken == tok.AccessToken {
			t.Fatalf("refresh: %+v, %v; want new tokens", fresh, err)
		}
		if !rp.userinfoWorks(fresh) {
			t.Fatal("the refreshed access token does not work")
		}
		if _, err := rp.conf.TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
			t.Fatal("the used refresh token worked again")
		}
		if rp.userinfoWorks(fresh) || rp.userinfoWorks(tok) {
			t.Error("after the reuse, the family's access tokens still work")
		}
		if _, err := rp.conf.TokenSource(t.Context(), &oauth2.Token{RefreshToken: fresh.RefreshToken}).Token(); err == nil {
			t.Error("after the reuse, the family's newest refresh token still works")
		}
	})

	t.Run("a second sign-in needs no password while the session lives; sign-out ends its tokens", func(t *testing.T) {
		tok, _ := rp.signIn(b)
		if !rp.userinfoWorks(tok) {
			t.Fatal("userinfo refused a fresh token")
		}
		res, err := b.PostForm(base+"/logout", nil)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if rp.userinfoWorks(tok) {
			t.Error("the access token outlived the Gatehouse session")
		}
		// RFC 6750: a token that is not live is 401 invalid_token, with
		// WWW-Authenticate; no token at all is a bare Bearer challenge.
		for _, c := range []struct{ token, status, challenge string }{
			{tok.AccessToken, "401", `Bearer error="invalid_token"`},
			{"", "401", "Bearer"},
		} {
			req, _ := http.NewRequestWithContext(t.Context(), "GET", base+"/oauth2/userinfo", nil)
			if c.token != "" {
				req.Header.Set("Authorization", "Bearer "+c.token)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if got := strconv.Itoa(res.StatusCode); got != c.status || res.Header.Get("WWW-Authenticate") != c.challenge {
				t.Errorf("userinfo with token %.8q: %s %q %s; want %s %q", c.token, got, res.Header.Get("WWW-Authenticate"), body, c.status, c.challenge)
			}
			if c.token != "" && !strings.Contains(string(body), `"invalid_token"`) {
				t.Errorf("userinfo with a dead token: body %s, want error invalid_token", body)
			}
		}
		if _, err := rp.conf.TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
			t.Error("the refresh token outlived the Gatehouse session")
		}
	})

	t.Run("an admin's two-factor reset and a new password end the user's tokens", func(t *testing.T) {
		for _, change := range []struct {
			name, stdin string
			args        []string
		}{
			{"user reset-2fa", "", []string{"user", "reset-2fa", "--org", "clinic", "--email", rp.email}},
			{"user set-password", rp.password + "\n", []string{"user", "set-password", "--org", "clinic", "--email", rp.email}},
		} {
			b := newRPBrowser()
			tok, _ := rp.signIn(b)
			if !rp.userinfoWorks(tok) {
				t.Fatal("userinfo refused a fresh token")
			}
			te.mustCLI(change.stdin, change.args...)
			if rp.userinfoWorks(tok) {
				t.Errorf("the access token outlived %s", change.name)
			}
			if _, err := rp.conf.TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
				t.Errorf("the refresh token outlived %s", change.name)
			}
		}
	})

	t.Run("a client of one organization signs in on its page, with login_hint filled in", func(t *testing.T) {
		res, err := newRPBrowser().Get(rp.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()),
			oauth2.SetAuthURLParam("login_hint", "nurse@clinic.test")))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.Request.URL.Path != "/o/clinic/login" || !strings.Contains(string(body), `value="nurse@clinic.test"`) {
			t.Errorf("the browser is at %s; want /o/clinic/login with the e-mail filled in", res.Request.URL)
		}
	})

	t.Run("response_mode=form_post answers with a page that posts the code to the redirect URI", func(t *testing.T) {
		rp.signIn(b) // the browser signed out above
		verifier := oauth2.GenerateVerifier()
		res, err := b.Get(rp.conf.AuthCodeURL("st-fp", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("response_mode", "form_post")))
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(res.Body)
		res.Body.Close()
		csp := res.Header.Get("Content-Security-Policy")
		if res.StatusCode != 200 || !strings.Contains(string(page), `action="http://`+rpHost+`/cb"`) ||
			!strings.Contains(csp, "script-src 'unsafe-inline'") || !strings.Contains(csp, "form-action *") {
			t.Fatalf("form_post at %s: %d, CSP %q\n%s", res.Request.URL, res.StatusCode, csp, page)
		}
		m := regexp.MustCompile(`name="code" value="([^"]+)"`).FindSubmatch(page)
		if m == nil || !strings.Contains(string(page), `value="st-fp"`) {
			t.Fatalf("form_post page without the code and state:\n%s", page)
		}
		if _, err := rp.conf.Exchange(t.Context(), string(m[1]), oauth2.VerifierOption(verifier)); err != nil {
			t.Errorf("the posted code: %v", err)
		}
	})

	t.Run("prompt=none without a session answers login_required at the redirect URI", func(t *testing.T) {
		q := rp.authorize(newRPBrowser(), rp.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("prompt", "none")))
		if q.Get("error") != "login_required" || q.Get("state") != "st" || q.Get("code") != "" {
			t.Errorf("callback = %v; want error=login_required with the state", q)
		}
	})

	for what, secret := range map[string]string{"an access token": tok.AccessToken, "a refresh token": tok.RefreshToken,
		"the client secret": rp.conf.ClientSecret, "an ID token": tok.Extra("id_token").(string)} {
		if strings.Contains(te.logs.String(), secret) {
			t.Errorf("%s is in the server's logs", what)
		}
	}
}

// The client commands: http:// only for loopback, list, rotate-secret (the
// old secret stops working), delete (its tokens go with it).
func TestClientCommands(t *testing.T) {
	te, base, rp := setUpOIDC(t)
	for _, bad := range [][]string{
		{"--name", "X", "--redirect-uri", "http://app.example/cb"},
		{"--name", "X", "--redirect-uri", "https://app.example/cb#frag"},
		{"--name", "X", "--redirect-uri", "/relative"},
		{"--name", "X", "--redirect-uri", "https://app.example/cb", "--post-logout-redirect-uri", "http://app.example/"},
		{"--name", "X", "--redirect-uri", "https://app.example/cb", "--org", "nowhere"},
		{"--name", "X", "--redirect-uri", "https://app.example/cb", "--signing-alg", "none"},
		{"--redirect-uri", "https://app.example/cb"},
	} {
		if code, _, stderr := te.cli("", append([]string{"client", "create"}, bad...)...); code != 2 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("client create %v: exit %d %q; want 2 and one line", bad, code, stderr)
		}
	}
	out := te.mustCLI("", "client", "list")
	if !strings.Contains(out, rp.conf.ClientID) || !strings.Contains(out, "Charts") || !strings.Contains(out, "clinic") || !strings.Contains(out, "confidential") {
		t.Errorf("client list = %q", out)
	}
	b := newRPBrowser()
	tok, _ := rp.signIn(b)
	out = te.mustCLI("", "client", "rotate-secret", "--id", rp.conf.ClientID)
	m := regexp.MustCompile(`client_secret: (\S+)`).FindStringSubmatch(out)
	if m == nil || m[1] == rp.conf.ClientSecret {
		t.Fatalf("rotate-secret said %q", out)
	}
	if _, err := rp.conf.TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
		t.Error("the old secret still works")
	}
	rp.conf.ClientSecret = m[1]
	if _, err := rp.conf.TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err != nil {
		t.Errorf("the new secret: %v", err)
	}
	te.mustCLI("", "client", "delete", "--id", rp.conf.ClientID)
	if rp.userinfoWorks(tok) {
		t.Error("a deleted client's token still works")
	}
	if out := te.mustCLI("", "client", "list"); strings.Contains(out, rp.conf.ClientID) {
		t.Errorf("the deleted client is still listed: %q", out)
	}
	if code, _, _ := te.cli("", "client", "delete", "--id", rp.conf.ClientID); code != 2 {
		t.Errorf("deleting it again: exit %d, want 2", code)
	}
	_ = base
}

// The negative cases a conformance suite runs.
func TestOpenIDConnectRefusesWhatItMust(t *testing.T) {
	te, base, rp := setUpOIDC(t)
	b := newRPBrowser()
	tokenURL := rp.provider.Endpoint().TokenURL

	t.Run("an unregistered redirect_uri gets an error page, never a redirect", func(t *testing.T) {
		u := strings.Replace(rp.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())),
			url.QueryEscape("http://"+rpHost+"/cb"), url.QueryEscape("http://"+rpHost+"/evil"), 1)
		res, err := newRPBrowser().Get(u)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest || res.Header.Get("Location") != "" {
			t.Errorf("unregistered redirect_uri: %d, Location %q; want 400 and no redirect", res.StatusCode, res.Header.Get("Location"))
		}
	})

	t.Run("only the code flow: no implicit, password or JWT bearer grant, none advertised", func(t *testing.T) {
		var d struct {
			Grants        []string `json:"grant_types_supported"`
			ResponseTypes []string `json:"response_types_supported"`
			Device        string   `json:"device_authorization_endpoint"`
		}
		if err := rp.provider.Claims(&d); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(d.Grants, []string{"authorization_code", "refresh_token"}) || !slices.Equal(d.ResponseTypes, []string{"code"}) || d.Device != "" {
			t.Errorf("discovery advertises %+v", d)
		}
		for _, grant := range []string{"password", "urn:ietf:params:oauth:grant-type:jwt-bearer", "client_credentials", ""} {
			if status, e := tokenError(t, tokenURL, url.Values{"grant_type": {grant}, "username": {rp.email}, "password": {rp.password}},
				rp.conf.ClientID, rp.conf.ClientSecret); status != 400 || e != "unsupported_grant_type" {
				t.Errorf("grant_type %q: %d %q; want 400 unsupported_grant_type", grant, status, e)
			}
		}
		q := rp.authorize(newRPBrowser(), strings.Replace(rp.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), gooidc.Nonce("n")),
			"response_type=code", "response_type=id_token", 1))
		if q.Get("error") != "unsupported_response_type" || q.Get("id_token") != "" || q.Get("code") != "" {
			t.Errorf("an implicit request: callback %v; want error unsupported_response_type", q)
		}
	})

	t.Run("plain PKCE is refused", func(t *testing.T) {
		q := rp.authorize(newRPBrowser(), rp.conf.AuthCodeURL("st", oauth2.SetAuthURLParam("code_challenge", "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopq"),
			oauth2.SetAuthURLParam("code_challenge_method", "plain")))
		if q.Get("error") != "invalid_request" || q.Get("code") != "" {
			t.Errorf("plain PKCE: callback %v; want invalid_request", q)
		}
	})

	// One sign-in for the rest: a code, its verifier.
	verifier := oauth2.GenerateVerifier()
	q := rp.authorize(b, rp.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier), gooidc.Nonce("n")))
	code := q.Get("code")
	form := func(v string) url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {rp.conf.RedirectURL}, "code_verifier": {v}}
	}

	t.Run("a wrong PKCE verifier and a wrong client secret are refused without burning the code", func(t *testing.T) {
		if status, e := tokenError(t, tokenURL, form(oauth2.GenerateVerifier()), rp.conf.ClientID, rp.conf.ClientSecret); status != 400 || e != "invalid_grant" {
			t.Errorf("wrong verifier: %d %q; want 400 invalid_grant", status, e)
		}
		if status, e := tokenError(t, tokenURL, form(verifier), rp.conf.ClientID, "not-the-secret"); status != 401 || e != "invalid_client" {
			t.Errorf("wrong secret: %d %q; want 401 invalid_client", status, e)
		}
		if status, e := tokenError(t, tokenURL, form(verifier), "", ""); status < 400 || status >= 500 || e == "" {
			t.Errorf("no client authentication: %d %q; want a 4xx OAuth error", status, e)
		}
	})

	t.Run("a code used twice fails and revokes what the first use issued", func(t *testing.T) {
		tok, err := rp.conf.Exchange(t.Context(), code, oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("first use: %v", err)
		}
		if !rp.userinfoWorks(tok) {
			t.Fatal("the first use's access token does not work")
		}
		if _, err := rp.conf.Exchange(t.Context(), code, oauth2.VerifierOption(verifier)); err == nil {
			t.Fatal("the code worked twice")
		}
		if rp.userinfoWorks(tok) {
			t.Error("the first use's access token survived the reuse")
		}
		if _, err := rp.conf.TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
			t.Error("the first use's refresh token survived the reuse")
		}
	})

	t.Run("a client limited to another organization gets access_denied", func(t *testing.T) {
		id, secret := clientFromCLI(t, te, "--name", "Elsewhere", "--redirect-uri", "http://"+rpHost+"/cb", "--org", "other")
		other := newTestRP(t, te, base, id, secret)
		other.email, other.password = rp.email, rp.password
		// Asked for the user's own organization, the client is refused
		// once the user has signed in.
		q := other.authorize(b, other.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()),
			oauth2.SetAuthURLParam("organization", "clinic")))
		if q.Get("error") != "access_denied" || q.Get("code") != "" {
			t.Errorf("callback %v; want access_denied", q)
		}
		// Otherwise the browser is sent to sign in at the client's
		// organization, where this user is nobody.
		res, err := b.Get(other.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.Request.URL.Path != "/o/other/login" {
			t.Fatalf("the browser is at %s, want /o/other/login", res.Request.URL)
		}
		res, err = b.PostForm(base+"/o/other/login", url.Values{"email": {rp.email}, "password": {rp.password}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if loc, _ := res.Location(); res.StatusCode != http.StatusUnauthorized || loc != nil {
			t.Errorf("signing in at the other organization: %d %v; want 401 and no redirect", res.StatusCode, loc)
		}
	})

	t.Run("a public client must use PKCE", func(t *testing.T) {
		id, secret := clientFromCLI(t, te, "--name", "SPA", "--public", "--redirect-uri", "http://"+rpHost+"/cb")
		if secret != "" {
			t.Errorf("a public client got a secret")
		}
		spa := newTestRP(t, te, base, id, "")
		q := spa.authorize(b, spa.conf.AuthCodeURL("st"))
		if q.Get("error") != "invalid_request" {
			t.Errorf("a public client without PKCE: callback %v; want invalid_request", q)
		}
	})
}

// postForm posts a form with the client's credentials and decodes the
// JSON answer into out (when not nil).
func (rp *testRP) postForm(endpoint string, form url.Values, out any) int {
	rp.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(rp.conf.ClientID), url.QueryEscape(rp.conf.ClientSecret))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		rp.t.Fatal(err)
	}
	defer res.Body.Close()
	if out != nil {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			rp.t.Fatalf("%s: %v", endpoint, err)
		}
	}
	return res.StatusCode
}

type introspection struct {
	Active   bool   `json:"active"`
	Subject  string `json:"sub"`
	ClientID string `json:"client_id"`
	Role     string `json:"role"`
}

func (rp *testRP) introspect(token string) introspection {
	rp.t.Helper()
	var got introspection
	if status := rp.postForm(rp.base+"/oauth2/introspect", url.Values{"token": {token}}, &got); status != 200 {
		rp.t.Fatalf("introspect: %d", status)
	}
	return got
}

// jwtHeader returns the kid and alg of a compact JWT.
func jwtHeader(t *testing.T, raw string) (kid, alg string) {
	t.Helper()
	head, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Kid, Alg string }
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid, h.Alg
}

// Revocation (RFC 7009), introspection (RFC 7662), RP-initiated logout,
// RS256 for a client that asks, and key rotation with old tokens still
// verifying.
func TestOpenIDConnectRevokeIntrospectLogoutAndKeys(t *testing.T) {
	// The server's clock runs with the machine's and jumps when the test
	// says: a key rotated by another process signs here within a second.
	var ahead atomic.Int64
	clock := &clockOptions{local: func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }}
	te, base, rp := setUpOIDCClock(t, clock)
	b := newRPBrowser()
	tok, id := rp.signIn(b)

	t.Run("introspection tells the token's own client who it is for", func(t *testing.T) {
		got := rp.introspect(tok.AccessToken)
		if !got.Active || got.Subject != id.Subject || got.ClientID != rp.conf.ClientID || got.Role != "admin" {
			t.Errorf("introspect = %+v; want active, for %s", got, id.Subject)
		}
		if got := rp.introspect("not-a-token"); got.Active {
			t.Errorf("a made-up token is active: %+v", got)
		}
	})

	t.Run("a revoked access token is dead; a revoked refresh token takes its family", func(t *testing.T) {
		if status := rp.postForm(base+"/oauth2/revoke", url.Values{"token": {tok.AccessToken}, "token_type_hint": {"access_token"}}, nil); status != 200 {
			t.Fatalf("revoke: %d", status)
		}
		if rp.userinfoWorks(tok) || rp.introspect(tok.AccessToken).Active {
			t.Error("the revoked access token still works")
		}
		tok2, _ := rp.signIn(b) // the session still lives: no password asked
		if status := rp.postForm(base+"/oauth2/revoke", url.Values{"token": {tok2.RefreshToken}}, nil); status != 200 {
			t.Fatalf("revoke refresh: %d", status)
		}
		if _, err := rp.conf.TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok2.RefreshToken}).Token(); err == nil {
			t.Error("the revoked refresh token still works")
		}
		if rp.userinfoWorks(tok2) {
			t.Error("the revoked refresh token's access token still works")
		}
	})

	t.Run("a client asking for RS256 gets RS256 ID tokens; ES256 is the default", func(t *testing.T) {
		if _, alg := jwtHeader(t, tok.Extra("id_token").(string)); alg != "ES256" {
			t.Errorf("default ID token alg = %s, want ES256", alg)
		}
		rid, rsecret := clientFromCLI(t, te, "--name", "Legacy", "--redirect-uri", "http://"+rpHost+"/cb", "--signing-alg", "RS256")
		legacy := newTestRP(t, te, base, rid, rsecret)
		legacy.email, legacy.password = rp.email, rp.password
		ltok, _ := legacy.signIn(b)
		if _, alg := jwtHeader(t, ltok.Extra("id_token").(string)); alg != "RS256" {
			t.Errorf("RS256 client's ID token alg = %s", alg)
		}
	})

	t.Run("after keys rotate, new tokens use the new key and old ones still verify", func(t *testing.T) {
		oldRaw := tok.Extra("id_token").(string)
		oldKid, _ := jwtHeader(t, oldRaw)
		if out := te.mustCLI("", "keys", "rotate"); !strings.Contains(out, "new ES256 signing key") || !strings.Contains(out, "new RS256 signing key") {
			t.Errorf("keys rotate said %q", out)
		}
		// The server reads its current key again after a second.
		ahead.Add(int64(time.Second))
		fresh := newTestRP(t, te, base, rp.conf.ClientID, rp.conf.ClientSecret) // a new JWKS cache
		fresh.email, fresh.password = rp.email, rp.password
		ntok, _ := fresh.signIn(b)
		newKid, _ := jwtHeader(t, ntok.Extra("id_token").(string))
		if newKid == oldKid {
			t.Errorf("after rotation the ID token is still signed by %s", oldKid)
		}
		if _, err := fresh.provider.Verifier(&gooidc.Config{ClientID: rp.conf.ClientID, SkipExpiryCheck: true}).Verify(t.Context(), oldRaw); err != nil {
			t.Errorf("an ID token of the retired key no longer verifies: %v", err)
		}
	})

	t.Run("RP-initiated logout ends the Gatehouse session and its tokens, and returns only to a registered URI", func(t *testing.T) {
		ltok, lid := rp.signIn(b)
		_ = lid
		raw := ltok.Extra("id_token").(string)
		res, err := newRPBrowser().Get(base + "/oauth2/logout?" + url.Values{"id_token_hint": {raw},
			"post_logout_redirect_uri": {"http://" + rpHost + "/elsewhere"}}.Encode())
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if loc, _ := res.Location(); loc != nil && strings.Contains(loc.String(), "/elsewhere") {
			t.Errorf("logout redirected to an unregistered URI: %s", loc)
		}
		// The same ID token unsigned (alg none) is no hint at all: refused,
		// nothing ended, no redirect.
		parts := strings.Split(raw, ".")
		unsigned := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
		res, err = b.Get(base + "/oauth2/logout?" + url.Values{"id_token_hint": {unsigned}, "state": {"bye-state"},
			"post_logout_redirect_uri": {"http://" + rpHost + "/bye"}}.Encode())
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if loc, _ := res.Location(); loc != nil || res.StatusCode < 400 {
			t.Errorf("logout with an alg none id_token_hint: %d to %v; want a refusal", res.StatusCode, loc)
		}
		if status := get(t, b, base+"/api/v1/session"); status != 200 {
			t.Errorf("an alg none id_token_hint ended the Gatehouse session: %d", status)
		}
		if !rp.userinfoWorks(ltok) {
			t.Error("an alg none id_token_hint ended the tokens")
		}
		res, err = b.Get(base + "/oauth2/logout?" + url.Values{"id_token_hint": {raw}, "state": {"bye-state"},
			"post_logout_redirect_uri": {"http://" + rpHost + "/bye"}}.Encode())
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		loc, _ := res.Location()
		if loc == nil || loc.Host != rpHost || loc.Path != "/bye" || loc.Query().Get("state") != "bye-state" {
			t.Errorf("logout went to %v, want the registered post-logout URI with the state", loc)
		}
		if rp.userinfoWorks(ltok) {
			t.Error("the access token outlived the logout")
		}
		if status := get(t, b, base+"/api/v1/session"); status != 401 {
			t.Errorf("the Gatehouse session outlived the logout: %d", status)
		}
	})
}

// Back-channel logout: a client that registered a URI is posted a logout
// token when the session it signed in through ends at /oauth2/logout.
func TestOpenIDConnectBackChannelLogout(t *testing.T) {
	te, base, rp := setUpOIDC(t)
	tokens := make(chan string, 4)
	bc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { tokens <- r.PostFormValue("logout_token") }))
	defer bc.Close()
	id, secret := clientFromCLI(t, te, "--name", "Told", "--redirect-uri", "http://"+rpHost+"/cb", "--back-channel-logout-uri", bc.URL+"/logout")
	told := newTestRP(t, te, base, id, secret)
	told.email, told.password = rp.email, rp.password
	b := newRPBrowser()
	_, idt := told.signIn(b)
	var c struct {
		SID string `json:"sid"`
	}
	_ = idt.Claims(&c)
	res, err := b.Get(base + "/oauth2/logout")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	select {
	case raw := <-tokens:
		var claims struct {
			Sid    string                    `json:"sid"`
			Events map[string]map[string]any `json:"events"`
		}
		parts := strings.Split(raw, ".")
		if len(parts) != 3 {
			t.Fatalf("logout token %q", raw)
		}
		body, _ := base64.RawURLEncoding.DecodeString(parts[1])
		if err := json.Unmarshal(body, &claims); err != nil || claims.Sid != c.SID || claims.Events["http://schemas.openid.net/event/backchannel-logout"] == nil {
			t.Errorf("logout token claims %s; want sid %s and the event", body, c.SID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no logout token within 10 s of the logout")
	}
}

// Two nodes sharing PostgreSQL: the browser signs in and is given the code
// by node A, the relying party redeems it and asks userinfo at node B.
func TestOpenIDConnectOnTwoNodesPostgres(t *testing.T) {
	te := newTestEnv(t)
	te.useDatabase(testdb.PostgresURL(t))
	te.mustCLI("", "org", "create", "--slug", "clinic", "--name", "Clinic")
	te.mustCLI("a long enough passphrase\n", "user", "create", "--org", "clinic", "--email", "nurse@clinic.test")
	id, secret := clientFromCLI(t, te, "--name", "Charts", "--redirect-uri", "http://"+rpHost+"/cb")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addrA := ln.Addr().String()
	ln.Close()
	public := "http://" + addrA
	te.vars["GATEHOUSE_PUBLIC_URL"] = public
	a, _ := te.serveUntil("--addr", addrA)
	b := te.serve()
	if a != public {
		t.Fatalf("node A at %s, want %s", a, public)
	}
	rp := newTestRP(t, te, a, id, secret)
	rp.email, rp.password = "nurse@clinic.test", "a long enough passphrase"
	rp.conf.Endpoint.TokenURL = b + "/oauth2/token"
	tok, idt := rp.signIn(newRPBrowser())
	req, _ := http.NewRequest(http.MethodGet, b+"/oauth2/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Subject string `json:"sub"`
		Email   string `json:"email"`
	}
	_ = json.NewDecoder(res.Body).Decode(&info)
	res.Body.Close()
	if res.StatusCode != 200 || info.Subject != idt.Subject || info.Email != "nurse@clinic.test" {
		t.Errorf("userinfo on node B: %d %+v", res.StatusCode, info)
	}
	fresh, err := rp.conf.TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil || fresh.RefreshToken == tok.RefreshToken {
		t.Errorf("refresh on node B: %v", err)
	}
}

// Step-up (docs/design.md §10.1): on an allowed network a sign-in needs no code
// and its ID token says so; acr_values=mfa makes Gatehouse ask for a fresh
// code all the same, and the ID token then carries acr mfa.
func TestOpenIDConnectStepUpAsksForACodeOnAnAllowedNetwork(t *testing.T) {
	te, _, rp := setUpOIDC(t)
	te.mustCLI("", "org", "settings", "--org", "clinic", "--skip-networks", "127.0.0.0/8")
	b := newRPBrowser()
	mails := te.mail.count()
	_, id := rp.signIn(b)
	var c struct {
		AMR       []string `json:"amr"`
		ACR       string   `json:"acr"`
		TwoFactor struct {
			State string `json:"state"`
		} `json:"two_factor"`
	}
	if err := id.Claims(&c); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.AMR, []string{"pwd"}) || c.ACR != "" || c.TwoFactor.State != "allowed_network" || te.mail.count() != mails {
		t.Fatalf("on the allowed network: %+v, %d mails; want pwd only, no code sent", c, te.mail.count()-mails)
	}
	_, id = rp.signIn(b, oauth2.SetAuthURLParam("acr_values", "mfa"))
	c.AMR, c.ACR = nil, ""
	if err := id.Claims(&c); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.AMR, []string{"pwd", "otp", "mfa"}) || c.ACR != "mfa" || c.TwoFactor.State != "verified" || te.mail.count() == mails {
		t.Errorf("with acr_values=mfa: %+v; want a code asked and acr mfa", c)
	}
}

// A token lives only while its session would still be let in: an admin
// removing the network that let the session in without a code ends the
// session and its tokens at their next use, though the browser never
// comes back.
func TestOpenIDConnectTokensEndWhenThePolicyNoLongerLetsTheSessionIn(t *testing.T) {
	te, _, rp := setUpOIDC(t)
	te.mustCLI("", "org", "settings", "--org", "clinic", "--skip-networks", "127.0.0.0/8")
	tok, id := rp.signIn(newRPBrowser())
	var c struct {
		TwoFactor struct {
			State string `json:"state"`
		} `json:"two_factor"`
	}
	if err := id.Claims(&c); err != nil || c.TwoFactor.State != "allowed_network" {
		t.Fatalf("two_factor %+v, %v; want allowed_network", c, err)
	}
	if !rp.userinfoWorks(tok) {
		t.Fatal("userinfo refused a fresh token")
	}
	te.mustCLI("", "org", "settings", "--org", "clinic", "--skip-networks", "")
	if rp.userinfoWorks(tok) {
		t.Error("the access token outlived the network that let its session in")
	}
	if _, err := rp.conf.TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
		t.Error("the refresh token outlived the network that let its session in")
	}
}

// langTransport sends Accept-Language with every request, as a browser set
// to that language does.
type langTransport struct{ accept string }

func (l langTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Accept-Language", l.accept)
	return http.DefaultTransport.RoundTrip(r)
}

// ui_locales (OIDC Core §3.1.2.1): the sign-in pages of that authorize
// request speak the first language asked for that Gatehouse has, before the
// browser's; an unknown one falls back to the browser's; and it is not kept
// for later sign-ins.
func TestOpenIDConnectUILocalesPickTheSignInPagesLanguage(t *testing.T) {
	_, base, rp := setUpOIDC(t)
	lang := regexp.MustCompile(`<html lang="([a-z]+)"`)
	h1 := regexp.MustCompile(`(?s)<h1>\s*(.*?)\s*</h1>`)
	page := func(res *http.Response, err error) (path, lang_, heading string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", res.Request.URL, res.StatusCode, body)
		}
		l, h := lang.FindSubmatch(body), h1.FindSubmatch(body)
		if l == nil || h == nil {
			t.Fatalf("%s: no <html lang> or <h1>: %s", res.Request.URL, body)
		}
		return res.Request.URL.Path, string(l[1]), string(h[1])
	}
	b := newRPBrowser()
	b.Transport = langTransport{accept: "en-GB,en;q=0.9"}
	authURL := func(uiLocales string) string {
		return rp.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("ui_locales", uiLocales))
	}

	path, l, h := page(b.Get(authURL("sv-FI fi-FI en")))
	if path != "/o/clinic/login" || l != "fi" || h != "Kirjaudu sisään" {
		t.Errorf("ui_locales=sv-FI fi-FI en: %s in %q, <h1> %q; want the Finnish sign-in page", path, l, h)
	}
	path, l, h = page(b.PostForm(base+path, url.Values{"email": {rp.email}, "password": {rp.password}}))
	if path != "/login/code" || l != "fi" || h != "Syötä vahvistuskoodi" {
		t.Errorf("after the password: %s in %q, <h1> %q; want the Finnish code page", path, l, h)
	}
	res, err := b.PostForm(base+"/login/code", url.Values{"code": {rp.te.mail.lastCode(t, rp.email)}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if loc, _ := res.Location(); loc == nil || loc.Host != rpHost || loc.Query().Get("code") == "" {
		t.Fatalf("after the code: %d at %s; want the relying party's callback with a code", res.StatusCode, res.Request.URL)
	}
	if _, l, _ := page(b.Get(base + "/login")); l != "en" {
		t.Errorf("a later sign-in page without ui_locales speaks %q; want the browser's English", l)
	}

	other := newRPBrowser()
	other.Transport = langTransport{accept: "en"}
	if path, l, h := page(other.Get(authURL("de-DE x-klingon"))); path != "/o/clinic/login" || l != "en" || h != "Sign in" {
		t.Errorf("ui_locales of languages Gatehouse lacks: %s in %q, <h1> %q; want the browser's English", path, l, h)
	}
}
