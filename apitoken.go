package gatehouse

import (
	"context"
	"slices"
	"time"
)

// API token scopes: what an operator's API token may do (docs: README,
// "Provisioning API").
const (
	ScopeOrgsRead   = "orgs:read"
	ScopeOrgsWrite  = "orgs:write"
	ScopeUsersRead  = "users:read"
	ScopeUsersWrite = "users:write"
)

// APIScopes lists every scope, in the order the help gives them.
func APIScopes() []string {
	return []string{ScopeOrgsRead, ScopeOrgsWrite, ScopeUsersRead, ScopeUsersWrite}
}

// APITokenPrefix starts every API token, so that secret scanners and
// people can tell one when they see it.
const APITokenPrefix = "gth_"

// APIToken is an operator's API token for provisioning by software: the
// vendor's systems create organizations and users through the JSON API
// with it. Only its keyed hash is stored; the token is shown once.
type APIToken struct {
	ID        string
	Name      string
	TokenHash []byte
	Scopes    []string
	CreatedAt time.Time
	// ExpiresAt is zero for a token that does not expire.
	ExpiresAt  time.Time
	LastUsedAt time.Time
}

// Has reports whether the token carries scope; a write scope includes
// reading the same things.
func (t *APIToken) Has(scope string) bool {
	if slices.Contains(t.Scopes, scope) {
		return true
	}
	switch scope {
	case ScopeOrgsRead:
		return slices.Contains(t.Scopes, ScopeOrgsWrite)
	case ScopeUsersRead:
		return slices.Contains(t.Scopes, ScopeUsersWrite)
	}
	return false
}

// APITokenStore keeps API tokens by the hash of their secret.
type APITokenStore interface {
	// CreateAPIToken saves a new token; ECONFLICT if the name is taken.
	CreateAPIToken(ctx context.Context, t *APIToken) error
	// APITokenByHash returns the token stored under hash, ENOTFOUND when
	// there is none.
	APITokenByHash(ctx context.Context, hash []byte) (*APIToken, error)
	// ListAPITokens returns every token, by name.
	ListAPITokens(ctx context.Context) ([]*APIToken, error)
	// DeleteAPIToken revokes the token of that name; ENOTFOUND if none.
	DeleteAPIToken(ctx context.Context, name string) error
	// TouchAPIToken records a use; RekeyAPIToken moves a token found under
	// an old key's hash to the current key's.
	TouchAPIToken(ctx context.Context, id string, at time.Time) error
	RekeyAPIToken(ctx context.Context, id string, oldHash, newHash []byte) error
}
