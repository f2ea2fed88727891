package web

import (
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/saml"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

func (s *Server) samlOrg(r *http.Request) (*gatehouse.Organization, error) {
	org, err := s.cfg.Orgs.OrganizationBySlug(r.Context(), r.PathValue("slug"))
	if err != nil {
		return nil, err
	}
	if org.Settings.AuthMethod != gatehouse.AuthSAML2 && !strings.HasSuffix(r.URL.Path, "/metadata") {
		return nil, gatehouse.Reasoned(gatehouse.ENOTFOUND, gatehouse.ReasonNotSAML2Here, "This organization does not sign in with SAML2.")
	}
	return org, nil
}

// samlSP is the service provider of the organization in the path.
func (s *Server) samlSP(r *http.Request) (*gatehouse.Organization, *saml.ServiceProvider, error) {
	org, err := s.samlOrg(r)
	if err != nil {
		return nil, nil, err
	}
	sp, err := s.samlSPs.ServiceProvider(r.Context(), org, s.cfg.PublicURL)
	if err != nil {
		return nil, nil, err
	}
	return org, sp, nil
}

// samlMetadata serves the SP metadata the admin gives to the IdP; it is
// there as soon as SAML2 is set up, before it is chosen.
func (s *Server) samlMetadata(w http.ResponseWriter, r *http.Request) error {
	_, sp, err := s.samlSP(r)
	if err != nil {
		return err
	}
	b, err := sp.Metadata()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(b)
	return nil
}

// samlLogin sends the browser to the IdP with an AuthnRequest bound to this
// browser: the request row keeps the hash of a nonce that only the browser's
// binding cookie holds, and the ACS accepts the answer only with it.
func (s *Server) samlLogin(w http.ResponseWriter, r *http.Request) error {
	_, sp, err := s.samlSP(r)
	if err != nil {
		return err
	}
	// A browser that already holds a nonce keeps it, so that two sign-ins
	// started in two tabs both finish.
	nonce := s.cookieValue(r, samlBindingCookie)
	if !saml.ValidBrowserNonce(nonce) {
		if nonce, err = saml.NewBrowserNonce(nil); err != nil {
			return err
		}
	}
	to, err := sp.AuthnRequestURL(r.Context(), "", nonce)
	if err != nil {
		return err
	}
	s.setSAMLBindingCookie(w, nonce)
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// samlBindingCookie holds the nonce that binds a pending AuthnRequest to the
// browser (issue 8 item 6, login CSRF). Over https it is
// __Host-gatehouse_saml, Secure, SameSite=None: the IdP's page posts to the
// ACS cross-site, and Lax would leave the cookie behind. Browsers take a
// Secure cookie over plain http only from localhost, so the same holds in
// development on a loopback public URL; over http to any other host the
// cookie is not prefixed, not Secure and has no SameSite (None needs
// Secure), and a browser that treats such cookies as Lax does not send it:
// SAML2 sign-in then fails closed. Use https.
const samlBindingCookie = "gatehouse_saml"

func (s *Server) setSAMLBindingCookie(w http.ResponseWriter, nonce string) {
	c := &http.Cookie{Name: s.cookieName(samlBindingCookie), Value: nonce, Path: "/",
		MaxAge: int(saml.RequestLifetime / time.Second), HttpOnly: true}
	if s.secure || isLoopbackHost(s.cfg.PublicURL.Hostname()) {
		c.Secure, c.SameSite = true, http.SameSiteNoneMode
	}
	http.SetCookie(w, c)
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// samlACS takes the IdP's response, checked by internal/saml (signature,
// audience, destination, times, InResponseTo, replay), and signs the user
// in with no code: the IdP owns the second factor.
func (s *Server) samlACS(w http.ResponseWriter, r *http.Request) error {
	org, sp, err := s.samlSP(r)
	if err != nil {
		return err
	}
	id, err := sp.ParseResponse(r.Context(), r, s.cookieValue(r, samlBindingCookie))
	if err != nil {
		s.log.WarnContext(r.Context(), "SAML response refused", "org", org.Slug, "error", err)
		if gatehouse.ErrorCode(err) == gatehouse.EUNAVAILABLE {
			return err
		}
		reason := signin.SAMLResponseRefused
		if errors.Is(err, saml.ErrWrongBrowser) {
			reason = signin.SAMLWrongBrowser
		}
		s.federated.FederatedFailed(r.Context(), org, reason, err.Error(), s.cfg.ClientIP.ClientIP(r))
		return &gatehouse.Error{Code: gatehouse.EINVALIDCREDENTIALS, Field: "saml", Reason: gatehouse.ReasonSAML2ResponseRefused,
			Message: "The sign-in from your identity provider could not be accepted. Start again from the sign-in page."}
	}
	ident := signin.Identity{Email: id.Email, Name: id.Name, Phone: id.Phone,
		Provider: "saml2:" + sp.IdPEntityID(), ExternalID: id.PersistentID}
	res, err := s.federated.FederatedLogin(r.Context(), org, ident,
		s.cfg.ClientIP.ClientIP(r), r.UserAgent(), s.sessionToken(r))
	if err != nil {
		return err
	}
	s.setLoginCookies(w, r, res)
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

// metadataPolicy is where an admin's IdP metadata URL may lead: https to
// public addresses only, except in development mode.
func (s *Server) metadataPolicy() saml.FetchPolicy { return saml.FetchPolicy{AllowPrivate: s.cfg.Dev} }
