package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
)

type homePage struct {
	User         *gatehouse.User
	Organization *gatehouse.Organization
	// Role and TwoFactor are the user's role and how this session passed
	// two-factor authentication, in words.
	Role, TwoFactor string
	AuthenticatedAt time.Time
	// SignInURL is the organization's own sign-in page, for an admin to
	// hand out to staff and bookmark.
	SignInURL string
}

// roleKeys and twoFactorKeys name the words for a role and a session's
// two-factor state; an unknown value is shown as it is.
var (
	roleKeys = map[gatehouse.Role]string{
		gatehouse.RoleAdmin:  "role.admin",
		gatehouse.RoleMember: "role.member",
	}
	twoFactorKeys = map[string]string{
		gatehouse.TwoFactorNotEnforced:    "two_factor.not_enforced",
		gatehouse.TwoFactorExempt:         "two_factor.exempt",
		gatehouse.TwoFactorAllowedNetwork: "two_factor.allowed_network",
		gatehouse.TwoFactorRemembered:     "two_factor.remembered",
		gatehouse.TwoFactorFederated:      "two_factor.federated",
		gatehouse.TwoFactorVerified:       "two_factor.verified",
	}
)

// words is the text of keys[value] for r, or value itself when keys has
// no entry for it.
func words[V ~string](s *Server, r *http.Request, keys map[V]string, value V) string {
	if key, ok := keys[value]; ok {
		return s.t(r, key)
	}
	return string(value)
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) error {
	cur, err := s.auth.Authenticate(r.Context(), s.sessionToken(r))
	if gatehouse.ErrorCode(err) == gatehouse.EUNAUTHORIZED {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return nil
	} else if err != nil {
		return err
	}
	// A sign-in that a proxy's forward-auth started goes back there.
	if to, ok := s.takeReturn(w, r); ok {
		http.Redirect(w, r, to, http.StatusSeeOther)
		return nil
	}
	r = withZone(withProfileLang(r, cur.User.Locale), cur.Organization)
	s.renderPage(w, r, http.StatusOK, "home", homePage{User: cur.User, Organization: cur.Organization,
		Role: words(s, r, roleKeys, cur.User.Role), TwoFactor: words(s, r, twoFactorKeys, cur.Session.TwoFactorState),
		AuthenticatedAt: cur.Session.CreatedAt, SignInURL: s.publicURL("/o/" + cur.Organization.Slug + "/login")})
	return nil
}

// publicURL is path on the public address (GATEHOUSE_PUBLIC_URL).
func (s *Server) publicURL(path string) string {
	return strings.TrimSuffix(s.cfg.PublicURL.String(), "/") + path
}
