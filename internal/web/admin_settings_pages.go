package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/accounts"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

type settingsPage struct {
	Nav          settingsNav
	Enforce      bool
	Method       string
	Networks     string
	RememberDays string
	AuthMethod   string
	Federated    bool // LDAP or SAML2: 2FA controls off with the reason
	NoPhone      int
	SMSAvailable bool
	// StoredEnforce is what is saved: the box that asks to confirm turning
	// enforcement off is for a change from on, never for the state off.
	StoredEnforce bool
	// Remembered counts the browsers a save that turns enforcement on or
	// changes the method would forget.
	Remembered     int
	ClientIP       string
	ClientMatch    string // the network that holds the admin's address
	Errors         map[string]string
	NetworkErrors  []string
	NeedPassword   bool
	ConfirmDisable bool
	ConfirmChecked bool
	// NeedCode is the code step of the re-authentication: a code went to
	// CodeDestination for the challenge ReauthChallenge.
	NeedCode        bool
	ReauthChallenge string
	CodeDestination string
	Saved           bool
}

func (s *Server) settingsData(r *http.Request, cur *signin.Current, st gatehouse.PasswordSettings) (settingsPage, error) {
	nets := make([]string, len(st.SkipNetworks))
	for i, p := range st.SkipNetworks {
		nets[i] = p.String()
	}
	d := settingsPage{Nav: newNav(cur, "password"),
		Enforce: st.EnforceTwoFactor, Method: string(st.OTPMethod), Networks: strings.Join(nets, "\n"),
		RememberDays: strconv.Itoa(st.RememberDays), AuthMethod: string(st.AuthMethod),
		Federated: st.AuthMethod != gatehouse.AuthPassword, SMSAvailable: s.cfg.SMSAvailable, Errors: map[string]string{}}
	cov, err := s.coverage.Coverage(r.Context(), cur.Organization.Slug)
	if err != nil {
		return d, err
	}
	d.NoPhone, d.Remembered, d.StoredEnforce = cov.Stats.WithoutPhone, cov.RememberedBrowsers, cur.Organization.Settings.EnforceTwoFactor
	ip := s.cfg.ClientIP.ClientIP(r)
	d.ClientIP = addrString(ip)
	if ip.IsValid() {
		if p, ok := gatehouse.SkipNetworkMatch(cur.Organization.Settings.SkipNetworks, ip); ok {
			d.ClientMatch = p.String()
		}
	}
	return d, nil
}

func (s *Server) settingsPage(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	d, err := s.settingsData(r, cur, cur.Organization.Settings)
	if err != nil {
		return err
	}
	d.Saved = r.URL.Query().Get("saved") == "1"
	d.NeedPassword = !s.reauth.RecentlyAuthenticated(cur)
	s.renderPage(w, r, http.StatusOK, "settings_password", d)
	return nil
}

// settingsSubmit validates the whole form, naming every bad network line,
// asks to confirm turning 2FA off and for the password when the sign-in is
// older than 10 minutes, and saves nothing until all of that is right.
func (s *Server) settingsSubmit(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	if err := r.ParseForm(); err != nil {
		return errUnreadableForm()
	}
	f := r.PostForm
	prev := cur.Organization.Settings
	next := prev
	next.AuthMethod = gatehouse.AuthMethod(f.Get("auth_method"))
	if next.AuthMethod == "" {
		next.AuthMethod = prev.AuthMethod
	}
	d, err := s.settingsData(r, cur, prev)
	if err != nil {
		return err
	}
	d.AuthMethod, d.Federated = string(next.AuthMethod), next.AuthMethod != gatehouse.AuthPassword
	if next.AuthMethod == gatehouse.AuthPassword {
		next.EnforceTwoFactor = f.Get("enforce_two_factor") == "on"
		next.OTPMethod = gatehouse.OTPMethod(f.Get("otp_method"))
		d.Enforce, d.Method, d.Networks, d.RememberDays = next.EnforceTwoFactor, string(next.OTPMethod), f.Get("skip_networks"), f.Get("remember_days")
		// Every bad line is named, not just the first.
		var good []string
		for _, line := range strings.Split(f.Get("skip_networks"), "\n") {
			if strings.TrimSpace(line) == "" {
				continue
			}
			if _, err := gatehouse.ParseSkipNetworks([]string{line}); err != nil {
				d.NetworkErrors = append(d.NetworkErrors, s.errorMessage(r, err))
				continue
			}
			good = append(good, line)
		}
		if len(d.NetworkErrors) == 0 {
			nets, err := gatehouse.ParseSkipNetworks(good)
			if err != nil {
				d.NetworkErrors = append(d.NetworkErrors, s.errorMessage(r, err))
			}
			next.SkipNetworks = nets
		}
		days, err := strconv.Atoi(strings.TrimSpace(f.Get("remember_days")))
		if err != nil || days < 0 || days > gatehouse.MaxRememberDays {
			d.Errors["remember_days"] = s.t(r, "settings.remember_days.invalid", gatehouse.MaxRememberDays)
		}
		next.RememberDays = days
	} else {
		// The 2FA controls are off for LDAP and SAML2: enforcement ends,
		// the rest is kept for a return to passwords.
		next.EnforceTwoFactor = false
	}
	d.ConfirmChecked = f.Get("confirm_disable") == "yes"
	if len(d.NetworkErrors) > 0 || len(d.Errors) > 0 {
		d.NeedPassword = !s.reauth.RecentlyAuthenticated(cur)
		s.renderPage(w, r, http.StatusBadRequest, "settings_password", d)
		return nil
	}
	// The form carries the re-authentication when the sign-in is old: the
	// password, then (where 2FA asks for it) the code it sent. The rules
	// themselves are the service's: UpdateSettings refuses without them.
	if done, err := s.settingsReauth(w, r, cur, &d); err != nil || !done {
		return err
	}
	change := accounts.SettingsChange{Settings: next, ConfirmTwoFactorOff: d.ConfirmChecked}
	if _, err := s.settings.UpdateSettings(r.Context(), cur.Organization.Slug, change, s.actor(r, cur)); err != nil {
		msg, field, status, internal := s.formError(w, r, err)
		if internal != nil {
			return internal
		}
		switch {
		case field == accounts.FieldConfirmTwoFactorOff:
			d.ConfirmDisable = true
			d.NeedPassword = !s.reauth.RecentlyAuthenticated(cur)
			s.renderPage(w, r, http.StatusOK, "settings_password", d)
			return nil
		case gatehouse.ErrorCode(err) == gatehouse.EREAUTHREQUIRED:
			d.NeedPassword = true
			d.Errors["password"] = s.t(r, "settings.password.needed")
		case field == "skip_networks":
			d.NetworkErrors = append(d.NetworkErrors, s.errorMessage(r, err))
		case field == "":
			d.Errors["form"] = msg
		default:
			d.Errors[field] = msg
		}
		s.renderPage(w, r, status, "settings_password", d)
		return nil
	}
	if next.EnforceTwoFactor && !gatehouse.PassedTwoFactorPolicy(cur.Session.TwoFactorState) {
		// The save ended this session too (accounts.UpdateSettings).
		s.clearSessionCookie(w)
		s.renderPage(w, r, http.StatusOK, "message", messagePage{Title: s.t(r, "settings.enforced_signed_out.title"),
			Message: s.t(r, "settings.enforced_signed_out.message"),
			Link:    "/o/" + cur.Organization.Slug + "/login", LinkText: s.t(r, "settings.enforced_signed_out.link")})
		return nil
	}
	http.Redirect(w, r, settingsURL(cur, "/settings/users/password?saved=1"), http.StatusSeeOther)
	return nil
}

// settingsHome is GET /settings: the console opens on the password
// settings.
func (s *Server) settingsHome(w http.ResponseWriter, r *http.Request) error {
	to := "/settings/users/password"
	if org := r.URL.Query().Get("org"); org != "" {
		to += "?org=" + url.QueryEscape(org)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}
