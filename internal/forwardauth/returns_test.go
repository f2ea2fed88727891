package forwardauth_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/internal/forwardauth"
)

func TestParseHosts(t *testing.T) {
	got, err := forwardauth.ParseHosts(" App.Example.com, ,.acme.test,10.0.0.5 ")
	if want := []string{"app.example.com", ".acme.test", "10.0.0.5"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("ParseHosts = %q, %v; want %q", got, err, want)
	}
	for _, bad := range []string{"https://app.example.com", "app.example.com:8443", "app.example.com/x", "*.acme.test",
		".test", ".", "..acme.test", ".10.0.0.5", "user@app.example.com", "-app.example.com", "app_1.example.com"} {
		if _, err := forwardauth.ParseHosts("ok.example.com," + bad); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("ParseHosts(%q) = %v, want an error quoting it", bad, err)
		}
	}
}

func newReturns(t testing.TB, public, hosts string) *forwardauth.Returns {
	t.Helper()
	u, err := url.Parse(public)
	if err != nil {
		t.Fatal(err)
	}
	list, err := forwardauth.ParseHosts(hosts)
	if err != nil {
		t.Fatal(err)
	}
	r, err := forwardauth.NewReturns(u, list)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestReturnURLsGoOnlyToAllowedHosts(t *testing.T) {
	r := newReturns(t, "https://login.acme.test", ".acme.test, wiki.example.org")
	tests := []struct {
		raw string
		ok  bool
	}{
		{"https://app.acme.test/charts?id=7", true},
		{"https://APP.acme.test:8443/", true},
		{"https://acme.test/", true},
		{"https://wiki.example.org/page", true},
		{"https://login.acme.test/account", true},
		{"/account", true},
		{"/settings/users?q=a", true},
		{"https://evil.test/", false},
		{"https://evilacme.test/", false},
		{"https://app.acme.test.evil.test/", false},
		{"https://sub.wiki.example.org/", false},
		{"https://app.acme.test@evil.test/", false},
		{"https://evil.test#@app.acme.test/", false},
		{"http://app.acme.test/", false}, // Gatehouse is https
		{"javascript:alert(1)", false},
		{"data:text/html,hi", false},
		{"//evil.test/", false},
		{"/\\evil.test/", false},
		{"/\t/evil.test/", false},
		{" https://app.acme.test/", false},
		{"https:evil.test", false},
		{"app.acme.test/", false},
		{"", false},
		{"https://app.acme.test/" + strings.Repeat("a", 3000), false},
	}
	for _, tc := range tests {
		got, ok := r.Check(tc.raw)
		if ok != tc.ok {
			t.Errorf("Check(%q) = %q, %v; want %v", tc.raw, got, ok, tc.ok)
		}
	}
	plain := newReturns(t, "http://127.0.0.1:8080", ".acme.test")
	if _, ok := plain.Check("http://app.acme.test:8081/"); !ok {
		t.Error("over http an http return URL is refused")
	}
	if _, ok := plain.Check("http://127.0.0.1:9999/"); !ok {
		t.Error("Gatehouse's own host on another port is refused")
	}
}

func TestCSPSourcesCoverEveryAllowedHost(t *testing.T) {
	r := newReturns(t, "https://login.acme.test", ".acme.test, wiki.example.org")
	want := []string{"wiki.example.org:*", "acme.test:*", "*.acme.test:*"}
	if got := r.CSPSources(); !slices.Equal(got, want) {
		t.Errorf("CSPSources = %q, want %q", got, want)
	}
}
