package signin_test

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/password"
	"github.com/gatehousehq/gatehouse/internal/signin"
	"github.com/gatehousehq/gatehouse/internal/sqlstore"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

const testPassword = "correct horse battery staple"

// clock is a settable time source.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time      { return c.t }
func (c *clock) Add(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock               { return &clock{t: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)} }

// inbox records what would have been delivered; fail makes deliveries fail
// as a provider would. The real senders are tested against real servers in
// internal/mail, internal/sms and cmd/gatehouse.
type inbox struct {
	mu      sync.Mutex
	codes   []gatehouse.CodeMessage
	notices []gatehouse.Notice
	fail    bool
}

func (b *inbox) SendCode(ctx context.Context, m gatehouse.CodeMessage) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fail {
		return errors.New("provider said no")
	}
	b.codes = append(b.codes, m)
	return nil
}

func (b *inbox) Notify(ctx context.Context, n gatehouse.Notice) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.notices = append(b.notices, n)
	return nil
}

func (b *inbox) lastCode(t testing.TB) gatehouse.CodeMessage {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.codes) == 0 {
		t.Fatal("no code was sent")
	}
	return b.codes[len(b.codes)-1]
}

func (b *inbox) count() (codes, notices int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.codes), len(b.notices)
}

// countingHasher counts the hashes the service asks for.
type countingHasher struct {
	*password.Hasher
	verifies atomic.Int64
	hashes   atomic.Int64
}

func (h *countingHasher) Verify(ctx context.Context, phc, pw string) (bool, error) {
	h.verifies.Add(1)
	return h.Hasher.Verify(ctx, phc, pw)
}

func (h *countingHasher) Hash(ctx context.Context, pw string) (string, error) {
	h.hashes.Add(1)
	return h.Hasher.Hash(ctx, pw)
}

// faultyStore wraps the real store and fails the named operations, to show
// that every failure closes the door.
type faultyStore struct {
	*sqlstore.DB
	fail map[string]bool
}

var errDown = errors.New("database is down")

func (f *faultyStore) check(op string) error {
	if f.fail[op] {
		return errDown
	}
	return nil
}

func (f *faultyStore) OrganizationBySlug(ctx context.Context, slug string) (*gatehouse.Organization, error) {
	if err := f.check("OrganizationBySlug"); err != nil {
		return nil, err
	}
	return f.DB.OrganizationBySlug(ctx, slug)
}

func (f *faultyStore) OrganizationByID(ctx context.Context, id string) (*gatehouse.Organization, error) {
	if err := f.check("OrganizationByID"); err != nil {
		return nil, err
	}
	return f.DB.OrganizationByID(ctx, id)
}

func (f *faultyStore) UserByEmail(ctx context.Context, orgID, email string) (*gatehouse.User, error) {
	if err := f.check("UserByEmail"); err != nil {
		return nil, err
	}
	return f.DB.UserByEmail(ctx, orgID, email)
}

func (f *faultyStore) UserByID(ctx context.Context, orgID, id string) (*gatehouse.User, error) {
	if err := f.check("UserByID"); err != nil {
		return nil, err
	}
	return f.DB.UserByID(ctx, orgID, id)
}

func (f *faultyStore) CreateSession(ctx context.Context, s *gatehouse.Session) error {
	if err := f.check("CreateSession"); err != nil {
		return err
	}
	return f.DB.CreateSession(ctx, s)
}

func (f *faultyStore) StartSession(ctx context.Context, s *gatehouse.Session, audit *gatehouse.AuditEvent, st gatehouse.SessionStart) error {
	if err := f.check("StartSession"); err != nil {
		return err
	}
	return f.DB.StartSession(ctx, s, audit, st)
}

func (f *faultyStore) SessionByTokenHash(ctx context.Context, h []byte) (*gatehouse.Session, error) {
	if err := f.check("SessionByTokenHash"); err != nil {
		return nil, err
	}
	return f.DB.SessionByTokenHash(ctx, h)
}

func (f *faultyStore) SessionAccount(ctx context.Context, h []byte) (*gatehouse.Session, *gatehouse.Organization, *gatehouse.User, error) {
	if err := f.check("SessionAccount"); err != nil {
		return nil, nil, nil, err
	}
	return f.DB.SessionAccount(ctx, h)
}

func (f *faultyStore) SessionAccountByPublicID(ctx context.Context, id string) (*gatehouse.Session, *gatehouse.Organization, *gatehouse.User, error) {
	if err := f.check("SessionAccountByPublicID"); err != nil {
		return nil, nil, nil, err
	}
	return f.DB.SessionAccountByPublicID(ctx, id)
}

func (f *faultyStore) SessionTokenHashIn(ctx context.Context, hashes [][]byte) ([]byte, error) {
	if err := f.check("SessionTokenHashIn"); err != nil {
		return nil, err
	}
	return f.DB.SessionTokenHashIn(ctx, hashes)
}

func (f *faultyStore) ReserveAttempt(ctx context.Context, now time.Time, w time.Duration, keys ...gatehouse.ThrottleKey) (*gatehouse.Reservation, time.Duration, error) {
	if err := f.check("ReserveAttempt"); err != nil {
		return nil, 0, err
	}
	return f.DB.ReserveAttempt(ctx, now, w, keys...)
}

func (f *faultyStore) ReleaseAttempt(ctx context.Context, r *gatehouse.Reservation) error {
	if err := f.check("ReleaseAttempt"); err != nil {
		return err
	}
	return f.DB.ReleaseAttempt(ctx, r)
}

func (f *faultyStore) FindDevice(ctx context.Context, orgID, userID string, hashes [][]byte, now time.Time) (*gatehouse.Device, error) {
	if err := f.check("FindDevice"); err != nil {
		return nil, err
	}
	return f.DB.FindDevice(ctx, orgID, userID, hashes, now)
}

func (f *faultyStore) ClearFailures(ctx context.Context, key string) error {
	if err := f.check("ClearFailures"); err != nil {
		return err
	}
	return f.DB.ClearFailures(ctx, key)
}

func (f *faultyStore) AppendAudit(ctx context.Context, e *gatehouse.AuditEvent) error {
	if err := f.check("AppendAudit"); err != nil {
		return err
	}
	return f.DB.AppendAudit(ctx, e)
}

type fixture struct {
	inbox  *inbox
	t      *testing.T
	db     *sqlstore.DB
	store  *faultyStore
	hasher *countingHasher
	clock  *clock
	svc    *signin.Service
	org    *gatehouse.Organization
	user   *gatehouse.User
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db := testdb.SQLite(t)
	f := fixtureOn(t, db)
	f.svc = f.node()
	settings := gatehouse.DefaultPasswordSettings()
	settings.EnforceTwoFactor = false
	f.org = f.addOrg("clinic", settings)
	f.user = f.addUser(f.org, "staff@clinic.test", testPassword)
	return f
}

func (f *fixture) addOrg(slug string, s gatehouse.PasswordSettings) *gatehouse.Organization {
	f.t.Helper()
	org := &gatehouse.Organization{ID: gatehouse.NewID(), Slug: slug, Name: slug, Settings: s, CreatedAt: f.clock.Now(), UpdatedAt: f.clock.Now()}
	if err := f.db.CreateOrganization(context.Background(), org); err != nil {
		f.t.Fatal(err)
	}
	return org
}

func (f *fixture) addUser(org *gatehouse.Organization, email, pw string) *gatehouse.User {
	f.t.Helper()
	hash, err := f.hasher.Hasher.Hash(context.Background(), pw)
	if err != nil {
		f.t.Fatal(err)
	}
	u := &gatehouse.User{ID: gatehouse.NewID(), OrgID: org.ID, Email: email, Role: gatehouse.RoleMember,
		PasswordHash: hash, CreatedAt: f.clock.Now(), UpdatedAt: f.clock.Now()}
	if err := f.db.CreateUser(context.Background(), u); err != nil {
		f.t.Fatal(err)
	}
	return u
}

func (f *fixture) login(slug, email, pw string) (*signin.LoginResult, error) {
	return f.svc.Login(context.Background(), signin.LoginRequest{
		Organization: slug, Email: email, Password: pw, ClientIP: netip.MustParseAddr("198.51.100.7"), UserAgent: "test",
	})
}

func wantCode(t *testing.T, err error, code string) *gatehouse.Error {
	t.Helper()
	var ge *gatehouse.Error
	if !errors.As(err, &ge) || ge.Code != code {
		t.Fatalf("got error %v, want code %s", err, code)
	}
	return ge
}

// wantReason checks that ge says reason with args, so pages can say it in
// any language.
func wantReason(t *testing.T, ge *gatehouse.Error, reason string, args ...any) {
	t.Helper()
	if ge.Reason != reason || !slices.Equal(ge.Args, args) {
		t.Errorf("%s error: reason %q, args %v; want %q, %v", ge.Code, ge.Reason, ge.Args, reason, args)
	}
}

func TestLoginStartsASessionWhenTwoFactorIsNotEnforced(t *testing.T) {
	f := newFixture(t)
	res, err := f.login("clinic", "  Staff@Clinic.test ", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := res.Decision.Outcome, gatehouse.TwoFactorNotEnforced; got != want {
		t.Errorf("outcome = %q, want %q", got, want)
	}
	if len(res.SessionToken) < 43 {
		t.Errorf("session token %q is shorter than 256 bits", res.SessionToken)
	}
	if string(res.Session.TokenHash) == res.SessionToken {
		t.Error("the session is stored under its token, not a hash of it")
	}
	cur, err := f.svc.Authenticate(context.Background(), res.SessionToken)
	if err != nil {
		t.Fatal(err)
	}
	if cur.User.ID != f.user.ID || cur.Organization.ID != f.org.ID {
		t.Errorf("session belongs to %s/%s, want %s/%s", cur.Organization.ID, cur.User.ID, f.org.ID, f.user.ID)
	}
	events, err := f.db.ListAudit(context.Background(), f.org.ID, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) == 0 || events[0].Event != gatehouse.AuditLoginSucceeded || events[0].Reason != gatehouse.TwoFactorNotEnforced {
		t.Errorf("latest audit event = %+v, want login.succeeded with reason not_enforced", events)
	}
}

func TestEveryFailureGetsTheSameAnswerAfterOneHash(t *testing.T) {
	f := newFixture(t)
	disabled := f.addUser(f.org, "gone@clinic.test", testPassword)
	disabled.Disabled = true
	if err := f.db.UpdateUser(context.Background(), disabled); err != nil {
		t.Fatal(err)
	}
	other := f.addOrg("other", f.org.Settings)
	f.addUser(other, "elsewhere@other.test", testPassword)

	cases := []struct {
		name, slug, email, pw string
	}{
		{"a wrong password", "clinic", "staff@clinic.test", "wrong password here"},
		{"an unknown e-mail", "clinic", "nobody@clinic.test", testPassword},
		{"a disabled user with the right password", "clinic", "gone@clinic.test", testPassword},
		{"a user of another organization", "clinic", "elsewhere@other.test", testPassword},
		{"an over-long password", "clinic", "staff@clinic.test", string(make([]byte, 5000))},
	}
	var first *gatehouse.Error
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := f.hasher.verifies.Load()
			_, err := f.login(tc.slug, tc.email, tc.pw)
			ge := wantCode(t, err, gatehouse.EINVALIDCREDENTIALS)
			if first == nil {
				first = ge
			} else if ge.Message != first.Message {
				t.Errorf("message %q differs from %q", ge.Message, first.Message)
			}
			if got := f.hasher.verifies.Load() - before; got != 1 {
				t.Errorf("ran %d password hashes, want exactly 1", got)
			}
		})
	}
	// An organization that does not exist gets its own answer, naming
	// the field, after the same one hash: which organizations exist is
	// no secret, and nothing is said of any e-mail address.
	t.Run("an unknown organization", func(t *testing.T) {
		before := f.hasher.verifies.Load()
		_, err := f.login("nowhere", "staff@clinic.test", testPassword)
		ge := wantCode(t, err, gatehouse.EINVALIDCREDENTIALS)
		wantReason(t, ge, gatehouse.ReasonNoSuchOrganization)
		if ge.Field != "organization" || ge.Message == first.Message {
			t.Errorf("unknown organization: %+v, want its own message naming the field", ge)
		}
		if got := f.hasher.verifies.Load() - before; got != 1 {
			t.Errorf("ran %d password hashes, want exactly 1", got)
		}
	})
}

// People type their clinic's name, not its slug: the sign-in finds the one
// organization of that name in any case, and counts failures under its
// slug, so typing the name instead of the slug gets no fresh allowance.
func TestSignInByTheOrganizationsName(t *testing.T) {
	f := newFixture(t)
	named := func(slug, name string) *gatehouse.Organization {
		t.Helper()
		org := &gatehouse.Organization{ID: gatehouse.NewID(), Slug: slug, Name: name, Settings: f.org.Settings, CreatedAt: f.clock.Now(), UpdatedAt: f.clock.Now()}
		if err := f.db.CreateOrganization(context.Background(), org); err != nil {
			t.Fatal(err)
		}
		return org
	}
	kallio := named("kallio", "Eläinklinikka Kallio")
	f.addUser(kallio, "vet@kallio.test", testPassword)
	named("twin-a", "Twin Clinic")
	named("twin-b", "twin clinic")
	for _, typed := range []string{"Eläinklinikka Kallio", "  eläinklinikka KALLIO "} {
		res, err := f.login(typed, "vet@kallio.test", testPassword)
		if err != nil || res.Organization == nil || res.Organization.ID != kallio.ID {
			t.Errorf("sign-in typing %q: %+v, %v; want Kallio", typed, res, err)
		}
	}
	_, err := f.login("Twin Clinic", "vet@kallio.test", testPassword)
	wantReason(t, wantCode(t, err, gatehouse.EINVALIDCREDENTIALS), gatehouse.ReasonNoSuchOrganization)

	for range 5 {
		_, err := f.login("kallio", "vet@kallio.test", "wrong password here")
		wantCode(t, err, gatehouse.EINVALIDCREDENTIALS)
	}
	_, err = f.login("Eläinklinikka Kallio", "vet@kallio.test", testPassword)
	wantCode(t, err, gatehouse.ETOOMANYATTEMPTS)
}

func TestPasswordFailuresBackOffPerAccount(t *testing.T) {
	for _, email := range []string{"staff@clinic.test", "nobody@clinic.test"} {
		t.Run("for "+email, func(t *testing.T) {
			f := newFixture(t)
			for i := range 5 {
				_, err := f.login("clinic", email, "wrong password here")
				wantCode(t, err, gatehouse.EINVALIDCREDENTIALS)
				_ = i
			}
			before := f.hasher.verifies.Load()
			_, err := f.login("clinic", email, testPassword)
			ge := wantCode(t, err, gatehouse.ETOOMANYATTEMPTS)
			if ge.RetryAfter != 30*time.Second {
				t.Errorf("RetryAfter = %v, want 30s", ge.RetryAfter)
			}
			wantReason(t, ge, gatehouse.ReasonSignInThrottled, 30*time.Second)
			if f.hasher.verifies.Load() != before {
				t.Error("a throttled attempt still hashed the password")
			}
			f.clock.Add(31 * time.Second)
			_, err = f.login("clinic", email, "wrong password again")
			wantCode(t, err, gatehouse.EINVALIDCREDENTIALS)
			_, err = f.login("clinic", email, testPassword)
			ge = wantCode(t, err, gatehouse.ETOOMANYATTEMPTS)
			if ge.RetryAfter != time.Minute {
				t.Errorf("after the 6th failure RetryAfter = %v, want 1m (doubled)", ge.RetryAfter)
			}
		})
	}
}

func TestASuccessClearsTheAccountsFailures(t *testing.T) {
	f := newFixture(t)
	for range 4 {
		f.login("clinic", "staff@clinic.test", "wrong password here")
	}
	if _, err := f.login("clinic", "staff@clinic.test", testPassword); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		f.login("clinic", "staff@clinic.test", "wrong password here")
	}
	if _, err := f.login("clinic", "staff@clinic.test", testPassword); err != nil {
		t.Fatalf("after a success the count should start again, got %v", err)
	}
}

func TestPasswordFailuresBackOffPerClientAddress(t *testing.T) {
	f := newFixture(t)
	for i := range 20 {
		_, err := f.login("clinic", "guess"+string(rune('a'+i))+"@clinic.test", "wrong password here")
		wantCode(t, err, gatehouse.EINVALIDCREDENTIALS)
	}
	_, err := f.login("clinic", "staff@clinic.test", testPassword)
	wantCode(t, err, gatehouse.ETOOMANYATTEMPTS)
}

func TestDecisionBranchesReachLogin(t *testing.T) {
	f := newFixture(t)
	s := gatehouse.DefaultPasswordSettings()
	s.SkipNetworks = []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}
	org := f.addOrg("office", s)
	f.addUser(org, "desk@office.test", testPassword)
	res, err := f.login("office", "desk@office.test", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if res.Decision.Outcome != gatehouse.TwoFactorAllowedNetwork || res.Decision.Network.String() != "198.51.100.0/24" {
		t.Errorf("decision = %+v, want allowed_network by 198.51.100.0/24", res.Decision)
	}
	events, err := f.db.ListAudit(context.Background(), org.ID, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if events[0].Reason != gatehouse.TwoFactorAllowedNetwork || events[0].Detail["network"] != "198.51.100.0/24" {
		t.Errorf("audit = %+v, want the matching network recorded", events[0])
	}
}

func TestAnyStoreFailureSignsNobodyIn(t *testing.T) {
	// StartSession saves the session with its audit in one transaction
	// (its rollback is the store's conformance test).
	for _, op := range []string{"ReserveAttempt", "ReleaseAttempt", "OrganizationBySlug", "UserByEmail", "ClearFailures", "StartSession"} {
		t.Run("when "+op+" fails", func(t *testing.T) {
			f := newFixture(t)
			f.store.fail[op] = true
			res, err := f.login("clinic", "staff@clinic.test", testPassword)
			wantCode(t, err, gatehouse.EUNAVAILABLE)
			if res != nil {
				t.Error("got a result alongside the error")
			}
			f.store.fail[op] = false
			n, _ := f.db.DeleteExpiredSessions(context.Background(), f.clock.Now().Add(365*24*time.Hour), f.clock.Now())
			if n != 0 {
				t.Errorf("%d sessions were left behind", n)
			}
		})
	}
	t.Run("when ReserveAttempt fails on a wrong password, nothing is hashed", func(t *testing.T) {
		f := newFixture(t)
		f.store.fail["ReserveAttempt"] = true
		_, err := f.login("clinic", "staff@clinic.test", "wrong password here")
		wantCode(t, err, gatehouse.EUNAVAILABLE)
		if n := f.hasher.verifies.Load(); n != 0 {
			t.Errorf("%d hashes ran without the attempt being counted", n)
		}
	})
	t.Run("when FindDevice fails for a browser with a device cookie", func(t *testing.T) {
		f := newFixture(t)
		f.store.fail["FindDevice"] = true
		_, err := f.svc.Login(context.Background(), signin.LoginRequest{Organization: "clinic", Email: "staff@clinic.test",
			Password: testPassword, DeviceTokens: []string{"some-token"}})
		wantCode(t, err, gatehouse.EUNAVAILABLE)
	})
	// A session under the current key is read with its organization and
	// user at once (SessionAccount); one under an old key is looked up by
	// every form of its token, re-keyed, then completed by two more reads.
	t.Run("when SessionAccount fails on a session check", func(t *testing.T) {
		f := newFixture(t)
		res, err := f.login("clinic", "staff@clinic.test", testPassword)
		if err != nil {
			t.Fatal(err)
		}
		f.store.fail["SessionAccount"] = true
		_, err = f.svc.Authenticate(context.Background(), res.SessionToken)
		wantCode(t, err, gatehouse.EUNAVAILABLE)
	})
	t.Run("when SessionAccountByPublicID fails on an application's session check", func(t *testing.T) {
		f := newFixture(t)
		res, err := f.login("clinic", "staff@clinic.test", testPassword)
		if err != nil {
			t.Fatal(err)
		}
		cur, err := f.svc.Authenticate(context.Background(), res.SessionToken)
		if err != nil {
			t.Fatal(err)
		}
		f.store.fail["SessionAccountByPublicID"] = true
		_, err = f.svc.CheckSession(context.Background(), cur.Session.PublicID)
		wantCode(t, err, gatehouse.EUNAVAILABLE)
	})
	for _, op := range []string{"SessionTokenHashIn", "SessionByTokenHash", "OrganizationByID", "UserByID"} {
		t.Run("when "+op+" fails on a check of a session under an old key", func(t *testing.T) {
			f := newFixture(t)
			a := keyNode(t, f, secretA)
			res, err := a.Login(context.Background(), signin.LoginRequest{Organization: "clinic", Email: "staff@clinic.test", Password: testPassword})
			if err != nil || res.SessionToken == "" {
				t.Fatalf("login under A: %+v %v", res, err)
			}
			ba := keyNode(t, f, secretB, secretA)
			f.store.fail[op] = true
			_, err = ba.Authenticate(context.Background(), res.SessionToken)
			wantCode(t, err, gatehouse.EUNAVAILABLE)
			f.store.fail[op] = false
			if _, err := ba.Authenticate(context.Background(), res.SessionToken); err != nil {
				t.Errorf("once the database is back: %v, want the session", err)
			}
		})
	}
}

func TestSessionsTimeOut(t *testing.T) {
	ctx := context.Background()
	t.Run("after 12 hours idle", func(t *testing.T) {
		f := newFixture(t)
		res, _ := f.login("clinic", "staff@clinic.test", testPassword)
		f.clock.Add(11 * time.Hour)
		if _, err := f.svc.Authenticate(ctx, res.SessionToken); err != nil {
			t.Fatalf("after 11 hours: %v", err)
		}
		f.clock.Add(11 * time.Hour) // used 11 hours ago: still alive
		if _, err := f.svc.Authenticate(ctx, res.SessionToken); err != nil {
			t.Fatalf("11 hours after last use: %v", err)
		}
		f.clock.Add(12*time.Hour + time.Second)
		_, err := f.svc.Authenticate(ctx, res.SessionToken)
		wantCode(t, err, gatehouse.EUNAUTHORIZED)
	})
	t.Run("after 7 days however busy", func(t *testing.T) {
		f := newFixture(t)
		res, _ := f.login("clinic", "staff@clinic.test", testPassword)
		for range 7 * 24 / 6 {
			f.clock.Add(6 * time.Hour)
			f.svc.Authenticate(ctx, res.SessionToken)
		}
		_, err := f.svc.Authenticate(ctx, res.SessionToken)
		wantCode(t, err, gatehouse.EUNAUTHORIZED)
	})
	t.Run("when the user is disabled", func(t *testing.T) {
		f := newFixture(t)
		res, _ := f.login("clinic", "staff@clinic.test", testPassword)
		f.user.Disabled = true
		if err := f.db.UpdateUser(ctx, f.user); err != nil {
			t.Fatal(err)
		}
		_, err := f.svc.Authenticate(ctx, res.SessionToken)
		wantCode(t, err, gatehouse.EUNAUTHORIZED)
	})
}

func TestANewSignInReplacesTheSessionItCameWith(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	first, err := f.login("clinic", "staff@clinic.test", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	second, err := f.svc.Login(ctx, signin.LoginRequest{Organization: "clinic", Email: "staff@clinic.test",
		Password: testPassword, PreviousSession: first.SessionToken})
	if err != nil {
		t.Fatal(err)
	}
	if second.SessionToken == first.SessionToken {
		t.Fatal("the session id did not change")
	}
	_, err = f.svc.Authenticate(ctx, first.SessionToken)
	wantCode(t, err, gatehouse.EUNAUTHORIZED)
}

func TestLogoutEndsTheSession(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	res, _ := f.login("clinic", "staff@clinic.test", testPassword)
	if err := f.svc.Logout(ctx, res.SessionToken, netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	_, err := f.svc.Authenticate(ctx, res.SessionToken)
	wantCode(t, err, gatehouse.EUNAUTHORIZED)
	if err := f.svc.Logout(ctx, res.SessionToken, netip.Addr{}); err != nil {
		t.Errorf("a second logout: %v, want nil", err)
	}
}

func TestAWeakerHashIsReplacedAtSignIn(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	weak := password.TestParams()
	old, err := password.Hash(testPassword, weak, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.db.SetPasswordHash(ctx, f.org.ID, f.user.ID, old, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	stronger := weak
	stronger.Time++
	h := testHasher(t, password.HasherConfig{Params: stronger})
	svc := f.node(withStore(f.db), withHasher(h), withSecret(make([]byte, 32)))
	if _, err := svc.Login(ctx, signin.LoginRequest{Organization: "clinic", Email: "staff@clinic.test", Password: testPassword}); err != nil {
		t.Fatal(err)
	}
	u, err := f.db.UserByID(ctx, f.org.ID, f.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	if u.PasswordHash == old || h.NeedsRehash(u.PasswordHash) {
		t.Errorf("hash %q was not raised to the new parameters", u.PasswordHash)
	}
	if _, err := svc.Login(ctx, signin.LoginRequest{Organization: "clinic", Email: "staff@clinic.test", Password: testPassword}); err != nil {
		t.Errorf("the new hash does not verify: %v", err)
	}
}

func TestAFullHashingPoolAnswersBusy(t *testing.T) {
	f := newFixture(t)
	// The pool's own waiting is tested in internal/password; here a hasher
	// whose pool is full shows that its answer reaches the caller as is.
	svc := f.node(withStore(f.db), withHasher(fullPool{}), withSecret(make([]byte, 32)))
	_, err := svc.Login(context.Background(), signin.LoginRequest{Organization: "clinic", Email: "staff@clinic.test", Password: testPassword})
	ge := wantCode(t, err, gatehouse.EBUSY)
	if ge.RetryAfter <= 0 {
		t.Error("busy answer has no RetryAfter")
	}
}

type fullPool struct{}

func (fullPool) Verify(context.Context, string, string) (bool, error) {
	return false, &gatehouse.Error{Code: gatehouse.EBUSY, Message: "busy", RetryAfter: time.Second}
}
func (fullPool) Hash(context.Context, string) (string, error) { return "", errors.New("not used") }
func (fullPool) NeedsRehash(string) bool                      { return false }
