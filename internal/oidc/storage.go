package oidc

import (
	"context"
	"crypto/hmac"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/keyring"
)

// Keyed-hash purposes of what the provider stores.
const (
	purposeCode    = "oauth code"
	purposeAccess  = "oauth access token"
	purposeRefresh = "oauth refresh token"
	purposeSecret  = "oauth client secret"
)

// refreshIDPrefix marks the token IDs that name refresh tokens (the hex of
// their stored hash) when the library hands them back to RevokeToken;
// access token IDs are base64url and never contain ':'.
const refreshIDPrefix = "r:"

// storage is op.Storage over Gatehouse's store: the library speaks the
// protocol, this decides what is stored and when a token is still alive.
type storage struct {
	p *Provider
}

var (
	_ op.Storage                        = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest      = (*storage)(nil)
	_ op.CanTerminateSessionFromRequest = (*storage)(nil)
)

func (s *storage) store() Store { return s.p.cfg.Store }

func (s *storage) now() time.Time { return s.p.cfg.Now() }

func (s *storage) hash(purpose string, parts ...string) []byte {
	return s.p.cfg.Keys.Hash(purpose, parts...)
}

// serverError is the library's 500 for a fault of ours; the cause is logged
// once here, never shown.
func (s *storage) serverError(ctx context.Context, op string, err error) *oidc.Error {
	s.p.log.ErrorContext(ctx, "oidc storage failed", slog.String("op", op), slog.Any("error", err))
	return oidc.ErrServerError()
}

// CreateAuthRequest stores an authorize request the library has checked
// (client, exact redirect URI, scopes, response type). It adds Gatehouse's
// rules: PKCE with S256 only, and required for public clients.
func (s *storage) CreateAuthRequest(ctx context.Context, ar *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	c, err := s.store().OAuthClientByID(ctx, ar.ClientID)
	if err != nil {
		return nil, s.serverError(ctx, "create auth request", err)
	}
	switch {
	case ar.CodeChallenge == "" && c.Public:
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE (code_challenge with code_challenge_method=S256) is required for this client.")
	case ar.CodeChallenge != "" && ar.CodeChallengeMethod != oidc.CodeChallengeMethodS256:
		return nil, oidc.ErrInvalidRequest().WithDescription("Only the S256 code_challenge_method is accepted.")
	}
	info := infoFrom(ctx)
	now := s.now()
	r := &gatehouse.OAuthAuthRequest{
		ID: gatehouse.NewID(), ClientID: ar.ClientID, RedirectURI: ar.RedirectURI, ResponseType: string(ar.ResponseType),
		ResponseMode: string(ar.ResponseMode), State: ar.State, Nonce: ar.Nonce, Scopes: ar.Scopes,
		CodeChallenge: ar.CodeChallenge, CodeChallengeMethod: string(ar.CodeChallengeMethod), Prompt: ar.Prompt,
		LoginHint: ar.LoginHint, ACRValues: ar.ACRValues, Organization: info.organization,
		CreatedAt: now, ExpiresAt: now.Add(gatehouse.AuthRequestLifetime),
	}
	if ar.MaxAge != nil {
		r.HasMaxAge, r.MaxAge = true, time.Duration(*ar.MaxAge)*time.Second
	}
	for _, l := range ar.UILocales {
		r.UILocales = append(r.UILocales, l.String())
	}
	if err := s.store().CreateAuthRequest(ctx, r); err != nil {
		return nil, s.serverError(ctx, "create auth request", err)
	}
	return &authRequest{r: r}, nil
}

func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	r, err := s.store().AuthRequestByID(ctx, id, s.now())
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, oidc.ErrInvalidRequest().WithDescription("The sign-in request has expired; start again from the application.")
	} else if err != nil {
		return nil, s.serverError(ctx, "auth request by id", err)
	}
	return &authRequest{r: r}, nil
}

// AuthRequestByCode finds a code's request. A code used before is the
// sign of a stolen or replayed code: what it issued is revoked (RFC 6749
// §4.1.2). The code is marked used only when tokens are issued, after the
// client and the PKCE verifier are checked, so a wrong attempt does not
// burn it.
func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	r, err := s.store().AuthRequestByCodeHash(ctx, s.hash(purposeCode, code))
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, errors.New("unknown code")
	} else if err != nil {
		return nil, s.serverError(ctx, "auth request by code", err)
	}
	if !r.CodeUsedAt.IsZero() {
		s.revokeCode(ctx, r.ID)
		return nil, errors.New("code used twice")
	}
	if !s.now().Before(r.CodeExpiresAt) {
		return nil, errors.New("code expired")
	}
	return &authRequest{r: r}, nil
}

func (s *storage) revokeCode(ctx context.Context, id string) {
	if err := s.store().RevokeAuthRequestTokens(ctx, id); err != nil {
		s.p.log.ErrorContext(ctx, "revoking the tokens of a reused code failed", slog.Any("error", err))
		return
	}
	s.p.log.WarnContext(ctx, "authorization code used twice: its tokens are revoked", slog.String("auth_request", id))
}

func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	if err := s.store().SaveAuthCode(ctx, id, s.hash(purposeCode, code), s.now().Add(gatehouse.AuthCodeLifetime)); err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			return oidc.ErrInvalidRequest().WithDescription("This sign-in request was already answered.")
		}
		return s.serverError(ctx, "save auth code", err)
	}
	return nil
}

// DeleteAuthRequest keeps the request: its row is what tells a second use
// of the code, whose tokens must then be revoked. Expired requests are
// removed by DeleteExpiredOAuth.
func (s *storage) DeleteAuthRequest(context.Context, string) error { return nil }

// redeem marks a code's request used, atomically across nodes; the loser
// of a race is a reuse.
func (s *storage) redeem(ctx context.Context, a *authRequest) error {
	err := s.store().RedeemAuthCode(ctx, a.r.ID, s.now())
	if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
		s.revokeCode(ctx, a.r.ID)
		return oidc.ErrInvalidGrant().WithDescription("invalid code")
	} else if err != nil {
		return s.serverError(ctx, "redeem auth code", err)
	}
	return nil
}

func (s *storage) newAccess(ctx context.Context, g gatehouse.OAuthGrant, now time.Time) (string, *gatehouse.OAuthToken, error) {
	id, err := keyring.NewToken(s.p.cfg.Rand)
	if err != nil {
		return "", nil, s.serverError(ctx, "new access token", err)
	}
	return id, &gatehouse.OAuthToken{IDHash: s.hash(purposeAccess, id), OAuthGrant: g, CreatedAt: now,
		ExpiresAt: now.Add(gatehouse.AccessTokenLifetime)}, nil
}

func (s *storage) newRefresh(ctx context.Context, g gatehouse.OAuthGrant, now time.Time) (string, *gatehouse.OAuthRefreshToken, error) {
	tok, err := keyring.NewToken(s.p.cfg.Rand)
	if err != nil {
		return "", nil, s.serverError(ctx, "new refresh token", err)
	}
	return tok, &gatehouse.OAuthRefreshToken{TokenHash: s.hash(purposeRefresh, tok), OAuthGrant: g, CreatedAt: now,
		ExpiresAt: now.Add(gatehouse.RefreshTokenLifetime)}, nil
}

func (s *storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	a, ok := req.(*authRequest)
	if !ok {
		return "", time.Time{}, oidc.ErrUnsupportedGrantType()
	}
	if err := s.redeem(ctx, a); err != nil {
		return "", time.Time{}, err
	}
	now := s.now()
	id, t, err := s.newAccess(ctx, a.grant(), now)
	if err != nil {
		return "", time.Time{}, err
	}
	if err := s.store().CreateOAuthToken(ctx, t, nil); err != nil {
		return "", time.Time{}, s.serverError(ctx, "create access token", err)
	}
	return id, t.ExpiresAt, nil
}

// CreateAccessAndRefreshTokens issues tokens for a code (offline_access),
// starting a refresh family, or rotates a refresh token: the used one is
// marked used and its successor joins the family; a refresh token that
// lost the race to rotate is a reuse and revokes the family.
func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	now := s.now()
	var g gatehouse.OAuthGrant
	switch r := req.(type) {
	case *authRequest:
		if err := s.redeem(ctx, r); err != nil {
			return "", "", time.Time{}, err
		}
		g = r.grant()
		g.FamilyID = gatehouse.NewID()
	case *refreshRequest:
		g = r.t.OAuthGrant
	default:
		return "", "", time.Time{}, oidc.ErrUnsupportedGrantType()
	}
	id, t, err := s.newAccess(ctx, g, now)
	if err != nil {
		return "", "", time.Time{}, err
	}
	tok, next, err := s.newRefresh(ctx, g, now)
	if err != nil {
		return "", "", time.Time{}, err
	}
	if current == "" {
		err = s.store().CreateOAuthToken(ctx, t, next)
	} else {
		err = s.store().RotateRefreshToken(ctx, s.hash(purposeRefresh, current), now, t, next)
		if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
			s.revokeFamily(ctx, g.FamilyID)
			return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("invalid refresh token")
		}
	}
	if err != nil {
		return "", "", time.Time{}, s.serverError(ctx, "create tokens", err)
	}
	return id, tok, t.ExpiresAt, nil
}

func (s *storage) revokeFamily(ctx context.Context, family string) {
	if err := s.store().RevokeOAuthFamily(ctx, family); err != nil {
		s.p.log.ErrorContext(ctx, "revoking a refresh family failed", slog.Any("error", err))
		return
	}
	s.p.log.WarnContext(ctx, "refresh token used twice: its family is revoked", slog.String("family", family))
}

// TokenRequestByRefreshToken finds a live refresh token. One already used
// is a replay: the whole family goes.
func (s *storage) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	t, err := s.store().RefreshTokenByHash(ctx, s.hash(purposeRefresh, token), s.now())
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, errors.New("unknown refresh token")
	} else if err != nil {
		return nil, s.serverError(ctx, "refresh token", err)
	}
	if !t.UsedAt.IsZero() {
		s.revokeFamily(ctx, t.FamilyID)
		return nil, errors.New("refresh token used twice")
	}
	if _, err := s.liveSession(ctx, t.OAuthGrant); err != nil {
		return nil, err
	}
	return &refreshRequest{t: t}, nil
}

// TerminateSession is not reached: TerminateSessionFromRequest replaces it.
func (s *storage) TerminateSession(context.Context, string, string) error { return nil }

// TerminateSessionFromRequest is RP-initiated logout: the Gatehouse session
// of the browser ends (when it is the one the ID token hint names, or there
// is no hint), and with it every token it gave, on every node.
func (s *storage) TerminateSessionFromRequest(ctx context.Context, req *op.EndSessionRequest) (string, error) {
	info := infoFrom(ctx)
	sid := ""
	if req.IDTokenHintClaims != nil {
		sid, _ = req.IDTokenHintClaims.Claims["sid"].(string)
	}
	if info.sessionToken != "" {
		cur, err := s.p.cfg.Sessions.Authenticate(ctx, info.sessionToken)
		if err == nil && (sid == "" || cur.Session.PublicID == sid) {
			if err := s.p.cfg.Sessions.Logout(ctx, info.sessionToken, info.ip); err != nil {
				return "", s.serverError(ctx, "logout", err)
			}
			// Tell the clients of the session now, not at the next poll,
			// through the same durable queue; the browser does not wait
			// for them.
			s.p.tellSoon()
		}
	}
	if sid != "" && req.ClientID != "" {
		if _, err := s.store().RevokeSessionTokens(ctx, sid, req.ClientID); err != nil {
			return "", s.serverError(ctx, "revoke session tokens", err)
		}
	}
	return req.RedirectURI, nil
}

// RevokeToken is RFC 7009: an access token by its ID, a refresh token
// (named by refreshIDPrefix) with its whole family. A token of another
// client is refused; an unknown one is not an error.
func (s *storage) RevokeToken(ctx context.Context, tokenOrID, _, clientID string) *oidc.Error {
	if hexHash, ok := strings.CutPrefix(tokenOrID, refreshIDPrefix); ok {
		hash, err := hex.DecodeString(hexHash)
		if err != nil {
			return nil
		}
		return s.revokeRefresh(ctx, hash, clientID)
	}
	hash := s.hash(purposeAccess, tokenOrID)
	t, err := s.store().OAuthTokenByIDHash(ctx, hash, s.now())
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil
	} else if err != nil {
		return s.serverError(ctx, "revoke token", err)
	}
	if t.ClientID != clientID {
		return oidc.ErrInvalidClient().WithDescription("The token was not issued to this client.")
	}
	if err := s.store().RevokeOAuthToken(ctx, hash); err != nil {
		return s.serverError(ctx, "revoke token", err)
	}
	return nil
}

func (s *storage) revokeRefresh(ctx context.Context, hash []byte, clientID string) *oidc.Error {
	t, err := s.store().RefreshTokenByHash(ctx, hash, s.now())
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil
	} else if err != nil {
		return s.serverError(ctx, "revoke refresh token", err)
	}
	if t.ClientID != clientID {
		return oidc.ErrInvalidClient().WithDescription("The token was not issued to this client.")
	}
	if err := s.store().RevokeOAuthFamily(ctx, t.FamilyID); err != nil {
		return s.serverError(ctx, "revoke refresh token", err)
	}
	return nil
}

func (s *storage) GetRefreshTokenInfo(ctx context.Context, _ string, token string) (string, string, error) {
	hash := s.hash(purposeRefresh, token)
	t, err := s.store().RefreshTokenByHash(ctx, hash, s.now())
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return "", "", op.ErrInvalidRefreshToken
	} else if err != nil {
		return "", "", err
	}
	return t.UserID, refreshIDPrefix + hex.EncodeToString(hash), nil
}

// SigningKey is the current key of the algorithm of the client of this
// request (GetClientByClientID noted it), ES256 when none is known.
func (s *storage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	alg := infoFrom(ctx).alg
	if alg == "" {
		alg = gatehouse.SigningES256
	}
	k, err := s.p.keys.signer(ctx, alg)
	if err != nil {
		return nil, s.serverError(ctx, "signing key", err)
	}
	return k, nil
}

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.ES256, jose.RS256}, nil
}

func (s *storage) KeySet(ctx context.Context) ([]op.Key, error) {
	k, err := s.p.keys.published(ctx)
	if err != nil {
		return nil, s.serverError(ctx, "key set", err)
	}
	return k, nil
}

// GetClientByClientID loads a client, and notes its signing algorithm for
// SigningKey later in the same request.
func (s *storage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.store().OAuthClientByID(ctx, id)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, oidc.ErrInvalidClient().WithDescription("Unknown client.")
	} else if err != nil {
		return nil, s.serverError(ctx, "client by id", err)
	}
	infoFrom(ctx).alg = c.SigningAlg
	return &client{c: c, loginURL: s.p.loginURL}, nil
}

// AuthorizeClientIDSecret checks a confidential client's secret against
// its keyed hash under every key of the ring (a server key rotation must
// not lock clients out), in constant time.
func (s *storage) AuthorizeClientIDSecret(ctx context.Context, id, secret string) error {
	c, err := s.store().OAuthClientByID(ctx, id)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return errors.New("unknown client")
	} else if err != nil {
		return s.serverError(ctx, "authorize client", err)
	}
	if c.Public || len(c.SecretHash) == 0 || secret == "" {
		return errors.New("no secret for this client")
	}
	for _, cand := range s.p.cfg.Keys.Candidates(purposeSecret, purposeSecret, id, secret) {
		if !cand.Legacy && hmac.Equal(cand.Hash, c.SecretHash) {
			return nil
		}
	}
	return errors.New("wrong client secret")
}

// HashSecret is how a client's secret is stored.
func HashSecret(ring *keyring.Ring, clientID, secret string) []byte {
	return ring.Hash(purposeSecret, clientID, secret)
}
