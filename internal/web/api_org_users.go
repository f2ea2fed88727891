package web

import (
	"net/http"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/accounts"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

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
func (s *Server) apiUsers(w http.ResponseWriter, r *http.Request, c *caller) error {
	limit, err := queryInt(r, "limit", 50)
	if err != nil {
		return err
	}
	users, next, err := s.userAdmin.UsersPage(r.Context(), c.org.Slug, r.URL.Query().Get("cursor"), limit)
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
	if _, err := s.userAdmin.ResetTwoFactor(r.Context(), cur.Organization.Slug, r.PathValue("id"), s.actor(r, cur)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiUnlock(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	if err := s.userAdmin.Unlock(r.Context(), cur.Organization.Slug, r.PathValue("id"), s.actor(r, cur)); err != nil {
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
	u, err := s.userAdmin.SetExempt(r.Context(), cur.Organization.Slug, r.PathValue("id"), *body.Exempt, s.actor(r, cur))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toAdminUserJSON(u))
	return nil
}

func (s *Server) apiDisabled(w http.ResponseWriter, r *http.Request, c *caller) error {
	var body struct {
		Disabled *bool `json:"disabled"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	if body.Disabled == nil {
		return gatehouse.FieldError("disabled", "The field \"disabled\" is required.")
	}
	u, err := s.userAdmin.SetDisabled(r.Context(), c.org.Slug, r.PathValue("id"), *body.Disabled, c.actor)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toAdminUserJSON(u))
	return nil
}

func (s *Server) apiDeleteUser(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.userAdmin.DeleteUser(r.Context(), c.org.Slug, r.PathValue("id"), c.actor); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// userCreateJSON is the body of POST /api/v1/organizations/{slug}/users.
type userCreateJSON struct {
	Email string `json:"email"`
	Name  string `json:"name"`
	Phone string `json:"phone"`
	Role  string `json:"role"`
	// Invite (default true) e-mails the new user a link to choose a
	// password (a password organization's users only).
	Invite *bool `json:"invite"`
}

// apiCreateUser is POST /api/v1/organizations/{slug}/users: 201 with the
// user (and "invitation_sent": false when the welcome e-mail failed).
func (s *Server) apiCreateUser(w http.ResponseWriter, r *http.Request, c *caller) error {
	var body userCreateJSON
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	role := gatehouse.Role(body.Role)
	if body.Role == "" {
		role = gatehouse.RoleMember
	}
	if !role.Valid() {
		return gatehouse.FieldReason("role", gatehouse.ReasonRoleInvalid, "The role must be admin or member.")
	}
	in := accounts.NewUser{OrgSlug: c.org.Slug, Email: body.Email, Name: body.Name, Phone: body.Phone, Admin: role == gatehouse.RoleAdmin,
		NoWelcome: body.Invite != nil && !*body.Invite}
	inv, err := s.userAdmin.InviteUser(r.Context(), in, c.actor)
	if err != nil {
		return err
	}
	out := struct {
		adminUserJSON
		InvitationSent bool `json:"invitation_sent"`
	}{toAdminUserJSON(inv.User), inv.NotSent == nil && !in.NoWelcome && c.org.Settings.AuthMethod == gatehouse.AuthPassword}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// apiPatchUser is PATCH /api/v1/organizations/{slug}/users/{id}: the
// fields given (name, email, phone, role) change, the rest stay.
func (s *Server) apiPatchUser(w http.ResponseWriter, r *http.Request, c *caller) error {
	var body struct {
		Name  *string `json:"name"`
		Email *string `json:"email"`
		Phone *string `json:"phone"`
		Role  *string `json:"role"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	_, u, err := s.userAdmin.User(r.Context(), c.org.Slug, r.PathValue("id"))
	if err != nil {
		return err
	}
	in := accounts.UserEdit{Name: u.Name, Email: u.Email, Phone: u.Phone, Role: u.Role}
	for _, f := range []struct {
		v  *string
		to *string
	}{{body.Name, &in.Name}, {body.Email, &in.Email}, {body.Phone, &in.Phone}} {
		if f.v != nil {
			*f.to = *f.v
		}
	}
	if body.Role != nil {
		in.Role = gatehouse.Role(*body.Role)
	}
	if u, err = s.userAdmin.EditUser(r.Context(), c.org.Slug, u.ID, in, c.actor); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toAdminUserJSON(u))
	return nil
}
