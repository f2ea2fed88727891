package saml

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	crewjam "github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"
)

var testNow = time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)

// spOptions are the options of organization "acme" at
// https://login.example.com, with the IdP of idpEntity, a fixed clock and
// stores in memory; mod may change them.
func spOptions(t testing.TB, mod func(*Options)) Options {
	t.Helper()
	key, cert := testKeyPair(t, 1)
	base, _ := url.Parse("https://login.example.com")
	opts := Options{
		BaseURL:        base,
		OrgSlug:        "acme",
		Key:            key,
		Cert:           cert,
		IdPMetadata:    staticIdPMetadata(t),
		Clock:          func() time.Time { return testNow },
		ReplayCache:    newMemReplay(),
		RequestTracker: newMemTracker(),
	}
	if mod != nil {
		mod(&opts)
	}
	return opts
}

func newTestSP(t *testing.T, mod func(*Options)) *ServiceProvider {
	t.Helper()
	sp, err := New(spOptions(t, mod))
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

func TestNewRefusesBadWiring(t *testing.T) {
	_, strangerCert := testKeyPair(t, 2)
	tests := []struct {
		name string
		mod  func(*Options)
	}{
		{"no base URL", func(o *Options) { o.BaseURL = nil }},
		{"a relative base URL", func(o *Options) { o.BaseURL = &url.URL{Path: "/gatehouse"} }},
		{"no slug", func(o *Options) { o.OrgSlug = "" }},
		{"a slug with a slash", func(o *Options) { o.OrgSlug = "a/b" }},
		{"no key", func(o *Options) { o.Key = nil }},
		{"a certificate of another key", func(o *Options) { o.Cert = strangerCert }},
		{"no IdP metadata", func(o *Options) { o.IdPMetadata = nil }},
		{"no replay cache", func(o *Options) { o.ReplayCache = nil }},
		{"no request tracker", func(o *Options) { o.RequestTracker = nil }},
		{"a bad attribute name", func(o *Options) { o.EmailAttr = "a\nb" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(spOptions(t, tt.mod)); err == nil {
				t.Fatal("New accepted it")
			}
		})
	}
}

func TestEndpoints(t *testing.T) {
	tests := []struct {
		base, slug    string
		metadata, acs string
	}{
		{"https://login.example.com", "acme",
			"https://login.example.com/saml/acme/metadata", "https://login.example.com/saml/acme/acs"},
		{"https://example.com/gatehouse/", "acme",
			"https://example.com/gatehouse/saml/acme/metadata", "https://example.com/gatehouse/saml/acme/acs"},
		{"http://127.0.0.1:8080?x=1#top", "north-clinic",
			"http://127.0.0.1:8080/saml/north-clinic/metadata", "http://127.0.0.1:8080/saml/north-clinic/acs"},
	}
	for _, tt := range tests {
		t.Run(tt.base, func(t *testing.T) {
			base, err := url.Parse(tt.base)
			if err != nil {
				t.Fatal(err)
			}
			sp := newTestSP(t, func(o *Options) { o.BaseURL, o.OrgSlug = base, tt.slug })
			if got := sp.MetadataURL(); got != tt.metadata {
				t.Errorf("MetadataURL %q, want %q", got, tt.metadata)
			}
			if got := sp.EntityID(); got != tt.metadata {
				t.Errorf("EntityID %q, want the metadata URL %q", got, tt.metadata)
			}
			if got := sp.ACSURL(); got != tt.acs {
				t.Errorf("ACSURL %q, want %q", got, tt.acs)
			}
		})
	}
}

func TestMetadata(t *testing.T) {
	now := testNow
	sp := newTestSP(t, func(o *Options) { o.Clock = func() time.Time { return now } })
	md, err := sp.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(72 * time.Hour)
	again, err := sp.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(md, again) {
		t.Error("the metadata changes with the clock; it should be the same at every fetch")
	}

	var e crewjam.EntityDescriptor
	if err := xml.Unmarshal(md, &e); err != nil {
		t.Fatal(err)
	}
	if e.EntityID != sp.MetadataURL() {
		t.Errorf("entityID %q, want %q", e.EntityID, sp.MetadataURL())
	}
	if !e.ValidUntil.IsZero() {
		t.Errorf("validUntil %s, want none", e.ValidUntil)
	}
	if len(e.SPSSODescriptors) != 1 {
		t.Fatalf("%d SPSSODescriptors", len(e.SPSSODescriptors))
	}
	d := e.SPSSODescriptors[0]
	if d.AuthnRequestsSigned == nil || !*d.AuthnRequestsSigned {
		t.Error("AuthnRequestsSigned is not true")
	}
	if d.WantAssertionsSigned == nil || !*d.WantAssertionsSigned {
		t.Error("WantAssertionsSigned is not true")
	}
	if len(d.AssertionConsumerServices) != 1 {
		t.Fatalf("ACS endpoints %+v, want one", d.AssertionConsumerServices)
	}
	if acs := d.AssertionConsumerServices[0]; acs.Binding != crewjam.HTTPPostBinding || acs.Location != sp.ACSURL() {
		t.Errorf("ACS %s at %s, want HTTP-POST at %s", acs.Binding, acs.Location, sp.ACSURL())
	}
	if len(d.SingleLogoutServices) != 0 {
		t.Errorf("single logout endpoints %+v, want none", d.SingleLogoutServices)
	}
	_, cert := testKeyPair(t, 1)
	uses := map[string]bool{}
	for _, kd := range d.KeyDescriptors {
		for _, c := range kd.KeyInfo.X509Data.X509Certificates {
			if c.Data != base64.StdEncoding.EncodeToString(cert.Raw) {
				t.Errorf("%s certificate is not the SP's", kd.Use)
			}
			uses[kd.Use] = true
		}
	}
	if !uses["signing"] || !uses["encryption"] {
		t.Errorf("certificate uses %v, want signing and encryption", uses)
	}
}

func TestAuthnRequestURL(t *testing.T) {
	tracker := newMemTracker()
	sp := newTestSP(t, func(o *Options) { o.RequestTracker = tracker })

	raw, err := sp.AuthnRequestURL(context.Background(), "opaque-handle", testNonce)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Scheme + "://" + u.Host + u.Path; got != "https://idp.example.com/sso" {
		t.Errorf("redirect to %s, want the IdP's HTTP-Redirect SSO endpoint", got)
	}
	q := u.Query()
	if got := q.Get("RelayState"); got != "opaque-handle" {
		t.Errorf("RelayState %q", got)
	}
	if got := q.Get("SigAlg"); got != dsig.RSASHA256SignatureMethod || q.Get("Signature") == "" {
		t.Errorf("SigAlg %q, Signature %q: want an RSA-SHA256 query string signature", got, q.Get("Signature"))
	}
	deflated, err := base64.StdEncoding.DecodeString(q.Get("SAMLRequest"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := io.ReadAll(flate.NewReader(bytes.NewReader(deflated)))
	if err != nil {
		t.Fatal(err)
	}
	var req crewjam.AuthnRequest
	if err := xml.Unmarshal(doc, &req); err != nil {
		t.Fatal(err)
	}
	if req.Destination != "https://idp.example.com/sso" || req.AssertionConsumerServiceURL != sp.ACSURL() ||
		req.ProtocolBinding != crewjam.HTTPPostBinding || req.Issuer == nil || req.Issuer.Value != sp.EntityID() {
		t.Errorf("AuthnRequest %s", doc)
	}
	if !req.IssueInstant.Equal(testNow) {
		t.Errorf("IssueInstant %s, want the SP clock's %s", req.IssueInstant, testNow)
	}
	until, ok := tracker.until(req.ID)
	if !ok || !until.Equal(testNow.Add(RequestLifetime)) {
		t.Errorf("request %s tracked until %s (%v), want %s", req.ID, until, ok, testNow.Add(RequestLifetime))
	}

	t.Run("a RelayState over 80 bytes is refused and nothing is recorded", func(t *testing.T) {
		before := tracker.len()
		if _, err := sp.AuthnRequestURL(context.Background(), strings.Repeat("r", 81), testNonce); !errors.Is(err, crewjam.ErrRelayStateTooLong) {
			t.Fatalf("error %v, want ErrRelayStateTooLong", err)
		}
		if tracker.len() != before {
			t.Error("the request was recorded")
		}
	})
}

// postRequest is a POST to the ACS with the given form.
func postRequest(sp *ServiceProvider, form url.Values) *http.Request {
	r := httptest.NewRequest(http.MethodPost, sp.ACSURL(), strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

func encodeResponse(doc string) string { return base64.StdEncoding.EncodeToString([]byte(doc)) }

func TestParseResponseRefusesMalformedPosts(t *testing.T) {
	consumed := 0
	tracker := trackerFuncs{
		issue: func(context.Context, string, []byte, time.Time) error { return nil },
		consume: func(context.Context, string, time.Time) ([]byte, bool, error) {
			consumed++
			return nil, false, nil
		},
	}
	sp := newTestSP(t, func(o *Options) { o.RequestTracker = tracker })
	response := `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="id-1" InResponseTo="id-42" Version="2.0"/>`

	tests := []struct {
		name    string
		request func() *http.Request
		want    error // nil: any refusal
		consume bool  // whether the tracker is asked
	}{
		{"a GET", func() *http.Request {
			return httptest.NewRequest(http.MethodGet, sp.ACSURL()+"?SAMLResponse="+url.QueryEscape(encodeResponse(response)), nil)
		}, nil, false},
		{"a form without SAMLResponse", func() *http.Request {
			return postRequest(sp, url.Values{"RelayState": {"x"}})
		}, nil, false},
		{"an artifact", func() *http.Request {
			return postRequest(sp, url.Values{"SAMLart": {"AAQAAA"}, "SAMLResponse": {encodeResponse(response)}})
		}, nil, false},
		{"an artifact in the query", func() *http.Request {
			r := postRequest(sp, url.Values{"SAMLResponse": {encodeResponse(response)}})
			r.URL.RawQuery = "SAMLart=AAQAAA"
			return r
		}, nil, false},
		{"a SAMLResponse that is not base64", func() *http.Request {
			return postRequest(sp, url.Values{"SAMLResponse": {"<samlp:Response/>"}})
		}, crewjam.ErrMalformedMessage, false},
		{"a SAMLResponse that is not XML", func() *http.Request {
			return postRequest(sp, url.Values{"SAMLResponse": {encodeResponse("hello")}})
		}, crewjam.ErrMalformedMessage, false},
		{"a LogoutResponse", func() *http.Request {
			return postRequest(sp, url.Values{"SAMLResponse": {encodeResponse(strings.ReplaceAll(response, "samlp:Response", "samlp:LogoutResponse"))}})
		}, crewjam.ErrMalformedMessage, false},
		{"a Response in no namespace", func() *http.Request {
			return postRequest(sp, url.Values{"SAMLResponse": {encodeResponse(`<Response InResponseTo="id-42"/>`)}})
		}, crewjam.ErrMalformedMessage, false},
		{"a Response without InResponseTo", func() *http.Request {
			return postRequest(sp, url.Values{"SAMLResponse": {encodeResponse(strings.ReplaceAll(response, ` InResponseTo="id-42"`, ""))}})
		}, crewjam.ErrRequestIDMismatch, false},
		{"a Response with an over-long InResponseTo", func() *http.Request {
			return postRequest(sp, url.Values{"SAMLResponse": {encodeResponse(strings.ReplaceAll(response, "id-42", "id-"+strings.Repeat("4", 200)))}})
		}, crewjam.ErrRequestIDMismatch, false},
		{"a Response to a request the tracker does not have", func() *http.Request {
			return postRequest(sp, url.Values{"SAMLResponse": {encodeResponse(response)}})
		}, crewjam.ErrRequestIDMismatch, true},
		{"a body over the size limit", func() *http.Request {
			return postRequest(sp, url.Values{"SAMLResponse": {strings.Repeat("A", MaxResponseForm)}})
		}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := consumed
			_, err := sp.ParseResponse(context.Background(), tt.request(), testNonce)
			wantRefused(t, err, tt.want)
			if got := consumed > before; got != tt.consume {
				t.Errorf("the tracker was asked: %v, want %v", got, tt.consume)
			}
		})
	}
}
