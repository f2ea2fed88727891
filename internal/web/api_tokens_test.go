package web_test

import (
	"strings"
	"testing"
)

// A request that carries an Authorization header is the token's alone:
// with a signed-in admin's cookie beside a bad token it is still refused,
// so a leaked cookie cannot pass for an integration nor the reverse.
func TestABearerHeaderNeverFallsBackToTheSessionCookie(t *testing.T) {
	e := newEnv(t, options{})
	e.addStrictOrg(nil)
	e.signInWithCode("admin@acme.test")
	wantStatus(t, e.do("GET", "/api/v1/organizations/acme/users", "", ""), 200)
	for _, h := range []string{"Bearer gth_not-a-token", "Basic YWRtaW46cGFzcw==", "Bearer"} {
		res := e.do("GET", "/api/v1/organizations/acme/users", "", "", "Authorization", h)
		if b := wantStatus(t, res, 401); strings.Contains(b, "admin@acme.test") {
			t.Errorf("Authorization %q answered the users: %s", h, b)
		}
		if h != "Basic YWRtaW46cGFzcw==" && !strings.Contains(res.Header.Get("WWW-Authenticate"), "invalid_token") {
			t.Errorf("Authorization %q: WWW-Authenticate %q", h, res.Header.Get("WWW-Authenticate"))
		}
	}
}
