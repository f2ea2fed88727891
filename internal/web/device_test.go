package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func deviceCookie(t *testing.T, res *http.Response, name string) *http.Cookie {
	t.Helper()
	for _, c := range res.Cookies() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s cookie among %v", name, res.Cookies())
	return nil
}

func TestTheDeviceCookie(t *testing.T) {
	t.Run("is set at a right password, HttpOnly and SameSite=Lax for a year, and outlives sign-out", func(t *testing.T) {
		e := newEnv(t, options{})
		res := e.login("clinic", "staff@clinic.test", testPassword)
		wantStatus(t, res, 200)
		c := deviceCookie(t, res, "gh_device")
		if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure || c.Path != "/" || len(c.Value) < 43 {
			t.Errorf("cookie %+v", c)
		}
		if d := time.Until(c.Expires); d < 364*24*time.Hour || d > 366*24*time.Hour {
			t.Errorf("device cookie expires in %v, want a year", d)
		}
		wantStatus(t, e.do("POST", "/api/v1/logout", "", ""), 204)
		u, _ := url.Parse(e.srv.URL)
		kept := false
		for _, c := range e.client.Jar.Cookies(u) {
			kept = kept || c.Name == "gh_device"
		}
		if !kept {
			t.Error("sign-out removed the device cookie")
		}
	})
	t.Run("carries the __Host- prefix and Secure with an https public URL", func(t *testing.T) {
		e := newEnv(t, options{publicURL: "https://login.example.test"})
		res := e.login("clinic", "staff@clinic.test", testPassword)
		wantStatus(t, res, 200)
		c := deviceCookie(t, res, "__Host-gh_device")
		if !c.Secure || !c.HttpOnly || c.Domain != "" || c.Path != "/" {
			t.Errorf("cookie %+v", c)
		}
	})
	t.Run("is not set by a wrong password", func(t *testing.T) {
		e := newEnv(t, options{})
		res := e.login("clinic", "staff@clinic.test", "not the password")
		wantStatus(t, res, 401)
		for _, c := range res.Cookies() {
			if strings.Contains(c.Name, "gh_device") {
				t.Errorf("a wrong password set %+v", c)
			}
		}
	})
}

func TestTheOwnersBrowserSignsInWhileAnAttackerHoldsTheAccount(t *testing.T) {
	e := newEnv(t, options{})
	wantStatus(t, e.login("clinic", "staff@clinic.test", testPassword), 200)
	wantStatus(t, e.do("POST", "/api/v1/logout", "", ""), 204)

	owner := e.client
	e.client = &http.Client{} // the attacker: no cookies
	for range 5 {
		wantStatus(t, e.login("clinic", "staff@clinic.test", "attacker guess"), 401)
	}
	wantStatus(t, e.login("clinic", "staff@clinic.test", testPassword), 429)

	e.client = owner
	wantStatus(t, e.login("clinic", "staff@clinic.test", testPassword), 200)
	if b := wantStatus(t, e.do("GET", "/api/v1/session", "", ""), 200); !strings.Contains(b, "staff@clinic.test") {
		t.Errorf("session %s", b)
	}
}
