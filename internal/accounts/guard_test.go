package accounts_test

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/accounts"
	"github.com/gatehousehq/gatehouse/internal/sqlstore"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

// freshActor is u acting from a session that last authenticated at at.
func freshActor(org *gatehouse.Organization, u *gatehouse.User, at time.Time) accounts.Actor {
	return accounts.Actor{UserID: u.ID, OrgID: org.ID, Role: u.Role, AuthenticatedAt: at, ClientIP: netip.MustParseAddr("192.0.2.7")}
}

// notices records what a Messenger was asked to send.
type notices struct {
	mu   sync.Mutex
	list []gatehouse.Notice
}

func (n *notices) SendCode(ctx context.Context, m gatehouse.CodeMessage) error { return nil }
func (n *notices) Notify(ctx context.Context, x gatehouse.Notice) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.list = append(n.list, x)
	return nil
}
func (n *notices) take() []gatehouse.Notice {
	n.mu.Lock()
	defer n.mu.Unlock()
	l := n.list
	n.list = nil
	return l
}

// guarded is an organization with an admin and a member, a service whose
// clock stands at now, and the notices it sent.
type guarded struct {
	svc           *accounts.Service
	db            *sqlstore.DB
	org           *gatehouse.Organization
	admin, member *gatehouse.User
	now           time.Time
	box           *notices
	// opts wire svc; another service on the same clock takes them too.
	opts []option
}

func newGuarded(t *testing.T, db *sqlstore.DB) *guarded {
	t.Helper()
	ctx := context.Background()
	g := &guarded{db: db, now: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC), box: &notices{}}
	g.opts = []option{withMessenger(g.box, "https://sign-in.example.com"), withNow(func() time.Time { return g.now }),
		withSecret(make([]byte, 32)), withSMS()}
	g.svc = newAccounts(t, db, g.opts...)
	var err error
	if g.org, err = g.svc.CreateOrganization(ctx, accounts.NewOrganization{Slug: "acme", Name: "Acme"}, ""); err != nil {
		t.Fatal(err)
	}
	if g.admin, err = g.svc.CreateUser(ctx, accounts.NewUser{OrgSlug: "acme", Email: "boss@acme.test", Admin: true}, ""); err != nil {
		t.Fatal(err)
	}
	if g.member, err = g.svc.CreateUser(ctx, accounts.NewUser{OrgSlug: "acme", Email: "a@acme.test", Phone: "+358401234567"}, ""); err != nil {
		t.Fatal(err)
	}
	return g
}

func postgresStore(t *testing.T) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), testdb.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestGuardedChangesNeedARecentAuthentication(t *testing.T) {
	ctx := context.Background()
	calls := []struct {
		name string
		call func(g *guarded, a accounts.Actor) error
		// changed reports whether the call's change was saved.
		changed func(g *guarded) bool
	}{
		{"turning 2FA off", func(g *guarded, a accounts.Actor) error {
			next := g.org.Settings
			next.EnforceTwoFactor = false
			_, err := g.svc.UpdateSettings(ctx, "acme", accounts.SettingsChange{Settings: next, ConfirmTwoFactorOff: true}, a)
			return err
		}, func(g *guarded) bool {
			o, _ := g.db.OrganizationByID(ctx, g.org.ID)
			return !o.Settings.EnforceTwoFactor
		}},
		{"adding a skip network", func(g *guarded, a accounts.Actor) error {
			next := g.org.Settings
			next.SkipNetworks = []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}
			_, err := g.svc.UpdateSettings(ctx, "acme", accounts.SettingsChange{Settings: next}, a)
			return err
		}, func(g *guarded) bool {
			o, _ := g.db.OrganizationByID(ctx, g.org.ID)
			return len(o.Settings.SkipNetworks) == 1
		}},
		{"exempting a user", func(g *guarded, a accounts.Actor) error {
			_, err := g.svc.SetExempt(ctx, "acme", g.member.ID, true, a)
			return err
		}, func(g *guarded) bool { u, _ := g.db.UserByID(ctx, g.org.ID, g.member.ID); return u.TwoFactorExempt }},
		{"disabling a user", func(g *guarded, a accounts.Actor) error {
			_, err := g.svc.SetDisabled(ctx, "acme", g.member.ID, true, a)
			return err
		}, func(g *guarded) bool { u, _ := g.db.UserByID(ctx, g.org.ID, g.member.ID); return u.Disabled }},
		{"changing a user's e-mail", func(g *guarded, a accounts.Actor) error {
			_, err := g.svc.EditUser(ctx, "acme", g.member.ID, accounts.UserEdit{Email: "evil@example.com", Phone: g.member.Phone, Role: gatehouse.RoleMember}, a)
			return err
		}, func(g *guarded) bool {
			u, _ := g.db.UserByID(ctx, g.org.ID, g.member.ID)
			return u.Email == "evil@example.com"
		}},
		{"changing a user's phone", func(g *guarded, a accounts.Actor) error {
			_, err := g.svc.EditUser(ctx, "acme", g.member.ID, accounts.UserEdit{Email: g.member.Email, Phone: "+358409999999", Role: gatehouse.RoleMember}, a)
			return err
		}, func(g *guarded) bool {
			u, _ := g.db.UserByID(ctx, g.org.ID, g.member.ID)
			return u.Phone == "+358409999999"
		}},
		{"making a user an admin", func(g *guarded, a accounts.Actor) error {
			_, err := g.svc.EditUser(ctx, "acme", g.member.ID, accounts.UserEdit{Email: g.member.Email, Phone: g.member.Phone, Role: gatehouse.RoleAdmin}, a)
			return err
		}, func(g *guarded) bool {
			u, _ := g.db.UserByID(ctx, g.org.ID, g.member.ID)
			return u.Role == gatehouse.RoleAdmin
		}},
		{"deleting a user", func(g *guarded, a accounts.Actor) error {
			return g.svc.DeleteUser(ctx, "acme", g.member.ID, a)
		}, func(g *guarded) bool { _, err := g.db.UserByID(ctx, g.org.ID, g.member.ID); return err != nil }},
		{"inviting an admin", func(g *guarded, a accounts.Actor) error {
			_, err := g.svc.InviteUser(ctx, accounts.NewUser{OrgSlug: "acme", Email: "new@acme.test", Admin: true}, a)
			return err
		}, func(g *guarded) bool { _, err := g.db.UserByEmail(ctx, g.org.ID, "new@acme.test"); return err == nil }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			g := newGuarded(t, testdb.SQLite(t))
			stale := freshActor(g.org, g.admin, g.now.Add(-gatehouse.ReauthWindow-time.Second))
			if err := c.call(g, stale); gatehouse.ErrorCode(err) != gatehouse.EREAUTHREQUIRED {
				t.Fatalf("a sign-in 10 minutes and 1 second old: %v, want reauth_required", err)
			}
			if err := c.call(g, accounts.Actor{}); gatehouse.ErrorCode(err) != gatehouse.EFORBIDDEN {
				t.Fatalf("the zero actor: %v, want forbidden", err)
			}
			if err := c.call(g, freshActor(g.org, g.member, g.now)); gatehouse.ErrorCode(err) != gatehouse.EFORBIDDEN {
				t.Fatalf("a fresh member: %v, want forbidden", err)
			}
			if c.changed(g) {
				t.Fatal("a refused change was saved")
			}
			if err := c.call(g, freshActor(g.org, g.admin, g.now.Add(-gatehouse.ReauthWindow))); err != nil {
				t.Fatalf("a sign-in exactly 10 minutes old: %v", err)
			}
			if !c.changed(g) {
				t.Fatal("the allowed change was not saved")
			}
		})
	}
	t.Run("the operator at the command line needs none", func(t *testing.T) {
		g := newGuarded(t, testdb.SQLite(t))
		if _, err := g.svc.SetExempt(ctx, "acme", g.member.ID, true, gatehouse.OperatorActor()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a name edit and inviting a member need no recent sign-in", func(t *testing.T) {
		g := newGuarded(t, testdb.SQLite(t))
		stale := freshActor(g.org, g.admin, g.now.Add(-time.Hour))
		if _, err := g.svc.EditUser(ctx, "acme", g.member.ID, accounts.UserEdit{Name: "Alice", Email: g.member.Email, Phone: g.member.Phone, Role: gatehouse.RoleMember}, stale); err != nil {
			t.Errorf("name edit: %v", err)
		}
		if _, err := g.svc.InviteUser(ctx, accounts.NewUser{OrgSlug: "acme", Email: "m@acme.test"}, stale); err != nil {
			t.Errorf("member invite: %v", err)
		}
	})
	t.Run("an admin of another organization is refused", func(t *testing.T) {
		g := newGuarded(t, testdb.SQLite(t))
		other := freshActor(&gatehouse.Organization{ID: "elsewhere"}, g.admin, g.now)
		if _, err := g.svc.SetExempt(ctx, "acme", g.member.ID, true, other); gatehouse.ErrorCode(err) != gatehouse.EFORBIDDEN {
			t.Errorf("got %v, want forbidden", err)
		}
	})
}

func TestTurningTwoFactorOffNeedsConfirmationInTheService(t *testing.T) {
	ctx := context.Background()
	g := newGuarded(t, testdb.SQLite(t))
	next := g.org.Settings
	next.EnforceTwoFactor = false
	_, err := g.svc.UpdateSettings(ctx, "acme", accounts.SettingsChange{Settings: next}, freshActor(g.org, g.admin, g.now))
	if ge, ok := err.(*gatehouse.Error); !ok || ge.Code != gatehouse.EINVALID || ge.Field != accounts.FieldConfirmTwoFactorOff {
		t.Fatalf("unconfirmed: %v, want invalid_input on %s", err, accounts.FieldConfirmTwoFactorOff)
	}
	if o, _ := g.db.OrganizationByID(ctx, g.org.ID); !o.Settings.EnforceTwoFactor {
		t.Fatal("2FA was turned off without confirmation")
	}
	// Without a recent sign-in the confirmation is asked first, so a form
	// can show it before the password.
	stale := freshActor(g.org, g.admin, g.now.Add(-time.Hour))
	if _, err := g.svc.UpdateSettings(ctx, "acme", accounts.SettingsChange{Settings: next}, stale); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
		t.Errorf("unconfirmed and stale: %v, want invalid_input", err)
	}
	if _, err := g.svc.UpdateSettings(ctx, "acme", accounts.SettingsChange{Settings: next, ConfirmTwoFactorOff: true}, freshActor(g.org, g.admin, g.now)); err != nil {
		t.Fatalf("confirmed: %v", err)
	}
}

func TestAdminChangesTellTheUser(t *testing.T) {
	ctx := context.Background()
	g := newGuarded(t, testdb.SQLite(t))
	actor := freshActor(g.org, g.admin, g.now)
	if _, err := g.svc.EditUser(ctx, "acme", g.member.ID, accounts.UserEdit{Email: "new@acme.test", Phone: "+358409999999", Role: gatehouse.RoleMember}, actor); err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, n := range g.box.take() {
		if n.Kind != gatehouse.NoticeChangedByAdmin || n.OrgName != "Acme" || !n.At.Equal(g.now) || n.ClientIP != actor.ClientIP {
			t.Errorf("notice %+v", n)
		}
		got[n.Field] = append(got[n.Field], n.To+" "+n.OldValue+" -> "+n.NewValue)
	}
	want := map[string][]string{
		gatehouse.NoticeFieldEmail: {"a@acme.test a@acme.test -> new@acme.test", "new@acme.test a@acme.test -> new@acme.test"},
		gatehouse.NoticeFieldPhone: {"new@acme.test +358•••••••67 -> +358•••••••99"},
	}
	checkNotices(t, "e-mail and phone change", got, want)

	if _, err := g.svc.SetExempt(ctx, "acme", g.member.ID, true, actor); err != nil {
		t.Fatal(err)
	}
	ns := g.box.take()
	if len(ns) != 1 || ns[0].Field != gatehouse.NoticeFieldExemption || ns[0].To != "new@acme.test" || ns[0].NewValue != "true" {
		t.Errorf("exemption notices %+v", ns)
	}
	if _, err := g.svc.SetExempt(ctx, "acme", g.member.ID, true, actor); err != nil || len(g.box.take()) != 0 {
		t.Errorf("no change still told the user (%v)", err)
	}
	if _, err := g.svc.EditUser(ctx, "acme", g.member.ID, accounts.UserEdit{Name: "Alice", Email: "new@acme.test", Phone: "+358409999999", Role: gatehouse.RoleMember}, actor); err != nil {
		t.Fatal(err)
	}
	if ns := g.box.take(); len(ns) != 0 {
		t.Errorf("a name change sent %+v", ns)
	}
}

func checkNotices(t *testing.T, what string, got, want map[string][]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: notices %v, want %v", what, got, want)
		return
	}
	for k, w := range want {
		g := got[k]
		if len(g) != len(w) {
			t.Errorf("%s: %s notices %v, want %v", what, k, g, w)
			continue
		}
		for i := range w {
			if g[i] != w[i] {
				t.Errorf("%s: %s notice %q, want %q", what, k, g[i], w[i])
			}
		}
	}
}

// readHook runs once, right after the first UserByID: the moment between
// an edit's read and its write, when another admin's change lands.
type readHook struct {
	gatehouse.Store
	once sync.Once
	hook func()
}

func (s *readHook) UserByID(ctx context.Context, orgID, id string) (*gatehouse.User, error) {
	u, err := s.Store.UserByID(ctx, orgID, id)
	s.once.Do(s.hook)
	return u, err
}

func TestAnEditDoesNotUndoAConcurrentDisable(t *testing.T) {
	for _, tc := range []struct {
		name string
		db   func(t *testing.T) *sqlstore.DB
	}{{"sqlite", func(t *testing.T) *sqlstore.DB { return testdb.SQLite(t) }}, {"postgres", postgresStore}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			g := newGuarded(t, tc.db(t))
			actor := freshActor(g.org, g.admin, g.now)
			editor := newAccounts(t, &readHook{Store: g.db, hook: func() {
				if _, err := g.svc.SetDisabled(ctx, "acme", g.member.ID, true, actor); err != nil {
					t.Errorf("disable: %v", err)
				}
			}}, g.opts...)
			if _, err := editor.EditUser(ctx, "acme", g.member.ID, accounts.UserEdit{Name: "Alice", Email: g.member.Email, Phone: g.member.Phone, Role: gatehouse.RoleMember}, actor); err != nil {
				t.Fatal(err)
			}
			u, err := g.db.UserByID(ctx, g.org.ID, g.member.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !u.Disabled || u.Name != "Alice" {
				t.Errorf("disabled=%v name=%q: the edit from an earlier read undid the disable", u.Disabled, u.Name)
			}
		})
	}
}
