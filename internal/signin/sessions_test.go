package signin_test

import (
	"context"
	"net/netip"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/accounts"
	"github.com/gatehousehq/gatehouse/internal/password"
	"github.com/gatehousehq/gatehouse/internal/phone"
	"github.com/gatehousehq/gatehouse/internal/signin"
	"github.com/gatehousehq/gatehouse/internal/sqlstore"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

// onBothDatabases runs fn on SQLite and on PostgreSQL, each time with two
// stores ("nodes") open on one fresh, migrated database.
func onBothDatabases(t *testing.T, fn func(t *testing.T, a, b *sqlstore.DB)) {
	open := func(t *testing.T, url string) *sqlstore.DB {
		t.Helper()
		db, err := sqlstore.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if err := db.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		return db
	}
	t.Run("sqlite", func(t *testing.T) {
		url := "sqlite:" + filepath.Join(t.TempDir(), "gatehouse.db")
		fn(t, open(t, url), open(t, url))
	})
	t.Run("postgres", func(t *testing.T) {
		url := testdb.PostgresURL(t)
		fn(t, open(t, url), open(t, url))
	})
}

// node is one server's sign-in service over its own store.
func node(t *testing.T, db signin.Store, c *clock, box *inbox) *signin.Service {
	t.Helper()
	return newNode(t, db, withNow(c.Now), withMessenger(box))
}

// accountsOn is the admin side of a race: an accounts service on db, on
// the clock c.
func accountsOn(t *testing.T, db *sqlstore.DB, c *clock) *accounts.Service {
	t.Helper()
	acc, err := accounts.New(accounts.Config{Store: db, Hasher: testHasher(t), Policy: password.DefaultPolicy(), Phone: phone.Normalize, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	return acc
}

func addOrgUser(t *testing.T, db *sqlstore.DB, c *clock, slug string, s gatehouse.PasswordSettings, email string) (*gatehouse.Organization, *gatehouse.User) {
	t.Helper()
	ctx := context.Background()
	org, err := db.OrganizationBySlug(ctx, slug)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		org = &gatehouse.Organization{ID: gatehouse.NewID(), Slug: slug, Name: slug, Settings: s, CreatedAt: c.Now(), UpdatedAt: c.Now()}
		err = db.CreateOrganization(ctx, org)
	}
	if err != nil {
		t.Fatal(err)
	}
	hash, err := password.Hash(testPassword, password.TestParams(), nil)
	if err != nil {
		t.Fatal(err)
	}
	u := &gatehouse.User{ID: gatehouse.NewID(), OrgID: org.ID, Email: email, Role: gatehouse.RoleAdmin,
		PasswordHash: hash, CreatedAt: c.Now(), UpdatedAt: c.Now()}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	return org, u
}

func loginAs(t *testing.T, svc *signin.Service, slug, email string) *signin.LoginResult {
	t.Helper()
	res, err := svc.Login(context.Background(), signin.LoginRequest{Organization: slug, Email: email, Password: testPassword,
		ClientIP: netip.MustParseAddr("203.0.113.9"), UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"})
	if err != nil {
		t.Fatal(err)
	}
	if res.SessionToken == "" {
		t.Fatalf("login of %s gave no session: %+v", email, res)
	}
	return res
}

func wantSignedOut(t *testing.T, svc *signin.Service, what, token string) {
	t.Helper()
	if cur, err := svc.Authenticate(context.Background(), token); gatehouse.ErrorCode(err) != gatehouse.EUNAUTHORIZED {
		t.Errorf("%s: Authenticate = %v, %v; want unauthorized", what, cur, err)
	}
}

func wantSignedIn(t *testing.T, svc *signin.Service, what, token string) *signin.Current {
	t.Helper()
	cur, err := svc.Authenticate(context.Background(), token)
	if err != nil {
		t.Fatalf("%s: Authenticate: %v, want signed in", what, err)
	}
	return cur
}

func TestAContactChangeEndsTheUsersOtherSessions(t *testing.T) {
	for _, kind := range []string{gatehouse.ChallengeChangePhone, gatehouse.ChallengeChangeEmail} {
		t.Run(kind, func(t *testing.T) {
			onBothDatabases(t, func(t *testing.T, a, b *sqlstore.DB) {
				ctx := context.Background()
				c, box := newClock(), &inbox{}
				nodeA, nodeB := node(t, a, c, box), node(t, b, c, box)
				off := gatehouse.DefaultPasswordSettings()
				off.EnforceTwoFactor = false
				org, u := addOrgUser(t, a, c, "clinic", off, "ann@clinic.test")
				_, other := addOrgUser(t, a, c, "clinic", off, "bob@clinic.test")
				here := loginAs(t, nodeA, "clinic", u.Email)
				elsewhere := loginAs(t, nodeB, "clinic", u.Email) // another browser, another node
				bobs := loginAs(t, nodeA, "clinic", other.Email)

				cur := wantSignedIn(t, nodeA, "the changing session", here.SessionToken)
				value := "+358401234567"
				if kind == gatehouse.ChallengeChangeEmail {
					value = "ann.new@clinic.test"
				}
				ch, err := nodeA.StartContactChange(ctx, cur, kind, value, testPassword, netip.MustParseAddr("203.0.113.9"), "")
				if err != nil {
					t.Fatal(err)
				}
				if ch, err = nodeA.VerifyContactChange(ctx, cur, ch.ChallengeID, box.lastCode(t).Code, netip.Addr{}); err != nil {
					t.Fatal(err)
				}
				// Between the steps nothing has changed yet.
				wantSignedIn(t, nodeB, "the other session before the new value is proven", elsewhere.SessionToken)
				if ch, err = nodeA.VerifyContactChange(ctx, cur, ch.ChallengeID, box.lastCode(t).Code, netip.Addr{}); err != nil || !ch.Done {
					t.Fatalf("step 2: %+v, %v", ch, err)
				}

				wantSignedOut(t, nodeB, "the user's other session", elsewhere.SessionToken)
				wantSignedIn(t, nodeA, "the session that made the change", here.SessionToken)
				wantSignedIn(t, nodeB, "another user's session", bobs.SessionToken)
				events, err := a.ListAudit(ctx, org.ID, 0, 1)
				if err != nil {
					t.Fatal(err)
				}
				if len(events) != 1 || events[0].Event != gatehouse.AuditContactChanged || events[0].Detail["sessions_ended"] != "1" {
					t.Errorf("latest audit event = %+v, want %s with sessions_ended 1", events, gatehouse.AuditContactChanged)
				}
			})
		})
	}
}

func TestAddingAPhoneAtSignInEndsTheUsersEarlierSessions(t *testing.T) {
	onBothDatabases(t, func(t *testing.T, a, b *sqlstore.DB) {
		ctx := context.Background()
		c, box := newClock(), &inbox{}
		nodeA := node(t, a, c, box)
		sms := gatehouse.DefaultPasswordSettings()
		sms.OTPMethod = gatehouse.OTPSMS
		org, u := addOrgUser(t, a, c, "clinic", sms, "ann@clinic.test")
		// A session that passed 2FA before (by e-mail, say) on another node.
		earlier := &gatehouse.Session{TokenHash: []byte("an-earlier-verified-session-hash"), UserID: u.ID, OrgID: org.ID,
			TwoFactorState: gatehouse.TwoFactorVerified, CreatedAt: c.Now(), LastSeenAt: c.Now(), ExpiresAt: c.Now().Add(24 * time.Hour)}
		if err := b.CreateSession(ctx, earlier); err != nil {
			t.Fatal(err)
		}
		ip := netip.MustParseAddr("203.0.113.9")
		res, err := nodeA.Login(ctx, signin.LoginRequest{Organization: "clinic", Email: u.Email, Password: testPassword, ClientIP: ip})
		if err != nil || res.Pending == nil || res.Pending.Status != signin.StatusPhoneRequired {
			t.Fatalf("login: %+v, %v; want phone_required", res, err)
		}
		if _, err := nodeA.Phone(ctx, res.Pending.Token, "+358401234567", ip); err != nil {
			t.Fatal(err)
		}
		done, err := nodeA.Verify(ctx, signin.VerifyRequest{PendingToken: res.Pending.Token, Code: box.lastCode(t).Code, ClientIP: ip})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.SessionByTokenHash(ctx, earlier.TokenHash); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Errorf("the session from before the phone was added: %v, want it ended", err)
		}
		wantSignedIn(t, nodeA, "the sign-in that added the phone", done.SessionToken)
	})
}

func TestASessionWithoutTwoFactorEndsWhenItsOrganizationEnforcesIt(t *testing.T) {
	onBothDatabases(t, func(t *testing.T, a, b *sqlstore.DB) {
		ctx := context.Background()
		c, box := newClock(), &inbox{}
		nodeA := node(t, a, c, box)
		off := gatehouse.DefaultPasswordSettings()
		off.EnforceTwoFactor = false
		org, u := addOrgUser(t, a, c, "clinic", off, "ann@clinic.test")
		addOrgUser(t, a, c, "lab", off, "ann@lab.test")
		res := loginAs(t, nodeA, "clinic", u.Email)
		lab := loginAs(t, nodeA, "lab", "ann@lab.test")
		if res.Session.TwoFactorState != gatehouse.TwoFactorNotEnforced {
			t.Fatalf("state = %q", res.Session.TwoFactorState)
		}

		// Another node saves the change in the store alone (as a node that
		// races the change would leave it): the session is still refused.
		on := off
		on.EnforceTwoFactor = true
		if err := b.UpdatePasswordSettings(ctx, org.ID, on, c.Now()); err != nil {
			t.Fatal(err)
		}
		wantSignedOut(t, nodeA, "a not_enforced session after enforcement is on", res.SessionToken)
		if _, err := a.SessionByTokenHash(ctx, res.Session.TokenHash); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Errorf("the refused session is still stored: %v", err)
		}
		wantSignedIn(t, nodeA, "a session of an organization that does not enforce 2FA", lab.SessionToken)
	})
}

// Forty sign-ins race an admin turning enforcement on, on another node:
// whichever way each one went, none of them is signed in afterwards
// without a code.
func TestSignInsRacingEnforcementGetNoSessionWithoutTwoFactor(t *testing.T) {
	onBothDatabases(t, func(t *testing.T, a, b *sqlstore.DB) {
		ctx := context.Background()
		c, box := newClock(), &inbox{}
		nodeA := node(t, a, c, box)
		off := gatehouse.DefaultPasswordSettings()
		off.EnforceTwoFactor = false
		org, admin := addOrgUser(t, a, c, "clinic", off, "admin@clinic.test")
		acc := accountsOn(t, b, c)

		const n = 40
		var wg sync.WaitGroup
		tokens := make([]string, n)
		errs := make([]error, n)
		start, half := make(chan struct{}), make(chan struct{})
		var finished atomic.Int32
		for i := range n {
			wg.Go(func() {
				<-start
				res, err := nodeA.Login(ctx, signin.LoginRequest{Organization: "clinic", Email: admin.Email, Password: testPassword})
				if err == nil && res.Pending == nil {
					tokens[i] = res.SessionToken
				}
				errs[i] = err
				if finished.Add(1) == n/4 {
					close(half) // the change lands among the sign-ins still running
				}
			})
		}
		on := off
		on.EnforceTwoFactor = true
		var updErr error
		wg.Go(func() {
			<-half
			_, updErr = acc.UpdateSettings(ctx, org.Slug, accounts.SettingsChange{Settings: on, ConfirmTwoFactorOff: true}, accounts.Actor{UserID: admin.ID, OrgID: org.ID, Role: gatehouse.RoleAdmin, AuthenticatedAt: c.Now()})
		})
		close(start)
		wg.Wait()
		if updErr != nil {
			t.Fatal(updErr)
		}
		for i, err := range errs {
			switch gatehouse.ErrorCode(err) {
			case "", gatehouse.ERESENDTOOSOON, gatehouse.ETOOMANYATTEMPTS, gatehouse.EBUSY: // caps and the hashing pool
			default:
				t.Errorf("sign-in %d: %v", i, err)
			}
		}
		started := 0
		for _, tok := range tokens {
			if tok != "" {
				started++
				wantSignedOut(t, nodeA, "a session started without a code", tok)
			}
		}
		t.Logf("%d of %d sign-ins were let in without a code", started, n)
	})
}

// A session that an exemption or a skip network let in lasts only while
// the policy would still let it in: ending the exemption or removing the
// network, on another node, ends it at its next use.
func TestASessionEndsWithTheExemptionOrNetworkThatLetItIn(t *testing.T) {
	onBothDatabases(t, func(t *testing.T, a, b *sqlstore.DB) {
		ctx := context.Background()
		c, box := newClock(), &inbox{}
		nodeA := node(t, a, c, box)
		office, elsewhere := netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("198.51.100.0/24")
		s := gatehouse.DefaultPasswordSettings()
		s.SkipNetworks = []netip.Prefix{office, elsewhere}
		_, exempt := addOrgUser(t, a, c, "clinic", s, "exempt@clinic.test")
		_, inOffice := addOrgUser(t, a, c, "clinic", s, "office@clinic.test")
		acc := accountsOn(t, b, c)
		if _, err := acc.SetExempt(ctx, "clinic", exempt.ID, true, gatehouse.OperatorActor()); err != nil {
			t.Fatal(err)
		}
		login := func(email, ip string) *signin.LoginResult {
			t.Helper()
			res, err := nodeA.Login(ctx, signin.LoginRequest{Organization: "clinic", Email: email, Password: testPassword, ClientIP: netip.MustParseAddr(ip)})
			if err != nil || res.SessionToken == "" {
				t.Fatalf("login of %s: %+v, %v", email, res, err)
			}
			return res
		}
		ex := login(exempt.Email, "203.0.113.9")
		net := login(inOffice.Email, "192.0.2.10")
		if ex.Session.TwoFactorState != gatehouse.TwoFactorExempt || net.Session.TwoFactorState != gatehouse.TwoFactorAllowedNetwork {
			t.Fatalf("states %q, %q", ex.Session.TwoFactorState, net.Session.TwoFactorState)
		}

		// Another network leaving the list changes nothing for this one.
		s.SkipNetworks = []netip.Prefix{office}
		if _, err := acc.UpdateSettings(ctx, "clinic", accounts.SettingsChange{Settings: s, ConfirmTwoFactorOff: true}, gatehouse.OperatorActor()); err != nil {
			t.Fatal(err)
		}
		wantSignedIn(t, nodeA, "a session from a network still listed", net.SessionToken)
		s.SkipNetworks = nil
		if _, err := acc.UpdateSettings(ctx, "clinic", accounts.SettingsChange{Settings: s, ConfirmTwoFactorOff: true}, gatehouse.OperatorActor()); err != nil {
			t.Fatal(err)
		}
		wantSignedOut(t, nodeA, "a session from a network no longer listed", net.SessionToken)

		wantSignedIn(t, nodeA, "a session of a user still exempt", ex.SessionToken)
		if _, err := acc.SetExempt(ctx, "clinic", exempt.ID, false, gatehouse.OperatorActor()); err != nil {
			t.Fatal(err)
		}
		// The list leaves out the session that no longer passes.
		s.SkipNetworks = []netip.Prefix{office}
		if _, err := acc.UpdateSettings(ctx, "clinic", accounts.SettingsChange{Settings: s, ConfirmTwoFactorOff: true}, gatehouse.OperatorActor()); err != nil {
			t.Fatal(err)
		}
		fromOffice := wantSignedIn(t, nodeA, "the user, now from the office", login(exempt.Email, "192.0.2.11").SessionToken)
		list, err := nodeA.Sessions(ctx, fromOffice)
		if err != nil || len(list) != 1 || !list[0].Current {
			t.Errorf("Sessions = %+v, %v; want only the current one", list, err)
		}
		wantSignedOut(t, nodeA, "a session of a user no longer exempt", ex.SessionToken)
		events, err := a.ListAudit(ctx, ex.Organization.ID, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 1 || events[0].Event != gatehouse.AuditSessionEnded || events[0].Reason != "two_factor_policy" ||
			events[0].Detail["two_factor_state"] != gatehouse.TwoFactorExempt {
			t.Errorf("latest audit event = %+v, want %s by two_factor_policy", events, gatehouse.AuditSessionEnded)
		}
	})
}

// endsFail is a database that fails when the user's other sessions are to
// end, alone or as part of a credential change (whose transaction then
// saves nothing; testdb.FaultySQLite proves that of the real store).
type endsFail struct{ *sqlstore.DB }

func (endsFail) DeleteOtherUserSessions(context.Context, string, string, []byte) (int64, error) {
	return 0, errDown
}

func (f endsFail) ChangeCredentials(ctx context.Context, c gatehouse.CredentialChange) error {
	if c.EndSessions {
		return errDown
	}
	return f.DB.ChangeCredentials(ctx, c)
}

// When the other sessions cannot be ended, the new factor is not saved:
// nothing is left half done with old sessions beside a new phone.
func TestAFactorIsNotSavedWhenTheOtherSessionsCannotEnd(t *testing.T) {
	ctx := context.Background()
	ip := netip.MustParseAddr("203.0.113.9")
	t.Run("a change of phone", func(t *testing.T) {
		db := testdb.SQLite(t)
		c, box := newClock(), &inbox{}
		good, broken := node(t, db, c, box), node(t, endsFail{db}, c, box)
		off := gatehouse.DefaultPasswordSettings()
		off.EnforceTwoFactor = false
		org, u := addOrgUser(t, db, c, "clinic", off, "ann@clinic.test")
		here, other := loginAs(t, good, "clinic", u.Email), loginAs(t, good, "clinic", u.Email)
		cur := wantSignedIn(t, good, "the changing session", here.SessionToken)
		ch, err := good.StartContactChange(ctx, cur, gatehouse.ChallengeChangePhone, "+358401234567", testPassword, ip, "")
		if err != nil {
			t.Fatal(err)
		}
		if ch, err = good.VerifyContactChange(ctx, cur, ch.ChallengeID, box.lastCode(t).Code, ip); err != nil {
			t.Fatal(err)
		}
		_, err = broken.VerifyContactChange(ctx, cur, ch.ChallengeID, box.lastCode(t).Code, ip)
		wantCode(t, err, gatehouse.EUNAVAILABLE)
		if got, err := db.UserByID(ctx, org.ID, u.ID); err != nil || got.Phone != "" {
			t.Errorf("phone after the failure = %q, %v; want none saved", got.Phone, err)
		}
		wantSignedIn(t, good, "the other session (the change did not happen)", other.SessionToken)
	})
	t.Run("a phone added at sign-in", func(t *testing.T) {
		db := testdb.SQLite(t)
		c, box := newClock(), &inbox{}
		broken := node(t, endsFail{db}, c, box)
		sms := gatehouse.DefaultPasswordSettings()
		sms.OTPMethod = gatehouse.OTPSMS
		org, u := addOrgUser(t, db, c, "clinic", sms, "ann@clinic.test")
		res, err := broken.Login(ctx, signin.LoginRequest{Organization: "clinic", Email: u.Email, Password: testPassword, ClientIP: ip})
		if err != nil || res.Pending == nil {
			t.Fatalf("login: %+v, %v", res, err)
		}
		if _, err := broken.Phone(ctx, res.Pending.Token, "+358401234567", ip); err != nil {
			t.Fatal(err)
		}
		done, err := broken.Verify(ctx, signin.VerifyRequest{PendingToken: res.Pending.Token, Code: box.lastCode(t).Code, ClientIP: ip})
		wantCode(t, err, gatehouse.EUNAVAILABLE)
		if done != nil && done.SessionToken != "" {
			t.Error("a session was made")
		}
		if got, err := db.UserByID(ctx, org.ID, u.ID); err != nil || got.Phone != "" {
			t.Errorf("phone after the failure = %q, %v; want none saved", got.Phone, err)
		}
	})
}

// CheckSession holds an application's token to the same rules as the
// browser's session: a network leaving the list ends the session the
// network let in (with its tokens) at the token's next use, a disabled
// user's session does not hold, and only the absolute timeout counts, not
// the browser's idleness.
func TestCheckSessionHoldsTokensToTheBrowsersRules(t *testing.T) {
	onBothDatabases(t, func(t *testing.T, a, b *sqlstore.DB) {
		ctx := context.Background()
		c, box := newClock(), &inbox{}
		nodeA := node(t, a, c, box)
		office := netip.MustParsePrefix("192.0.2.0/24")
		s := gatehouse.DefaultPasswordSettings()
		s.SkipNetworks = []netip.Prefix{office}
		_, nurse := addOrgUser(t, a, c, "clinic", s, "nurse@clinic.test")
		_, other := addOrgUser(t, a, c, "clinic", s, "other@clinic.test")
		acc := accountsOn(t, b, c)
		login := func(email string) *signin.LoginResult {
			t.Helper()
			res, err := nodeA.Login(ctx, signin.LoginRequest{Organization: "clinic", Email: email, Password: testPassword, ClientIP: netip.MustParseAddr("192.0.2.10")})
			if err != nil || res.SessionToken == "" {
				t.Fatalf("login of %s: %+v, %v", email, res, err)
			}
			return res
		}
		unauthorized := func(what, id string) {
			t.Helper()
			if cur, err := nodeA.CheckSession(ctx, id); gatehouse.ErrorCode(err) != gatehouse.EUNAUTHORIZED {
				t.Errorf("CheckSession of %s = %+v, %v; want EUNAUTHORIZED", what, cur, err)
			}
		}
		net := login(nurse.Email)
		cur, err := nodeA.CheckSession(ctx, net.Session.PublicID)
		if err != nil || cur.User.ID != nurse.ID || cur.Organization.Slug != "clinic" {
			t.Fatalf("CheckSession of a live session = %+v, %v", cur, err)
		}
		unauthorized("an unknown id", "no-such-session")
		unauthorized("an empty id", "")

		// The browser idles past the idle timeout: the tokens still hold
		// until the absolute one.
		c.Add(13 * time.Hour)
		if _, err := nodeA.CheckSession(ctx, net.Session.PublicID); err != nil {
			t.Errorf("CheckSession of a session idle past the browser's timeout: %v, want it to hold", err)
		}
		c.Add(-13 * time.Hour)

		// The network that let the session in leaves the list (on another
		// node): the session ends at the token's next use, and is audited.
		s.SkipNetworks = nil
		if _, err := acc.UpdateSettings(ctx, "clinic", accounts.SettingsChange{Settings: s, ConfirmTwoFactorOff: true}, gatehouse.OperatorActor()); err != nil {
			t.Fatal(err)
		}
		unauthorized("a session from a network no longer listed", net.Session.PublicID)
		if _, err := a.SessionByPublicID(ctx, net.Session.PublicID); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Errorf("the session the policy no longer lets in was not ended: %v", err)
		}
		events, err := a.ListAudit(ctx, net.Organization.ID, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 1 || events[0].Event != gatehouse.AuditSessionEnded || events[0].Reason != "two_factor_policy" {
			t.Errorf("latest audit event = %+v, want %s by two_factor_policy", events, gatehouse.AuditSessionEnded)
		}

		// A disabled user's session does not hold.
		s.SkipNetworks = []netip.Prefix{office}
		if _, err := acc.UpdateSettings(ctx, "clinic", accounts.SettingsChange{Settings: s, ConfirmTwoFactorOff: true}, gatehouse.OperatorActor()); err != nil {
			t.Fatal(err)
		}
		res := login(other.Email)
		disabled := true
		if _, err := b.PatchUser(ctx, other.OrgID, other.ID, gatehouse.UserPatch{Disabled: &disabled}, c.Now()); err != nil {
			t.Fatal(err)
		}
		unauthorized("a disabled user's session", res.Session.PublicID)

		// Past the absolute timeout nothing holds.
		res = login(nurse.Email)
		c.Add(signin.DefaultSessionAbsolute)
		unauthorized("a session past its absolute timeout", res.Session.PublicID)
	})
}
