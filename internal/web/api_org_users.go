package web

import (
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/accounts"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

// signedIn runs h with the request's session, or answers 401.
func (s *Server) signedIn(h func(http.ResponseWriter, *http.Request, *signin.Current) error) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		cur, err := s.cfg.SignIn.Authenticate(r.Context(), s.sessionToken(r))
		if err != nil {
			return err
		}
		return h(w, r, cur)
	}
}

// admin runs h for an admin of the organization named in the path. Another
// organization's slug answers 404, as if it did not exist: nothing of one
// organization is reachable through another.
func (s *Server) admin(h func(http.ResponseWriter, *http.Request, *signin.Current) error) func(http.ResponseWriter, *http.Request) error {
	return s.signedIn(func(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
		if r.PathValue("slug") != cur.Organization.Slug {
			return gatehouse.Errorf(gatehouse.ENOTFOUND, "No such organization.")
		}
		if cur.User.Role != gatehouse.RoleAdmin {
			return gatehouse.Errorf(gatehouse.EFORBIDDEN, "Only admins of this organization may do that.")
		}
		return h(w, r, cur)
	})
}

// actor is the signed-in user as the services check them: who, their role
// and organization, and when their session last authenticated.
func (s *Server) actor(r *http.Request, cur *signin.Current) accounts.Actor {
	return accounts.Actor{UserID: cur.User.ID, OrgID: cur.Organization.ID, Role: cur.User.Role,
		ClientIP: s.cfg.ClientIP.ClientIP(r), AuthenticatedAt: cur.Session.LastAuthenticated(),
		SessionHash: cur.Session.TokenHash}
}

// settingsJSON is the password-settings contract of DESIGN.md §5: these
// five fields, and on PUT the optional confirmation that turning 2FA off
// is meant.
type settingsJSON struct {
	EnforceTwoFactor *bool     `json:"enforce_two_factor"`
	OTPMethod        *string   `json:"otp_method"`
	SkipNetworks     *[]string `json:"skip_networks"`
	RememberDays     *int      `json:"remember_days"`
	AuthMethod       *string   `json:"auth_method"`
	// ConfirmTwoFactorOff is accepted on PUT only, never answered.
	ConfirmTwoFactorOff bool `json:"confirm_disable_two_factor,omitempty"`
}

func toSettingsJSON(st gatehouse.PasswordSettings) settingsJSON {
	nets := make([]string, len(st.SkipNetworks))
	for i, p := range st.SkipNetworks {
		nets[i] = p.String()
	}
	m, a := string(st.OTPMethod), string(st.AuthMethod)
	return settingsJSON{EnforceTwoFactor: &st.EnforceTwoFactor, OTPMethod: &m, SkipNetworks: &nets, RememberDays: &st.RememberDays, AuthMethod: &a}
}

func (s *Server) apiGetSettings(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	writeJSON(w, http.StatusOK, toSettingsJSON(cur.Organization.Settings))
	return nil
}

// apiPutSettings replaces the settings. Every field is required, so a
// client that forgets one cannot reset it by accident; the whole body is
// validated before anything is saved.
func (s *Server) apiPutSettings(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	var body settingsJSON
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	for _, f := range []struct {
		name    string
		missing bool
	}{{"enforce_two_factor", body.EnforceTwoFactor == nil}, {"otp_method", body.OTPMethod == nil},
		{"skip_networks", body.SkipNetworks == nil}, {"remember_days", body.RememberDays == nil}, {"auth_method", body.AuthMethod == nil}} {
		if f.missing {
			return gatehouse.FieldError(f.name, "The field %q is required.", f.name)
		}
	}
	nets, err := gatehouse.ParseSkipNetworks(*body.SkipNetworks)
	if err != nil {
		return err
	}
	next := gatehouse.PasswordSettings{EnforceTwoFactor: *body.EnforceTwoFactor, OTPMethod: gatehouse.OTPMethod(*body.OTPMethod),
		SkipNetworks: nets, RememberDays: *body.RememberDays, AuthMethod: gatehouse.AuthMethod(*body.AuthMethod)}
	org, err := s.cfg.Accounts.UpdateSettings(r.Context(), cur.Organization.Slug,
		accounts.SettingsChange{Settings: next, ConfirmTwoFactorOff: body.ConfirmTwoFactorOff}, s.actor(r, cur))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toSettingsJSON(org.Settings))
	return nil
}

type adminUserJSON struct {
	ID        string            `json:"id"`
	Email     string            `json:"email"`
	Name      string            `json:"name"`
	Phone     *string           `json:"phone"`
	Role      string            `json:"role"`
	Disabled  bool              `json:"disabled"`
	TwoFactor userTwoFactorJSON `json:"two_factor"`
}

type userTwoFactorJSON struct {
	Exempt         bool    `json:"exempt"`
	Locked         bool    `json:"locked"`
	WrongCodes     int     `json:"consecutive_wrong_codes"`
	LastVerifiedAt *string `json:"last_verified_at"`
}

func toAdminUserJSON(u *gatehouse.User) adminUserJSON {
	var phone *string
	if u.Phone != "" {
		phone = &u.Phone
	}
	return adminUserJSON{ID: u.ID, Email: u.Email, Name: u.Name, Phone: phone, Role: string(u.Role), Disabled: u.Disabled,
		TwoFactor: userTwoFactorJSON{Exempt: u.TwoFactorExempt, Locked: u.OTPFailures >= gatehouse.OTPLockFailures,
			WrongCodes: u.OTPFailures, LastVerifiedAt: timeJSON(u.LastVerifiedAt)}}
}

// apiUsers is GET /api/v1/organizations/{slug}/users?cursor=&limit=.
func (s *Server) apiUsers(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	limit, err := queryInt(r, "limit", 50)
	if err != nil {
		return err
	}
	users, next, err := s.cfg.Accounts.UsersPage(r.Context(), cur.Organization.Slug, r.URL.Query().Get("cursor"), limit)
	if err != nil {
		return err
	}
	out := make([]adminUserJSON, 0, len(users))
	for _, u := range users {
		out = append(out, toAdminUserJSON(u))
	}
	var nextJSON *string
	if next != "" {
		nextJSON = &next
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": out, "next": nextJSON})
	return nil
}

func (s *Server) apiResetTwoFactor(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	if _, err := s.cfg.Accounts.ResetTwoFactor(r.Context(), cur.Organization.Slug, r.PathValue("id"), s.actor(r, cur)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiUnlock(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	if err := s.cfg.Accounts.Unlock(r.Context(), cur.Organization.Slug, r.PathValue("id"), s.actor(r, cur)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiExempt(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	var body struct {
		Exempt *bool `json:"exempt"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	if body.Exempt == nil {
		return gatehouse.FieldError("exempt", "The field \"exempt\" is required.")
	}
	u, err := s.cfg.Accounts.SetExempt(r.Context(), cur.Organization.Slug, r.PathValue("id"), *body.Exempt, s.actor(r, cur))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toAdminUserJSON(u))
	return nil
}

func (s *Server) apiDisabled(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	var body struct {
		Disabled *bool `json:"disabled"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	if body.Disabled == nil {
		return gatehouse.FieldError("disabled", "The field \"disabled\" is required.")
	}
	u, err := s.cfg.Accounts.SetDisabled(r.Context(), cur.Organization.Slug, r.PathValue("id"), *body.Disabled, s.actor(r, cur))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toAdminUserJSON(u))
	return nil
}

type auditJSON struct {
	ID       string            `json:"id"`
	At       *string           `json:"at"`
	Event    string            `json:"event"`
	Reason   string            `json:"reason,omitempty"`
	UserID   string            `json:"user_id,omitempty"`
	ActorID  string            `json:"actor_id,omitempty"`
	ClientIP string            `json:"client_ip,omitempty"`
	Detail   map[string]string `json:"detail,omitempty"`
}

// apiAudit is GET /api/v1/organizations/{slug}/audit-events?before=&limit=.
func (s *Server) apiAudit(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	limit, err := queryInt(r, "limit", 50)
	if err != nil {
		return err
	}
	var before int64
	if v := r.URL.Query().Get("before"); v != "" {
		if before, err = strconv.ParseInt(v, 10, 64); err != nil || before <= 0 {
			return gatehouse.FieldError("before", "before must be the \"next\" value of a previous page.")
		}
	}
	events, next, err := s.cfg.Accounts.AuditPage(r.Context(), cur.Organization.Slug, before, limit)
	if err != nil {
		return err
	}
	out := make([]auditJSON, 0, len(events))
	for _, e := range events {
		out = append(out, auditJSON{ID: strconv.FormatInt(e.ID, 10), At: timeJSON(e.At), Event: e.Event, Reason: e.Reason,
			UserID: e.UserID, ActorID: e.ActorID, ClientIP: addrString(e.ClientIP), Detail: e.Detail})
	}
	var nextJSON *string
	if next != 0 {
		v := strconv.FormatInt(next, 10)
		nextJSON = &v
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": out, "next": nextJSON})
	return nil
}

func queryInt(r *http.Request, name string, def int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 200 {
		return 0, gatehouse.FieldError(name, "%s must be a whole number from 1 to 200.", name)
	}
	return n, nil
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// browserName turns a User-Agent into words a person recognizes.
func browserName(ua string) string {
	var browser, system string
	switch {
	case strings.Contains(ua, "Edg/"):
		browser = "Edge"
	case strings.Contains(ua, "Firefox/"):
		browser = "Firefox"
	case strings.Contains(ua, "Chrome/") || strings.Contains(ua, "Chromium/") || strings.Contains(ua, "HeadlessChrome/"):
		browser = "Chrome"
	case strings.Contains(ua, "Safari/"):
		browser = "Safari"
	default:
		browser = "Unknown browser"
	}
	switch {
	case strings.Contains(ua, "Android"):
		system = "Android"
	case strings.Contains(ua, "iPhone") || strings.Contains(ua, "iPad"):
		system = "iOS"
	case strings.Contains(ua, "Windows"):
		system = "Windows"
	case strings.Contains(ua, "Mac OS X") || strings.Contains(ua, "Macintosh"):
		system = "macOS"
	case strings.Contains(ua, "Linux"):
		system = "Linux"
	}
	if system == "" {
		return browser
	}
	return browser + " on " + system
}
