package web

import (
	"net/http"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/accounts"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

// settingsJSON is the password-settings contract of docs/design.md §5: these
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
	org, err := s.settings.UpdateSettings(r.Context(), cur.Organization.Slug,
		accounts.SettingsChange{Settings: next, ConfirmTwoFactorOff: body.ConfirmTwoFactorOff}, s.actor(r, cur))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toSettingsJSON(org.Settings))
	return nil
}
