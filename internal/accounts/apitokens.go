package accounts

import (
	"context"
	"crypto/subtle"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/keyring"
)

// API tokens (gatehouse.APIToken): the operator makes them at the command
// line for the vendor's provisioning systems; the JSON API takes them as
// bearer tokens within their scopes.

const apiTokenPurpose = "api token"

// MaxAPITokenLifetime bounds --expires; a token may also never expire.
const MaxAPITokenLifetime = 5 * 365 * 24 * time.Hour

// apiTokenTouch is how often a token's last use is written: a busy
// integration costs one write a minute, not one a call.
const apiTokenTouch = time.Minute

var tokenNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// CreateAPIToken makes an API token with scopes, valid for lifetime (0: no
// expiry), and returns its secret, which is shown this once and stored only
// as a keyed hash. Only the operator may.
func (s *Service) CreateAPIToken(ctx context.Context, name string, scopes []string, lifetime time.Duration, actor Actor) (_ string, _ *gatehouse.APIToken, err error) {
	defer s.storeFailure(ctx, &err)
	if !actor.Operator() || actor.Token() != "" {
		return "", nil, operatorOnly()
	}
	name = strings.TrimSpace(name)
	if !tokenNameRE.MatchString(name) {
		return "", nil, gatehouse.FieldError("name", "A token name is 1 to 63 lower-case letters, digits, dots, hyphens or underscores, such as crm-sync.")
	}
	if len(scopes) == 0 {
		return "", nil, gatehouse.FieldError("scope", "Name at least one scope: %s.", strings.Join(gatehouse.APIScopes(), ", "))
	}
	for _, sc := range scopes {
		if !slices.Contains(gatehouse.APIScopes(), sc) {
			return "", nil, gatehouse.FieldError("scope", "%q is not a scope: use %s.", sc, strings.Join(gatehouse.APIScopes(), ", "))
		}
	}
	if lifetime < 0 || lifetime > MaxAPITokenLifetime {
		return "", nil, gatehouse.FieldError("expires", "A token lives at most 5 years (or does not expire).")
	}
	keys, err := s.keys()
	if err != nil {
		return "", nil, err
	}
	secret, err := keyring.NewToken(s.rand)
	if err != nil {
		return "", nil, err
	}
	token := gatehouse.APITokenPrefix + secret
	now := s.now()
	t := &gatehouse.APIToken{ID: gatehouse.NewID(), Name: name, TokenHash: keys.Hash(apiTokenPurpose, token),
		Scopes: slices.Compact(slices.Sorted(slices.Values(scopes))), CreatedAt: now}
	if lifetime > 0 {
		t.ExpiresAt = now.Add(lifetime)
	}
	if err := s.store.CreateAPIToken(ctx, t); err != nil {
		return "", nil, err
	}
	s.log.InfoContext(ctx, "api token created", "name", name, "scopes", strings.Join(t.Scopes, ","))
	return token, t, nil
}

// APITokens lists the API tokens (never their secrets).
func (s *Service) APITokens(ctx context.Context) (_ []*gatehouse.APIToken, err error) {
	defer s.storeFailure(ctx, &err)
	return s.store.ListAPITokens(ctx)
}

// RevokeAPIToken deletes the token of that name: its next call answers
// 401. Only the operator may.
func (s *Service) RevokeAPIToken(ctx context.Context, name string, actor Actor) (err error) {
	defer s.storeFailure(ctx, &err)
	if !actor.Operator() || actor.Token() != "" {
		return operatorOnly()
	}
	if err := s.store.DeleteAPIToken(ctx, strings.TrimSpace(name)); gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return gatehouse.FieldError("name", "There is no API token named %q.", name)
	} else if err != nil {
		return err
	}
	s.log.InfoContext(ctx, "api token revoked", "name", name)
	return nil
}

// AuthenticateAPIToken returns the live token whose secret is token:
// EUNAUTHORIZED for any other (unknown, revoked, expired, malformed), all
// alike. A token found under an old key is moved to the current one.
func (s *Service) AuthenticateAPIToken(ctx context.Context, token string) (_ *gatehouse.APIToken, err error) {
	defer s.storeFailure(ctx, &err)
	unauth := &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Message: "The API token is not valid."}
	if !strings.HasPrefix(token, gatehouse.APITokenPrefix) || len(token) > 128 {
		return nil, unauth
	}
	keys, err := s.keys()
	if err != nil {
		return nil, err
	}
	var t *gatehouse.APIToken
	var found keyring.Candidate
	for _, c := range keys.Candidates(apiTokenPurpose, apiTokenPurpose, token) {
		if c.Legacy {
			continue // tokens came after the keyring
		}
		t, err = s.store.APITokenByHash(ctx, c.Hash)
		if err == nil {
			found = c
			break
		} else if gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			return nil, err
		}
	}
	if t == nil || subtle.ConstantTimeCompare(t.TokenHash, found.Hash) != 1 {
		return nil, unauth
	}
	now := s.now()
	if !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt) {
		return nil, unauth
	}
	if !found.Current {
		if err := s.store.RekeyAPIToken(ctx, t.ID, found.Hash, keys.Hash(apiTokenPurpose, token)); err != nil && gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			return nil, err
		}
	}
	if now.Sub(t.LastUsedAt) >= apiTokenTouch {
		if err := s.store.TouchAPIToken(ctx, t.ID, now); gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			return nil, unauth // revoked meanwhile
		} else if err != nil {
			return nil, err
		}
	}
	return t, nil
}

// Organizations lists every organization, for an API token (operator
// trust; the web layer checks its scope).
func (s *Service) Organizations(ctx context.Context, actor Actor) (_ []*gatehouse.Organization, err error) {
	defer s.storeFailure(ctx, &err)
	if !actor.Operator() {
		return nil, operatorOnly()
	}
	return s.store.ListOrganizations(ctx)
}

// CreateOrganizationAs is CreateOrganization for the operator or an API
// token, audited under the token's name.
func (s *Service) CreateOrganizationAs(ctx context.Context, in NewOrganization, actor Actor) (_ *gatehouse.Organization, err error) {
	if !actor.Operator() {
		return nil, operatorOnly()
	}
	return s.CreateOrganization(ctx, in, actor.AuditID())
}
