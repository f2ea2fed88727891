package web

import (
	"net/http"

	"github.com/gatehousehq/gatehouse/internal/signin"
)

// The signed-in user's sessions through the API: the list, ending one, and
// signing out everywhere else (the account page's buttons, also "everywhere,
// here too", are in account_page.go). A session is named by its public id
// only; its token and the token's hash never leave the server.

type accountSessionJSON struct {
	ID         string             `json:"id"`
	Current    bool               `json:"current"`
	CreatedAt  *string            `json:"created_at"`
	LastSeenAt *string            `json:"last_seen_at"`
	ExpiresAt  *string            `json:"expires_at"`
	ClientIP   string             `json:"client_ip"`
	UserAgent  string             `json:"user_agent"`
	Browser    string             `json:"browser"`
	TwoFactor  accountTwoFactorJS `json:"two_factor"`
}

type accountTwoFactorJS struct {
	State string `json:"state"`
}

// apiSessions is GET /api/v1/account/sessions.
func (s *Server) apiSessions(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	list, err := s.sessions.Sessions(r.Context(), cur)
	if err != nil {
		return err
	}
	out := make([]accountSessionJSON, 0, len(list))
	for _, si := range list {
		out = append(out, accountSessionJSON{ID: si.PublicID, Current: si.Current, CreatedAt: timeJSON(si.CreatedAt),
			LastSeenAt: timeJSON(si.LastSeenAt), ExpiresAt: timeJSON(si.ExpiresAt), ClientIP: addrString(si.ClientIP),
			UserAgent: si.UserAgent, Browser: browserName(si.UserAgent), TwoFactor: accountTwoFactorJS{State: si.TwoFactorState}})
	}
	writeJSON(w, http.StatusOK, map[string]any{"sessions": out})
	return nil
}

// apiEndSession is DELETE /api/v1/account/sessions/{id}; ending the
// current session also clears its cookie.
func (s *Server) apiEndSession(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	id := r.PathValue("id")
	if err := s.sessions.EndSession(r.Context(), cur, id, s.cfg.ClientIP.ClientIP(r)); err != nil {
		return err
	}
	if id == cur.Session.PublicID {
		s.clearSessionCookie(w)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// apiEndOtherSessions is POST /api/v1/account/sessions/end-others.
func (s *Server) apiEndOtherSessions(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	n, err := s.sessions.EndOtherSessions(r.Context(), cur, s.cfg.ClientIP.ClientIP(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int64{"ended": n})
	return nil
}
