package web

import (
	"context"
	"encoding/csv"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/accounts"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

// Console is what the admin pages need beyond Accounts.
type Console interface {
	Coverage(ctx context.Context, orgSlug string) (*accounts.Coverage, error)
	SearchUsers(ctx context.Context, orgSlug, query, cursor string, limit int) ([]accounts.UserRow, string, error)
	RememberedCount(ctx context.Context, orgID, userID string) (int, error)
	InviteUser(ctx context.Context, in accounts.NewUser, actor accounts.Actor) (*gatehouse.User, error)
	ResendWelcome(ctx context.Context, orgSlug, userID string, actor accounts.Actor) error
	EditUser(ctx context.Context, orgSlug, userID string, in accounts.UserEdit, actor accounts.Actor) (*gatehouse.User, error)
	User(ctx context.Context, orgSlug, userID string) (*gatehouse.Organization, *gatehouse.User, error)
	AuditSearch(ctx context.Context, orgSlug string, q accounts.AuditQuery) ([]*gatehouse.AuditEvent, int64, error)
	SetLocale(ctx context.Context, orgID, userID, locale string) error
}

// adminRoutes registers the admin console: Settings > Users > Password
// settings, the users and the audit log of the signed-in organization.
func (s *Server) adminRoutes() {
	s.page("GET /settings", func(w http.ResponseWriter, r *http.Request) error {
		http.Redirect(w, r, "/settings/users/password", http.StatusSeeOther)
		return nil
	})
	s.page("GET /settings/users/password", s.pageAdmin(s.settingsPage))
	s.page("POST /settings/users/password", s.pageAdmin(s.settingsSubmit))
	s.page("GET /settings/users", s.pageAdmin(s.usersPage))
	s.page("POST /settings/users", s.pageAdmin(s.userCreateSubmit))
	s.page("GET /settings/users/{id}", s.pageAdmin(s.userPage))
	s.page("POST /settings/users/{id}", s.pageAdmin(s.userEditSubmit))
	s.page("POST /settings/users/{id}/{action}", s.pageAdmin(s.userActionSubmit))
	s.page("GET /settings/audit", s.pageAdmin(s.auditPage))
	s.page("GET /settings/reauth", s.pageAdmin(s.reauthPageGet))
	s.page("POST /settings/reauth", s.pageAdmin(s.reauthSubmit))
	if s.cfg.Federation != nil {
		s.page("GET /settings/users/ldap", s.pageAdmin(s.ldapPage))
		s.page("POST /settings/users/ldap", s.pageAdmin(s.ldapSubmit))
		s.page("GET /settings/users/saml", s.pageAdmin(s.samlPage))
		s.page("POST /settings/users/saml", s.pageAdmin(s.samlSubmit))
	}
	s.page("GET /settings/audit.csv", s.pageAdmin(s.auditCSV))
	s.page("POST /account/language", s.pageSignedIn(s.languageSubmit))
}

// pageAdmin runs h for admins of the signed-in organization; members get a
// 403 page.
func (s *Server) pageAdmin(h func(http.ResponseWriter, *http.Request, *signin.Current) error) func(http.ResponseWriter, *http.Request) error {
	return s.pageSignedIn(func(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
		if cur.User.Role != gatehouse.RoleAdmin {
			return &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Message: s.t(r, "admin.only")}
		}
		return h(w, r, cur)
	})
}

// settingsNav is what every settings page shows above its content.
type settingsNav struct {
	Section string // "password", "users", "audit"
	Org     *gatehouse.Organization
	Me      *gatehouse.User
}

type settingsPage struct {
	Nav            settingsNav
	Enforce        bool
	Method         string
	Networks       string
	RememberDays   string
	AuthMethod     string
	Federated      bool // LDAP or SAML2: 2FA controls off with the reason
	NoPhone        int
	SMSAvailable   bool
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
	d := settingsPage{Nav: settingsNav{Section: "password", Org: cur.Organization, Me: cur.User},
		Enforce: st.EnforceTwoFactor, Method: string(st.OTPMethod), Networks: strings.Join(nets, "\n"),
		RememberDays: strconv.Itoa(st.RememberDays), AuthMethod: string(st.AuthMethod),
		Federated: st.AuthMethod != gatehouse.AuthPassword, SMSAvailable: s.cfg.SMSAvailable, Errors: map[string]string{}}
	cov, err := s.cfg.Console.Coverage(r.Context(), cur.Organization.Slug)
	if err != nil {
		return d, err
	}
	d.NoPhone = cov.Stats.WithoutPhone
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
	d.NeedPassword = !s.cfg.SignIn.RecentlyAuthenticated(cur)
	s.renderPage(w, r, http.StatusOK, "settings_password", d)
	return nil
}

// settingsSubmit validates the whole form, naming every bad network line,
// asks to confirm turning 2FA off and for the password when the sign-in is
// older than 10 minutes, and saves nothing until all of that is right.
func (s *Server) settingsSubmit(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	if err := r.ParseForm(); err != nil {
		return gatehouse.Errorf(gatehouse.EINVALID, "The form could not be read.")
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
		d.NeedPassword = !s.cfg.SignIn.RecentlyAuthenticated(cur)
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
	if _, err := s.cfg.Accounts.UpdateSettings(r.Context(), cur.Organization.Slug, change, s.actor(r, cur)); err != nil {
		msg, field, status, internal := s.formError(w, r, err)
		if internal != nil {
			return internal
		}
		switch {
		case field == accounts.FieldConfirmTwoFactorOff:
			d.ConfirmDisable = true
			d.NeedPassword = !s.cfg.SignIn.RecentlyAuthenticated(cur)
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
	http.Redirect(w, r, "/settings/users/password?saved=1", http.StatusSeeOther)
	return nil
}

// errorMessage is the text of err for a page, in the page's language.
func (s *Server) errorMessage(r *http.Request, err error) string {
	var ge *gatehouse.Error
	if errors.As(err, &ge) {
		return s.errorText(r, ge)
	}
	return s.t(r, "error.internal")
}

type usersPage struct {
	Nav      settingsNav
	Coverage *accounts.Coverage
	SMS      bool
	Query    string
	Users    []accounts.UserRow
	Next     string
	Now      time.Time
	Created  string
	Error    string
	Field    string
	New      accounts.NewUser
	Outcomes []outcomeCount
}

type outcomeCount struct {
	Outcome string
	Count   int
}

func (s *Server) usersData(r *http.Request, cur *signin.Current) (usersPage, error) {
	q := r.URL.Query()
	d := usersPage{Nav: settingsNav{Section: "users", Org: cur.Organization, Me: cur.User}, Query: q.Get("q"),
		SMS: cur.Organization.Settings.OTPMethod == gatehouse.OTPSMS, Now: time.Now()}
	cov, err := s.cfg.Console.Coverage(r.Context(), cur.Organization.Slug)
	if err != nil {
		return d, err
	}
	d.Coverage = cov
	for _, o := range []string{gatehouse.TwoFactorVerified, gatehouse.TwoFactorRemembered, gatehouse.TwoFactorAllowedNetwork,
		gatehouse.TwoFactorExempt, gatehouse.TwoFactorNotEnforced, gatehouse.TwoFactorFederated} {
		d.Outcomes = append(d.Outcomes, outcomeCount{o, cov.SignIns[o]})
	}
	d.Users, d.Next, err = s.cfg.Console.SearchUsers(r.Context(), cur.Organization.Slug, d.Query, q.Get("after"), 50)
	return d, err
}

func (s *Server) usersPage(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	d, err := s.usersData(r, cur)
	if err != nil {
		return err
	}
	d.Created = r.URL.Query().Get("created")
	s.renderPage(w, r, http.StatusOK, "settings_users", d)
	return nil
}

func (s *Server) userCreateSubmit(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	if err := r.ParseForm(); err != nil {
		return gatehouse.Errorf(gatehouse.EINVALID, "The form could not be read.")
	}
	in := accounts.NewUser{OrgSlug: cur.Organization.Slug, Email: r.PostForm.Get("email"), Name: r.PostForm.Get("name"),
		Phone: r.PostForm.Get("phone"), Admin: r.PostForm.Get("role") == "admin"}
	u, err := s.cfg.Console.InviteUser(r.Context(), in, s.actor(r, cur))
	if err != nil && u == nil {
		if s.toReauth(w, r, err, "/settings/users") {
			return nil
		}
		msg, field, status, internal := s.formError(w, r, err)
		if internal != nil {
			return internal
		}
		d, derr := s.usersData(r, cur)
		if derr != nil {
			return derr
		}
		d.Error, d.Field, d.New = msg, field, in
		s.renderPage(w, r, status, "settings_users", d)
		return nil
	}
	http.Redirect(w, r, "/settings/users?created="+url.QueryEscape(in.Email), http.StatusSeeOther)
	return nil
}

type userPage struct {
	Nav        settingsNav
	User       *gatehouse.User
	Remembered int
	Locked     bool
	Backoff    bool
	Notice     string
	Error      string
	Field      string
	Edit       accounts.UserEdit
}

func (s *Server) renderUser(w http.ResponseWriter, r *http.Request, cur *signin.Current, status int, d userPage) error {
	org, u, err := s.cfg.Console.User(r.Context(), cur.Organization.Slug, r.PathValue("id"))
	if err != nil {
		return err
	}
	n, err := s.cfg.Console.RememberedCount(r.Context(), org.ID, u.ID)
	if err != nil {
		return err
	}
	d.Nav = settingsNav{Section: "users", Org: org, Me: cur.User}
	d.User, d.Remembered = u, n
	d.Locked = u.OTPFailures >= gatehouse.OTPLockFailures
	d.Backoff = u.OTPFailures >= gatehouse.OTPFreeFailures
	if d.Edit == (accounts.UserEdit{}) {
		d.Edit = accounts.UserEdit{Name: u.Name, Email: u.Email, Phone: u.Phone, Role: u.Role}
	}
	s.renderPage(w, r, status, "settings_user", d)
	return nil
}

func (s *Server) userPage(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	return s.renderUser(w, r, cur, http.StatusOK, userPage{Notice: userNotices(s, r, r.URL.Query().Get("done"))})
}

func userNotices(s *Server, r *http.Request, done string) string {
	if done == "" {
		return ""
	}
	return s.t(r, "user.done."+done)
}

func (s *Server) userEditSubmit(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	if err := r.ParseForm(); err != nil {
		return gatehouse.Errorf(gatehouse.EINVALID, "The form could not be read.")
	}
	in := accounts.UserEdit{Name: r.PostForm.Get("name"), Email: r.PostForm.Get("email"), Phone: r.PostForm.Get("phone"),
		Role: gatehouse.Role(r.PostForm.Get("role"))}
	if _, err := s.cfg.Console.EditUser(r.Context(), cur.Organization.Slug, r.PathValue("id"), in, s.actor(r, cur)); err != nil {
		if s.toReauth(w, r, err, "/settings/users/"+r.PathValue("id")) {
			return nil
		}
		msg, field, status, internal := s.formError(w, r, err)
		if internal != nil {
			return internal
		}
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			return err
		}
		return s.renderUser(w, r, cur, status, userPage{Error: msg, Field: field, Edit: in})
	}
	http.Redirect(w, r, "/settings/users/"+r.PathValue("id")+"?done=saved", http.StatusSeeOther)
	return nil
}

// userActionSubmit runs one of the buttons of a user's page.
func (s *Server) userActionSubmit(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	ctx, slug, id, actor := r.Context(), cur.Organization.Slug, r.PathValue("id"), s.actor(r, cur)
	var err error
	action := r.PathValue("action")
	switch action {
	case "reset-two-factor":
		_, err = s.cfg.Accounts.ResetTwoFactor(ctx, slug, id, actor)
	case "unlock":
		err = s.cfg.Accounts.Unlock(ctx, slug, id, actor)
	case "exempt":
		_, err = s.cfg.Accounts.SetExempt(ctx, slug, id, true, actor)
	case "unexempt":
		_, err = s.cfg.Accounts.SetExempt(ctx, slug, id, false, actor)
	case "disable":
		_, err = s.cfg.Accounts.SetDisabled(ctx, slug, id, true, actor)
	case "enable":
		_, err = s.cfg.Accounts.SetDisabled(ctx, slug, id, false, actor)
	case "send-link":
		err = s.cfg.Console.ResendWelcome(ctx, slug, id, actor)
	default:
		return gatehouse.Errorf(gatehouse.ENOTFOUND, "This page does not exist.")
	}
	if err != nil {
		if s.toReauth(w, r, err, "/settings/users/"+id) {
			return nil
		}
		msg, field, status, internal := s.formError(w, r, err)
		if internal != nil {
			return internal
		}
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			return err
		}
		return s.renderUser(w, r, cur, status, userPage{Error: msg, Field: field})
	}
	http.Redirect(w, r, "/settings/users/"+id+"?done="+action, http.StatusSeeOther)
	return nil
}

type auditPage struct {
	Nav    settingsNav
	User   string
	Event  string
	From   string
	To     string
	Events []*gatehouse.AuditEvent
	Error  string
	Field  string
	CSV    template.URL // the export of the same filters
	Older  template.URL // the next page
	Names  []string
}

// auditEvents are the event names offered in the filter.
var auditEvents = []string{
	gatehouse.AuditLoginSucceeded, gatehouse.AuditLoginFailed, gatehouse.AuditLoginThrottled, gatehouse.AuditLoginPhoneRequired,
	gatehouse.AuditCodeSent, gatehouse.AuditCodeWrong, gatehouse.AuditCodeDeliveryFailed, gatehouse.AuditLogout,
	gatehouse.AuditSettingsChanged, gatehouse.AuditUserCreated, gatehouse.AuditUserEdited, gatehouse.AuditPasswordSet,
	gatehouse.AuditPasswordResetRequested, gatehouse.AuditPasswordReset, gatehouse.AuditPhoneAdded, gatehouse.AuditContactChanged,
	gatehouse.AuditTwoFactorReset, gatehouse.AuditBrowserRevoked, gatehouse.AuditUserUnlocked, gatehouse.AuditUserLocked,
	gatehouse.AuditExemptionChanged, gatehouse.AuditUserDisabledChanged, gatehouse.AuditReauthenticated,
	gatehouse.AuditSessionEnded, gatehouse.AuditOtherSessionsEnded,
}

// auditQuery reads the filters of the audit page; a bad date is named.
func (s *Server) auditQuery(r *http.Request) (accounts.AuditQuery, auditPage, error) {
	q := r.URL.Query()
	d := auditPage{User: q.Get("user"), Event: q.Get("event"), From: q.Get("from"), To: q.Get("to"), Names: auditEvents}
	aq := accounts.AuditQuery{UserEmail: strings.TrimSpace(d.User), Event: d.Event, Limit: 50}
	for _, f := range []struct {
		name, value string
		into        *time.Time
		add         time.Duration
	}{{"from", d.From, &aq.From, 0}, {"to", d.To, &aq.To, 24 * time.Hour}} {
		if f.value == "" {
			continue
		}
		t, err := time.Parse("2006-01-02", f.value)
		if err != nil {
			return aq, d, &gatehouse.Error{Code: gatehouse.EINVALID, Field: f.name, Message: s.t(r, "audit.date.invalid", f.value)}
		}
		*f.into = t.Add(f.add)
	}
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return aq, d, gatehouse.FieldError("before", "The page is not valid.")
		}
		aq.Before = n
	}
	keep := url.Values{}
	for _, k := range []string{"user", "event", "from", "to"} {
		if v := q.Get(k); v != "" {
			keep.Set(k, v)
		}
	}
	// Built from encoded values on our own path, so safe as a URL.
	d.CSV = template.URL("/settings/audit.csv?" + keep.Encode())
	return aq, d, nil
}

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	aq, d, err := s.auditQuery(r)
	d.Nav = settingsNav{Section: "audit", Org: cur.Organization, Me: cur.User}
	if err == nil {
		var next int64
		d.Events, next, err = s.cfg.Console.AuditSearch(r.Context(), cur.Organization.Slug, aq)
		if next != 0 {
			older := r.URL.Query()
			older.Set("before", strconv.FormatInt(next, 10))
			d.Older = template.URL("/settings/audit?" + older.Encode())
		}
	}
	status := http.StatusOK
	if err != nil {
		msg, field, st, internal := s.formError(w, r, err)
		if internal != nil {
			return internal
		}
		d.Error, d.Field, status = msg, field, st
	}
	s.renderPage(w, r, status, "settings_audit", d)
	return nil
}

// auditCSV exports the filtered log, up to 10,000 events a file.
func (s *Server) auditCSV(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	aq, _, err := s.auditQuery(r)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="gatehouse-audit-`+cur.Organization.Slug+`.csv"`)
	cw := csv.NewWriter(w)
	cw.Write([]string{"id", "time", "event", "reason", "user_id", "actor_id", "client_ip", "detail"})
	aq.Limit = 1000
	for written := 0; written < 10000; {
		events, next, err := s.cfg.Console.AuditSearch(r.Context(), cur.Organization.Slug, aq)
		if err != nil {
			return err
		}
		for _, e := range events {
			cw.Write([]string{strconv.FormatInt(e.ID, 10), e.At.UTC().Format(time.RFC3339), e.Event, e.Reason, e.UserID, e.ActorID,
				addrString(e.ClientIP), csvSafe(detailString(e.Detail))})
			written++
		}
		if next == 0 {
			break
		}
		aq.Before = next
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe keeps a spreadsheet from reading a value as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func detailString(m map[string]string) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, "; ")
}

func (s *Server) languageSubmit(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	if err := r.ParseForm(); err != nil {
		return gatehouse.Errorf(gatehouse.EINVALID, "The form could not be read.")
	}
	lang := r.PostForm.Get("language")
	if lang != "" && s.pages.cat.messages[lang] == nil {
		return gatehouse.FieldError("language", "Unknown language.")
	}
	if err := s.cfg.Console.SetLocale(r.Context(), cur.Organization.ID, cur.User.ID, lang); err != nil {
		return err
	}
	http.Redirect(w, r, "/account", http.StatusSeeOther)
	return nil
}
