package web

import (
	"net/http"
	"net/url"
	"slices"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/accounts"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

// samlACSRoute is the SAML2 assertion consumer service: the one route the
// cross-origin check lets through, because the identity provider's page
// posts to it from its own origin, by design (see New).
const samlACSRoute = "POST /saml/{slug}/acs"

// oidcCrossOriginRoutes are the OpenID Connect provider's endpoints that
// other origins may post to (see New): none of them reads a cookie.
var oidcCrossOriginRoutes = []string{"POST /oauth2/token", "POST /oauth2/revoke", "POST /oauth2/introspect", "POST /oauth2/userinfo"}

// routes is the table of every route: its method and path, its handler and
// what wraps the handler. It is the only place a route is registered.
//
// Every request first goes through the server-wide chain of New: panics
// recovered, security headers, a bounded body, a deadline and the
// cross-origin check (every route but samlACSRoute). Then, per route:
//
//   - s.api answers a handler's error as JSON, s.page as an HTML page;
//     s.route takes a plain http.Handler. All three log the request and
//     measure it under its pattern, never the raw path.
//   - s.signedIn needs a session (401 otherwise); s.admin an admin of the
//     organization in the path (404 for another organization, 403 for a
//     member).
//   - s.pageSignedIn needs a session (a redirect to /login otherwise) and
//     speaks the user's language; s.pageAdmin an admin of the signed-in
//     organization (a 403 page for a member).
//   - s.samlLimited rate-limits an anonymous SAML2 endpoint per client
//     network.
//
// The federation routes exist only with a Federation, forward-auth only
// with a ForwardAuth, the OpenID Connect provider's only with OIDC, the
// outbox only in dev mode, /metrics only with Metrics.
func (s *Server) routes() {
	// JSON API: the session (api_session.go, api_session_reauth.go).
	s.api("GET /api/v1/session", s.apiSession)
	s.api("POST /api/v1/logout", s.apiLogout)
	s.api("POST /api/v1/session/reauthenticate", s.signedIn(s.apiReauthenticate))
	s.api("POST /api/v1/session/reauthenticate/resend", s.signedIn(s.apiReauthResend))
	// Signing in (api_login.go) and the forgotten password (api_password.go).
	s.api("POST /api/v1/login", s.apiLogin)
	s.api("POST /api/v1/login/verify", s.apiVerify)
	s.api("POST /api/v1/login/resend", s.apiResend)
	s.api("POST /api/v1/login/phone", s.apiPhone)
	s.api("POST /api/v1/login/cancel", s.apiCancel)
	s.api("POST /api/v1/password/forgot", s.apiForgot)
	s.api("POST /api/v1/password/reset", s.apiReset)
	// The signed-in user's own account (api_account_*.go).
	s.api("GET /api/v1/account/remembered-browsers", s.signedIn(s.apiBrowsers))
	s.api("DELETE /api/v1/account/remembered-browsers", s.signedIn(s.apiRevokeAllBrowsers))
	s.api("DELETE /api/v1/account/remembered-browsers/{id}", s.signedIn(s.apiRevokeBrowser))
	s.api("GET /api/v1/account/sessions", s.signedIn(s.apiSessions))
	s.api("DELETE /api/v1/account/sessions/{id}", s.signedIn(s.apiEndSession))
	s.api("POST /api/v1/account/sessions/end-others", s.signedIn(s.apiEndOtherSessions))
	s.api("POST /api/v1/account/password", s.signedIn(s.apiChangePassword))
	s.api("POST /api/v1/account/contact", s.signedIn(s.apiContactStart))
	s.api("POST /api/v1/account/contact/verify", s.signedIn(s.apiContactVerify))
	s.api("POST /api/v1/account/contact/resend", s.signedIn(s.apiContactResend))
	// The organizations the caller may administer, and a group admin's
	// new ones (admin_orgs_page.go). The routes under s.provisioned take an
	// operator's API token too, within its scope (api_callers.go).
	s.api("GET /api/v1/organizations", s.provisioned(gatehouse.ScopeOrgsRead, s.apiOrganizations))
	s.api("POST /api/v1/organizations", s.provisioned(gatehouse.ScopeOrgsWrite, s.apiCreateOrganization))
	// An organization, for its admins (api_org_*.go).
	s.api("GET /api/v1/organizations/{slug}", s.provisioned(gatehouse.ScopeOrgsRead, s.apiGetOrganization))
	s.api("PUT /api/v1/organizations/{slug}", s.provisioned(gatehouse.ScopeOrgsWrite, s.apiPutOrganization))
	s.api("GET /api/v1/organizations/{slug}/password-settings", s.admin(s.apiGetSettings))
	s.api("PUT /api/v1/organizations/{slug}/password-settings", s.admin(s.apiPutSettings))
	s.api("GET /api/v1/organizations/{slug}/users", s.provisioned(gatehouse.ScopeUsersRead, s.apiUsers))
	s.api("POST /api/v1/organizations/{slug}/users", s.provisioned(gatehouse.ScopeUsersWrite, s.apiCreateUser))
	s.api("PATCH /api/v1/organizations/{slug}/users/{id}", s.provisioned(gatehouse.ScopeUsersWrite, s.apiPatchUser))
	s.api("POST /api/v1/organizations/{slug}/users/{id}/reset-two-factor", s.admin(s.apiResetTwoFactor))
	s.api("POST /api/v1/organizations/{slug}/users/{id}/unlock", s.admin(s.apiUnlock))
	s.api("DELETE /api/v1/organizations/{slug}/users/{id}", s.provisioned(gatehouse.ScopeUsersWrite, s.apiDeleteUser))
	s.api("PUT /api/v1/organizations/{slug}/users/{id}/two-factor-exemption", s.admin(s.apiExempt))
	s.api("PUT /api/v1/organizations/{slug}/users/{id}/disabled", s.provisioned(gatehouse.ScopeUsersWrite, s.apiDisabled))
	s.api("GET /api/v1/organizations/{slug}/audit-events", s.admin(s.apiAudit))
	s.api("/api/", s.apiNotFound)

	// Pages: signing in (signin_pages.go, code_pages.go, reset_pages.go)
	// and the signed-in home (home_page.go).
	s.page("GET /{$}", s.home)
	s.page("GET /login", s.loginPage)
	s.page("POST /login", s.loginSubmit)
	s.page("GET /o/{slug}/login", s.loginPage)
	s.page("POST /o/{slug}/login", s.loginSubmit)
	s.page("POST /logout", s.logoutSubmit)
	s.page("GET /login/code", s.codePage)
	s.page("POST /login/code", s.codeSubmit)
	s.page("POST /login/resend", s.resendSubmit)
	s.page("POST /login/cancel", s.cancelSubmit)
	s.page("GET /login/phone", s.phonePage)
	s.page("POST /login/phone", s.phoneSubmit)
	s.page("GET /forgot-password", s.forgotPage)
	s.page("POST /forgot-password", s.forgotSubmit)
	s.page("GET /reset-password", s.resetPage)
	s.page("POST /reset-password", s.resetSubmit)
	// The account page (account_page.go, account_contact_pages.go).
	s.page("GET /account", s.pageSignedIn(s.accountPage))
	s.page("POST /account/browsers/{id}/revoke", s.pageSignedIn(s.revokeBrowserSubmit))
	s.page("POST /account/browsers/revoke-all", s.pageSignedIn(s.revokeAllSubmit))
	s.page("POST /account/sessions/{id}/end", s.pageSignedIn(s.endSessionSubmit))
	s.page("POST /account/sessions/end-others", s.pageSignedIn(s.endOtherSessionsSubmit))
	s.page("POST /account/sessions/end-all", s.pageSignedIn(s.endAllSessionsSubmit))
	s.page("POST /account/language", s.pageSignedIn(s.languageSubmit))
	s.page("POST /account/password", s.pageSignedIn(s.passwordSubmit))
	s.page("POST /account/contact", s.pageSignedIn(s.contactStartSubmit))
	s.page("GET /account/contact/{id}", s.pageSignedIn(s.contactPage))
	s.page("POST /account/contact/{id}", s.pageSignedIn(s.contactVerifySubmit))
	s.page("POST /account/contact/{id}/resend", s.pageSignedIn(s.contactResendSubmit))
	// The admin console, Settings > Users > Password settings, the users
	// and the audit log of the signed-in organization (admin_*_page(s).go).
	s.page("GET /settings", s.settingsHome)
	s.page("GET /settings/users/password", s.pageAdmin(s.settingsPage))
	s.page("POST /settings/users/password", s.pageAdmin(s.settingsSubmit))
	s.page("GET /settings/users", s.pageAdmin(s.usersPage))
	s.page("POST /settings/users", s.pageAdmin(s.userCreateSubmit))
	s.page("GET /settings/organizations", s.pageSignedIn(s.orgsPage))
	s.page("POST /settings/organizations", s.pageSignedIn(s.orgsSubmit))
	s.page("GET /settings/organization", s.pageAdmin(s.orgPage))
	s.page("POST /settings/organization", s.pageAdmin(s.orgSubmit))
	s.page("GET /settings/users/{id}", s.pageAdmin(s.userPage))
	s.page("POST /settings/users/{id}", s.pageAdmin(s.userEditSubmit))
	s.page("POST /settings/users/{id}/{action}", s.pageAdmin(s.userActionSubmit))
	s.page("GET /settings/audit", s.pageAdmin(s.auditPage))
	s.page("GET /settings/audit.csv", s.pageAdmin(s.auditCSV))
	s.page("GET /settings/reauth", s.pageAdmin(s.reauthPageGet))
	s.page("POST /settings/reauth", s.pageAdmin(s.reauthSubmit))

	// Federated sign-in, only with a Federation: the LDAP and SAML2 set-up
	// (api_org_federation.go, admin_federation_pages.go) and the SAML2
	// service provider of each organization (saml_sp.go).
	if s.cfg.Federation != nil {
		s.api("GET /api/v1/organizations/{slug}/ldap", s.admin(s.apiGetLDAP))
		s.api("PUT /api/v1/organizations/{slug}/ldap", s.admin(s.apiPutLDAP))
		s.api("GET /api/v1/organizations/{slug}/saml", s.admin(s.apiGetSAML))
		s.api("PUT /api/v1/organizations/{slug}/saml", s.admin(s.apiPutSAML))
		s.page("GET /settings/users/ldap", s.pageAdmin(s.ldapPage))
		s.page("POST /settings/users/ldap", s.pageAdmin(s.ldapSubmit))
		s.page("GET /settings/users/saml", s.pageAdmin(s.samlPage))
		s.page("POST /settings/users/saml", s.pageAdmin(s.samlSubmit))
		s.page("GET /saml/{slug}/metadata", s.samlMetadata)
		s.page("GET /saml/{slug}/login", s.samlLimited(s.samlLogin))
		s.page(samlACSRoute, s.samlLimited(s.samlACS))
	}

	// Forward-auth for reverse proxies, only with a ForwardAuth
	// (internal/forwardauth): nginx auth_request, Traefik and Caddy.
	if s.cfg.ForwardAuth != nil {
		s.route("GET /auth/forward", http.HandlerFunc(s.cfg.ForwardAuth.Forward))
		s.route("GET /auth/request", http.HandlerFunc(s.cfg.ForwardAuth.Request))
	}

	// The OpenID Connect provider (internal/oidc), which answers its own
	// errors as the protocol says.
	if s.cfg.OIDC != nil {
		s.route("GET /.well-known/openid-configuration", s.cfg.OIDC)
		s.route("/oauth2/", s.cfg.OIDC)
	}

	// The development outbox (outbox_page.go), assets and unknown pages
	// (pages.go).
	if s.cfg.Dev {
		s.page("GET /dev/outbox", s.outbox)
	}
	s.route("GET /static/{file}", http.HandlerFunc(s.static))
	s.page("/", s.pageNotFound)

	// Operations (ops.go).
	s.route("GET /healthz", http.HandlerFunc(s.healthz))
	s.route("GET /readyz", http.HandlerFunc(s.readyz))
	if s.cfg.Metrics != nil {
		s.route("GET /metrics", s.cfg.Metrics.Handler())
	}
}

// signedIn runs h with the request's session, or answers 401.
func (s *Server) signedIn(h func(http.ResponseWriter, *http.Request, *signin.Current) error) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		cur, err := s.auth.Authenticate(r.Context(), s.sessionToken(r))
		if err != nil {
			return err
		}
		return h(w, r, cur)
	}
}

// admin runs h for an admin of the organization named in the path. Another
// organization's slug answers 404, as if it did not exist: nothing of one
// organization is reachable through another.
func (s *Server) admin(h func(http.ResponseWriter, *http.Request, *signin.Current) error) func(http.ResponseWriter, *http.Request) error {
	return s.signedIn(func(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
		cur, err := s.auth.AdminOf(r.Context(), cur, r.PathValue("slug"))
		if err != nil {
			return err
		}
		return h(w, r, cur)
	})
}

// pageSignedIn runs h with the session, or sends the browser to sign in
// and, for a page it asked for (a GET), back to that page afterwards (?rd=,
// a local path, checked again when it is used).
func (s *Server) pageSignedIn(h func(http.ResponseWriter, *http.Request, *signin.Current) error) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		cur, err := s.auth.Authenticate(r.Context(), s.sessionToken(r))
		if gatehouse.ErrorCode(err) == gatehouse.EUNAUTHORIZED {
			to := "/login"
			if r.Method == http.MethodGet {
				to += "?rd=" + url.QueryEscape(r.URL.RequestURI())
			}
			http.Redirect(w, r, to, http.StatusSeeOther)
			return nil
		} else if err != nil {
			return err
		}
		return h(w, withZone(withProfileLang(r, cur.User.Locale), cur.Organization), cur)
	}
}

// pageAdmin runs h for admins of the organization the page is about: the
// signed-in one, or for a group admin the one named by ?org= (the console
// keeps it in every link and form, so two tabs can manage two clinics).
// Members get a 403 page, another organization a 404 page.
func (s *Server) pageAdmin(h func(http.ResponseWriter, *http.Request, *signin.Current) error) func(http.ResponseWriter, *http.Request) error {
	return s.pageSignedIn(func(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
		slug := r.URL.Query().Get("org")
		if slug == "" {
			slug = cur.Organization.Slug
		}
		cur, err := s.auth.AdminOf(r.Context(), cur, slug)
		if gatehouse.ErrorCode(err) == gatehouse.EFORBIDDEN {
			return gatehouse.Reasoned(gatehouse.EFORBIDDEN, gatehouse.ReasonSettingsAdmins, "Only admins of this organization can open the settings.")
		} else if err != nil {
			return err
		}
		return h(w, withZone(r, cur.Organization), cur)
	})
}

// maxLimitedNetworks bounds the memory of the SAML2 rate limit (about 100
// bytes a network).
const maxLimitedNetworks = 100_000

// samlLimited rate-limits an anonymous SAML2 endpoint that writes (a request
// row per login, a consumed request and an audit event per ACS post) per
// client network, before anything is looked up (issue 8 item 14).
func (s *Server) samlLimited(fn func(http.ResponseWriter, *http.Request) error) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		if ok, wait := s.samlLim.allow(s.cfg.ClientIP.ClientIP(r)); !ok {
			return &gatehouse.Error{Code: gatehouse.ETOOMANYATTEMPTS, RetryAfter: wait,
				Message: "Too many sign-in attempts from your network. Please wait a moment and try again."}
		}
		return fn(w, r)
	}
}

// actor is the signed-in user as the services check them: who, their role
// and organization, and when their session last authenticated.
func (s *Server) actor(r *http.Request, cur *signin.Current) accounts.Actor {
	a := accounts.Actor{UserID: cur.User.ID, OrgID: cur.User.OrgID, Role: cur.User.Role,
		ClientIP: s.cfg.ClientIP.ClientIP(r), AuthenticatedAt: cur.Session.LastAuthenticated(),
		SessionHash: cur.Session.TokenHash}
	for _, o := range cur.Managed {
		a.ManagedOrgIDs = append(a.ManagedOrgIDs, o.ID)
		if !slices.Contains(a.GroupIDs, o.GroupID) {
			a.GroupIDs = append(a.GroupIDs, o.GroupID)
		}
	}
	return a
}
