package gatehouse_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
)

func TestANewOrganizationEnforcesTwoFactorByEmail(t *testing.T) {
	s := gatehouse.DefaultPasswordSettings()
	if !s.EnforceTwoFactor || s.OTPMethod != gatehouse.OTPEmail || s.RememberDays != 30 || s.AuthMethod != gatehouse.AuthPassword || len(s.SkipNetworks) != 0 {
		t.Errorf("defaults = %+v, want enforced, e-mail, 30 days, password, no networks", s)
	}
	if err := s.Validate(); err != nil {
		t.Errorf("the defaults do not validate: %v", err)
	}
}

func TestParseSkipNetworks(t *testing.T) {
	good := []struct {
		in   []string
		want []string
	}{
		{[]string{"192.0.2.0/24"}, []string{"192.0.2.0/24"}},
		{[]string{" 2001:db8::/32 ", "", "192.0.2.7/32"}, []string{"2001:db8::/32", "192.0.2.7/32"}},
		{[]string{"10.0.0.0/8", "10.0.0.0/8"}, []string{"10.0.0.0/8"}},
	}
	for _, tc := range good {
		got, err := gatehouse.ParseSkipNetworks(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("%q: got %v, want %v", tc.in, got, tc.want)
			continue
		}
		for i := range got {
			if got[i].String() != tc.want[i] {
				t.Errorf("%q: got %v, want %v", tc.in, got, tc.want)
			}
		}
	}
	bad := []struct {
		name, entry string
	}{
		{"a bare address", "192.0.2.7"},
		{"a host name", "clinic.example.com"},
		{"host bits set", "192.0.2.7/24"},
		{"everyone over IPv4", "0.0.0.0/0"},
		{"everyone over IPv6", "::/0"},
		{"a range", "192.0.2.1-192.0.2.9"},
		{"a prefix too long", "192.0.2.0/33"},
		{"an IPv4-mapped network", "::ffff:192.0.2.0/120"},
	}
	for _, tc := range bad {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			_, err := gatehouse.ParseSkipNetworks([]string{"198.51.100.0/24", tc.entry})
			var ge *gatehouse.Error
			if !errors.As(err, &ge) || ge.Code != gatehouse.EINVALIDNETWORK {
				t.Fatalf("got %v, want invalid_network", err)
			}
			if ge.Entry != tc.entry {
				t.Errorf("entry = %q, want %q", ge.Entry, tc.entry)
			}
			if !strings.Contains(ge.Message, `"`+tc.entry+`"`) {
				t.Errorf("message %q does not quote the entry", ge.Message)
			}
		})
	}
}

func TestParseSkipNetworksRefusesNetworksThatTogetherCoverEveryone(t *testing.T) {
	covering := []struct {
		name    string
		entries []string
		entry   string // the one quoted
	}{
		{"the two IPv4 halves", []string{"0.0.0.0/1", "128.0.0.0/1"}, "128.0.0.0/1"},
		{"the two IPv4 halves typed backwards", []string{"128.0.0.0/1", "0.0.0.0/1"}, "128.0.0.0/1"},
		{"the two IPv6 halves", []string{"::/1", "8000::/1"}, "8000::/1"},
		{"four IPv4 quarters among other networks", []string{"192.0.2.0/24", "64.0.0.0/2", "0.0.0.0/2", "10.0.0.0/8", "128.0.0.0/2", "192.0.0.0/2"}, "192.0.0.0/2"},
		{"overlapping pieces", []string{"0.0.0.0/2", "0.0.0.0/1", "64.0.0.0/2", "128.0.0.0/1"}, "128.0.0.0/1"},
	}
	for _, tc := range covering {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			_, err := gatehouse.ParseSkipNetworks(tc.entries)
			var ge *gatehouse.Error
			if !errors.As(err, &ge) || ge.Code != gatehouse.EINVALIDNETWORK {
				t.Fatalf("got %v, want invalid_network", err)
			}
			if ge.Entry != tc.entry || !strings.Contains(ge.Message, `"`+tc.entry+`"`) || !strings.Contains(ge.Message, "together") {
				t.Errorf("entry %q, message %q; want the entry %q named as completing the cover", ge.Entry, ge.Message, tc.entry)
			}
			s := gatehouse.DefaultPasswordSettings()
			for _, e := range tc.entries {
				s.SkipNetworks = append(s.SkipNetworks, netip.MustParsePrefix(e))
			}
			if code := gatehouse.ErrorCode(s.Validate()); code != gatehouse.EINVALIDNETWORK {
				t.Errorf("Validate of the same set: %q, want invalid_network", code)
			}
		})
	}
	leaving := []struct {
		name    string
		entries []string
	}{
		{"one half of IPv4", []string{"0.0.0.0/1"}},
		{"IPv4 but the last address", []string{"0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/3", "224.0.0.0/4", "240.0.0.0/5", "248.0.0.0/6",
			"252.0.0.0/7", "254.0.0.0/8", "255.0.0.0/9", "255.128.0.0/10", "255.192.0.0/11", "255.224.0.0/12", "255.240.0.0/13",
			"255.248.0.0/14", "255.252.0.0/15", "255.254.0.0/16", "255.255.0.0/17", "255.255.128.0/18", "255.255.192.0/19",
			"255.255.224.0/20", "255.255.240.0/21", "255.255.248.0/22", "255.255.252.0/23", "255.255.254.0/24", "255.255.255.0/25",
			"255.255.255.128/26", "255.255.255.192/27", "255.255.255.224/28", "255.255.255.240/29", "255.255.255.248/30",
			"255.255.255.252/31", "255.255.255.254/32"}},
		{"IPv4 but the first address", []string{"0.0.0.1/32", "0.0.0.2/31", "0.0.0.4/30", "0.0.0.8/29", "0.0.0.16/28", "0.0.0.32/27",
			"0.0.0.64/26", "0.0.0.128/25", "0.0.1.0/24", "0.0.2.0/23", "0.0.4.0/22", "0.0.8.0/21", "0.0.16.0/20", "0.0.32.0/19",
			"0.0.64.0/18", "0.0.128.0/17", "0.1.0.0/16", "0.2.0.0/15", "0.4.0.0/14", "0.8.0.0/13", "0.16.0.0/12", "0.32.0.0/11",
			"0.64.0.0/10", "0.128.0.0/9", "1.0.0.0/8", "2.0.0.0/7", "4.0.0.0/6", "8.0.0.0/5", "16.0.0.0/4", "32.0.0.0/3",
			"64.0.0.0/2", "128.0.0.0/1"}},
		{"an IPv4 half and an IPv6 half", []string{"0.0.0.0/1", "8000::/1"}},
	}
	for _, tc := range leaving {
		t.Run("accepts "+tc.name, func(t *testing.T) {
			if _, err := gatehouse.ParseSkipNetworks(tc.entries); err != nil {
				t.Errorf("refused: %v", err)
			}
		})
	}
}

func TestSkipNetworkMatchUnmapsIPv4(t *testing.T) {
	nets := []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
	if _, ok := gatehouse.SkipNetworkMatch(nets, netip.MustParseAddr("::ffff:192.0.2.1")); !ok {
		t.Error("an IPv4-mapped address did not match its IPv4 network")
	}
	if _, ok := gatehouse.SkipNetworkMatch(nets, netip.MustParseAddr("192.0.3.1")); ok {
		t.Error("an address outside the network matched")
	}
}

func TestValidateRefusesTwoFactorWithFederatedSignIn(t *testing.T) {
	for _, m := range []gatehouse.AuthMethod{gatehouse.AuthLDAP, gatehouse.AuthSAML2} {
		s := gatehouse.DefaultPasswordSettings()
		s.AuthMethod = m
		if code := gatehouse.ErrorCode(s.Validate()); code != gatehouse.ETWOFACTORUNAVAIL {
			t.Errorf("%s with enforcement: %q, want two_factor_unavailable", m, code)
		}
		s.EnforceTwoFactor = false
		if err := s.Validate(); err != nil {
			t.Errorf("%s without enforcement: %v", m, err)
		}
	}
	for name, mod := range map[string]func(*gatehouse.PasswordSettings){
		"otp_method":    func(s *gatehouse.PasswordSettings) { s.OTPMethod = "fax" },
		"auth_method":   func(s *gatehouse.PasswordSettings) { s.AuthMethod = "kerberos" },
		"remember_days": func(s *gatehouse.PasswordSettings) { s.RememberDays = -1 },
		"skip_networks": func(s *gatehouse.PasswordSettings) {
			s.SkipNetworks = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}
		},
	} {
		s := gatehouse.DefaultPasswordSettings()
		mod(&s)
		var ge *gatehouse.Error
		if err := s.Validate(); !errors.As(err, &ge) || ge.Field != name {
			t.Errorf("a bad %s: %v, want an error naming the field", name, err)
		}
	}
}

func TestNormalizeEmail(t *testing.T) {
	got, err := gatehouse.NormalizeEmail("  Ada.Lovelace@Clinic.Example ")
	if err != nil || got != "ada.lovelace@clinic.example" {
		t.Errorf("got %q, %v", got, err)
	}
	for _, bad := range []string{"", "ada", "ada@", "Ada <ada@x.test>", "a@b@c.test", "ada @x.test"} {
		if _, err := gatehouse.NormalizeEmail(bad); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
			t.Errorf("%q: %v, want invalid_input", bad, err)
		}
	}
}

func TestValidateSlug(t *testing.T) {
	for _, ok := range []string{"a", "acme", "north-clinic-2"} {
		if err := gatehouse.ValidateSlug(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "-a", "a-", "Acme", "a b", "a/b", "ä", string(make([]byte, 64))} {
		if err := gatehouse.ValidateSlug(bad); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}

func TestNewIDsAreOpaqueAndDistinct(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := gatehouse.NewID()
		if len(id) != 26 || seen[id] {
			t.Fatalf("id %q repeats or has the wrong length", id)
		}
		seen[id] = true
	}
}
