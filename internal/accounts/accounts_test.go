package accounts_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/accounts"
	"github.com/gatehousehq/gatehouse/internal/password"
)

func TestCreateOrganization(t *testing.T) {
	ctx := context.Background()
	svc, db := newService(t)
	org, err := svc.CreateOrganization(ctx, accounts.NewOrganization{Slug: "acme", Name: " Acme Clinic "}, "")
	if err != nil {
		t.Fatal(err)
	}
	if !org.Settings.EnforceTwoFactor || org.Settings.OTPMethod != gatehouse.OTPEmail || org.Name != "Acme Clinic" {
		t.Errorf("new organization = %+v, want 2FA enforced by e-mail", org)
	}
	off := false
	lab, err := svc.CreateOrganization(ctx, accounts.NewOrganization{Slug: "lab", Name: "Lab", EnforceTwoFactor: &off}, "")
	if err != nil || lab.Settings.EnforceTwoFactor {
		t.Errorf("--enforce-2fa=false gave %+v, %v", lab, err)
	}
	events, _ := db.ListAudit(ctx, org.ID, 0, 5)
	if len(events) != 1 || events[0].Event != gatehouse.AuditOrgCreated {
		t.Errorf("audit = %+v, want organization.created", events)
	}
	if _, err := svc.CreateOrganization(ctx, accounts.NewOrganization{Slug: "acme", Name: "Again"}, ""); gatehouse.ErrorCode(err) != gatehouse.ECONFLICT {
		t.Errorf("a taken slug: %v, want conflict", err)
	}
	if _, err := svc.CreateOrganization(ctx, accounts.NewOrganization{Slug: "Bad Slug", Name: "X"}, ""); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
		t.Errorf("a bad slug: %v, want invalid_input", err)
	}
}

func TestCreateUserChecksEverythingBeforeSaving(t *testing.T) {
	ctx := context.Background()
	svc, db := newService(t)
	org, _ := svc.CreateOrganization(ctx, accounts.NewOrganization{Slug: "acme", Name: "Acme"}, "")
	cases := []struct {
		name string
		in   accounts.NewUser
		code string
	}{
		{"a bad e-mail", accounts.NewUser{OrgSlug: "acme", Email: "nope", Password: "a long enough passphrase"}, gatehouse.EINVALID},
		{"a bad phone", accounts.NewUser{OrgSlug: "acme", Email: "a@acme.test", Phone: "+1 555", Password: "a long enough passphrase"}, gatehouse.EINVALIDPHONE},
		{"a common password", accounts.NewUser{OrgSlug: "acme", Email: "a@acme.test", Password: "password1234"}, gatehouse.EWEAKPASSWORD},
		{"a short password", accounts.NewUser{OrgSlug: "acme", Email: "a@acme.test", Password: "short"}, gatehouse.EWEAKPASSWORD},
		{"an unknown organization", accounts.NewUser{OrgSlug: "nope", Email: "a@acme.test", Password: "a long enough passphrase"}, gatehouse.ENOTFOUND},
	}
	for _, tc := range cases {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			if _, err := svc.CreateUser(ctx, tc.in, ""); gatehouse.ErrorCode(err) != tc.code {
				t.Errorf("got %v, want %s", err, tc.code)
			}
		})
	}
	if users, _ := db.ListUsers(ctx, org.ID, "", 10); len(users) != 0 {
		t.Fatalf("refused users were saved: %+v", users)
	}
	u, err := svc.CreateUser(ctx, accounts.NewUser{OrgSlug: "acme", Email: "Nurse@Acme.test", Phone: "+358 40 123 4567", Password: "a long enough passphrase", Admin: true}, "")
	if err != nil {
		t.Fatal(err)
	}
	if u.Email != "nurse@acme.test" || u.Phone != "+358401234567" || u.Role != gatehouse.RoleAdmin {
		t.Errorf("user = %+v", u)
	}
	if ok, err := password.Verify(u.PasswordHash, "a long enough passphrase"); !ok || err != nil {
		t.Errorf("the stored hash does not verify: %v", err)
	}
	if _, err := svc.CreateUser(ctx, accounts.NewUser{OrgSlug: "acme", Email: "nurse@acme.test"}, ""); gatehouse.ErrorCode(err) != gatehouse.ECONFLICT {
		t.Errorf("a taken e-mail: %v, want conflict", err)
	}
}

func TestSetPasswordEndsSessions(t *testing.T) {
	ctx := context.Background()
	svc, db := newService(t)
	org, _ := svc.CreateOrganization(ctx, accounts.NewOrganization{Slug: "acme", Name: "Acme"}, "")
	u, err := svc.CreateUser(ctx, accounts.NewUser{OrgSlug: "acme", Email: "a@acme.test", Password: "a long enough passphrase"}, "")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := db.CreateSession(ctx, &gatehouse.Session{TokenHash: []byte("h"), UserID: u.ID, OrgID: org.ID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetPassword(ctx, "acme", "A@acme.test", "password", ""); gatehouse.ErrorCode(err) != gatehouse.EWEAKPASSWORD {
		t.Errorf("a weak new password: %v", err)
	}
	if _, err := db.SessionByTokenHash(ctx, []byte("h")); err != nil {
		t.Errorf("a refused password change ended the session: %v", err)
	}
	if _, err := svc.SetPassword(ctx, "acme", "A@acme.test", "another long passphrase", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SessionByTokenHash(ctx, []byte("h")); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		t.Errorf("the session survived a password change: %v", err)
	}
}

func TestFederatedOrganizationsHaveNoLocalPasswords(t *testing.T) {
	ctx := context.Background()
	svc, db := newService(t)
	off := false
	org, _ := svc.CreateOrganization(ctx, accounts.NewOrganization{Slug: "dir", Name: "Directory", EnforceTwoFactor: &off}, "")
	s := org.Settings
	s.AuthMethod = gatehouse.AuthLDAP
	if err := db.UpdatePasswordSettings(ctx, org.ID, s, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateUser(ctx, accounts.NewUser{OrgSlug: "dir", Email: "a@dir.test", Password: "a long enough passphrase"}, ""); reasonOf(err) != gatehouse.ReasonNoLocalPassword {
		t.Errorf("a password for an LDAP user: %v, want reason %s", err, gatehouse.ReasonNoLocalPassword)
	}
	if _, err := svc.CreateUser(ctx, accounts.NewUser{OrgSlug: "dir", Email: "a@dir.test"}, ""); err != nil {
		t.Errorf("an LDAP user without a password: %v", err)
	}
	if _, err := svc.SetPassword(ctx, "dir", "a@dir.test", "a long enough passphrase", ""); reasonOf(err) != gatehouse.ReasonNoLocalPassword {
		t.Errorf("set-password for an LDAP user: %v, want reason %s", err, gatehouse.ReasonNoLocalPassword)
	}
}
