package gatehouse_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
)

// FuzzParseSkipNetworks feeds the admin's list of skip networks anything at
// all: it must never panic; what it accepts must validate as settings and
// read back the same; what it refuses is an invalid_network or invalid_input
// error naming skip_networks.
func FuzzParseSkipNetworks(f *testing.F) {
	f.Add("192.0.2.0/24\n2001:db8::/48")
	f.Add("0.0.0.0/1\n128.0.0.0/1")
	f.Add("::ffff:192.0.2.0/120\n10.0.0.1\nclinic.example")
	f.Add("192.0.2.7/24\n::/0\n fe80::%eth0/64 ")
	f.Fuzz(func(t *testing.T, text string) {
		entries := strings.Split(text, "\n")
		nets, err := gatehouse.ParseSkipNetworks(entries)
		if err != nil {
			var ge *gatehouse.Error
			if !errors.As(err, &ge) || ge.Field != "skip_networks" || (ge.Code != gatehouse.EINVALIDNETWORK && ge.Code != gatehouse.EINVALID) {
				t.Fatalf("refused with %v, want an error naming skip_networks", err)
			}
			return
		}
		s := gatehouse.DefaultPasswordSettings()
		s.SkipNetworks = nets
		if err := s.Validate(); err != nil {
			t.Fatalf("accepted %q but the settings do not validate: %v", nets, err)
		}
		var again []string
		for _, p := range nets {
			again = append(again, p.String())
		}
		back, err := gatehouse.ParseSkipNetworks(again)
		if err != nil || len(back) != len(nets) {
			t.Fatalf("%q does not read back: %v, %v", again, back, err)
		}
		for i := range back {
			if back[i] != nets[i] {
				t.Fatalf("read back %v, want %v", back, nets)
			}
		}
	})
}
