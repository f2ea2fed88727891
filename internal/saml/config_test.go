package saml

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	crewjam "github.com/crewjam/saml"

	"github.com/gatehousehq/gatehouse"
)

// idpEntity is the metadata crewjam's IdentityProvider publishes for an IdP
// at https://idp.example.com, for tests that need no running IdP.
func idpEntity(t testing.TB) *crewjam.EntityDescriptor {
	t.Helper()
	key, cert := testKeyPair(t, 0)
	idp := crewjam.IdentityProvider{
		Key:         key,
		Certificate: cert,
		MetadataURL: url.URL{Scheme: "https", Host: "idp.example.com", Path: "/metadata"},
		SSOURL:      url.URL{Scheme: "https", Host: "idp.example.com", Path: "/sso"},
	}
	return idp.Metadata()
}

func marshalEntity(t testing.TB, e *crewjam.EntityDescriptor) string {
	t.Helper()
	b, err := xml.MarshalIndent(e, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// idpMetadataXML returns the metadata of idpEntity, changed by mod.
func idpMetadataXML(t testing.TB, mod func(*crewjam.EntityDescriptor)) string {
	t.Helper()
	e := idpEntity(t)
	if mod != nil {
		mod(e)
	}
	return marshalEntity(t, e)
}

func staticIdPMetadata(t testing.TB) *IdPMetadata {
	t.Helper()
	m, err := ParseIdPMetadata([]byte(idpMetadataXML(t, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// wantFieldError checks that err is an EINVALID *gatehouse.Error naming
// field ("" for no error).
func wantFieldError(t *testing.T, err error, field string) {
	t.Helper()
	if field == "" {
		if err != nil {
			t.Fatalf("error %v, want none", err)
		}
		return
	}
	var ge *gatehouse.Error
	if !errors.As(err, &ge) || ge.Code != gatehouse.EINVALID || ge.Field != field {
		t.Fatalf("error %#v, want an %s error naming %q", err, gatehouse.EINVALID, field)
	}
	t.Logf("%s: %s", ge.Field, ge.Message)
}

func TestConfigValidate(t *testing.T) {
	good := idpMetadataXML(t, nil)
	onlyPOST := idpMetadataXML(t, func(e *crewjam.EntityDescriptor) {
		d := &e.IDPSSODescriptors[0]
		var kept []crewjam.Endpoint
		for _, s := range d.SingleSignOnServices {
			if s.Binding != crewjam.HTTPRedirectBinding {
				kept = append(kept, s)
			}
		}
		d.SingleSignOnServices = kept
	})
	noSigningKey := idpMetadataXML(t, func(e *crewjam.EntityDescriptor) {
		d := &e.IDPSSODescriptors[0]
		var kept []crewjam.KeyDescriptor
		for _, kd := range d.KeyDescriptors {
			if kd.Use == "encryption" {
				kept = append(kept, kd)
			}
		}
		d.KeyDescriptors = kept
	})
	badCert := func(data string) string {
		return idpMetadataXML(t, func(e *crewjam.EntityDescriptor) {
			e.IDPSSODescriptors[0].KeyDescriptors[0].KeyInfo.X509Data.X509Certificates[0].Data = data
		})
	}
	ftpSSO := idpMetadataXML(t, func(e *crewjam.EntityDescriptor) {
		for i := range e.IDPSSODescriptors[0].SingleSignOnServices {
			e.IDPSSODescriptors[0].SingleSignOnServices[i].Location = "ftp://idp.example.com/sso"
		}
	})
	spMetadata := func() string {
		sp, err := New(spOptions(t, nil))
		if err != nil {
			t.Fatal(err)
		}
		md, err := sp.Metadata()
		if err != nil {
			t.Fatal(err)
		}
		return string(md)
	}()
	aggregate := `<EntitiesDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata">` + good + `</EntitiesDescriptor>`
	// Whitespace inside the certificate, as metadata often wraps it.
	wrapped := strings.Replace(good, "MII", "\n      MII", 1)

	tests := []struct {
		name  string
		cfg   Config
		field string // the field named, "" for valid
	}{
		{"IdP metadata as XML", Config{IdPMetadataXML: good}, ""},
		{"IdP metadata with a wrapped certificate", Config{IdPMetadataXML: wrapped}, ""},
		{"an aggregate holding one IdP", Config{IdPMetadataXML: aggregate}, ""},
		{"an https metadata URL", Config{IdPMetadataURL: "https://idp.example.com/metadata"}, ""},
		{"an http metadata URL to 127.0.0.1", Config{IdPMetadataURL: "http://127.0.0.1:8081/metadata"}, ""},
		{"an http metadata URL to [::1]", Config{IdPMetadataURL: "http://[::1]:8081/metadata"}, ""},
		{"an http metadata URL to localhost", Config{IdPMetadataURL: "http://localhost/metadata"}, ""},
		{"attribute names", Config{IdPMetadataXML: good, EmailAttr: "mail", NameAttr: "urn:oid:2.5.4.3", PhoneAttr: "mobile"}, ""},

		{"no metadata", Config{}, "idp_metadata"},
		{"only white space", Config{IdPMetadataXML: " \n"}, "idp_metadata"},
		{"both XML and a URL", Config{IdPMetadataXML: good, IdPMetadataURL: "https://idp.example.com/metadata"}, "idp_metadata"},
		{"XML that is not metadata", Config{IdPMetadataXML: "<html><body>Sign in</body></html>"}, "idp_metadata"},
		{"text that is not XML", Config{IdPMetadataXML: "MIIC0DCCAbigAwIBAgIQ"}, "idp_metadata"},
		{"an SP's metadata", Config{IdPMetadataXML: spMetadata}, "idp_metadata"},
		{"no HTTP-Redirect single sign-on endpoint", Config{IdPMetadataXML: onlyPOST}, "idp_metadata"},
		{"a single sign-on endpoint that is not http(s)", Config{IdPMetadataXML: ftpSSO}, "idp_metadata"},
		{"no signing certificate", Config{IdPMetadataXML: noSigningKey}, "idp_metadata"},
		{"a signing certificate that is not base64", Config{IdPMetadataXML: badCert("not base64!")}, "idp_metadata"},
		{"a signing certificate that is not a certificate", Config{IdPMetadataXML: badCert(base64.StdEncoding.EncodeToString([]byte("hello")))}, "idp_metadata"},
		{"metadata over the size limit", Config{IdPMetadataXML: good + "<!--" + strings.Repeat("x", MaxMetadataSize) + "-->"}, "idp_metadata"},

		{"an http metadata URL to another host", Config{IdPMetadataURL: "http://idp.example.com/metadata"}, "idp_metadata_url"},
		{"an http metadata URL to a private address", Config{IdPMetadataURL: "http://10.0.0.5/metadata"}, "idp_metadata_url"},
		{"an ftp metadata URL", Config{IdPMetadataURL: "ftp://idp.example.com/metadata"}, "idp_metadata_url"},
		{"a relative metadata URL", Config{IdPMetadataURL: "/metadata"}, "idp_metadata_url"},
		{"a metadata URL with a password", Config{IdPMetadataURL: "https://user:pw@idp.example.com/metadata"}, "idp_metadata_url"},
		{"a metadata URL that does not parse", Config{IdPMetadataURL: "https://idp.example.com/%zz"}, "idp_metadata_url"},
		{"a metadata URL over the length limit", Config{IdPMetadataURL: "https://idp.example.com/" + strings.Repeat("a", 2048)}, "idp_metadata_url"},

		{"an e-mail attribute on two lines", Config{IdPMetadataXML: good, EmailAttr: "mail\nx"}, "email_attribute"},
		{"a name attribute with spaces around it", Config{IdPMetadataXML: good, NameAttr: " cn"}, "name_attribute"},
		{"a phone attribute over the length limit", Config{IdPMetadataXML: good, PhoneAttr: strings.Repeat("p", 257)}, "phone_attribute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantFieldError(t, tt.cfg.Validate(), tt.field)
		})
	}
}

func TestParseIdPMetadata(t *testing.T) {
	m := staticIdPMetadata(t)
	if got, want := m.EntityID(), "https://idp.example.com/metadata"; got != want {
		t.Errorf("EntityID %q, want %q", got, want)
	}
	if got, want := m.SSOURL(), "https://idp.example.com/sso"; got != want {
		t.Errorf("SSOURL %q, want %q", got, want)
	}
	raw := m.Raw()
	raw[0] = 'X'
	if m.Raw()[0] == 'X' {
		t.Error("Raw returns the metadata's own bytes, want a copy")
	}

	cfg := Config{IdPMetadataXML: string(m.Raw())}
	got, err := cfg.IdPMetadata(context.Background(), FetchPolicy{})
	if err != nil || got.EntityID() != m.EntityID() {
		t.Fatalf("Config.IdPMetadata = %v, %v", got, err)
	}
}

// testServerIsPublic stands the loopback test server in for a public host:
// 127.0.0.1 counts as public, every other address by the real rule.
func testServerIsPublic(a netip.Addr) bool {
	return a == netip.MustParseAddr("127.0.0.1") || isPublicAddr(a)
}

func TestFetchIdPMetadata(t *testing.T) {
	good := idpMetadataXML(t, nil)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metadata", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/samlmetadata+xml")
		_, _ = w.Write([]byte(good))
	})
	mux.HandleFunc("GET /moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/metadata", http.StatusFound)
	})
	mux.HandleFunc("GET /downgrade", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://idp.example.com/metadata", http.StatusFound)
	})
	mux.HandleFunc("GET /to-private", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://10.1.2.3/metadata", http.StatusFound)
	})
	mux.HandleFunc("GET /to-metadata-service", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://169.254.169.254/latest/meta-data/", http.StatusFound)
	})
	mux.HandleFunc("GET /to-ipv6-loopback", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://[::1]:"+r.URL.Port()+"/metadata", http.StatusFound)
	})
	mux.HandleFunc("GET /page", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("<html><body>Welcome</body></html>"))
	})
	mux.HandleFunc("GET /huge", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(good + "<!--" + strings.Repeat("x", MaxMetadataSize) + "-->"))
	})
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	plain := httptest.NewServer(mux)
	t.Cleanup(plain.Close)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())

	public := FetchPolicy{RootCAs: roots, public: testServerIsPublic} // production rules, the test server "public"
	strict := FetchPolicy{RootCAs: roots}                             // production rules, exactly
	dev := FetchPolicy{RootCAs: roots, AllowPrivate: true}

	tests := []struct {
		name        string
		policy      FetchPolicy
		url         string
		field       string // an EINVALID error naming it
		unavailable bool   // an error wrapping ErrUnavailable
		blocked     bool   // an error wrapping ErrBlockedAddress
		timeout     time.Duration
	}{
		{"metadata over https", public, srv.URL + "/metadata", "", false, false, 0},
		{"a redirect to https", public, srv.URL + "/moved", "", false, false, 0},
		{"a redirect to plain http elsewhere is not followed", public, srv.URL + "/downgrade", "", true, false, 0},
		{"a 404", public, srv.URL + "/missing", "", true, false, 0},
		{"a page that is not metadata", public, srv.URL + "/page", "idp_metadata_url", false, false, 0},
		{"metadata over the size limit", public, srv.URL + "/huge", "idp_metadata_url", false, false, 0},
		{"an IdP that does not answer in time", public, srv.URL + "/slow", "", true, false, 300 * time.Millisecond},
		{"plain http to another host is not fetched", public, "http://idp.example.com/metadata", "idp_metadata_url", false, false, 0},

		{"https to a loopback address is refused", strict, srv.URL + "/metadata", "idp_metadata_url", false, true, 0},
		{"https to a name that resolves to loopback is refused at the dial", strict, "https://localhost:" + port + "/metadata", "idp_metadata_url", false, true, 0},
		{"plain http to loopback is refused outside development", strict, plain.URL + "/metadata", "idp_metadata_url", false, false, 0},
		{"https to a private address is refused", strict, "https://192.168.1.1/metadata", "idp_metadata_url", false, true, 0},
		{"a redirect to a private address is refused", public, srv.URL + "/to-private", "idp_metadata_url", false, true, 0},
		{"a redirect to the cloud metadata service is refused", public, srv.URL + "/to-metadata-service", "idp_metadata_url", false, true, 0},
		{"a redirect to IPv6 loopback is refused", public, srv.URL + "/to-ipv6-loopback", "idp_metadata_url", false, true, 0},

		{"development mode fetches from loopback over https", dev, srv.URL + "/metadata", "", false, false, 0},
		{"development mode fetches from loopback over http", dev, plain.URL + "/metadata", "", false, false, 0},
		{"development mode still refuses plain http elsewhere", dev, "http://idp.example.com/metadata", "idp_metadata_url", false, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.timeout == 0 {
				tt.timeout = MetadataFetchTimeout
			}
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			m, err := FetchIdPMetadata(ctx, tt.policy, tt.url)
			if got := errors.Is(err, ErrBlockedAddress); got != tt.blocked {
				t.Errorf("error %v wraps ErrBlockedAddress: %v, want %v", err, got, tt.blocked)
			}
			switch {
			case tt.unavailable:
				if !errors.Is(err, ErrUnavailable) || gatehouse.ErrorCode(err) != gatehouse.EUNAVAILABLE {
					t.Fatalf("error %v, want ErrUnavailable", err)
				}
				t.Logf("unavailable: %v", err)
			case tt.field != "":
				wantFieldError(t, err, tt.field)
			default:
				if err != nil {
					t.Fatal(err)
				}
				if m.EntityID() != "https://idp.example.com/metadata" || string(m.Raw()) != good {
					t.Errorf("fetched %q", m.EntityID())
				}
			}
		})
	}

	t.Run("through Config", func(t *testing.T) {
		m, err := Config{IdPMetadataURL: srv.URL + "/metadata"}.IdPMetadata(context.Background(), public)
		if err != nil || m.SSOURL() != "https://idp.example.com/sso" {
			t.Fatalf("got %v, %v", m, err)
		}
	})
}

func TestIsPublicAddr(t *testing.T) {
	for _, tt := range []struct {
		addr string
		want bool
	}{
		{"93.184.215.14", true}, {"2606:2800:21f:cb07:6820:80da:af6b:8b2c", true}, {"8.8.8.8", true},
		{"127.0.0.1", false}, {"127.1.2.3", false}, {"::1", false}, {"10.0.0.1", false}, {"172.16.5.4", false},
		{"192.168.0.1", false}, {"169.254.169.254", false}, {"fe80::1", false}, {"fd00::1", false},
		{"100.64.0.1", false}, {"0.0.0.0", false}, {"::", false}, {"224.0.0.1", false}, {"ff02::1", false},
		{"::ffff:127.0.0.1", false}, {"::ffff:10.0.0.1", false}, {"64:ff9b::a00:1", false}, {"198.18.0.1", false},
		{"255.255.255.255", false}, {"fec0::1", false}, {"2002:a00:1::1", false},
	} {
		if got := isPublicAddr(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("isPublicAddr(%s) = %v, want %v", tt.addr, got, tt.want)
		}
	}
}
