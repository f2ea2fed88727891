package main

import (
	"flag"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/internal/clientip"
)

// TestEnvExampleNamesEverySettingOfServe keeps deploy/gatehouse.env.example
// whole: it names every variable serve reads (set or commented out), no
// variable serve does not read, and the values it sets are ones serve
// accepts.
func TestEnvExampleNamesEverySettingOfServe(t *testing.T) {
	b, err := os.ReadFile("../../deploy/gatehouse.env.example")
	if err != nil {
		t.Fatal(err)
	}
	named := map[string]bool{}
	set := map[string]string{}
	line := regexp.MustCompile(`^(#?)(GATEHOUSE_[A-Z0-9_]+)=(.*)$`)
	for l := range strings.Lines(string(b)) {
		m := line.FindStringSubmatch(strings.TrimSpace(l))
		if m == nil {
			continue
		}
		named[m[2]] = true
		if m[1] == "" {
			set[m[2]] = m[3]
		}
	}
	var reads []string
	for _, s := range serverSettings {
		reads = append(reads, s.env)
		if !named[s.env] {
			t.Errorf("serve reads %s (--%s), but deploy/gatehouse.env.example does not name it", s.env, s.flag)
		}
	}
	for v := range named {
		if !slices.Contains(reads, v) {
			t.Errorf("deploy/gatehouse.env.example names %s, which serve does not read", v)
		}
	}

	// The values set are accepted as serve would read them.
	var c Config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := parseFlags(fs, &c, serverSettings, nil, func(k string) string { return set[k] }); err != nil {
		t.Fatalf("serve refuses the example's values: %v", err)
	}
	if err := c.validate(); err != nil {
		t.Errorf("serve refuses the example's values: %v", err)
	}
	if _, err := clientip.ParseTrusted(c.TrustedProxies); err != nil {
		t.Errorf("serve refuses the example's GATEHOUSE_TRUSTED_PROXIES: %v", err)
	}
	if _, err := publicURL(c.PublicURL, nil); err != nil {
		t.Errorf("serve refuses the example's GATEHOUSE_PUBLIC_URL: %v", err)
	}
	if c.Dev {
		t.Error("the example turns dev mode on")
	}
}
