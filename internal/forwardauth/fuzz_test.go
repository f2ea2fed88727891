package forwardauth_test

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzReturnCheck: whatever the input, an accepted return URL is a local
// path or an http(s) address of an allowed host without userinfo, in a
// form that browsers read the same way (no backslash, space or control
// character, not protocol-relative).
func FuzzReturnCheck(f *testing.F) {
	for _, s := range []string{"/account", "https://app.acme.test/x?y=1", "//evil.test", "/\\evil.test", "https://app.acme.test@evil.test/",
		"https:evil.test", "HTTPS://APP.ACME.TEST:8443/%2F%2Fevil", "/\t/evil.test", "javascript:alert(1)", "https://acme.test", "https://xacme.test"} {
		f.Add(s)
	}
	r := newReturns(f, "https://login.acme.test", ".acme.test")
	f.Fuzz(func(t *testing.T, raw string) {
		out, ok := r.Check(raw)
		if !ok {
			return
		}
		if strings.ContainsFunc(out, func(c rune) bool { return c <= ' ' || c == 0x7f || c == '\\' }) {
			t.Fatalf("Check(%q) = %q holds a character browsers strip or turn into /", raw, out)
		}
		if strings.HasPrefix(out, "/") {
			if strings.HasPrefix(out, "//") {
				t.Fatalf("Check(%q) = %q is protocol-relative", raw, out)
			}
			return
		}
		u, err := url.Parse(out)
		if err != nil || (u.Scheme != "https") || u.User != nil || u.Opaque != "" {
			t.Fatalf("Check(%q) = %q: not a plain https URL (%v)", raw, out, err)
		}
		if h := strings.ToLower(u.Hostname()); h != "login.acme.test" && h != "acme.test" && !strings.HasSuffix(h, ".acme.test") {
			t.Fatalf("Check(%q) = %q goes to %q", raw, out, h)
		}
	})
}
