package signin

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/gatehousehq/gatehouse"
)

func TestDecideFollowsDesignOrder(t *testing.T) {
	office := []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8:1::/48")}
	settings := func(mod func(*gatehouse.PasswordSettings)) gatehouse.PasswordSettings {
		s := gatehouse.DefaultPasswordSettings()
		s.SkipNetworks = office
		mod(&s)
		return s
	}
	outside := netip.MustParseAddr("203.0.113.9")
	cases := []struct {
		name     string
		settings gatehouse.PasswordSettings
		user     gatehouse.User
		ip       netip.Addr
		want     string
		network  string
		// remembered, when set, is the remembered-browser lookup.
		remembered func() (string, error)
	}{
		{"an LDAP organization is federated even with enforcement stored on",
			settings(func(s *gatehouse.PasswordSettings) { s.AuthMethod = gatehouse.AuthLDAP }), gatehouse.User{}, outside, gatehouse.TwoFactorFederated, "", nil},
		{"a SAML2 organization is federated",
			settings(func(s *gatehouse.PasswordSettings) { s.AuthMethod = gatehouse.AuthSAML2; s.EnforceTwoFactor = false }), gatehouse.User{}, outside, gatehouse.TwoFactorFederated, "", nil},
		{"no enforcement signs in",
			settings(func(s *gatehouse.PasswordSettings) { s.EnforceTwoFactor = false }), gatehouse.User{}, outside, gatehouse.TwoFactorNotEnforced, "", nil},
		{"an exempt user signs in, even from the office",
			settings(func(*gatehouse.PasswordSettings) {}), gatehouse.User{TwoFactorExempt: true}, netip.MustParseAddr("192.0.2.5"), gatehouse.TwoFactorExempt, "", nil},
		{"an IPv4 address in the skip list signs in",
			settings(func(*gatehouse.PasswordSettings) {}), gatehouse.User{}, netip.MustParseAddr("192.0.2.5"), gatehouse.TwoFactorAllowedNetwork, "192.0.2.0/24", nil},
		{"an IPv4-mapped IPv6 address matches its IPv4 network",
			settings(func(*gatehouse.PasswordSettings) {}), gatehouse.User{}, netip.MustParseAddr("::ffff:192.0.2.77"), gatehouse.TwoFactorAllowedNetwork, "192.0.2.0/24", nil},
		{"an IPv6 address in the skip list signs in",
			settings(func(*gatehouse.PasswordSettings) {}), gatehouse.User{}, netip.MustParseAddr("2001:db8:1:2::3"), gatehouse.TwoFactorAllowedNetwork, "2001:db8:1::/48", nil},
		{"an address outside the list needs an e-mailed code",
			settings(func(*gatehouse.PasswordSettings) {}), gatehouse.User{}, outside, NeedCode, "", nil},
		{"no client address at all needs a code",
			settings(func(*gatehouse.PasswordSettings) {}), gatehouse.User{}, netip.Addr{}, NeedCode, "", nil},
		{"SMS without a phone asks for one",
			settings(func(s *gatehouse.PasswordSettings) { s.OTPMethod = gatehouse.OTPSMS }), gatehouse.User{}, outside, NeedPhone, "", nil},
		{"SMS with a phone needs a code",
			settings(func(s *gatehouse.PasswordSettings) { s.OTPMethod = gatehouse.OTPSMS }), gatehouse.User{Phone: "+358401234567"}, outside, NeedCode, "", nil},
		{"a remembered browser signs in",
			settings(func(*gatehouse.PasswordSettings) {}), gatehouse.User{}, outside, gatehouse.TwoFactorRemembered, "", rememberedAs("rb1")},
		{"a remembered browser signs in before asking for a phone",
			settings(func(s *gatehouse.PasswordSettings) { s.OTPMethod = gatehouse.OTPSMS }), gatehouse.User{}, outside, gatehouse.TwoFactorRemembered, "", rememberedAs("rb1")},
		{"a browser that is not remembered needs a code",
			settings(func(*gatehouse.PasswordSettings) {}), gatehouse.User{}, outside, NeedCode, "", rememberedAs("")},
		{"remember days 0 never asks for a remembered browser",
			settings(func(s *gatehouse.PasswordSettings) { s.RememberDays = 0 }), gatehouse.User{}, outside, NeedCode, "", mustNotAsk},
		{"the office network decides before the remembered browser is read",
			settings(func(*gatehouse.PasswordSettings) {}), gatehouse.User{}, netip.MustParseAddr("192.0.2.5"), gatehouse.TwoFactorAllowedNetwork, "192.0.2.0/24", mustNotAsk},
		{"no enforcement decides before the remembered browser is read",
			settings(func(s *gatehouse.PasswordSettings) { s.EnforceTwoFactor = false }), gatehouse.User{}, outside, gatehouse.TwoFactorNotEnforced, "", mustNotAsk},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			org := &gatehouse.Organization{ID: "org1", Settings: tc.settings}
			u := tc.user
			u.OrgID = "org1"
			d, err := Decide(org, &u, tc.ip, tc.remembered)
			if err != nil {
				t.Fatal(err)
			}
			if d.Outcome != tc.want {
				t.Errorf("outcome = %q, want %q", d.Outcome, tc.want)
			}
			if got := prefixString(d.Network); got != tc.network {
				t.Errorf("network = %q, want %q", got, tc.network)
			}
		})
	}
}

func TestDecideRefusesWhatItCannotRead(t *testing.T) {
	org := &gatehouse.Organization{ID: "org1", Settings: gatehouse.DefaultPasswordSettings()}
	if _, err := Decide(org, &gatehouse.User{OrgID: "org2"}, netip.Addr{}, nil); err == nil {
		t.Error("a user of another organization was decided on")
	}
	bad := *org
	bad.Settings.OTPMethod = "carrier-pigeon"
	if _, err := Decide(&bad, &gatehouse.User{OrgID: "org1"}, netip.Addr{}, nil); err == nil {
		t.Error("an unknown method was decided on instead of failing closed")
	}
	bad = *org
	bad.Settings.AuthMethod = "kerberos"
	if _, err := Decide(&bad, &gatehouse.User{OrgID: "org1"}, netip.Addr{}, nil); err == nil {
		t.Error("an unknown sign-in method was decided on instead of failing closed")
	}
}

func rememberedAs(id string) func() (string, error) {
	return func() (string, error) { return id, nil }
}

func mustNotAsk() (string, error) {
	return "", errors.New("the remembered browser was read though an earlier rule decided")
}

func TestDecideFailsClosedWhenTheRememberedLookupFails(t *testing.T) {
	org := &gatehouse.Organization{ID: "org1", Settings: gatehouse.DefaultPasswordSettings()}
	_, err := Decide(org, &gatehouse.User{OrgID: "org1"}, netip.Addr{}, func() (string, error) { return "", errors.New("db down") })
	if err == nil {
		t.Error("a failed lookup was decided on instead of failing closed")
	}
}

func prefixString(p netip.Prefix) string {
	if !p.IsValid() {
		return ""
	}
	return p.String()
}

func TestThrottlingWaitDoublesUpToTheCap(t *testing.T) {
	th := DefaultThrottling()
	for _, tc := range []struct {
		failures int
		want     string
	}{{4, "0s"}, {5, "30s"}, {6, "1m0s"}, {7, "2m0s"}, {9, "8m0s"}, {10, "15m0s"}, {60, "15m0s"}} {
		if got := th.Wait(tc.failures, th.AccountFree).String(); got != tc.want {
			t.Errorf("wait after %d failures = %s, want %s", tc.failures, got, tc.want)
		}
	}
}
