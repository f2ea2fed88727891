// Package forwardauth answers reverse proxies that ask Gatehouse whether a
// request may reach the application behind them (docs/design.md §10.2): Traefik
// ForwardAuth and Caddy forward_auth at GET /auth/forward, nginx
// auth_request at GET /auth/request.
//
// The proxy forwards the browser's cookies, so the answer is the browser's
// Gatehouse session, checked by the sign-in service like every other way in:
// 200 with the identity headers, or the way to the sign-in page. What the
// proxy says of the original request (X-Forwarded-Proto, -Host, -Uri) is
// believed only from a trusted proxy, and only for a host the operator
// allows (Returns): the sign-in page sends the browser back there, so an
// unchecked host would make Gatehouse an open redirect.
//
// On 200 every header of Headers is set, empty when unknown: a proxy that
// copies a header the answer lacks may pass the client's own value, or,
// like Caddy 2.6, a literal placeholder.
package forwardauth

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

// The identity headers of a 200, in the order of docs/design.md §10.2.
const (
	HeaderUser         = "Remote-User" // the e-mail address
	HeaderEmail        = "Remote-Email"
	HeaderName         = "Remote-Name"
	HeaderOrganization = "Remote-Organization" // the slug
	HeaderRole         = "Remote-Role"
	HeaderTwoFactor    = "Remote-Two-Factor" // the session's two-factor state
	HeaderAssertion    = "Remote-Assertion"  // a JWT of the above (assertion.go)
)

// Headers are the identity headers, every one on every 200.
var Headers = []string{HeaderUser, HeaderEmail, HeaderName, HeaderOrganization, HeaderRole, HeaderTwoFactor, HeaderAssertion}

// SessionAuth tells who holds a session token: the sign-in service's
// check, the same as the pages' (internal/signin).
type SessionAuth interface {
	Authenticate(ctx context.Context, token string) (*signin.Current, error)
}

// ProxyTrust says whether a request came straight from a trusted proxy
// (internal/clientip).
type ProxyTrust interface {
	FromTrustedProxy(r *http.Request) bool
}

// Config is what the handler is built from.
type Config struct {
	Sessions SessionAuth // required
	Proxies  ProxyTrust  // required
	Returns  *Returns    // required
	// SessionCookie is the name of Gatehouse's session cookie (required).
	SessionCookie string
	// PublicURL is Gatehouse's public address (required): the sign-in
	// pages are under it.
	PublicURL *url.URL
	// Signer signs Remote-Assertion. Without one the header is empty.
	Signer Signer
	// Issuer is the assertion's iss: Gatehouse's public URL.
	Issuer string
	Logger *slog.Logger
	// Now is time.Now when nil.
	Now func() time.Time
}

// Handler answers the two forward-auth endpoints.
type Handler struct {
	cfg        Config
	log        *slog.Logger
	assertions *assertionCache
}

// New checks cfg's required fields and returns the handler.
func New(cfg Config) (*Handler, error) {
	var missing []string
	if cfg.Sessions == nil {
		missing = append(missing, "Sessions")
	}
	if cfg.Proxies == nil {
		missing = append(missing, "Proxies")
	}
	if cfg.Returns == nil {
		missing = append(missing, "Returns")
	}
	if cfg.SessionCookie == "" {
		missing = append(missing, "SessionCookie")
	}
	if cfg.PublicURL == nil {
		missing = append(missing, "PublicURL")
	}
	if len(missing) > 0 {
		return nil, errors.New("forwardauth: " + strings.Join(missing, ", ") + " required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Handler{cfg: cfg, log: cfg.Logger, assertions: newAssertionCache()}, nil
}

// Forward is GET /auth/forward (Traefik, Caddy): 200 with the headers, or
// 302 to the sign-in page, which sends the browser back to the original
// URL afterwards.
func (h *Handler) Forward(w http.ResponseWriter, r *http.Request) {
	h.answer(w, r, http.StatusFound)
}

// Request is GET /auth/request (nginx auth_request): 200 with the headers,
// or 401 with the sign-in page in Location, for nginx's error_page to
// send the browser to.
func (h *Handler) Request(w http.ResponseWriter, r *http.Request) {
	h.answer(w, r, http.StatusUnauthorized)
}

// answer checks the site, then the session, then the site's limits;
// without a session it answers signInStatus with the sign-in page in
// Location.
func (h *Handler) answer(w http.ResponseWriter, r *http.Request, signInStatus int) {
	orig, err := h.original(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	lim, err := parseLimits(r.URL.RawQuery)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	cur, err := h.cfg.Sessions.Authenticate(r.Context(), h.sessionToken(r))
	if gatehouse.ErrorCode(err) == gatehouse.EUNAUTHORIZED {
		w.Header().Set("Location", h.signInURL(orig, lim))
		w.WriteHeader(signInStatus)
		return
	} else if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := lim.check(cur); err != nil {
		h.fail(w, r, err)
		return
	}
	assertion, err := h.assertion(r.Context(), cur, orig.host)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	hd := w.Header()
	hd.Set(HeaderUser, headerValue(cur.User.Email))
	hd.Set(HeaderEmail, headerValue(cur.User.Email))
	hd.Set(HeaderName, headerValue(cur.User.Name))
	hd.Set(HeaderOrganization, headerValue(cur.Organization.Slug))
	hd.Set(HeaderRole, headerValue(string(cur.User.Role)))
	hd.Set(HeaderTwoFactor, headerValue(cur.Session.TwoFactorState))
	hd.Set(HeaderAssertion, assertion)
	w.WriteHeader(http.StatusOK)
}

// headerValue keeps a value on one header line: control characters (a
// name typed with a tab) become spaces.
func headerValue(s string) string {
	return strings.Map(func(c rune) rune {
		if c < ' ' || c == 0x7f {
			return ' '
		}
		return c
	}, s)
}

func (h *Handler) sessionToken(r *http.Request) string {
	c, err := r.Cookie(h.cfg.SessionCookie)
	if err != nil {
		return ""
	}
	return c.Value
}

// original is the request the proxy asks about.
type original struct {
	// host is the host the browser asked for, without its port (the
	// assertion's audience).
	host string
	// returnTo is the address to return to after sign-in as the proxy
	// gave it, "" when unknown. It is checked (Returns.Check) only when a
	// sign-in page is answered: a 200 needs none of it.
	returnTo string
}

// original reads the request the proxy asks about from a trusted proxy's
// X-Forwarded-Proto, -Host and -Uri. From anyone else, or without
// X-Forwarded-Host, it is a request to Gatehouse's own host (the public
// URL's: the Host header is the client's to choose) with nothing to return
// to. A host the operator does not allow is refused (EFORBIDDEN).
func (h *Handler) original(r *http.Request) (original, error) {
	host, proto, uri, forwarded := h.cfg.PublicURL.Host, "", "", false
	if h.cfg.Proxies.FromTrustedProxy(r) {
		fh, err1 := single(r, "X-Forwarded-Host")
		fp, err2 := single(r, "X-Forwarded-Proto")
		fu, err3 := single(r, "X-Forwarded-Uri")
		if err := errors.Join(err1, err2, err3); err != nil {
			return original{}, err
		}
		if fh != "" {
			host, proto, uri, forwarded = fh, strings.ToLower(fp), fu, true
		}
	}
	name, ok := h.cfg.Returns.allowedName(host)
	if !ok {
		return original{}, &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Message: "Gatehouse does not sign in to this site: its host is not among the allowed return hosts."}
	}
	o := original{host: name}
	if forwarded {
		if proto != "http" && proto != "https" {
			proto = h.cfg.PublicURL.Scheme
		}
		if !strings.HasPrefix(uri, "/") {
			uri = "/"
		}
		o.returnTo = proto + "://" + host + uri
	}
	return o, nil
}

// single returns the one value of a forwarding header, "" when absent. A
// header sent twice or, for Host and Proto, holding a list is ambiguous:
// some proxy appended to what the client sent.
func single(r *http.Request, name string) (string, error) {
	vs := r.Header.Values(name)
	switch {
	case len(vs) == 0:
		return "", nil
	case len(vs) > 1 || (name != "X-Forwarded-Uri" && strings.Contains(vs[0], ",")):
		return "", gatehouse.Errorf(gatehouse.EINVALID, "The proxy sent more than one %s.", name)
	}
	return strings.TrimSpace(vs[0]), nil
}

// signInURL is the sign-in page, of the site's organization when it is
// limited to one, with the original URL to return to.
func (h *Handler) signInURL(o original, lim limits) string {
	page := "login"
	if len(lim.orgs) == 1 {
		page = "o/" + url.PathEscape(lim.orgs[0]) + "/login"
	}
	u := h.cfg.PublicURL.JoinPath(page)
	if rd, ok := h.cfg.Returns.Check(o.returnTo); ok {
		u.RawQuery = url.Values{"rd": {rd}}.Encode()
	}
	return u.String()
}

// limits are a site's restrictions from the proxy's configuration:
// ?org=SLUG (repeatable: any of them) and ?role=admin.
type limits struct {
	orgs []string
	role gatehouse.Role
}

func parseLimits(rawQuery string) (limits, error) {
	if rawQuery == "" {
		return limits{}, nil // most sites: no limits, nothing to parse
	}
	q, _ := url.ParseQuery(rawQuery) // as Request.URL.Query: what parses counts
	lim := limits{orgs: q["org"], role: gatehouse.Role(q.Get("role"))}
	if lim.role != "" && !lim.role.Valid() {
		return limits{}, gatehouse.Errorf(gatehouse.EINVALID, "role=%q: the proxy's configuration may ask for role=admin or role=member.", lim.role)
	}
	return lim, nil
}

// check refuses (EFORBIDDEN) a user of another organization, or a member
// where admins are asked for.
func (lim limits) check(cur *signin.Current) error {
	if len(lim.orgs) > 0 && !slices.Contains(lim.orgs, cur.Organization.Slug) {
		return gatehouse.Errorf(gatehouse.EFORBIDDEN, "This site is not for your organization.")
	}
	if lim.role == gatehouse.RoleAdmin && cur.User.Role != gatehouse.RoleAdmin {
		return gatehouse.Errorf(gatehouse.EFORBIDDEN, "This site is for the admins of your organization.")
	}
	return nil
}

// fail answers an error in plain text: the proxy shows it (403) or turns
// it into its own error page. Errors without a user-facing code are logged
// here, once, and answered as "internal error".
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := http.StatusInternalServerError, "Internal error."
	switch gatehouse.ErrorCode(err) {
	case gatehouse.EFORBIDDEN:
		status, msg = http.StatusForbidden, gatehouse.ErrorMessage(err)
	case gatehouse.EINVALID:
		status, msg = http.StatusBadRequest, gatehouse.ErrorMessage(err)
	case gatehouse.EUNAVAILABLE:
		status, msg = http.StatusServiceUnavailable, gatehouse.ErrorMessage(err)
	default:
		h.log.ErrorContext(r.Context(), "forward-auth failed", "error", err)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg + "\n"))
}
