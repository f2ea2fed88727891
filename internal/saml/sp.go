package saml

import (
	"bytes"
	"context"
	cryptorand "crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	crewjam "github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/gatehousehq/gatehouse"
)

// RequestLifetime is how long an AuthnRequest may be answered: the time a
// user has to sign in at the IdP.
const RequestLifetime = 10 * time.Minute

// MaxResponseForm bounds the body of an ACS POST, which ParseResponse reads
// when the caller has not parsed the form yet. A signed and encrypted
// response with a few attributes is under 20 KiB; one with hundreds of group
// claims can pass 100 KiB. The web layer gives the ACS this bound instead of
// its smaller one for every other request.
const MaxResponseForm = 512 << 10

// maxRequestIDLength bounds an InResponseTo before it goes to the tracker
// and the log; the IDs this SP makes have 43 bytes.
const maxRequestIDLength = 128

// protocolNamespace is the namespace of samlp:Response.
const protocolNamespace = "urn:oasis:names:tc:SAML:2.0:protocol"

var (
	// ErrInvalidResponse is wrapped by every refusal of a SAML response or
	// of the assertion in it. Its message is the one to show the user; the
	// error that wraps it says why, for the log.
	ErrInvalidResponse = &gatehouse.Error{Code: gatehouse.EINVALIDCREDENTIALS,
		Message: "Sign-in through your organization's identity provider failed. Please try again."}

	// ErrUnavailable is wrapped when something sign-in depends on failed:
	// the RequestTracker, the ReplayCache, or the fetch of IdP metadata.
	ErrUnavailable = &gatehouse.Error{Code: gatehouse.EUNAVAILABLE,
		Message: "Sign-in is not available right now. Please try again in a moment."}

	// ErrWrongBrowser is wrapped (beside ErrInvalidResponse) when a
	// response is posted by a browser that does not hold the binding nonce
	// of the request it answers: none at all, or another one. It is how a
	// login CSRF shows: an attacker's valid response for the attacker's own
	// account, posted from the victim's browser.
	ErrWrongBrowser = errors.New("the response was not posted by the browser that started the sign-in")
)

// ReplayCache remembers the IDs of accepted assertions, so that each is
// accepted once. It is shared by every node (it lives in the database).
type ReplayCache interface {
	// Remember records assertionID until the moment after which the
	// assertion would be refused anyway, and reports whether it was not
	// recorded before. It must be atomic: of two concurrent calls with the
	// same ID, one sees fresh true. A record may be dropped after until.
	Remember(ctx context.Context, assertionID string, until time.Time) (fresh bool, err error)
}

// RequestTracker remembers the IDs of the AuthnRequests this SP issued, so
// that a response is accepted only in answer to one of them, and only once.
// It is shared by every node (it lives in the database).
type RequestTracker interface {
	// Issue records id as a request that may be answered until until, by
	// the browser whose binding nonce hashes to browserHash.
	Issue(ctx context.Context, id string, browserHash []byte, until time.Time) error
	// Consume removes id and reports whether it was recorded and still
	// answerable at now, with the browserHash it was issued with. It must
	// be atomic: of two concurrent calls with the same id, at most one sees
	// ok true.
	Consume(ctx context.Context, id string, now time.Time) (browserHash []byte, ok bool, err error)
}

// Options are what New needs to build an organization's SP.
type Options struct {
	// BaseURL is Gatehouse's public URL (GATEHOUSE_PUBLIC_URL); the SP's
	// endpoints live under it (see MetadataURL and ACSURL).
	BaseURL *url.URL
	// OrgSlug names the organization in the SP's URLs.
	OrgSlug string

	// Key and Cert are the SP's key pair (see NewKeyPair): AuthnRequests
	// are signed with it, and assertions may be encrypted to it.
	Key  *rsa.PrivateKey
	Cert *x509.Certificate

	// IdPMetadata is the organization's IdP (see Config.IdPMetadata).
	IdPMetadata *IdPMetadata

	// EmailAttr, NameAttr and PhoneAttr are the organization's attribute
	// names (see Config); empty ones try the common names.
	EmailAttr string
	NameAttr  string
	PhoneAttr string

	// Clock is time.Now when nil.
	Clock func() time.Time

	ReplayCache    ReplayCache
	RequestTracker RequestTracker
}

// ServiceProvider is one organization's SAML service provider. It is safe
// for concurrent use.
type ServiceProvider struct {
	// sp is crewjam's service provider. It is never used directly: each
	// call works on a copy bound to the call's clock reading and context
	// (see bind).
	sp       crewjam.ServiceProvider
	now      func() time.Time
	replay   ReplayCache
	tracker  RequestTracker
	mapping  attributeMapping
	metadata string
	acs      string
}

// New builds an organization's SP. Its errors mean the wiring is wrong (a
// missing option, a key that does not match its certificate); they are not
// meant for users.
func New(opts Options) (*ServiceProvider, error) {
	switch {
	case opts.BaseURL == nil || opts.BaseURL.Host == "" || (opts.BaseURL.Scheme != "https" && opts.BaseURL.Scheme != "http"):
		return nil, errors.New("saml: new: BaseURL must be an absolute http(s) URL")
	case opts.OrgSlug == "" || strings.ContainsAny(opts.OrgSlug, "/?#%") || strings.TrimSpace(opts.OrgSlug) != opts.OrgSlug:
		return nil, fmt.Errorf("saml: new: bad organization slug %q", opts.OrgSlug)
	case opts.Key == nil || opts.Cert == nil:
		return nil, errors.New("saml: new: Key and Cert are required")
	case !opts.Key.PublicKey.Equal(opts.Cert.PublicKey):
		return nil, errors.New("saml: new: Cert is not the certificate of Key")
	case opts.IdPMetadata == nil || opts.IdPMetadata.entity == nil:
		return nil, errors.New("saml: new: IdPMetadata is required")
	case opts.ReplayCache == nil || opts.RequestTracker == nil:
		return nil, errors.New("saml: new: ReplayCache and RequestTracker are required")
	}
	if bad := checkIdPEntity(opts.IdPMetadata.entity); bad != nil {
		return nil, fmt.Errorf("saml: new: the IdP metadata %s", bad.what)
	}
	for _, f := range []struct{ field, value string }{
		{"email_attribute", opts.EmailAttr}, {"name_attribute", opts.NameAttr}, {"phone_attribute", opts.PhoneAttr},
	} {
		if err := checkAttrName(f.field, f.value); err != nil {
			return nil, fmt.Errorf("saml: new: %w", err)
		}
	}
	now := opts.Clock
	if now == nil {
		now = time.Now
	}

	base := *opts.BaseURL
	base.RawQuery, base.Fragment, base.RawFragment = "", "", ""
	metadataURL := base.JoinPath("saml", opts.OrgSlug, "metadata")
	acsURL := base.JoinPath("saml", opts.OrgSlug, "acs")

	s := &ServiceProvider{
		sp: crewjam.ServiceProvider{
			// The entity ID is the metadata URL (crewjam's default when
			// EntityID is empty); spelled out so that it is plain.
			EntityID:    metadataURL.String(),
			Key:         opts.Key,
			Certificate: opts.Cert,
			MetadataURL: *metadataURL,
			AcsURL:      *acsURL,
			IDPMetadata: opts.IdPMetadata.entity,
			// The only ACS binding offered is HTTP-POST: no artifact
			// resolution, so no call from Gatehouse to the IdP.
			AssertionConsumerServiceBindings: []string{crewjam.HTTPPostBinding},
			// Let the IdP choose the NameID format: the e-mail address,
			// not the NameID, identifies the user.
			AuthnNameIDFormat: crewjam.UnspecifiedNameIDFormat,
			// Sign AuthnRequests (query string signature of the
			// HTTP-Redirect binding): some IdPs require it, the others
			// ignore it. The metadata then says AuthnRequestsSigned.
			SignatureMethod: dsig.RSASHA256SignatureMethod,
			// The RelayState is the caller's opaque handle, which the
			// bindings limit to 80 bytes.
			LimitRelayStateLength: true,
			RejectSHA1Signatures:  true,
			// A metadata document without validUntil, so that it is the
			// same at every fetch and never expires at the IdP.
			MetadataOmitValidUntil: true,
			// AllowIDPInitiated stays false: a response must answer a
			// request this SP made.
		},
		now:      now,
		replay:   opts.ReplayCache,
		tracker:  opts.RequestTracker,
		mapping:  attributeMapping{email: opts.EmailAttr, name: opts.NameAttr, phone: opts.PhoneAttr},
		metadata: metadataURL.String(),
		acs:      acsURL.String(),
	}
	return s, nil
}

// MetadataURL is where the caller serves Metadata: {base}/saml/{slug}/metadata.
// It is also the SP's entity ID, the audience of its assertions.
func (s *ServiceProvider) MetadataURL() string { return s.metadata }

// ACSURL is where the IdP posts its responses, and where the caller calls
// ParseResponse: {base}/saml/{slug}/acs. The web layer exempts POSTs to it,
// and only to it, from its cross-origin check.
func (s *ServiceProvider) ACSURL() string { return s.acs }

// IdPEntityID is the entity ID of the organization's IdP, the Issuer of the
// responses it accepts; persistent NameIDs are unique only within it.
func (s *ServiceProvider) IdPEntityID() string { return s.sp.IDPMetadata.EntityID }

// EntityID is the SP's entity ID, the same as MetadataURL.
func (s *ServiceProvider) EntityID() string { return s.metadata }

// Metadata returns the SP metadata document, to serve at MetadataURL as
// application/samlmetadata+xml and to give the IdP: the entity ID, the ACS
// with the HTTP-POST binding, the certificate for signing and for
// encryption, AuthnRequestsSigned and WantAssertionsSigned. It carries no
// validUntil, so it is the same at every call.
func (s *ServiceProvider) Metadata() ([]byte, error) {
	sp := s.bind(context.Background(), s.now())
	out, err := xml.MarshalIndent(sp.Metadata(), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("saml: metadata: %w", err)
	}
	return append([]byte(xml.Header), out...), nil
}

// AuthnRequestURL makes a signed AuthnRequest and returns the IdP URL that
// carries it (the HTTP-Redirect binding), for the caller to redirect the
// browser to. The request's ID is recorded with the RequestTracker for
// RequestLifetime, bound to the hash of browserNonce, a secret the caller
// keeps in the browser (a short-lived cookie, see NewBrowserNonce) and
// gives ParseResponse back. relayState comes back with the response; it
// should be an opaque handle of at most 80 bytes, not a URL to trust.
//
// Returns an error wrapping ErrUnavailable if the tracker fails.
func (s *ServiceProvider) AuthnRequestURL(ctx context.Context, relayState, browserNonce string) (string, error) {
	if !ValidBrowserNonce(browserNonce) {
		return "", errors.New("saml: authn request: no valid browser nonce")
	}
	now := s.now()
	sp := s.bind(ctx, now)
	req, err := sp.MakeAuthenticationRequest(sp.GetSSOBindingLocation(crewjam.HTTPRedirectBinding),
		crewjam.HTTPRedirectBinding, crewjam.HTTPPostBinding)
	if err != nil {
		return "", fmt.Errorf("saml: authn request: %w", err)
	}
	// Make the URL first, so that a RelayState that is too long records
	// nothing.
	u, err := req.Redirect(relayState, sp)
	if err != nil {
		return "", fmt.Errorf("saml: authn request: %w", err)
	}
	if err := s.tracker.Issue(ctx, req.ID, hashBrowserNonce(browserNonce), now.Add(RequestLifetime)); err != nil {
		return "", fmt.Errorf("saml: authn request: record the request: %w: %w", ErrUnavailable, err)
	}
	return u.String(), nil
}

// ParseResponse validates the SAMLResponse POSTed to the ACS and returns who
// signed in. It reads the form if the caller has not (at most 512 KiB).
//
// The response must answer a request from AuthnRequestURL that is still
// pending, posted by the browser that holds browserNonce, the nonce the
// request was bound to (an empty or malformed one is refused before
// anything is looked up): its InResponseTo is consumed from the
// RequestTracker first, the nonce's hash compared in constant time with the
// one the request was issued with, and
// crewjam's ParseResponse is given that one ID as the only possible one, so a
// request is answered once, whatever the outcome. crewjam then checks the
// signature (the Response's or the Assertion's; an unsigned one is refused),
// the Issuer, the Destination, the Recipient and InResponseTo of the bearer
// SubjectConfirmation, NotBefore and NotOnOrAfter, and the audience; it
// decrypts an encrypted assertion. The assertion's ID is recorded with the
// ReplayCache, and an ID seen before is refused. Last, the attributes are
// mapped to an Identity, which must have an e-mail address.
//
// Returns an error wrapping ErrInvalidResponse for every refusal (a
// *MissingAttributeError among them when the e-mail address is missing,
// ErrWrongBrowser when the nonce is missing or another), or wrapping
// ErrUnavailable if the RequestTracker or the ReplayCache fails.
func (s *ServiceProvider) ParseResponse(ctx context.Context, r *http.Request, browserNonce string) (*Identity, error) {
	if r.Method != http.MethodPost {
		return nil, invalid(fmt.Errorf("the ACS takes POST, not %s", r.Method))
	}
	if r.PostForm == nil {
		r.Body = http.MaxBytesReader(nil, r.Body, MaxResponseForm)
	}
	if err := r.ParseForm(); err != nil {
		return nil, invalid(fmt.Errorf("read the form: %w", err))
	}
	// crewjam resolves an artifact (a call to the IdP) when the form or the
	// query has SAMLart; only HTTP-POST is offered.
	if r.Form.Has("SAMLart") {
		return nil, invalid(errors.New("the HTTP-Artifact binding is not offered"))
	}
	encoded := r.PostForm.Get("SAMLResponse")
	if encoded == "" {
		return nil, invalid(errors.New("no SAMLResponse in the form"))
	}
	requestID, err := inResponseTo(encoded)
	if err != nil {
		return nil, invalid(err)
	}
	if requestID == "" {
		return nil, invalid(fmt.Errorf("an unsolicited response (no InResponseTo) is not accepted: %w", crewjam.ErrRequestIDMismatch))
	}
	if len(requestID) > maxRequestIDLength {
		return nil, invalid(fmt.Errorf("an InResponseTo of %d bytes: %w", len(requestID), crewjam.ErrRequestIDMismatch))
	}
	if !ValidBrowserNonce(browserNonce) {
		return nil, invalid(fmt.Errorf("no browser binding cookie: %w", ErrWrongBrowser))
	}

	now := s.now()
	bound, ok, err := s.tracker.Consume(ctx, requestID, now)
	if err != nil {
		return nil, fmt.Errorf("saml: consume request %q: %w: %w", requestID, ErrUnavailable, err)
	}
	if !ok {
		return nil, invalid(fmt.Errorf("InResponseTo %q is no pending request of this SP (unknown, expired or already answered): %w",
			requestID, crewjam.ErrRequestIDMismatch))
	}
	// The request is consumed either way: a response is tried once.
	if subtle.ConstantTimeCompare(bound, hashBrowserNonce(browserNonce)) != 1 {
		return nil, invalid(fmt.Errorf("request %q was started by another browser: %w", requestID, ErrWrongBrowser))
	}

	sp := s.bind(ctx, now)
	assertion, err := sp.ParseResponse(r, []string{requestID})
	if err != nil {
		if errors.Is(err, errReplayStore) {
			return nil, fmt.Errorf("saml: record the assertion: %w: %w", ErrUnavailable, err)
		}
		// crewjam's InvalidResponseError says only "Authentication
		// failed"; the reason is in PrivateErr.
		var ire *crewjam.InvalidResponseError
		if errors.As(err, &ire) && ire.PrivateErr != nil {
			err = ire.PrivateErr
		}
		return nil, invalid(err)
	}
	id, err := s.mapping.identity(assertion)
	if err != nil {
		return nil, invalid(err)
	}
	return id, nil
}

// invalid wraps the reason a response is refused.
func invalid(reason error) error {
	return fmt.Errorf("saml: response refused: %w: %w", ErrInvalidResponse, reason)
}

// inResponseTo reads the InResponseTo of the (not yet verified) Response in
// a base64 SAMLResponse. Only the root element is read; crewjam parses and
// verifies the whole document afterwards, against this ID.
func inResponseTo(encoded string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return "", fmt.Errorf("SAMLResponse is not base64: %w", crewjam.ErrMalformedMessage)
	}
	d := xml.NewDecoder(bytes.NewReader(raw))
	for {
		tok, err := d.Token()
		if err != nil {
			return "", fmt.Errorf("SAMLResponse is not XML: %w", crewjam.ErrMalformedMessage)
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if start.Name.Space != protocolNamespace || start.Name.Local != "Response" {
			return "", fmt.Errorf("SAMLResponse holds a %s, not a samlp:Response: %w", start.Name.Local, crewjam.ErrMalformedMessage)
		}
		for _, a := range start.Attr {
			if a.Name.Space == "" && a.Name.Local == "InResponseTo" {
				return a.Value, nil
			}
		}
		return "", nil
	}
}

// bind returns a copy of crewjam's service provider that reads the clock
// once (now) and records assertions with the ReplayCache under ctx.
// crewjam's ServiceProvider takes neither a context nor a clock function,
// and its fields are read-only here, so a shallow copy per call is safe.
func (s *ServiceProvider) bind(ctx context.Context, now time.Time) *crewjam.ServiceProvider {
	sp := s.sp
	sp.Clock = dsig.NewFakeClockAt(now)
	sp.ReplayCache = replayAdapter{ctx: ctx, cache: s.replay}
	return &sp
}

// errReplayStore marks a failure of the ReplayCache, which crewjam returns
// inside its InvalidResponseError.
var errReplayStore = errors.New("replay cache failed")

// replayAdapter is the ReplayCache as crewjam's AssertionReplayCache, which
// crewjam consults once everything else about the assertion is valid, with
// the moment after which it would refuse the assertion anyway (the earliest
// of IssueInstant + MaxIssueDelay and the NotOnOrAfter times, with clock
// skew).
type replayAdapter struct {
	ctx   context.Context
	cache ReplayCache
}

func (a replayAdapter) Consume(id string, until time.Time) error {
	fresh, err := a.cache.Remember(a.ctx, id, until)
	if err != nil {
		return fmt.Errorf("%w: %w", errReplayStore, err)
	}
	if !fresh {
		return crewjam.ErrAssertionReplayed
	}
	return nil
}

// browserNonceLength is the length of a browser nonce: 32 random bytes in
// unpadded base64url.
const browserNonceLength = 43

// NewBrowserNonce returns a fresh browser binding nonce read from rand
// (crypto/rand when nil), for the caller to keep in a short-lived cookie
// and hand to AuthnRequestURL and ParseResponse.
func NewBrowserNonce(rand io.Reader) (string, error) {
	if rand == nil {
		rand = cryptorand.Reader
	}
	b := make([]byte, 32)
	if _, err := io.ReadFull(rand, b); err != nil {
		return "", fmt.Errorf("saml: browser nonce: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// ValidBrowserNonce reports whether v has the form NewBrowserNonce makes,
// so a cookie of any other shape is neither reused nor looked up.
func ValidBrowserNonce(v string) bool {
	if len(v) != browserNonceLength {
		return false
	}
	// The decoder skips CR and LF, so check the alphabet first.
	for i := range len(v) {
		c := v[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(v)
	return err == nil
}

// hashBrowserNonce is what the tracker keeps: the nonce itself lives only
// in the browser.
func hashBrowserNonce(v string) []byte {
	h := sha256.Sum256([]byte("gatehouse saml browser\x00" + v))
	return h[:]
}
