package oidc

import (
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

// login is the hand-off between the authorize endpoint and Gatehouse's
// sign-in: the library sends the browser here with the stored request's
// ID. When the browser's Gatehouse session may answer the request, the
// request is completed with its user and the browser goes to the
// library's callback, which issues the code. Otherwise the browser goes
// through the sign-in pages (which come back here), or, for prompt=none or
// a sign-in made for this request that still does not do, the client gets
// the error at its (checked) redirect URI.
func (p *Provider) login(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	now := p.cfg.Now()
	id := r.URL.Query().Get("id")
	req, err := p.cfg.Store.AuthRequestByID(ctx, id, now)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		p.errorPage(w, http.StatusBadRequest, "This sign-in request has expired or is unknown. Go back to the application and sign in again.")
		return
	} else if err != nil {
		p.fail(w, r, "auth request", err)
		return
	}
	if !req.Done.At.IsZero() {
		http.Redirect(w, r, callbackPath+"?id="+url.QueryEscape(req.ID), http.StatusSeeOther)
		return
	}
	c, err := p.cfg.Store.OAuthClientByID(ctx, req.ClientID)
	if err != nil {
		p.fail(w, r, "client", err)
		return
	}
	cur, err := p.cfg.Sessions.Authenticate(ctx, p.cfg.Browser.SessionToken(r))
	if err != nil && gatehouse.ErrorCode(err) != gatehouse.EUNAUTHORIZED {
		p.fail(w, r, "session", err)
		return
	}
	ar := &authRequest{r: req}
	unmet := "You are not signed in."
	if cur != nil {
		unmet = p.unmet(req, c, cur, now)
	}
	if unmet == "" {
		if err := p.cfg.Store.CompleteAuthRequest(ctx, req.ID, done(cur, now)); err != nil {
			p.fail(w, r, "complete auth request", err)
			return
		}
		http.Redirect(w, r, callbackPath+"?id="+url.QueryEscape(req.ID), http.StatusSeeOther)
		return
	}
	if slices.Contains(req.Prompt, oidc.PromptNone) {
		op.AuthRequestError(w, r, ar, oidc.ErrLoginRequired().WithDescription("%s", unmet), p.op)
		return
	}
	// A session signed in after the request was made is the answer to it:
	// sending the browser round again would loop.
	if cur != nil && !cur.Session.LastAuthenticated().Before(req.CreatedAt.Truncate(time.Millisecond)) {
		op.AuthRequestError(w, r, ar, oidc.ErrAccessDenied().WithDescription("%s", unmet), p.op)
		return
	}
	if stepUp(req) {
		p.cfg.Browser.SetStepUp(w)
	}
	http.Redirect(w, r, p.signInPage(r, req, c), http.StatusSeeOther)
}

// signInPage is where the browser signs in for req: the organization's own
// page when the request names it (organization=SLUG) or the client serves
// only one, else the page that asks; login_hint fills in the e-mail. The
// sign-in pages keep ?rd= (a local path) through the code and phone steps
// and send the signed-in browser back to the hand-off; ui_locales rides
// along the same way.
func (p *Provider) signInPage(r *http.Request, req *gatehouse.OAuthAuthRequest, c *gatehouse.OAuthClient) string {
	slug := req.Organization
	if slug == "" && len(c.OrgIDs) == 1 {
		if org, err := p.cfg.Store.OrganizationByID(r.Context(), c.OrgIDs[0]); err == nil {
			slug = org.Slug
		}
	}
	target := "/login"
	if slugPattern.MatchString(slug) {
		target = "/o/" + slug + "/login"
	}
	q := url.Values{"rd": {p.loginURL(req.ID)}}
	if req.LoginHint != "" {
		q.Set("email", req.LoginHint)
	}
	// ui_locales (OIDC Core §3.1.2.1): the sign-in pages speak the first
	// of them they can, for this sign-in only.
	if len(req.UILocales) > 0 {
		q.Set("ui_locales", strings.Join(req.UILocales[:min(len(req.UILocales), 10)], " "))
	}
	return target + "?" + q.Encode()
}

// stepUp reports whether the request wants a fresh code (docs/design.md
// §10.1): acr_values=mfa, or max_age (the library also sets max_age 0 for
// prompt=login, which asks for the password again, not for a code).
func stepUp(req *gatehouse.OAuthAuthRequest) bool {
	return slices.Contains(req.ACRValues, "mfa") || req.HasMaxAge && !slices.Contains(req.Prompt, oidc.PromptLogin)
}

// slugPattern is what an organization=SLUG may be to be put in a path.
var slugPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// unmet says why the session cannot answer the request, "" when it can:
// the client's organizations, the one the request names, prompt=login and
// max_age (a sign-in after the request, or recent enough), and
// acr_values=mfa (a code entered at this sign-in).
func (p *Provider) unmet(req *gatehouse.OAuthAuthRequest, c *gatehouse.OAuthClient, cur *signin.Current, now time.Time) string {
	authAt := cur.Session.LastAuthenticated()
	fresh := !authAt.Before(req.CreatedAt.Truncate(time.Millisecond))
	switch {
	case !c.AllowsOrg(cur.Organization.ID):
		return "This application is not available to your organization."
	case req.Organization != "" && req.Organization != cur.Organization.Slug:
		return "The application asked for another organization."
	case slices.Contains(req.Prompt, oidc.PromptLogin) && !fresh:
		return "The application asks you to sign in again."
	case req.HasMaxAge && !fresh && (req.MaxAge == 0 || now.Sub(authAt) > req.MaxAge):
		return "The application asks for a more recent sign-in."
	case slices.Contains(req.ACRValues, "mfa") && cur.Session.TwoFactorState != gatehouse.TwoFactorVerified:
		return "The application asks for a sign-in with a code."
	}
	return ""
}

// done is what a session tells of how its user signed in: amr (RFC 8176)
// pwd, or ext through a directory; otp and mfa when a code was entered, sms
// too when it came by SMS; acr mfa then.
func done(cur *signin.Current, now time.Time) gatehouse.AuthRequestDone {
	d := gatehouse.AuthRequestDone{UserID: cur.User.ID, OrgID: cur.Organization.ID, SessionID: cur.Session.PublicID,
		AuthTime: cur.Session.LastAuthenticated(), TwoFactorState: cur.Session.TwoFactorState, At: now}
	if cur.Organization.Settings.AuthMethod == gatehouse.AuthPassword {
		d.AMR = []string{"pwd"}
	} else {
		d.AMR = []string{"ext"}
	}
	if cur.Session.TwoFactorState == gatehouse.TwoFactorVerified {
		d.AMR = append(d.AMR, "otp", "mfa")
		if cur.Organization.Settings.OTPMethod == gatehouse.OTPSMS {
			d.AMR = append(d.AMR, "sms")
		}
		d.ACR = "mfa"
	}
	return d
}

var errorTemplate = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign-in request</title></head>
<body><main><h1>This sign-in cannot go on</h1><p>{{.}}</p></main></body></html>
`))

// errorPage answers the browser itself: never a redirect to a client.
func (p *Provider) errorPage(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = errorTemplate.Execute(w, msg)
}

func (p *Provider) fail(w http.ResponseWriter, r *http.Request, what string, err error) {
	p.log.ErrorContext(r.Context(), "oidc login hand-off failed", "op", what, "error", err)
	p.errorPage(w, http.StatusServiceUnavailable, "Something went wrong on our side. Please try again in a moment.")
}
