package gatehouse

import (
	"context"
	"time"
)

// Signing algorithms of ID tokens (docs/design.md §10.1): ES256 by default,
// RS256 for clients that need it.
const (
	SigningES256 = "ES256"
	SigningRS256 = "RS256"
)

// Lifetimes of what the OpenID Connect provider hands out.
const (
	// AuthCodeLifetime is how long an authorization code may be redeemed.
	AuthCodeLifetime = 60 * time.Second
	// AuthRequestLifetime is how long a browser may take to sign in
	// between the authorize request and the code.
	AuthRequestLifetime = 15 * time.Minute
	// AccessTokenLifetime is the life of an access token (and an ID token).
	AccessTokenLifetime = time.Hour
	// RefreshTokenLifetime bounds a refresh token; every token also ends
	// with the Gatehouse session it came from.
	RefreshTokenLifetime = 30 * 24 * time.Hour
)

// OAuthClient is an application registered to sign its users in through
// Gatehouse (gatehouse client create).
type OAuthClient struct {
	ID   string
	Name string
	// SecretHash is the keyed hash of a confidential client's secret; nil
	// for a public client, which proves itself with PKCE instead.
	SecretHash []byte
	Public     bool
	// RedirectURIs match exactly; PostLogoutRedirectURIs are where
	// /oauth2/logout may send the browser back to.
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	// OrgIDs limits the client to these organizations; empty means any.
	OrgIDs []string
	// SigningAlg is SigningES256 or SigningRS256.
	SigningAlg string
	// BackChannelLogoutURI receives logout tokens (OIDC Back-Channel
	// Logout 1.0); "" for none.
	BackChannelLogoutURI string
	CreatedAt            time.Time
	UpdatedAt            time.Time
}

// AllowsOrg reports whether the client may sign in users of orgID.
func (c *OAuthClient) AllowsOrg(orgID string) bool {
	if len(c.OrgIDs) == 0 {
		return true
	}
	for _, id := range c.OrgIDs {
		if id == orgID {
			return true
		}
	}
	return false
}

// OAuthAuthRequest is one authorize request, from the client's redirect
// until its code is redeemed. It is stored so that any node can finish any
// step.
type OAuthAuthRequest struct {
	ID                  string
	ClientID            string
	RedirectURI         string
	ResponseType        string
	ResponseMode        string
	State               string
	Nonce               string
	Scopes              []string
	CodeChallenge       string
	CodeChallengeMethod string
	Prompt              []string
	// MaxAge is the max_age asked for; HasMaxAge tells 0 from none.
	MaxAge       time.Duration
	HasMaxAge    bool
	LoginHint    string
	UILocales    []string
	ACRValues    []string
	Organization string // the organization=SLUG parameter, "" when none
	CreatedAt    time.Time
	ExpiresAt    time.Time

	// Set by CompleteAuthRequest once a signed-in user is known.
	Done AuthRequestDone

	// CodeHash is the keyed hash of the code issued for the request, valid
	// until CodeExpiresAt and used once (CodeUsedAt).
	CodeHash      []byte
	CodeExpiresAt time.Time
	CodeUsedAt    time.Time
}

// AuthRequestDone is who signed in for an authorize request, and how.
type AuthRequestDone struct {
	UserID string
	OrgID  string
	// SessionID is the public ID of the Gatehouse session; every token of
	// the request ends with it.
	SessionID      string
	AuthTime       time.Time
	AMR            []string
	ACR            string
	TwoFactorState string
	At             time.Time // zero until done
}

// OAuthGrant is what an access or refresh token stands for: a client, a
// user in a Gatehouse session, and how they signed in.
type OAuthGrant struct {
	ClientID       string
	UserID         string
	OrgID          string
	SessionID      string
	AuthRequestID  string // the authorize request whose code started it
	FamilyID       string // the refresh-token family; "" when there is none
	Scopes         []string
	AuthTime       time.Time
	AMR            []string
	ACR            string
	TwoFactorState string
}

// OAuthToken is an access token, stored by the keyed hash of its ID.
type OAuthToken struct {
	IDHash []byte
	OAuthGrant
	CreatedAt time.Time
	ExpiresAt time.Time
}

// OAuthRefreshToken is a refresh token, stored by the keyed hash of its
// value. Each use replaces it by a new one of the same family; a used one
// presented again revokes the family.
type OAuthRefreshToken struct {
	TokenHash []byte
	OAuthGrant
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time // zero until rotated
}

// SigningKey is one key of the provider. The private key is sealed with the
// server's keys; the public one stays published until what it signed has
// expired.
type SigningKey struct {
	ID        string
	Algorithm string // SigningES256 or SigningRS256
	// PrivateSealed is the sealed PKCS #8 private key.
	PrivateSealed []byte
	// Public is the PKIX public key.
	Public    []byte
	CreatedAt time.Time
	// RetiredAt is when a newer key of the algorithm replaced this one
	// (zero: it is the current one); it signs nothing after.
	RetiredAt time.Time
}

// QueuedLogout is a back-channel logout (OIDC Back-Channel Logout 1.0)
// still to be told: a client's sign-in whose Gatehouse session has ended.
// It waits in the database until the client accepts its logout token or
// is given up on, so a client that is down is told when it is back.
type QueuedLogout struct {
	ID        int64
	ClientID  string
	UserID    string
	SessionID string
	// Attempts counts the claims, the current one included.
	Attempts  int
	CreatedAt time.Time
}

// OAuthStore keeps the OpenID Connect provider's state.
type OAuthStore interface {
	// CreateOAuthClient saves a new client. Returns ECONFLICT if the ID is
	// taken.
	CreateOAuthClient(ctx context.Context, c *OAuthClient) error
	// OAuthClientByID returns ENOTFOUND if there is no such client.
	OAuthClientByID(ctx context.Context, id string) (*OAuthClient, error)
	// ListOAuthClients returns every client ordered by name.
	ListOAuthClients(ctx context.Context) ([]*OAuthClient, error)
	// DeleteOAuthClient removes a client with its requests and tokens.
	// Returns ENOTFOUND if there is no such client.
	DeleteOAuthClient(ctx context.Context, id string) error
	// SetOAuthClientSecret replaces a confidential client's secret hash.
	// Returns ENOTFOUND if there is no such client.
	SetOAuthClientSecret(ctx context.Context, id string, hash []byte, at time.Time) error

	// CreateAuthRequest saves a new authorize request.
	CreateAuthRequest(ctx context.Context, r *OAuthAuthRequest) error
	// AuthRequestByID returns ENOTFOUND unless the request exists and is
	// not past ExpiresAt at now.
	AuthRequestByID(ctx context.Context, id string, now time.Time) (*OAuthAuthRequest, error)
	// CompleteAuthRequest records who signed in, once. Returns ENOTFOUND
	// unless the request exists, is live at d.At and not done yet.
	CompleteAuthRequest(ctx context.Context, id string, d AuthRequestDone) error
	// SaveAuthCode records the hash of the request's code. Returns
	// ENOTFOUND unless the request is done and has no code yet.
	SaveAuthCode(ctx context.Context, id string, hash []byte, expiresAt time.Time) error
	// AuthRequestByCodeHash returns the request of a code, used or not,
	// expired or not (the caller decides); ENOTFOUND if there is none.
	AuthRequestByCodeHash(ctx context.Context, hash []byte) (*OAuthAuthRequest, error)
	// RedeemAuthCode marks the request's code used at at, atomically: of
	// any number of callers on any nodes exactly one succeeds. Returns
	// ECONFLICT when the code was already used or is expired at at.
	RedeemAuthCode(ctx context.Context, id string, at time.Time) error

	// CreateOAuthToken saves an access token and, when refresh is not nil,
	// the refresh token issued with it.
	CreateOAuthToken(ctx context.Context, t *OAuthToken, refresh *OAuthRefreshToken) error
	// OAuthTokenByIDHash returns a live access token: not expired at now,
	// its Gatehouse session not ended, its user not disabled. ENOTFOUND
	// otherwise.
	OAuthTokenByIDHash(ctx context.Context, hash []byte, now time.Time) (*OAuthToken, error)
	// RefreshTokenByHash returns a refresh token, used or not (the caller
	// revokes the family of a used one). ENOTFOUND when there is none, it
	// has expired at now, its session has ended or its user is disabled.
	RefreshTokenByHash(ctx context.Context, hash []byte, now time.Time) (*OAuthRefreshToken, error)
	// RotateRefreshToken marks the refresh token of oldHash used and saves
	// its successor with a new access token, atomically: of any number of
	// callers exactly one succeeds; the others get ECONFLICT.
	RotateRefreshToken(ctx context.Context, oldHash []byte, at time.Time, t *OAuthToken, next *OAuthRefreshToken) error
	// RevokeOAuthToken removes one access token; a missing one is not an
	// error.
	RevokeOAuthToken(ctx context.Context, idHash []byte) error
	// RevokeOAuthFamily removes every token of a refresh-token family.
	RevokeOAuthFamily(ctx context.Context, familyID string) error
	// RevokeAuthRequestTokens removes every token that the code of an
	// authorize request led to, refreshed ones included.
	RevokeAuthRequestTokens(ctx context.Context, authRequestID string) error
	// RevokeSessionTokens removes the tokens of one Gatehouse session for
	// one client ("" for every client) and returns how many.
	RevokeSessionTokens(ctx context.Context, sessionID, clientID string) (int64, error)
	// TakeEndedGrants removes the tokens whose Gatehouse session has ended
	// and, in the same transaction, queues at now one logout per client and
	// session for the clients that registered a back-channel logout URI. Of
	// several nodes taking at once, each token goes to one and each client
	// and session is queued once. The queue holds at most max rows: beyond
	// that the oldest are dropped. It returns how many were queued and how
	// many dropped.
	TakeEndedGrants(ctx context.Context, now time.Time, max int) (queued, dropped int, err error)
	// ClaimLogouts hands out at most limit queued logouts due at now, each
	// to one caller on any node, hidden from other claims until now+lease,
	// and counts the attempt.
	ClaimLogouts(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*QueuedLogout, error)
	// DeleteLogout removes a queued logout; a missing one is not an error.
	DeleteLogout(ctx context.Context, id int64) error
	// RetryLogout releases a claim; the logout is due again at next.
	RetryLogout(ctx context.Context, id int64, next time.Time) error
	// CountLogouts returns how many logouts are queued.
	CountLogouts(ctx context.Context) (int, error)
	// DeleteExpiredOAuth removes requests and tokens past their expiry
	// before before, and returns how many rows went. Tokens whose session
	// has ended are left to TakeEndedGrants, so their clients are told, and
	// so is the newest access token of each session of a client with a
	// back-channel logout URI while the session lives.
	DeleteExpiredOAuth(ctx context.Context, before time.Time) (int64, error)

	// CreateSigningKey saves a new key and retires the algorithm's current
	// one at k.CreatedAt.
	CreateSigningKey(ctx context.Context, k *SigningKey) error
	// SigningKeys returns the current keys and those retired after
	// retiredAfter (what they signed may still be valid), newest first.
	SigningKeys(ctx context.Context, retiredAfter time.Time) ([]*SigningKey, error)
}
