package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/accounts"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

type usersPage struct {
	Nav      settingsNav
	Coverage *accounts.Coverage
	SMS      bool
	Query    string
	Users    []accounts.UserRow
	Next     string
	Now      time.Time
	Created  string
	Unsent   bool // the e-mail to the created user did not go out
	Deleted  bool // a user was just deleted
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
	d := usersPage{Nav: newNav(cur, "users"), Query: q.Get("q"),
		SMS: cur.Organization.Settings.OTPMethod == gatehouse.OTPSMS, Now: time.Now()}
	cov, err := s.coverage.Coverage(r.Context(), cur.Organization.Slug)
	if err != nil {
		return d, err
	}
	d.Coverage = cov
	for _, o := range []string{gatehouse.TwoFactorVerified, gatehouse.TwoFactorRemembered, gatehouse.TwoFactorAllowedNetwork,
		gatehouse.TwoFactorExempt, gatehouse.TwoFactorNotEnforced, gatehouse.TwoFactorFederated} {
		d.Outcomes = append(d.Outcomes, outcomeCount{o, cov.SignIns[o]})
	}
	d.Users, d.Next, err = s.users.SearchUsers(r.Context(), cur.Organization.Slug, d.Query, q.Get("after"), 50)
	return d, err
}

func (s *Server) usersPage(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	d, err := s.usersData(r, cur)
	if err != nil {
		return err
	}
	d.Created, d.Unsent = r.URL.Query().Get("created"), r.URL.Query().Get("unsent") != ""
	d.Deleted = r.URL.Query().Get("done") == "deleted"
	s.renderPage(w, r, http.StatusOK, "settings_users", d)
	return nil
}

func (s *Server) userCreateSubmit(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	if err := r.ParseForm(); err != nil {
		return errUnreadableForm()
	}
	in := accounts.NewUser{OrgSlug: cur.Organization.Slug, Email: r.PostForm.Get("email"), Name: r.PostForm.Get("name"),
		Phone: r.PostForm.Get("phone"), Admin: r.PostForm.Get("role") == "admin"}
	inv, err := s.users.InviteUser(r.Context(), in, s.actor(r, cur))
	if err != nil {
		if s.toReauth(w, r, err, settingsURL(cur, "/settings/users")) {
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
	q := url.Values{"created": {inv.User.Email}}
	if inv.NotSent != nil {
		q.Set("unsent", "1")
	}
	http.Redirect(w, r, settingsURL(cur, "/settings/users?"+q.Encode()), http.StatusSeeOther)
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
	org, u, err := s.users.User(r.Context(), cur.Organization.Slug, r.PathValue("id"))
	if err != nil {
		return err
	}
	n, err := s.users.RememberedCount(r.Context(), org.ID, u.ID)
	if err != nil {
		return err
	}
	d.Nav = newNav(cur, "users")
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
		return errUnreadableForm()
	}
	in := accounts.UserEdit{Name: r.PostForm.Get("name"), Email: r.PostForm.Get("email"), Phone: r.PostForm.Get("phone"),
		Role: gatehouse.Role(r.PostForm.Get("role"))}
	if _, err := s.users.EditUser(r.Context(), cur.Organization.Slug, r.PathValue("id"), in, s.actor(r, cur)); err != nil {
		if s.toReauth(w, r, err, settingsURL(cur, "/settings/users/"+r.PathValue("id"))) {
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
	http.Redirect(w, r, settingsURL(cur, "/settings/users/"+r.PathValue("id")+"?done=saved"), http.StatusSeeOther)
	return nil
}

// userActionSubmit runs one of the buttons of a user's page.
func (s *Server) userActionSubmit(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	ctx, slug, id, actor := r.Context(), cur.Organization.Slug, r.PathValue("id"), s.actor(r, cur)
	var err error
	action := r.PathValue("action")
	switch action {
	case "reset-two-factor":
		_, err = s.userAdmin.ResetTwoFactor(ctx, slug, id, actor)
	case "unlock":
		err = s.userAdmin.Unlock(ctx, slug, id, actor)
	case "exempt":
		_, err = s.userAdmin.SetExempt(ctx, slug, id, true, actor)
	case "unexempt":
		_, err = s.userAdmin.SetExempt(ctx, slug, id, false, actor)
	case "disable":
		_, err = s.userAdmin.SetDisabled(ctx, slug, id, true, actor)
	case "enable":
		_, err = s.userAdmin.SetDisabled(ctx, slug, id, false, actor)
	case "send-link":
		err = s.users.ResendWelcome(ctx, slug, id, actor)
	case "delete":
		return s.deleteUserSubmit(w, r, cur)
	default:
		return errNoSuchPage()
	}
	if err != nil {
		return s.userActionFailed(w, r, cur, err)
	}
	http.Redirect(w, r, settingsURL(cur, "/settings/users/"+id+"?done="+action), http.StatusSeeOther)
	return nil
}

// deleteUserSubmit deletes a user once the admin has typed the user's
// e-mail address to confirm; the users page then says so.
func (s *Server) deleteUserSubmit(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	ctx, id := r.Context(), r.PathValue("id")
	if err := r.ParseForm(); err != nil {
		return errUnreadableForm()
	}
	_, u, err := s.users.User(ctx, cur.Organization.Slug, id)
	if err != nil {
		return err
	}
	if !strings.EqualFold(strings.TrimSpace(r.PostForm.Get("confirm_email")), u.Email) {
		return s.renderUser(w, r, cur, http.StatusBadRequest, userPage{Error: s.t(r, "user.delete.confirm_needed"), Field: "confirm_email"})
	}
	if err := s.userAdmin.DeleteUser(ctx, cur.Organization.Slug, id, s.actor(r, cur)); err != nil {
		return s.userActionFailed(w, r, cur, err)
	}
	http.Redirect(w, r, settingsURL(cur, "/settings/users?done=deleted"), http.StatusSeeOther)
	return nil
}

// userActionFailed answers a button of a user's page that failed: to the
// re-authentication when it asks for one, the error page for an unknown
// user, else the user's page with the error.
func (s *Server) userActionFailed(w http.ResponseWriter, r *http.Request, cur *signin.Current, err error) error {
	if s.toReauth(w, r, err, settingsURL(cur, "/settings/users/"+r.PathValue("id"))) {
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
