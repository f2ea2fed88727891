package accounts_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/accounts"
	"github.com/gatehousehq/gatehouse/internal/sqlstore"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

// sessionsOnBothDatabases runs fn with an accounts service on a fresh SQLite file
// and on a fresh PostgreSQL schema.
func sessionsOnBothDatabases(t *testing.T, fn func(t *testing.T, svc *accounts.Service, db *sqlstore.DB)) {
	run := func(t *testing.T, url string) {
		db, err := sqlstore.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if err := db.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		fn(t, newAccounts(t, db, withSMS()), db)
	}
	t.Run("sqlite", func(t *testing.T) { run(t, "sqlite:"+filepath.Join(t.TempDir(), "gatehouse.db")) })
	t.Run("postgres", func(t *testing.T) { run(t, testdb.PostgresURL(t)) })
}

var sessionT0 = time.Now().Truncate(time.Millisecond)

// addSession stores a live session of u in state, under a hash named name.
func addSession(t *testing.T, db *sqlstore.DB, u *gatehouse.User, name, state string) []byte {
	t.Helper()
	h := []byte(fmt.Sprintf("%-32s", u.ID+"/"+name))
	s := &gatehouse.Session{TokenHash: h, UserID: u.ID, OrgID: u.OrgID, TwoFactorState: state,
		CreatedAt: sessionT0, LastSeenAt: sessionT0, ExpiresAt: sessionT0.Add(24 * time.Hour)}
	if err := db.CreateSession(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	return h
}

func sessionKept(t *testing.T, db *sqlstore.DB, h []byte) bool {
	t.Helper()
	_, err := db.SessionByTokenHash(context.Background(), h)
	if err != nil && gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		t.Fatal(err)
	}
	return err == nil
}

// adminAndAnn makes the organization acme with an admin, who has two
// sessions (acting from the first), and a member, Ann.
func adminAndAnn(t *testing.T, svc *accounts.Service, db *sqlstore.DB) (org *gatehouse.Organization, admin, ann *gatehouse.User,
	actor accounts.Actor, adminHere, adminThere []byte) {
	t.Helper()
	ctx := context.Background()
	org, err := svc.CreateOrganization(ctx, accounts.NewOrganization{Slug: "acme", Name: "Acme"}, "")
	if err != nil {
		t.Fatal(err)
	}
	admin, err = svc.CreateUser(ctx, accounts.NewUser{OrgSlug: "acme", Email: "admin@acme.test", Admin: true}, "")
	if err != nil {
		t.Fatal(err)
	}
	ann, err = svc.CreateUser(ctx, accounts.NewUser{OrgSlug: "acme", Email: "ann@acme.test", Name: "Ann"}, "")
	if err != nil {
		t.Fatal(err)
	}
	adminHere = addSession(t, db, admin, "here", gatehouse.TwoFactorVerified)
	adminThere = addSession(t, db, admin, "there", gatehouse.TwoFactorVerified)
	actor = accounts.Actor{UserID: admin.ID, OrgID: admin.OrgID, Role: gatehouse.RoleAdmin, AuthenticatedAt: time.Now(), SessionHash: adminHere}
	return org, admin, ann, actor, adminHere, adminThere
}

func TestAnAdminsEditOfContactDetailsEndsTheUsersSessions(t *testing.T) {
	sessionsOnBothDatabases(t, func(t *testing.T, svc *accounts.Service, db *sqlstore.DB) {
		ctx := context.Background()
		org, admin, ann, actor, adminHere, adminThere := adminAndAnn(t, svc, db)

		// A change of name or role alone is no change of a sign-in factor.
		annOne := addSession(t, db, ann, "one", gatehouse.TwoFactorVerified)
		if _, err := svc.EditUser(ctx, "acme", ann.ID, accounts.UserEdit{Name: "Ann B", Email: ann.Email, Role: gatehouse.RoleMember}, actor); err != nil {
			t.Fatal(err)
		}
		if !sessionKept(t, db, annOne) {
			t.Error("a change of name ended the user's session")
		}

		for _, edit := range []struct {
			name  string
			in    accounts.UserEdit
			wants string
		}{
			{"a new phone", accounts.UserEdit{Name: "Ann B", Email: ann.Email, Phone: "+358401234567", Role: gatehouse.RoleMember}, "phone"},
			{"a new e-mail address", accounts.UserEdit{Name: "Ann B", Email: "ann.b@acme.test", Phone: "+358401234567", Role: gatehouse.RoleMember}, "email"},
		} {
			t.Run(edit.name, func(t *testing.T) {
				two := addSession(t, db, ann, edit.name, gatehouse.TwoFactorRemembered)
				if _, err := svc.EditUser(ctx, "acme", ann.ID, edit.in, actor); err != nil {
					t.Fatal(err)
				}
				if sessionKept(t, db, two) || sessionKept(t, db, annOne) {
					t.Error("the user's sessions outlived the change of a sign-in factor")
				}
				events, err := db.ListAudit(ctx, org.ID, 0, 1)
				if err != nil {
					t.Fatal(err)
				}
				if len(events) != 1 || events[0].Event != gatehouse.AuditUserEdited || events[0].Detail["sessions_ended"] == "" || events[0].Detail[edit.wants] == "" {
					t.Errorf("audit = %+v, want %s naming %s with sessions_ended", events, gatehouse.AuditUserEdited, edit.wants)
				}
			})
		}

		// An admin changing their own phone keeps the session they do it
		// from, and no other.
		if _, err := svc.EditUser(ctx, "acme", admin.ID, accounts.UserEdit{Email: admin.Email, Phone: "+358401234568", Role: gatehouse.RoleAdmin}, actor); err != nil {
			t.Fatal(err)
		}
		if !sessionKept(t, db, adminHere) {
			t.Error("the admin's own session ended when they changed their own phone")
		}
		if sessionKept(t, db, adminThere) {
			t.Error("the admin's other session outlived their change of phone")
		}
	})
}

func TestTurningEnforcementOnEndsTheSessionsThatDidNotPassTwoFactor(t *testing.T) {
	sessionsOnBothDatabases(t, func(t *testing.T, svc *accounts.Service, db *sqlstore.DB) {
		ctx := context.Background()
		off := false
		org, err := svc.CreateOrganization(ctx, accounts.NewOrganization{Slug: "acme", Name: "Acme", EnforceTwoFactor: &off}, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.CreateOrganization(ctx, accounts.NewOrganization{Slug: "lab", Name: "Lab", EnforceTwoFactor: &off}, ""); err != nil {
			t.Fatal(err)
		}
		admin, err := svc.CreateUser(ctx, accounts.NewUser{OrgSlug: "acme", Email: "admin@acme.test", Admin: true}, "")
		if err != nil {
			t.Fatal(err)
		}
		ann, err := svc.CreateUser(ctx, accounts.NewUser{OrgSlug: "acme", Email: "ann@acme.test"}, "")
		if err != nil {
			t.Fatal(err)
		}
		labUser, err := svc.CreateUser(ctx, accounts.NewUser{OrgSlug: "lab", Email: "ann@lab.test"}, "")
		if err != nil {
			t.Fatal(err)
		}
		adminOwn := addSession(t, db, admin, "own", gatehouse.TwoFactorNotEnforced)
		want := map[string]bool{} // session name -> kept
		hashes := map[string][]byte{}
		for _, st := range []string{gatehouse.TwoFactorNotEnforced, gatehouse.TwoFactorFederated, "some_future_state",
			gatehouse.TwoFactorVerified, gatehouse.TwoFactorRemembered, gatehouse.TwoFactorExempt, gatehouse.TwoFactorAllowedNetwork} {
			hashes[st] = addSession(t, db, ann, st, st)
			want[st] = gatehouse.PassedTwoFactorPolicy(st)
		}
		lab := addSession(t, db, labUser, "lab", gatehouse.TwoFactorNotEnforced)
		actor := accounts.Actor{UserID: admin.ID, OrgID: admin.OrgID, Role: gatehouse.RoleAdmin, AuthenticatedAt: time.Now(), SessionHash: adminOwn}

		// Changing anything else while enforcement stays off ends nothing.
		s := org.Settings
		s.RememberDays = 7
		if _, err := svc.UpdateSettings(ctx, "acme", accounts.SettingsChange{Settings: s, ConfirmTwoFactorOff: true}, actor); err != nil {
			t.Fatal(err)
		}
		if !sessionKept(t, db, hashes[gatehouse.TwoFactorNotEnforced]) || !sessionKept(t, db, adminOwn) {
			t.Fatal("a settings change without enforcement ended sessions")
		}

		s.EnforceTwoFactor = true
		if _, err := svc.UpdateSettings(ctx, "acme", accounts.SettingsChange{Settings: s, ConfirmTwoFactorOff: true}, actor); err != nil {
			t.Fatal(err)
		}
		for st, kept := range want {
			if got := sessionKept(t, db, hashes[st]); got != kept {
				t.Errorf("a %q session kept = %v, want %v", st, got, kept)
			}
		}
		if sessionKept(t, db, adminOwn) {
			t.Error("the acting admin's own session without 2FA was kept; they must sign in with a code")
		}
		if !sessionKept(t, db, lab) {
			t.Error("another organization's session ended")
		}
		events, err := db.ListAudit(ctx, org.ID, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 1 || events[0].Event != gatehouse.AuditSettingsChanged || events[0].Detail["sessions_ended"] != "4" {
			t.Errorf("audit = %+v, want %s with sessions_ended 4", events, gatehouse.AuditSettingsChanged)
		}

		// A change of method under enforcement ends no session that passed:
		// the code it took is still a second factor.
		s.OTPMethod = gatehouse.OTPSMS
		if _, err := svc.UpdateSettings(ctx, "acme", accounts.SettingsChange{Settings: s, ConfirmTwoFactorOff: true}, actor); err != nil {
			t.Fatal(err)
		}
		for st, kept := range want {
			if kept && !sessionKept(t, db, hashes[st]) {
				t.Errorf("a %q session ended when the method changed", st)
			}
		}
	})
}

// Every change of a user's sign-in factors ends their sessions: the
// password set by an admin or the CLI and a completed reset (which end every
// session: the one who changes it is not signed in as the user), an admin's
// edit of phone or e-mail (above) and the user's own change
// (internal/signin).
func TestANewPasswordEndsEverySession(t *testing.T) {
	sessionsOnBothDatabases(t, func(t *testing.T, svc *accounts.Service, db *sqlstore.DB) {
		ctx := context.Background()
		if _, err := svc.CreateOrganization(ctx, accounts.NewOrganization{Slug: "acme", Name: "Acme"}, ""); err != nil {
			t.Fatal(err)
		}
		ann, err := svc.CreateUser(ctx, accounts.NewUser{OrgSlug: "acme", Email: "ann@acme.test"}, "")
		if err != nil {
			t.Fatal(err)
		}
		one, two := addSession(t, db, ann, "one", gatehouse.TwoFactorVerified), addSession(t, db, ann, "two", gatehouse.TwoFactorRemembered)
		if _, err := svc.SetPassword(ctx, "acme", ann.Email, "a long and new passphrase", ""); err != nil {
			t.Fatal(err)
		}
		if sessionKept(t, db, one) || sessionKept(t, db, two) {
			t.Error("a session outlived a new password")
		}
	})
}

// endsFail is a database that fails when a user's sessions are to end.
type endsFail struct{ *sqlstore.DB }

func (endsFail) DeleteOtherUserSessions(context.Context, string, string, []byte) (int64, error) {
	return 0, errors.New("database is down")
}

func TestAnAdminsEditIsNotSavedWhenTheUsersSessionsCannotEnd(t *testing.T) {
	ctx := context.Background()
	svc, db := newService(t)
	if _, err := svc.CreateOrganization(ctx, accounts.NewOrganization{Slug: "acme", Name: "Acme"}, ""); err != nil {
		t.Fatal(err)
	}
	ann, err := svc.CreateUser(ctx, accounts.NewUser{OrgSlug: "acme", Email: "ann@acme.test"}, "")
	if err != nil {
		t.Fatal(err)
	}
	session := addSession(t, db, ann, "one", gatehouse.TwoFactorVerified)
	svc = newAccounts(t, endsFail{db})
	_, err = svc.EditUser(ctx, "acme", ann.ID, accounts.UserEdit{Email: ann.Email, Phone: "+358401234567", Role: gatehouse.RoleMember}, gatehouse.OperatorActor())
	if gatehouse.ErrorCode(err) != gatehouse.EUNAVAILABLE {
		t.Fatalf("EditUser = %v, want unavailable", err)
	}
	if got, err := db.UserByID(ctx, ann.OrgID, ann.ID); err != nil || got.Phone != "" {
		t.Errorf("phone after the failure = %q, %v; want none saved", got.Phone, err)
	}
	if !sessionKept(t, db, session) {
		t.Error("the session ended though nothing changed")
	}
}

// An admin's reset of a user's two-factor authentication is for a phone or
// a browser that can no longer be trusted: it ends the user's remembered
// browsers, sessions (and so their application tokens) and pending
// sign-ins, not only the browsers.
func TestAnAdminsTwoFactorResetEndsTheUsersSessionsBrowsersAndPendingSignIns(t *testing.T) {
	sessionsOnBothDatabases(t, func(t *testing.T, svc *accounts.Service, db *sqlstore.DB) {
		ctx := context.Background()
		org, admin, ann, actor, adminHere, adminThere := adminAndAnn(t, svc, db)

		annSessions := [][]byte{addSession(t, db, ann, "one", gatehouse.TwoFactorVerified), addSession(t, db, ann, "two", gatehouse.TwoFactorRemembered)}
		for i := range 2 {
			if err := db.CreateRememberedBrowser(ctx, &gatehouse.RememberedBrowser{ID: gatehouse.NewID(), TokenHash: []byte(fmt.Sprintf("%-32d", i)),
				OrgID: org.ID, UserID: ann.ID, CreatedAt: sessionT0, LastUsedAt: sessionT0, ExpiresAt: sessionT0.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
		pending := &gatehouse.Challenge{ID: gatehouse.NewID(), TokenHash: []byte(fmt.Sprintf("%-32s", "pending")), Kind: gatehouse.ChallengeLogin,
			OrgID: org.ID, UserID: ann.ID, Channel: gatehouse.OTPEmail, Destination: ann.Email, CreatedAt: sessionT0, ExpiresAt: sessionT0.Add(time.Hour)}
		if err := db.CreateChallenge(ctx, pending); err != nil {
			t.Fatal(err)
		}

		n, err := svc.ResetTwoFactor(ctx, "acme", ann.ID, actor)
		if err != nil {
			t.Fatal(err)
		}
		if n != 2 {
			t.Errorf("ResetTwoFactor revoked %d remembered browsers, want 2", n)
		}
		for _, h := range annSessions {
			if sessionKept(t, db, h) {
				t.Error("a session of the user outlived the admin's two-factor reset")
			}
		}
		if left, err := db.CountRememberedBrowsers(ctx, org.ID, []string{ann.ID}, sessionT0); err != nil {
			t.Fatal(err)
		} else if left[ann.ID] != 0 {
			t.Errorf("%d remembered browsers left after the reset", left[ann.ID])
		}
		if _, err := db.ChallengeByTokenHash(ctx, pending.TokenHash); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Errorf("the user's pending sign-in after the reset: %v, want it ended", err)
		}
		events, err := db.ListAudit(ctx, org.ID, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 1 || events[0].Event != gatehouse.AuditTwoFactorReset || events[0].Detail["sessions_ended"] != "2" ||
			events[0].Detail["remembered_browsers_revoked"] != "2" || events[0].ActorID != admin.ID {
			t.Errorf("audit = %+v, want %s by the admin with 2 sessions and 2 browsers", events, gatehouse.AuditTwoFactorReset)
		}

		// Resetting their own keeps the session the admin acts from.
		if _, err := svc.ResetTwoFactor(ctx, "acme", admin.ID, actor); err != nil {
			t.Fatal(err)
		}
		if !sessionKept(t, db, adminHere) || sessionKept(t, db, adminThere) {
			t.Error("an admin's reset of their own two-factor: want the acting session kept and the other ended")
		}
	})
}
