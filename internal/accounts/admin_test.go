package accounts_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/accounts"
	"github.com/gatehousehq/gatehouse/internal/sqlstore"
)

// remember gives the user a remembered browser and returns a check that it
// still exists.
func remember(t *testing.T, db *sqlstore.DB, org *gatehouse.Organization, u *gatehouse.User) func() bool {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	b := &gatehouse.RememberedBrowser{ID: gatehouse.NewID(), TokenHash: []byte(gatehouse.NewID()), OrgID: org.ID, UserID: u.ID,
		CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := db.CreateRememberedBrowser(ctx, b); err != nil {
		t.Fatal(err)
	}
	return func() bool {
		_, err := db.FindRememberedBrowser(ctx, org.ID, u.ID, [][]byte{b.TokenHash}, time.Now())
		return err == nil
	}
}

func TestSettingsChangesThatRevokeRememberedBrowsers(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		mod    func(*gatehouse.PasswordSettings)
		revoke bool
	}{
		{"turning enforcement on revokes", func(s *gatehouse.PasswordSettings) { s.EnforceTwoFactor = true }, true},
		{"changing the code method revokes", func(s *gatehouse.PasswordSettings) { s.OTPMethod = gatehouse.OTPSMS }, true},
		{"changing the remember days does not", func(s *gatehouse.PasswordSettings) { s.RememberDays = 5 }, false},
		{"adding a skip network does not", func(s *gatehouse.PasswordSettings) {
			s.SkipNetworks = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc, db := newService(t, withSMS())
			off := false
			org, _ := svc.CreateOrganization(ctx, accounts.NewOrganization{Slug: "acme", Name: "Acme", EnforceTwoFactor: &off}, "")
			u, _ := svc.CreateUser(ctx, accounts.NewUser{OrgSlug: "acme", Email: "a@acme.test", Password: "a long enough passphrase"}, "")
			alive := remember(t, db, org, u)
			next := org.Settings
			tc.mod(&next)
			if _, err := svc.UpdateSettings(ctx, "acme", accounts.SettingsChange{Settings: next}, gatehouse.OperatorActor()); err != nil {
				t.Fatal(err)
			}
			if alive() == tc.revoke {
				t.Errorf("remembered browser alive = %v, want %v", alive(), !tc.revoke)
			}
		})
	}
}

func TestSMSNeedsAProvider(t *testing.T) {
	ctx := context.Background()
	svc, db := newService(t)
	org, _ := svc.CreateOrganization(ctx, accounts.NewOrganization{Slug: "acme", Name: "Acme"}, "")
	next := org.Settings
	next.OTPMethod = gatehouse.OTPSMS
	_, err := svc.UpdateSettings(ctx, "acme", accounts.SettingsChange{Settings: next}, gatehouse.OperatorActor())
	if gatehouse.ErrorCode(err) != gatehouse.EINVALID {
		t.Errorf("SMS without a provider: %v", err)
	}
	if got, _ := db.OrganizationByID(ctx, org.ID); got.Settings.OTPMethod != gatehouse.OTPEmail {
		t.Error("the refused method was saved")
	}
}

func TestDisablingAUserEndsEverything(t *testing.T) {
	ctx := context.Background()
	svc, db := newService(t)
	org, _ := svc.CreateOrganization(ctx, accounts.NewOrganization{Slug: "acme", Name: "Acme"}, "")
	admin, _ := svc.CreateUser(ctx, accounts.NewUser{OrgSlug: "acme", Email: "boss@acme.test", Admin: true}, "")
	u, _ := svc.CreateUser(ctx, accounts.NewUser{OrgSlug: "acme", Email: "a@acme.test", Password: "a long enough passphrase"}, "")
	alive := remember(t, db, org, u)
	now := time.Now()
	db.CreateSession(ctx, &gatehouse.Session{TokenHash: []byte("s"), UserID: u.ID, OrgID: org.ID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)})
	if _, err := svc.SetDisabled(ctx, "acme", u.ID, true, freshActor(org, admin, time.Now())); err != nil {
		t.Fatal(err)
	}
	if alive() {
		t.Error("a disabled user's remembered browser survived")
	}
	if _, err := db.SessionByTokenHash(ctx, []byte("s")); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		t.Error("a disabled user's session survived")
	}
	if _, err := svc.SetDisabled(ctx, "acme", admin.ID, true, freshActor(org, admin, time.Now())); reasonOf(err) != gatehouse.ReasonDisableSelf {
		t.Errorf("an admin disabled themselves: %v, want reason %s", err, gatehouse.ReasonDisableSelf)
	}
}

// reasonOf is the reason of err, a *gatehouse.Error, or "".
func reasonOf(err error) string {
	var ge *gatehouse.Error
	if errors.As(err, &ge) {
		return ge.Reason
	}
	return ""
}

func TestAnAdminCannotRemoveThemself(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t)
	org, _ := svc.CreateOrganization(ctx, accounts.NewOrganization{Slug: "acme", Name: "Acme"}, "")
	admin, _ := svc.CreateUser(ctx, accounts.NewUser{OrgSlug: "acme", Email: "boss@acme.test", Admin: true}, "")
	actor := freshActor(org, admin, time.Now())
	if err := svc.DeleteUser(ctx, "acme", admin.ID, actor); reasonOf(err) != gatehouse.ReasonDeleteSelf {
		t.Errorf("an admin deleted themselves: %v, want reason %s", err, gatehouse.ReasonDeleteSelf)
	}
	edit := accounts.UserEdit{Email: admin.Email, Role: gatehouse.RoleMember}
	if _, err := svc.EditUser(ctx, "acme", admin.ID, edit, actor); reasonOf(err) != gatehouse.ReasonRoleSelf {
		t.Errorf("an admin took away their own admin role: %v, want reason %s", err, gatehouse.ReasonRoleSelf)
	}
	edit.Role = "owner"
	if _, err := svc.EditUser(ctx, "acme", admin.ID, edit, actor); reasonOf(err) != gatehouse.ReasonRoleInvalid {
		t.Errorf("an unknown role: %v, want reason %s", err, gatehouse.ReasonRoleInvalid)
	}
}

func TestUnlockAndPasswordChangeClearTheCodeLock(t *testing.T) {
	ctx := context.Background()
	svc, db := newService(t)
	org, _ := svc.CreateOrganization(ctx, accounts.NewOrganization{Slug: "acme", Name: "Acme"}, "")
	u, _ := svc.CreateUser(ctx, accounts.NewUser{OrgSlug: "acme", Email: "a@acme.test", Password: "a long enough passphrase"}, "")
	lock := func() {
		for range gatehouse.OTPLockFailures {
			db.RecordOTPFailure(ctx, org.ID, u.ID, time.Now())
		}
	}
	failures := func() int {
		got, _ := db.UserByID(ctx, org.ID, u.ID)
		return got.OTPFailures
	}
	lock()
	if err := svc.Unlock(ctx, "acme", u.ID, accounts.Actor{}); gatehouse.ErrorCode(err) != gatehouse.EFORBIDDEN || failures() == 0 {
		t.Errorf("unlock by nobody: %v, failures %d", err, failures())
	}
	if err := svc.Unlock(ctx, "acme", u.ID, gatehouse.OperatorActor()); err != nil || failures() != 0 {
		t.Errorf("unlock: %v, failures %d", err, failures())
	}
	lock()
	if _, err := svc.SetPassword(ctx, "acme", "a@acme.test", "another long passphrase", ""); err != nil || failures() != 0 {
		t.Errorf("password change: %v, failures %d", err, failures())
	}
}

func TestADirectoryThatIsNotSetUpCannotBeChosen(t *testing.T) {
	ctx := context.Background()
	svc, db := newService(t)
	off := false
	org, _ := svc.CreateOrganization(ctx, accounts.NewOrganization{Slug: "acme", Name: "Acme", EnforceTwoFactor: &off}, "")
	for _, m := range []gatehouse.AuthMethod{gatehouse.AuthLDAP, gatehouse.AuthSAML2} {
		next := org.Settings
		next.AuthMethod = m
		_, err := svc.UpdateSettings(ctx, "acme", accounts.SettingsChange{Settings: next}, gatehouse.OperatorActor())
		var ge *gatehouse.Error
		if !errors.As(err, &ge) || ge.Field != "auth_method" {
			t.Errorf("%s without set-up: %v", m, err)
		} else if want := strings.ToUpper(string(m)); ge.Reason != gatehouse.ReasonAuthMethodNotSetUp || len(ge.Args) != 1 || ge.Args[0] != want {
			t.Errorf("%s without set-up: reason %q, args %v; want %q, [%s]", m, ge.Reason, ge.Args, gatehouse.ReasonAuthMethodNotSetUp, want)
		}
	}
	if got, _ := db.OrganizationByID(ctx, org.ID); got.Settings.AuthMethod != gatehouse.AuthPassword {
		t.Error("the refused sign-in method was saved")
	}
}

func TestADatabaseFailureAnswersUnavailable(t *testing.T) {
	ctx := context.Background()
	svc, db := newService(t)
	svc.CreateOrganization(ctx, accounts.NewOrganization{Slug: "acme", Name: "Acme"}, "")
	db.Close() // every query now fails, as with a database that went away
	for name, call := range map[string]func() error{
		"coverage": func() error { _, err := svc.Coverage(ctx, "acme"); return err },
		"update settings": func() error {
			_, err := svc.UpdateSettings(ctx, "acme", accounts.SettingsChange{Settings: gatehouse.DefaultPasswordSettings()}, gatehouse.OperatorActor())
			return err
		},
		"forgot password": func() error { return svc.ForgotPassword(ctx, "acme", "a@acme.test", netip.Addr{}) },
	} {
		var ge *gatehouse.Error
		if err := call(); !errors.As(err, &ge) || ge.Code != gatehouse.EUNAVAILABLE || ge.RetryAfter <= 0 {
			t.Errorf("%s: %v, want unavailable with Retry-After", name, err)
		} else if strings.Contains(ge.Message, "sql") {
			t.Errorf("%s leaks the cause: %q", name, ge.Message)
		}
	}
}
