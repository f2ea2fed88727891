package main

import (
	"strings"
	"testing"
)

func TestForwardAuthSettingsAreCheckedAtStart(t *testing.T) {
	te := newTestEnv(t)
	cases := []struct {
		name string
		args []string
		says string
	}{
		{"a return host with a scheme", []string{"--allowed-return-hosts", "https://app.example.com"}, "--allowed-return-hosts"},
		{"a suffix of one label", []string{"--allowed-return-hosts", ".com"}, "too much"},
		{"a cookie domain that is an address", []string{"--cookie-domain", "127.0.0.1"}, "--cookie-domain"},
		{"a cookie domain of one label", []string{"--public-url", "http://login.test", "--cookie-domain", "test"}, "--cookie-domain"},
		{"a cookie domain that does not cover Gatehouse", []string{"--public-url", "https://login.acme.test", "--cookie-domain", "other.test"}, "does not cover"},
		{"a cookie domain that only ends like Gatehouse's", []string{"--public-url", "https://login.myacme.test", "--cookie-domain", "acme.test"}, "does not cover"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := te.cli("", append([]string{"serve", "--addr", "127.0.0.1:0"}, tc.args...)...)
			if code != 2 || !strings.Contains(errOut, tc.says) || len(strings.Split(strings.TrimSpace(errOut), "\n")) != 1 {
				t.Errorf("exit %d, stderr %q; want 2 and one line about %q", code, errOut, tc.says)
			}
		})
	}
	_, help, _ := te.cli("", "serve", "--help") // help asked for goes to standard output
	for _, v := range []string{"GATEHOUSE_ALLOWED_RETURN_HOSTS", "GATEHOUSE_COOKIE_DOMAIN"} {
		if !strings.Contains(help, v) {
			t.Errorf("serve --help does not list %s", v)
		}
	}
}

func TestCookieDomainTakesALeadingDot(t *testing.T) {
	got, err := cookieDomain(" .Acme.Test ", mustURL(t, "https://login.acme.test"))
	if err != nil || got != "acme.test" {
		t.Errorf("cookieDomain = %q, %v; want acme.test", got, err)
	}
	if got, err := cookieDomain("acme.test", mustURL(t, "https://acme.test")); err != nil || got != "acme.test" {
		t.Errorf("the domain of Gatehouse itself: %q, %v", got, err)
	}
}
