package web

import (
	"net/http"
	"strings"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/accounts"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

// caller is who calls an organization route of the JSON API that an
// operator's API token may also call: an admin's session (cur set), or a
// token (cur nil), with the organization of the path (nil on routes
// without one) and the actor the services check.
type caller struct {
	cur   *signin.Current
	org   *gatehouse.Organization
	actor accounts.Actor
}

// bearerToken is the token of an "Authorization: Bearer" header, and
// whether the request has an Authorization header at all.
func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", false
	}
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", true
	}
	return strings.TrimSpace(token), true
}

// provisioned runs h for an API token that carries scope, or, without an
// Authorization header, for a session as s.admin (or s.signedIn, on routes
// without {slug}) lets it. A request with an Authorization header is a
// token's, never falls back to the cookie, and answers 401 (with
// WWW-Authenticate) for a token that is not valid, 403 for one that lacks
// the scope.
func (s *Server) provisioned(scope string, h func(w http.ResponseWriter, r *http.Request, c *caller) error) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		token, has := bearerToken(r)
		if !has {
			session := func(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
				c := &caller{cur: cur, actor: s.actor(r, cur)}
				if r.PathValue("slug") != "" {
					c.org = cur.Organization
				}
				return h(w, r, c)
			}
			if r.PathValue("slug") != "" {
				return s.admin(session)(w, r)
			}
			return s.signedIn(session)(w, r)
		}
		t, err := s.orgs.AuthenticateAPIToken(r.Context(), token)
		if gatehouse.ErrorCode(err) == gatehouse.EUNAUTHORIZED {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			return err
		} else if err != nil {
			return err
		}
		if !t.Has(scope) {
			w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="`+scope+`"`)
			return gatehouse.Reasoned(gatehouse.EFORBIDDEN, gatehouse.ReasonTokenScope, "This API token lacks the scope %s.", scope)
		}
		c := &caller{actor: gatehouse.TokenActor(t.Name, s.cfg.ClientIP.ClientIP(r))}
		if slug := r.PathValue("slug"); slug != "" {
			if c.org, err = s.orgs.Organization(r.Context(), slug); err != nil {
				return err
			}
		}
		return h(w, r, c)
	}
}
