package saml

import (
	"context"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"testing"
)

// FuzzRelayState: any RelayState either is refused (over the 80 bytes the
// bindings allow) or travels to the IdP unchanged, inside the IdP's SSO URL,
// never changing where the browser goes; and any RelayState posted back to
// the ACS with a response that answers no request is refused without
// trouble (the ACS redirects to / whatever it says).
func FuzzRelayState(f *testing.F) {
	for _, s := range []string{"", "opaque-handle", "https://evil.example/", "//evil.example", "a\r\nLocation: x",
		"%2F%2Fevil", strings.Repeat("r", 80), strings.Repeat("r", 81), "\x00\xff", "ü&x=y#frag"} {
		f.Add(s)
	}
	tracker := newMemTracker()
	sp, err := New(spOptions(f, func(o *Options) { o.RequestTracker = tracker }))
	if err != nil {
		f.Fatal(err)
	}
	sso, err := url.Parse(sp.sp.GetSSOBindingLocation("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"))
	if err != nil {
		f.Fatal(err)
	}
	junk := base64.StdEncoding.EncodeToString([]byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="r" InResponseTo="id-unknown"/>`))
	f.Fuzz(func(t *testing.T, relayState string) {
		raw, err := sp.AuthnRequestURL(context.Background(), relayState, testNonce)
		if len(relayState) > 80 {
			if err == nil {
				t.Fatalf("a RelayState of %d bytes was sent", len(relayState))
			}
		} else {
			if err != nil {
				t.Fatalf("RelayState %q: %v", relayState, err)
			}
			u, err := url.Parse(raw)
			if err != nil {
				t.Fatalf("the request URL does not parse: %v", err)
			}
			if u.Scheme != sso.Scheme || u.Host != sso.Host || u.Path != sso.Path {
				t.Fatalf("RelayState %q sends the browser to %s, want the IdP's %s", relayState, u, sso)
			}
			if got := u.Query().Get("RelayState"); got != relayState {
				t.Fatalf("RelayState %q arrives as %q", relayState, got)
			}
		}
		_, err = sp.ParseResponse(context.Background(), postRequest(sp, url.Values{"SAMLResponse": {junk}, "RelayState": {relayState}}), testNonce)
		if !errors.Is(err, ErrInvalidResponse) {
			t.Fatalf("a response to no request, RelayState %q: %v, want it refused", relayState, err)
		}
	})
}

// FuzzInResponseTo: the pre-parse of an untrusted SAMLResponse never panics,
// and what it returns is an attribute of the document, no longer than it.
func FuzzInResponseTo(f *testing.F) {
	for _, s := range []string{
		`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" InResponseTo="id-1"/>`,
		`<?xml version="1.0"?><!-- c --><samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>`,
		`<Response InResponseTo="x"/>`, `<!DOCTYPE x [<!ENTITY a "b">]><x/>`, "", "not xml",
	} {
		f.Add(base64.StdEncoding.EncodeToString([]byte(s)))
	}
	f.Add("!!!not base64")
	f.Fuzz(func(t *testing.T, encoded string) {
		id, err := inResponseTo(encoded)
		if err != nil && id != "" {
			t.Fatalf("an error (%v) and an ID %q", err, id)
		}
		if len(id) > len(encoded) {
			t.Fatalf("an ID of %d bytes from %d bytes of input", len(id), len(encoded))
		}
	})
}

// FuzzBrowserNonce: a cookie value is accepted as a nonce only in the form
// NewBrowserNonce makes, and its hash is fixed and never the value.
func FuzzBrowserNonce(f *testing.F) {
	f.Add(testNonce)
	f.Add("")
	f.Add(strings.Repeat("A", 43))
	f.Add(strings.Repeat("=", 43))
	f.Fuzz(func(t *testing.T, v string) {
		if !ValidBrowserNonce(v) {
			return
		}
		b, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil || len(b) != 32 || base64.RawURLEncoding.EncodeToString(b) != v {
			t.Fatalf("ValidBrowserNonce(%q) but it is not 32 bytes in canonical base64url", v)
		}
		h := hashBrowserNonce(v)
		if len(h) != 32 || string(h) == v || string(hashBrowserNonce(v)) != string(h) {
			t.Fatalf("hash of %q: %x", v, h)
		}
	})
}
