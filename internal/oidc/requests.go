package oidc

import (
	"log/slog"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehousehq/gatehouse"
)

// authRequest is a stored authorize request as the library reads it.
type authRequest struct {
	r *gatehouse.OAuthAuthRequest
}

var (
	_ op.AuthRequest         = (*authRequest)(nil)
	_ op.LogAuthRequest      = (*authRequest)(nil)
	_ op.RefreshTokenRequest = (*refreshRequest)(nil)
)

func (a *authRequest) GetID() string          { return a.r.ID }
func (a *authRequest) GetACR() string         { return a.r.Done.ACR }
func (a *authRequest) GetAMR() []string       { return a.r.Done.AMR }
func (a *authRequest) GetAudience() []string  { return []string{a.r.ClientID} }
func (a *authRequest) GetAuthTime() time.Time { return a.r.Done.AuthTime }
func (a *authRequest) GetClientID() string    { return a.r.ClientID }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.r.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.r.CodeChallenge, Method: oidc.CodeChallengeMethod(a.r.CodeChallengeMethod)}
}
func (a *authRequest) GetNonce() string                   { return a.r.Nonce }
func (a *authRequest) GetRedirectURI() string             { return a.r.RedirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType { return oidc.ResponseType(a.r.ResponseType) }
func (a *authRequest) GetResponseMode() oidc.ResponseMode { return oidc.ResponseMode(a.r.ResponseMode) }
func (a *authRequest) GetScopes() []string                { return a.r.Scopes }
func (a *authRequest) GetState() string                   { return a.r.State }
func (a *authRequest) GetSubject() string                 { return a.r.Done.UserID }
func (a *authRequest) Done() bool                         { return !a.r.Done.At.IsZero() }

// LogValue names the request in the library's logs without its state,
// nonce or challenge.
func (a *authRequest) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", a.r.ID), slog.String("client_id", a.r.ClientID))
}

// grant is what tokens issued for the request stand for.
func (a *authRequest) grant() gatehouse.OAuthGrant {
	d := a.r.Done
	return gatehouse.OAuthGrant{ClientID: a.r.ClientID, UserID: d.UserID, OrgID: d.OrgID, SessionID: d.SessionID,
		AuthRequestID: a.r.ID, Scopes: a.r.Scopes, AuthTime: d.AuthTime, AMR: d.AMR, ACR: d.ACR, TwoFactorState: d.TwoFactorState}
}

// refreshRequest is a stored refresh token as the library reads it.
type refreshRequest struct {
	t *gatehouse.OAuthRefreshToken
}

func (r *refreshRequest) GetAMR() []string            { return r.t.AMR }
func (r *refreshRequest) GetAudience() []string       { return []string{r.t.ClientID} }
func (r *refreshRequest) GetAuthTime() time.Time      { return r.t.AuthTime }
func (r *refreshRequest) GetClientID() string         { return r.t.ClientID }
func (r *refreshRequest) GetScopes() []string         { return r.t.Scopes }
func (r *refreshRequest) GetSubject() string          { return r.t.UserID }
func (r *refreshRequest) SetCurrentScopes(s []string) { r.t.Scopes = s }

// grantOf returns the grant behind a request the library hands back.
func grantOf(req any) (gatehouse.OAuthGrant, bool) {
	switch r := req.(type) {
	case *authRequest:
		return r.grant(), true
	case *refreshRequest:
		return r.t.OAuthGrant, true
	}
	return gatehouse.OAuthGrant{}, false
}

// client is a registered client as the library reads it.
type client struct {
	c        *gatehouse.OAuthClient
	loginURL func(id string) string
}

var _ op.Client = (*client)(nil)

func (c *client) GetID() string                    { return c.c.ID }
func (c *client) RedirectURIs() []string           { return c.c.RedirectURIs }
func (c *client) PostLogoutRedirectURIs() []string { return c.c.PostLogoutRedirectURIs }

// ApplicationType is web for every client: redirect URIs then match
// exactly (a native client's loopback URIs would match on any port).
func (c *client) ApplicationType() op.ApplicationType { return op.ApplicationTypeWeb }
func (c *client) AuthMethod() oidc.AuthMethod {
	if c.c.Public {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}
func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *client) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
}
func (c *client) LoginURL(id string) string           { return c.loginURL(id) }
func (c *client) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeBearer }
func (c *client) IDTokenLifetime() time.Duration      { return gatehouse.AccessTokenLifetime }

// DevMode only lets a registered http:// redirect URI through the
// library's scheme check for public clients too: registration already
// allows http:// only for loopback hosts, and the match stays exact.
func (c *client) DevMode() bool { return true }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) IsScopeAllowed(string) bool { return false }

// IDTokenUserinfoClaimsAssertion puts the profile, e-mail and phone claims
// in the ID token too (docs/design.md §10.1), not only at userinfo.
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c *client) ClockSkew() time.Duration             { return 0 }
