package oidc

import (
	"context"
	"errors"
	"slices"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

// The claims of ID tokens, userinfo and introspection, and the parts of
// op.Storage Gatehouse does not offer (JWT profile grants).

func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest fills the ID token's claims.
func (s *storage) SetUserinfoFromRequest(ctx context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	g, ok := grantOf(req)
	if !ok {
		return oidc.ErrServerError()
	}
	return s.setUserinfo(ctx, info, g, scopes)
}

// SetUserinfoFromToken answers userinfo for a live access token.
func (s *storage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, _, _ string) error {
	t, err := s.store().OAuthTokenByIDHash(ctx, s.hash(purposeAccess, tokenID), s.now())
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return oidc.ErrAccessDenied().WithDescription("The access token is not valid.")
	} else if err != nil {
		return s.serverError(ctx, "userinfo", err)
	}
	return s.setUserinfo(ctx, info, t.OAuthGrant, t.Scopes)
}

// SetIntrospectionFromToken answers RFC 7662 for the client the token was
// issued to; for any other client the token is inactive.
func (s *storage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, _, clientID string) error {
	t, err := s.store().OAuthTokenByIDHash(ctx, s.hash(purposeAccess, tokenID), s.now())
	if err != nil {
		return err
	}
	if t.ClientID != clientID {
		return errors.New("token of another client")
	}
	info := new(oidc.UserInfo)
	if err := s.setUserinfo(ctx, info, t.OAuthGrant, t.Scopes); err != nil {
		return err
	}
	resp.SetUserInfo(info)
	resp.Scope, resp.ClientID, resp.TokenType = t.Scopes, t.ClientID, oidc.BearerToken
	resp.Expiration, resp.IssuedAt, resp.AuthTime = oidc.FromTime(t.ExpiresAt), oidc.FromTime(t.CreatedAt), oidc.FromTime(t.AuthTime)
	resp.Audience, resp.Issuer, resp.AuthenticationMethodsReferences = []string{t.ClientID}, s.p.issuer, t.AMR
	return nil
}

func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, oidc.ErrInvalidClient().WithDescription("private_key_jwt is not supported.")
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, oidc.ErrUnsupportedGrantType()
}

func (s *storage) Health(ctx context.Context) error { return s.store().Ping(ctx) }

// errSessionEnded is what a token whose Gatehouse session no longer holds
// answers: the token is not valid (401 invalid_token at userinfo,
// inactive at introspection, invalid_grant at the token endpoint).
var errSessionEnded = oidc.ErrAccessDenied().WithDescription("The access token is not valid.")

// liveSession checks, at every use of a grant, the Gatehouse session it
// came from as a browser's request would be checked: the user not
// disabled, and the organization's 2FA policy still letting the session in
// (a policy made stricter since ends it). It returns the session's current
// user and organization.
func (s *storage) liveSession(ctx context.Context, g gatehouse.OAuthGrant) (*signin.Current, error) {
	cur, err := s.p.cfg.Sessions.CheckSession(ctx, g.SessionID)
	if gatehouse.ErrorCode(err) == gatehouse.EUNAUTHORIZED {
		return nil, errSessionEnded
	} else if err != nil {
		return nil, s.serverError(ctx, "check session", err)
	}
	if cur.User.ID != g.UserID || cur.Organization.ID != g.OrgID {
		return nil, errSessionEnded
	}
	return cur, nil
}

// setUserinfo sets the claims of docs/design.md §10.1 for a grant: the
// standard ones by scope, and always Gatehouse's organization, role,
// two_factor and the session id. It fails while the grant's session does
// not hold (liveSession).
func (s *storage) setUserinfo(ctx context.Context, info *oidc.UserInfo, g gatehouse.OAuthGrant, scopes []string) error {
	cur, err := s.liveSession(ctx, g)
	if err != nil {
		return err
	}
	u, org := cur.User, cur.Organization
	info.Subject = u.ID
	if slices.Contains(scopes, oidc.ScopeEmail) {
		info.Email = u.Email
		// Gatehouse knows an address works once a code sent there was
		// entered right.
		info.EmailVerified = oidc.Bool(org.Settings.OTPMethod == gatehouse.OTPEmail && !u.LastVerifiedAt.IsZero())
	}
	if slices.Contains(scopes, oidc.ScopeProfile) {
		info.Name = u.Name
	}
	if slices.Contains(scopes, oidc.ScopePhone) && u.Phone != "" {
		info.PhoneNumber = u.Phone
		info.PhoneNumberVerified = oidc.Bool(org.Settings.OTPMethod == gatehouse.OTPSMS && !u.LastVerifiedAt.IsZero())
	}
	info.AppendClaims("organization", map[string]string{"id": org.ID, "slug": org.Slug, "name": org.Name})
	info.AppendClaims("role", string(u.Role))
	tf := map[string]any{"state": g.TwoFactorState, "verified_at": nil}
	if !u.LastVerifiedAt.IsZero() {
		tf["verified_at"] = u.LastVerifiedAt.Unix()
	}
	info.AppendClaims("two_factor", tf)
	info.AppendClaims("sid", g.SessionID)
	return nil
}
