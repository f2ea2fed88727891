package forwardauth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/gatehousehq/gatehouse/internal/signin"
)

// Signer signs the claims of a Remote-Assertion as a compact JWS (a JWT)
// with the OpenID Connect provider's current key, whose public half is in
// its JWKS, so an application verifies the assertion as it verifies an ID
// token. It adds the header's alg and kid.
type Signer interface {
	SignAssertion(ctx context.Context, claims map[string]any) (string, error)
}

// AssertionLifetime is how long a Remote-Assertion is valid: it vouches
// for one request, forwarded at once.
const AssertionLifetime = time.Minute

// assertion signs what the headers say for the application at audience
// (the requested host). It is "" without a Signer; a signing failure fails
// the answer (500, logged): the headers are given complete or not at all.
func (h *Handler) assertion(ctx context.Context, cur *signin.Current, audience string) (string, error) {
	if h.cfg.Signer == nil {
		return "", nil
	}
	jti := make([]byte, 16)
	rand.Read(jti)
	now := h.cfg.Now()
	claims := map[string]any{
		"iss":          h.cfg.Issuer,
		"sub":          cur.User.ID,
		"aud":          audience,
		"iat":          now.Unix(),
		"nbf":          now.Unix(),
		"exp":          now.Add(AssertionLifetime).Unix(),
		"jti":          base64.RawURLEncoding.EncodeToString(jti),
		"auth_time":    cur.Session.LastAuthenticated().Unix(),
		"email":        cur.User.Email,
		"name":         cur.User.Name,
		"organization": cur.Organization.Slug,
		"role":         string(cur.User.Role),
		"two_factor":   cur.Session.TwoFactorState,
	}
	tok, err := h.cfg.Signer.SignAssertion(ctx, claims)
	if err != nil {
		return "", fmt.Errorf("sign the forward-auth assertion: %w", err)
	}
	return tok, nil
}
