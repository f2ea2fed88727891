package web

import (
	"net/http"

	"github.com/gatehousehq/gatehouse/internal/signin"
)

type browserJSON struct {
	ID         string  `json:"id"`
	CreatedAt  *string `json:"created_at"`
	LastUsedAt *string `json:"last_used_at"`
	ExpiresAt  *string `json:"expires_at"`
	ClientIP   string  `json:"client_ip"`
	UserAgent  string  `json:"user_agent"`
	Browser    string  `json:"browser"`
}

// apiBrowsers is GET /api/v1/account/remembered-browsers.
func (s *Server) apiBrowsers(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	list, err := s.browsers.RememberedBrowsers(r.Context(), cur)
	if err != nil {
		return err
	}
	out := make([]browserJSON, 0, len(list))
	for _, b := range list {
		out = append(out, browserJSON{ID: b.ID, CreatedAt: timeJSON(b.CreatedAt), LastUsedAt: timeJSON(b.LastUsedAt),
			ExpiresAt: timeJSON(b.ExpiresAt), ClientIP: addrString(b.ClientIP), UserAgent: b.UserAgent,
			Browser: browserName(b.UserAgent)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"remembered_browsers": out})
	return nil
}

func (s *Server) apiRevokeBrowser(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	if err := s.browsers.RevokeBrowser(r.Context(), cur, r.PathValue("id"), s.cfg.ClientIP.ClientIP(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiRevokeAllBrowsers(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	if err := s.browsers.RevokeBrowser(r.Context(), cur, "", s.cfg.ClientIP.ClientIP(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
