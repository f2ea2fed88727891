package saml

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	crewjam "github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"

	"github.com/gatehousehq/gatehouse"
)

// Bounds on the IdP metadata and the attribute names an admin gives.
const (
	// MaxMetadataSize bounds IdP metadata, given as XML or fetched. One
	// IdP's metadata is a few KiB; a federation's aggregate is not what an
	// organization should point at.
	MaxMetadataSize = 1 << 20
	// MetadataFetchTimeout bounds the fetch of IdP metadata from a URL,
	// unless the context given ends it sooner.
	MetadataFetchTimeout = 10 * time.Second
	// maxMetadataURLLength and maxAttrNameLength bound the other fields.
	maxMetadataURLLength = 2048
	maxAttrNameLength    = 256
	// maxRedirects is how many redirects a metadata fetch follows, each to
	// an address the same rules allow.
	maxRedirects = 3
)

// Config is an organization's SAML2 settings, as its admin gives them.
type Config struct {
	// IdPMetadataXML is the IdP's metadata document. Exactly one of it and
	// IdPMetadataURL is given.
	IdPMetadataXML string
	// IdPMetadataURL is where the IdP publishes its metadata: https (or
	// http to a loopback address, fetched only in development mode; see
	// FetchPolicy).
	IdPMetadataURL string

	// EmailAttr, NameAttr and PhoneAttr name the assertion attributes that
	// hold the user's e-mail address, display name and phone number,
	// matched against an attribute's Name or FriendlyName, ignoring case.
	// When one is empty, common names are tried (see DefaultEmailAttrs,
	// DefaultNameAttrs, DefaultPhoneAttrs), and for the e-mail address the
	// NameID when it is one.
	EmailAttr string
	NameAttr  string
	PhoneAttr string
}

// Validate checks the settings without contacting anything. It returns an
// EINVALID *gatehouse.Error naming the first bad field: "idp_metadata"
// (missing, both forms given, or XML that is not usable IdP metadata: it must
// parse and hold an IdP SSO descriptor with a signing certificate and an
// HTTP-Redirect single sign-on endpoint), "idp_metadata_url",
// "email_attribute", "name_attribute" or "phone_attribute".
func (c Config) Validate() error {
	xmlGiven := strings.TrimSpace(c.IdPMetadataXML) != ""
	urlGiven := strings.TrimSpace(c.IdPMetadataURL) != ""
	switch {
	case !xmlGiven && !urlGiven:
		return gatehouse.FieldReason("idp_metadata", gatehouse.ReasonSAMLMetadataMissing, "Give the identity provider's metadata, as XML or as a URL.")
	case xmlGiven && urlGiven:
		return gatehouse.FieldReason("idp_metadata", gatehouse.ReasonSAMLMetadataBoth, "Give the identity provider's metadata as XML or as a URL, not both.")
	case xmlGiven:
		if _, err := ParseIdPMetadata([]byte(c.IdPMetadataXML)); err != nil {
			return err
		}
	default:
		if _, err := checkMetadataURL(c.IdPMetadataURL); err != nil {
			return err
		}
	}
	for _, f := range []struct{ field, value string }{
		{"email_attribute", c.EmailAttr},
		{"name_attribute", c.NameAttr},
		{"phone_attribute", c.PhoneAttr},
	} {
		if err := checkAttrName(f.field, f.value); err != nil {
			return err
		}
	}
	return nil
}

// IdPMetadata fetches (under policy, see FetchIdPMetadata) or parses the IdP
// metadata the settings give. The settings should have passed Validate.
//
// Returns what ParseIdPMetadata or FetchIdPMetadata return.
func (c Config) IdPMetadata(ctx context.Context, policy FetchPolicy) (*IdPMetadata, error) {
	if strings.TrimSpace(c.IdPMetadataXML) != "" {
		return ParseIdPMetadata([]byte(c.IdPMetadataXML))
	}
	return FetchIdPMetadata(ctx, policy, c.IdPMetadataURL)
}

func checkAttrName(field, name string) error {
	if name == "" {
		return nil
	}
	if strings.TrimSpace(name) != name {
		return gatehouse.FieldReason(field, gatehouse.ReasonSAMLAttributeSpaces, "The attribute name must not start or end with spaces.")
	}
	if len(name) > maxAttrNameLength {
		return gatehouse.FieldReason(field, gatehouse.ReasonSAMLAttributeTooLong, "The attribute name is longer than %d characters.", maxAttrNameLength)
	}
	if !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return gatehouse.FieldReason(field, gatehouse.ReasonSAMLAttributeOneLine, "The attribute name must be one line of text.")
	}
	return nil
}

// IdPMetadata is an identity provider's parsed and checked metadata.
type IdPMetadata struct {
	entity *crewjam.EntityDescriptor
	raw    []byte
}

// EntityID is the IdP's entity ID, the Issuer of its responses.
func (m *IdPMetadata) EntityID() string { return m.entity.EntityID }

// SSOURL is the IdP's single sign-on endpoint for the HTTP-Redirect binding.
func (m *IdPMetadata) SSOURL() string { return redirectSSOLocation(m.entity) }

// Raw is the metadata document as given or fetched, for the caller to keep
// (so that every node signs in with the same metadata, and a fetch is not
// needed at each sign-in).
func (m *IdPMetadata) Raw() []byte { return bytes.Clone(m.raw) }

// ParseIdPMetadata parses an IdP metadata document: an EntityDescriptor, or
// an EntitiesDescriptor holding exactly one IdP. Returns an EINVALID
// *gatehouse.Error naming "idp_metadata" if the document is not XML, is
// larger than MaxMetadataSize, or lacks an IdP SSO descriptor, a signing
// certificate (every certificate for signing must parse) or an HTTP-Redirect
// single sign-on endpoint with an http(s) URL.
func ParseIdPMetadata(data []byte) (*IdPMetadata, error) {
	return parseIdPMetadata("idp_metadata", data)
}

func parseIdPMetadata(field string, data []byte) (*IdPMetadata, error) {
	if len(data) > MaxMetadataSize {
		return nil, gatehouse.FieldReason(field, gatehouse.ReasonSAMLMetadataTooLarge, "The identity provider's metadata is larger than %d KiB.", MaxMetadataSize>>10)
	}
	// samlsp.ParseMetadata refuses XML that does not survive a round trip
	// through encoding/xml, and picks the one IdP out of an aggregate.
	entity, err := samlsp.ParseMetadata(data)
	if err != nil {
		return nil, gatehouse.FieldReason(field, gatehouse.ReasonSAMLNotMetadata,
			"The identity provider's metadata is not a SAML metadata document with one identity provider.")
	}
	if bad := checkIdPEntity(entity); bad != nil {
		return nil, &gatehouse.Error{Code: gatehouse.EINVALID, Field: field, Reason: bad.reason,
			Message: "The identity provider's metadata " + bad.what + "."}
	}
	return &IdPMetadata{entity: entity, raw: bytes.Clone(data)}, nil
}

// metadataLack is what checkIdPEntity finds wrong: its reason, and the
// English that completes the sentence "The identity provider's metadata …".
type metadataLack struct{ reason, what string }

// checkIdPEntity checks what signing in needs from the IdP's metadata.
func checkIdPEntity(entity *crewjam.EntityDescriptor) *metadataLack {
	if strings.TrimSpace(entity.EntityID) == "" {
		return &metadataLack{gatehouse.ReasonSAMLNoEntityID, "has no entityID"}
	}
	if len(entity.IDPSSODescriptors) == 0 {
		return &metadataLack{gatehouse.ReasonSAMLNoIdP, "has no IDPSSODescriptor"}
	}
	sso := redirectSSOLocation(entity)
	if sso == "" {
		return &metadataLack{gatehouse.ReasonSAMLNoRedirectSSO, "has no SingleSignOnService for the HTTP-Redirect binding"}
	}
	if u, err := url.Parse(sso); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return &metadataLack{gatehouse.ReasonSAMLSSONotHTTP, "has a SingleSignOnService location that is not an http(s) URL"}
	}
	// crewjam refuses every response when one of these fails to parse, so
	// refuse the metadata now instead.
	n := 0
	for _, d := range entity.IDPSSODescriptors {
		for _, kd := range d.KeyDescriptors {
			if kd.Use != "" && kd.Use != "signing" {
				continue
			}
			for _, c := range kd.KeyInfo.X509Data.X509Certificates {
				der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(c.Data), ""))
				if err != nil {
					return &metadataLack{gatehouse.ReasonSAMLCertNotBase64, "has a signing certificate that is not base64"}
				}
				if _, err := x509.ParseCertificate(der); err != nil {
					return &metadataLack{gatehouse.ReasonSAMLCertUnparsable, "has a signing certificate that cannot be parsed"}
				}
				n++
			}
		}
	}
	if n == 0 {
		return &metadataLack{gatehouse.ReasonSAMLNoSigningCert, "has no signing certificate in its IDPSSODescriptor"}
	}
	return nil
}

// redirectSSOLocation returns the first HTTP-Redirect SingleSignOnService of
// the entity, the one crewjam's GetSSOBindingLocation picks too.
func redirectSSOLocation(entity *crewjam.EntityDescriptor) string {
	for _, d := range entity.IDPSSODescriptors {
		for _, s := range d.SingleSignOnServices {
			if s.Binding == crewjam.HTTPRedirectBinding {
				return s.Location
			}
		}
	}
	return ""
}

// checkMetadataURL checks a metadata URL as given by an admin: absolute,
// https, or http to a loopback host (a local IdP in development and tests),
// without credentials.
func checkMetadataURL(raw string) (*url.URL, error) {
	const field = "idp_metadata_url"
	if len(raw) > maxMetadataURLLength {
		return nil, gatehouse.FieldReason(field, gatehouse.ReasonSAMLURLTooLong, "The metadata URL is longer than %d characters.", maxMetadataURLLength)
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || u.Opaque != "" {
		return nil, gatehouse.FieldReason(field, gatehouse.ReasonSAMLURLNotAbsolute, "The metadata URL must be an absolute https URL.")
	}
	if u.User != nil {
		return nil, gatehouse.FieldReason(field, gatehouse.ReasonSAMLURLCredentials, "The metadata URL must not carry a user name or password.")
	}
	if err := checkFetchScheme(u); err != nil {
		return nil, gatehouse.FieldReason(field, gatehouse.ReasonSAMLURLScheme, "The metadata URL must use https (http only to a loopback address).")
	}
	return u, nil
}

// checkFetchScheme allows https, and http only to a loopback host.
func checkFetchScheme(u *url.URL) error {
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("http to %q, which is not a loopback address", u.Hostname())
	default:
		return fmt.Errorf("scheme %q", u.Scheme)
	}
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// FetchIdPMetadata fetches and parses IdP metadata from rawURL, which must
// pass the checks of Config.Validate, under policy (see FetchPolicy: https
// to public addresses only, unless in development mode). It follows up to
// three redirects, each under the same policy, reads at most
// MaxMetadataSize bytes, and gives up after MetadataFetchTimeout.
//
// Returns an EINVALID *gatehouse.Error naming "idp_metadata_url" for a bad
// URL, for a URL or redirect the policy refuses (wrapping ErrBlockedAddress
// when it is the address), or for a document that is not usable IdP metadata
// (see ParseIdPMetadata; too large a document included), and an error
// wrapping ErrUnavailable when the IdP cannot be reached or answers anything
// but 200.
func FetchIdPMetadata(ctx context.Context, policy FetchPolicy, rawURL string) (*IdPMetadata, error) {
	const field = "idp_metadata_url"
	u, err := checkMetadataURL(rawURL)
	if err != nil {
		return nil, err
	}
	if err := policy.checkScheme(u.Scheme, u.Hostname()); err != nil {
		return nil, gatehouse.FieldReason(field, gatehouse.ReasonSAMLURLHTTPS, "The metadata URL must use https.")
	}
	c := policy.client()
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > maxRedirects {
			return errors.New("too many redirects")
		}
		if err := policy.checkScheme(req.URL.Scheme, req.URL.Hostname()); err != nil {
			return fmt.Errorf("redirect refused: %w", err)
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, MetadataFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, gatehouse.FieldReason(field, gatehouse.ReasonSAMLURLNotAbsolute, "The metadata URL must be an absolute https URL.")
	}
	req.Header.Set("Accept", "application/samlmetadata+xml, application/xml;q=0.9, text/xml;q=0.8")
	resp, err := c.Do(req)
	if errors.Is(err, ErrBlockedAddress) {
		return nil, fmt.Errorf("saml: fetch IdP metadata from %s: %w: %w", u.Redacted(),
			gatehouse.FieldReason(field, gatehouse.ReasonSAMLURLNotPublic, "The metadata URL must lead to a public internet address, not a loopback, private or link-local one."), err)
	}
	if err != nil {
		return nil, fmt.Errorf("saml: fetch IdP metadata from %s: %w: %w", u.Redacted(), ErrUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("saml: fetch IdP metadata from %s: %w: HTTP status %s", u.Redacted(), ErrUnavailable, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxMetadataSize+1))
	if err != nil {
		return nil, fmt.Errorf("saml: fetch IdP metadata from %s: %w: %w", u.Redacted(), ErrUnavailable, err)
	}
	// More than MaxMetadataSize bytes is refused by parseIdPMetadata.
	return parseIdPMetadata(field, data)
}
