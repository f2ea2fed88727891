package signin_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

// groupFixture is a group of two clinics: home (the fixture's clinic,
// two-factor off) and strict (two-factor by e-mail, remembered 7 days), with
// the fixture's user, made an admin of home, as the group's admin.
func groupFixture(t *testing.T) (*fixture, *gatehouse.Organization) {
	f := newFixture(t)
	ctx := context.Background()
	strict, _, _ := f.strict(func(s *gatehouse.PasswordSettings) { s.RememberDays = 7 })
	g := &gatehouse.OrgGroup{ID: gatehouse.NewID(), Slug: "vets", Name: "Vets", CreatedAt: f.clock.Now()}
	if err := f.db.CreateGroup(ctx, g); err != nil {
		t.Fatal(err)
	}
	for _, o := range []*gatehouse.Organization{f.org, strict} {
		if err := f.db.SetOrganizationGroup(ctx, o.ID, g.ID, nil); err != nil {
			t.Fatal(err)
		}
	}
	admin := gatehouse.RoleAdmin
	exempt := true
	if _, err := f.db.PatchUser(ctx, f.org.ID, f.user.ID, gatehouse.UserPatch{Role: &admin, TwoFactorExempt: &exempt}, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if err := f.db.AddGroupAdmin(ctx, g.ID, f.user.ID, f.clock.Now(), nil); err != nil {
		t.Fatal(err)
	}
	f.org, _ = f.db.OrganizationByID(ctx, f.org.ID)
	return f, strict
}

func TestAGroupAdminSignsInUnderTheStrictestPolicyOfTheGroup(t *testing.T) {
	f, strict := groupFixture(t)
	ctx := context.Background()
	// Their own clinic asks for no code and exempts them, but a clinic
	// they administer enforces codes: they get one.
	res, err := f.login("clinic", "staff@clinic.test", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if res.Pending == nil || res.Pending.Method != gatehouse.OTPEmail {
		t.Fatalf("a group admin signed in without the code the group's strict clinic asks for: %+v", res.Decision)
	}
	done, err := f.svc.Verify(ctx, signin.VerifyRequest{PendingToken: res.Pending.Token, Code: f.inbox.lastCode(t).Code, ClientIP: netip.MustParseAddr("198.51.100.7")})
	if err != nil {
		t.Fatal(err)
	}
	// Remembered for the strict clinic's 7 days, not the home clinic's 30.
	if want := f.clock.Now().Add(7 * 24 * time.Hour); !done.RememberedUntil.Equal(want) {
		t.Errorf("remembered until %v, want %v (the fewest days of the group)", done.RememberedUntil, want)
	}
	cur, err := f.svc.Authenticate(ctx, done.SessionToken)
	if err != nil {
		t.Fatal(err)
	}
	as, err := f.svc.AdminOf(ctx, cur, "strict")
	if err != nil || as.Organization.ID != strict.ID || len(as.Managed) != 2 {
		t.Fatalf("AdminOf(strict) = %+v, %v", as, err)
	}
	if _, err := f.svc.AdminOf(ctx, cur, "elsewhere"); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		t.Errorf("an organization outside the group: %v, want ENOTFOUND", err)
	}

	// Not the group admin: the strict clinic's members get nothing of it.
	member := f.addUser(f.org, "member@clinic.test", testPassword)
	mres, err := f.login("clinic", member.Email, testPassword)
	if err != nil || mres.Pending != nil {
		t.Fatalf("a member of the home clinic: %+v, %v (no code: their clinic asks for none)", mres, err)
	}
	mcur, _ := f.svc.Authenticate(ctx, mres.SessionToken)
	if _, err := f.svc.AdminOf(ctx, mcur, "strict"); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		t.Errorf("a member reached a clinic of the group: %v", err)
	}
	if _, err := f.svc.AdminOf(ctx, mcur, "clinic"); gatehouse.ErrorCode(err) != gatehouse.EFORBIDDEN {
		t.Errorf("a member administered their own clinic: %v", err)
	}
}

func TestAGroupAdminsSessionEndsWhenAClinicOfTheGroupGetsStricter(t *testing.T) {
	f, strict := groupFixture(t)
	ctx := context.Background()
	// The strict clinic turns codes off: the group admin signs in without.
	off := strict.Settings
	off.EnforceTwoFactor = false
	if err := f.db.UpdatePasswordSettings(ctx, strict.ID, off, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	res, err := f.login("clinic", "staff@clinic.test", testPassword)
	if err != nil || res.Pending != nil {
		t.Fatalf("no clinic of the group asks for a code, yet: %+v, %v", res, err)
	}
	cur, _ := f.svc.Authenticate(ctx, res.SessionToken)
	if _, err := f.svc.AdminOf(ctx, cur, "strict"); err != nil {
		t.Fatal(err)
	}
	// It turns them on again: the session that never met a code may no
	// longer administer the group, and is over.
	if err := f.db.UpdatePasswordSettings(ctx, strict.ID, strict.Settings, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	cur, err = f.svc.Authenticate(ctx, res.SessionToken)
	if err != nil {
		t.Fatal(err) // their own clinic still asks for nothing
	}
	if _, err := f.svc.AdminOf(ctx, cur, "clinic"); gatehouse.ErrorCode(err) != gatehouse.EUNAUTHORIZED {
		t.Errorf("AdminOf after the group got stricter: %v, want EUNAUTHORIZED", err)
	}
	if _, err := f.svc.Authenticate(ctx, res.SessionToken); gatehouse.ErrorCode(err) != gatehouse.EUNAUTHORIZED {
		t.Errorf("the session lives on: %v", err)
	}
}

func TestStrictestSettings(t *testing.T) {
	p := func(s string) netip.Prefix { return netip.MustParsePrefix(s) }
	off := gatehouse.DefaultPasswordSettings()
	off.EnforceTwoFactor = false
	sms := gatehouse.DefaultPasswordSettings()
	sms.OTPMethod, sms.RememberDays, sms.SkipNetworks = gatehouse.OTPSMS, 14, []netip.Prefix{p("10.0.0.0/8"), p("192.0.2.0/24")}
	lenient := gatehouse.DefaultPasswordSettings()
	lenient.RememberDays, lenient.SkipNetworks = 60, []netip.Prefix{p("10.1.0.0/16"), p("198.51.100.0/24")}
	ldap := gatehouse.DefaultPasswordSettings()
	ldap.AuthMethod, ldap.EnforceTwoFactor = gatehouse.AuthLDAP, false

	got := gatehouse.StrictestSettings(off, []gatehouse.PasswordSettings{off, ldap})
	if got.EnforceTwoFactor {
		t.Errorf("no organization enforces, yet %+v", got)
	}
	got = gatehouse.StrictestSettings(off, []gatehouse.PasswordSettings{sms, lenient, ldap})
	if !got.EnforceTwoFactor || got.RememberDays != 14 || got.OTPMethod != gatehouse.OTPEmail {
		t.Errorf("strictest = %+v; want enforced, 14 days, the home method (e-mail)", got)
	}
	if want := []netip.Prefix{p("10.1.0.0/16")}; len(got.SkipNetworks) != 1 || got.SkipNetworks[0] != want[0] {
		t.Errorf("skip networks = %v, want only where both let the code be skipped: %v", got.SkipNetworks, want)
	}
	none := gatehouse.DefaultPasswordSettings()
	got = gatehouse.StrictestSettings(lenient, []gatehouse.PasswordSettings{none})
	if len(got.SkipNetworks) != 0 || got.RememberDays != 30 {
		t.Errorf("with a clinic that skips no network: %+v", got)
	}
	if got := gatehouse.StrictestSettings(ldap, []gatehouse.PasswordSettings{sms}); got.AuthMethod != gatehouse.AuthLDAP {
		t.Errorf("a directory organization's own settings changed: %+v", got)
	}
}
