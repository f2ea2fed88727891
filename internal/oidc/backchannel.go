package oidc

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehousehq/gatehouse"
)

// backChannelEvent is the event of a logout token (OIDC Back-Channel
// Logout 1.0 §2.4).
const backChannelEvent = "http://schemas.openid.net/event/backchannel-logout"

// backChannelLogout tells the clients that registered a back-channel
// logout URI that a Gatehouse session they signed in through has ended,
// however it ended (sign-out, password change, an admin, expiry), on
// whichever node. It takes the ended sessions' tokens from the store, so
// several nodes never tell the same one twice.
func (p *Provider) backChannelLogout(ctx context.Context) {
	ended, err := p.cfg.Store.TakeEndedGrants(ctx)
	if err != nil {
		p.log.WarnContext(ctx, "back-channel logout: reading ended sessions failed", slog.Any("error", err))
		return
	}
	for _, g := range ended {
		if err := p.sendLogout(ctx, g); err != nil {
			p.log.WarnContext(ctx, "back-channel logout failed", slog.String("client_id", g.ClientID), slog.Any("error", err))
		}
	}
}

// sendLogout posts one logout token, signed with the client's algorithm.
func (p *Provider) sendLogout(ctx context.Context, g gatehouse.EndedGrant) error {
	alg := gatehouse.SigningES256
	if c, err := p.cfg.Store.OAuthClientByID(ctx, g.ClientID); err == nil {
		alg = c.SigningAlg
	}
	k, err := p.keys.signer(ctx, alg)
	if err != nil {
		return err
	}
	now := p.cfg.Now()
	payload, err := json.Marshal(map[string]any{
		"iss": p.issuer, "aud": g.ClientID, "iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(),
		"jti": gatehouse.NewID(), "sub": g.UserID, "sid": g.SessionID,
		"events": map[string]any{backChannelEvent: map[string]any{}},
	})
	if err != nil {
		return err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: &jose.JSONWebKey{Key: k.key, KeyID: k.id}},
		(&jose.SignerOptions{}).WithType("logout+jwt"))
	if err != nil {
		return fmt.Errorf("oidc: logout token signer: %w", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return fmt.Errorf("oidc: sign logout token: %w", err)
	}
	token, err := jws.CompactSerialize()
	if err != nil {
		return fmt.Errorf("oidc: sign logout token: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.LogoutURI, strings.NewReader(url.Values{"logout_token": {token}}.Encode()))
	if err != nil {
		return fmt.Errorf("oidc: logout request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := p.cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("oidc: post logout token: %w", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusNoContent {
		return fmt.Errorf("oidc: the client answered the logout token with %d", res.StatusCode)
	}
	return nil
}
