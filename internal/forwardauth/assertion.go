package forwardauth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"sync"
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

// AssertionReuse is how long one Remote-Assertion is given again for the
// requests of one session to one host, while what it says is unchanged:
// signing is a third of a check's work, and a page loads many resources.
// It still has at least AssertionLifetime - AssertionReuse to live when it
// is given. The session itself is checked at every request, never cached.
const AssertionReuse = 15 * time.Second

// maxCachedAssertions bounds the cache; when it is full it starts again
// empty (it only saves signatures).
const maxCachedAssertions = 10000

// assertionCache keeps recent assertions by session and audience.
type assertionCache struct {
	mu sync.Mutex
	m  map[string]cachedAssertion
}

type cachedAssertion struct {
	says  string // what the assertion vouches for, apart from its times
	token string
	made  time.Time
}

func newAssertionCache() *assertionCache { return &assertionCache{m: map[string]cachedAssertion{}} }

func (c *assertionCache) get(key, says string, now time.Time) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.m[key]
	if !ok || a.says != says || now.Before(a.made) || now.Sub(a.made) >= AssertionReuse {
		return "", false
	}
	return a.token, true
}

func (c *assertionCache) put(key, says, token string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxCachedAssertions {
		clear(c.m)
	}
	c.m[key] = cachedAssertion{says: says, token: token, made: now}
}

// assertion signs what the headers say for the application at audience
// (the requested host), or gives again the one it signed for this session
// and host less than AssertionReuse ago when it says the same. It is ""
// without a Signer; a signing failure fails the answer (500, logged): the
// headers are given complete or not at all.
func (h *Handler) assertion(ctx context.Context, cur *signin.Current, audience string) (string, error) {
	if h.cfg.Signer == nil {
		return "", nil
	}
	now := h.cfg.Now()
	key := cur.Session.PublicID + "\x00" + audience
	says := strings.Join([]string{cur.User.ID, cur.User.Email, cur.User.Name, cur.Organization.Slug, string(cur.User.Role),
		cur.Session.TwoFactorState, strconv.FormatInt(cur.Session.LastAuthenticated().Unix(), 10)}, "\x00")
	if tok, ok := h.assertions.get(key, says, now); ok {
		return tok, nil
	}
	jti := make([]byte, 16)
	rand.Read(jti)
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
	h.assertions.put(key, says, tok, now)
	return tok, nil
}
