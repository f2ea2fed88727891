package signin_test

import (
	"context"
	"fmt"
	"net/netip"
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

// Issue 8 items 2 and 4, issue 9 item 4: one password check, counted
// before the hash, on SQLite, PostgreSQL and two PostgreSQL nodes.

// throttleCluster is one or two sign-in services (nodes) on one database, each with
// its own hasher, all counting into one tally.
type throttleCluster struct {
	t        *testing.T
	stores   []*sqlstore.DB
	nodes    []*signin.Service
	verifies atomic.Int64
	binds    atomic.Int64
	clock    *clock
	org      *gatehouse.Organization
	dirOrg   *gatehouse.Organization
	user     *gatehouse.User
}

// tallyHasher counts its Verify calls into the throttleCluster's tally.
type tallyHasher struct {
	*password.Hasher
	n *atomic.Int64
}

func (h tallyHasher) Verify(ctx context.Context, phc, pw string) (bool, error) {
	h.n.Add(1)
	return h.Hasher.Verify(ctx, phc, pw)
}

// countingDirectory answers like internal/ldap (see directory in
// federated_test.go) and is safe for parallel binds.
type countingDirectory struct {
	users map[string]string
	n     *atomic.Int64
}

func (d countingDirectory) Authenticate(_ context.Context, username, pw string) (*signin.Identity, error) {
	d.n.Add(1)
	if want, ok := d.users[username]; !ok || want != pw {
		return nil, &gatehouse.Error{Code: gatehouse.EINVALIDCREDENTIALS, Message: "invalid"}
	}
	return &signin.Identity{Email: username, Name: "Ada"}, nil
}

func (d countingDirectory) Directory(context.Context, *gatehouse.Organization) (signin.Directory, error) {
	return d, nil
}

// eachDatabase runs f on SQLite, on PostgreSQL and on two PostgreSQL nodes.
func eachDatabase(t *testing.T, f func(t *testing.T, c *throttleCluster)) {
	t.Run("sqlite", func(t *testing.T) { f(t, newThrottleCluster(t, testdb.SQLite(t))) })
	t.Run("postgres", func(t *testing.T) { f(t, newThrottleCluster(t, openPostgres(t, testdb.PostgresURL(t)))) })
	t.Run("two postgres nodes", func(t *testing.T) {
		u := testdb.PostgresURL(t)
		f(t, newThrottleCluster(t, openPostgres(t, u), openPostgres(t, u)))
	})
}

func openPostgres(t *testing.T, url string) *sqlstore.DB {
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

func newThrottleCluster(t *testing.T, stores ...*sqlstore.DB) *throttleCluster {
	t.Helper()
	ctx := context.Background()
	c := &throttleCluster{t: t, stores: stores, clock: newClock()}
	for _, db := range stores {
		// Callers wait for the pool rather than being turned away busy:
		// only the throttle may stop one.
		h := testHasher(t, password.HasherConfig{Params: password.TestParams(), Workers: 2, MaxWait: time.Minute})
		dir := countingDirectory{users: map[string]string{"ada@dir.test": "directory password"}, n: &c.binds}
		c.nodes = append(c.nodes, newNode(t, db, withHasher(tallyHasher{h, &c.verifies}), withNow(c.clock.Now), withFederation(dir)))
	}
	s := gatehouse.DefaultPasswordSettings()
	s.EnforceTwoFactor = false
	c.org = &gatehouse.Organization{ID: gatehouse.NewID(), Slug: "clinic", Name: "Clinic", Settings: s, CreatedAt: c.clock.Now(), UpdatedAt: c.clock.Now()}
	s.AuthMethod = gatehouse.AuthLDAP
	c.dirOrg = &gatehouse.Organization{ID: gatehouse.NewID(), Slug: "dir", Name: "Dir", Settings: s, CreatedAt: c.clock.Now(), UpdatedAt: c.clock.Now()}
	for _, org := range []*gatehouse.Organization{c.org, c.dirOrg} {
		if err := stores[0].CreateOrganization(ctx, org); err != nil {
			t.Fatal(err)
		}
	}
	hash, err := password.Hash(testPassword, password.TestParams(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c.user = &gatehouse.User{ID: gatehouse.NewID(), OrgID: c.org.ID, Email: "ann@clinic.test", Role: gatehouse.RoleMember,
		PasswordHash: hash, CreatedAt: c.clock.Now(), UpdatedAt: c.clock.Now()}
	if err := stores[0].CreateUser(ctx, c.user); err != nil {
		t.Fatal(err)
	}
	return c
}

// node returns the i-th caller's node, alternating between the nodes.
func (c *throttleCluster) node(i int) *signin.Service { return c.nodes[i%len(c.nodes)] }

// parallel runs n calls at once and tallies their error codes ("" for nil).
func parallel(n int, call func(i int) error) map[string]int {
	codes := make([]string, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			err := call(i)
			codes[i] = gatehouse.ErrorCode(err)
			if err != nil && codes[i] == "" {
				codes[i] = err.Error()
			}
		})
	}
	close(start)
	wg.Wait()
	tally := map[string]int{}
	for _, c := range codes {
		tally[c]++
	}
	return tally
}

func addr(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{198, 51, byte(100 + i/250), byte(1 + i%250)})
}

func TestFortyParallelWrongPasswordsHashAtMostFive(t *testing.T) {
	eachDatabase(t, func(t *testing.T, c *throttleCluster) {
		tally := parallel(40, func(i int) error {
			// Each from an address of its own: only the account's count
			// can stop them.
			_, err := c.node(i).Login(context.Background(), signin.LoginRequest{Organization: "clinic", Email: "ann@clinic.test",
				Password: fmt.Sprint("guess ", i), ClientIP: addr(i)})
			return err
		})
		if got := c.verifies.Load(); got != 5 {
			t.Errorf("%d passwords were hashed, want 5 (the design's free allowance)", got)
		}
		if tally[gatehouse.EINVALIDCREDENTIALS] != 5 || tally[gatehouse.ETOOMANYATTEMPTS] != 35 {
			t.Errorf("answers %v, want 5 invalid_credentials and 35 too_many_attempts", tally)
		}
		// The right password is held back too, and hashes nothing.
		_, err := c.node(0).Login(context.Background(), signin.LoginRequest{Organization: "clinic", Email: "ann@clinic.test",
			Password: testPassword, ClientIP: addr(99)})
		wantCode(t, err, gatehouse.ETOOMANYATTEMPTS)
		if got := c.verifies.Load(); got != 5 {
			t.Errorf("a throttled attempt hashed: %d hashes", got)
		}
	})
}

func TestFortyParallelGuessesFromOneAddressHashAtMostTwenty(t *testing.T) {
	eachDatabase(t, func(t *testing.T, c *throttleCluster) {
		tally := parallel(40, func(i int) error {
			_, err := c.node(i).Login(context.Background(), signin.LoginRequest{Organization: "clinic", Email: fmt.Sprintf("user%d@clinic.test", i),
				Password: "guess", ClientIP: netip.MustParseAddr("2001:db8:1:2::7")})
			return err
		})
		if got := c.verifies.Load(); got != 20 {
			t.Errorf("%d passwords were hashed, want 20 (the address's allowance)", got)
		}
		if tally[gatehouse.EINVALIDCREDENTIALS] != 20 || tally[gatehouse.ETOOMANYATTEMPTS] != 20 {
			t.Errorf("answers %v, want 20 and 20", tally)
		}
	})
}

func TestFortyParallelWrongDirectoryPasswordsBindAtMostFive(t *testing.T) {
	eachDatabase(t, func(t *testing.T, c *throttleCluster) {
		tally := parallel(40, func(i int) error {
			_, err := c.node(i).Login(context.Background(), signin.LoginRequest{Organization: "dir", Email: "ada@dir.test",
				Password: fmt.Sprint("guess ", i), ClientIP: addr(i)})
			return err
		})
		if got := c.binds.Load(); got != 5 {
			t.Errorf("the directory was asked %d times, want 5", got)
		}
		if tally[gatehouse.EINVALIDCREDENTIALS] != 5 || tally[gatehouse.ETOOMANYATTEMPTS] != 35 {
			t.Errorf("answers %v, want 5 and 35", tally)
		}
	})
}

func TestFortyParallelWrongReauthenticationsHashAtMostFive(t *testing.T) {
	eachDatabase(t, func(t *testing.T, c *throttleCluster) {
		ctx := context.Background()
		res, err := c.node(0).Login(ctx, signin.LoginRequest{Organization: "clinic", Email: "ann@clinic.test", Password: testPassword, ClientIP: addr(0)})
		if err != nil {
			t.Fatal(err)
		}
		before := c.verifies.Load()
		tally := parallel(40, func(i int) error {
			cur, err := c.node(i).Authenticate(ctx, res.SessionToken)
			if err != nil {
				return err
			}
			if i%2 == 0 {
				_, err := c.node(i).StartReauth(ctx, cur, fmt.Sprint("guess ", i), addr(i))
				return err
			}
			_, err = c.node(i).StartContactChange(ctx, cur, gatehouse.ChallengeChangeEmail, "new@clinic.test", fmt.Sprint("guess ", i), addr(i), "")
			return err
		})
		if got := c.verifies.Load() - before; got != 5 {
			t.Errorf("%d passwords were hashed, want 5", got)
		}
		if tally[gatehouse.EINVALIDCREDENTIALS] != 5 || tally[gatehouse.ETOOMANYATTEMPTS] != 35 {
			t.Errorf("answers %v, want 5 and 35", tally)
		}
	})
}

func TestEveryPasswordCheckCountsTheClientAddress(t *testing.T) {
	// The contact-change copy of the check counted failures against the
	// account only; now every check is the same one.
	c := newThrottleCluster(t, testdb.SQLite(t))
	ctx := context.Background()
	ip := netip.MustParseAddr("203.0.113.50")
	res, err := c.node(0).Login(ctx, signin.LoginRequest{Organization: "clinic", Email: "ann@clinic.test", Password: testPassword, ClientIP: ip})
	if err != nil {
		t.Fatal(err)
	}
	cur, err := c.node(0).Authenticate(ctx, res.SessionToken)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		_, err := c.node(0).Login(ctx, signin.LoginRequest{Organization: "clinic", Email: fmt.Sprintf("user%d@clinic.test", i), Password: "guess", ClientIP: ip})
		wantCode(t, err, gatehouse.EINVALIDCREDENTIALS)
	}
	before := c.verifies.Load()
	_, err = c.node(0).StartContactChange(ctx, cur, gatehouse.ChallengeChangeEmail, "new@clinic.test", testPassword, ip, "")
	wantCode(t, err, gatehouse.ETOOMANYATTEMPTS)
	_, err = c.node(0).StartReauth(ctx, cur, testPassword, ip)
	wantCode(t, err, gatehouse.ETOOMANYATTEMPTS)
	if c.verifies.Load() != before {
		t.Error("a throttled check still hashed the password")
	}
}

func TestABusyHasherGivesTheAttemptBack(t *testing.T) {
	c := newThrottleCluster(t, testdb.SQLite(t))
	ctx := context.Background()
	busy := newNode(t, c.stores[0], withHasher(fullPool{}), withNow(c.clock.Now))
	req := signin.LoginRequest{Organization: "clinic", Email: "ann@clinic.test", Password: testPassword, ClientIP: addr(1)}
	for range 10 {
		_, err := busy.Login(ctx, req)
		wantCode(t, err, gatehouse.EBUSY)
	}
	if _, err := c.node(0).Login(ctx, req); err != nil {
		t.Fatalf("after 10 busy answers the right password got %v; nothing was guessed, so nothing should count", err)
	}
}

// failUntilHeld makes wrong-password attempts against ann from addresses
// other than the owner's until n failures were counted, moving the clock past
// each wait as a patient attacker would.
func failUntilHeld(t *testing.T, c *throttleCluster, n int) {
	t.Helper()
	ctx := context.Background()
	for failures, i := 0, 0; failures < n; i++ {
		_, err := c.node(i).Login(ctx, signin.LoginRequest{Organization: "clinic", Email: "ann@clinic.test",
			Password: "attacker guess", ClientIP: addr(i % 200)})
		switch gatehouse.ErrorCode(err) {
		case gatehouse.EINVALIDCREDENTIALS:
			failures++
		case gatehouse.ETOOMANYATTEMPTS:
			c.clock.Add(wantCode(t, err, gatehouse.ETOOMANYATTEMPTS).RetryAfter)
		default:
			t.Fatalf("attacker attempt: %v", err)
		}
	}
}

func TestTheOwnersKnownDeviceSignsInWhileAnAttackerHoldsTheAccount(t *testing.T) {
	eachDatabase(t, func(t *testing.T, c *throttleCluster) {
		ctx := context.Background()
		owner := netip.MustParseAddr("192.0.2.10")
		first, err := c.node(0).Login(ctx, signin.LoginRequest{Organization: "clinic", Email: "ann@clinic.test", Password: testPassword, ClientIP: owner})
		if err != nil {
			t.Fatal(err)
		}
		if len(first.DeviceToken) < 43 || first.DeviceUntil.Sub(c.clock.Now()) != gatehouse.DeviceLifetime {
			t.Fatalf("a right password gave device token %q until %v; want 256 bits for a year", first.DeviceToken, first.DeviceUntil)
		}
		device := []string{first.DeviceToken}

		failUntilHeld(t, c, 100)

		// Without the cookie the owner is held back like anyone...
		_, err = c.node(1).Login(ctx, signin.LoginRequest{Organization: "clinic", Email: "ann@clinic.test", Password: testPassword, ClientIP: owner})
		wantCode(t, err, gatehouse.ETOOMANYATTEMPTS)
		// ...but not from the browser where they signed in before.
		res, err := c.node(1).Login(ctx, signin.LoginRequest{Organization: "clinic", Email: "ann@clinic.test", Password: testPassword,
			ClientIP: owner, DeviceTokens: []string{"junk", first.DeviceToken}})
		if err != nil {
			t.Fatalf("the owner's known device was held back: %v", err)
		}
		if res.SessionToken == "" || res.DeviceToken != first.DeviceToken {
			t.Errorf("sign-in on the known device: session %q, device token %q; want a session and the same device kept", res.SessionToken, res.DeviceToken)
		}
		// The owner's success did not give the attacker fresh guesses.
		_, err = c.node(0).Login(ctx, signin.LoginRequest{Organization: "clinic", Email: "ann@clinic.test", Password: "attacker guess", ClientIP: addr(201)})
		wantCode(t, err, gatehouse.ETOOMANYATTEMPTS)

		// The device has its own allowance, so the cookie is not a way
		// around the bound: 5 wrong passwords on it, then it waits too.
		for i := range 5 {
			_, err := c.node(i).Login(ctx, signin.LoginRequest{Organization: "clinic", Email: "ann@clinic.test", Password: "typo",
				ClientIP: owner, DeviceTokens: device})
			wantCode(t, err, gatehouse.EINVALIDCREDENTIALS)
		}
		_, err = c.node(0).Login(ctx, signin.LoginRequest{Organization: "clinic", Email: "ann@clinic.test", Password: testPassword,
			ClientIP: owner, DeviceTokens: device})
		wantCode(t, err, gatehouse.ETOOMANYATTEMPTS)
	})
}

func TestADeviceIsKnownOnlyForItsOwnUser(t *testing.T) {
	c := newThrottleCluster(t, testdb.SQLite(t))
	ctx := context.Background()
	hash, err := password.Hash("bob's password", password.TestParams(), nil)
	if err != nil {
		t.Fatal(err)
	}
	bob := &gatehouse.User{ID: gatehouse.NewID(), OrgID: c.org.ID, Email: "bob@clinic.test", Role: gatehouse.RoleMember,
		PasswordHash: hash, CreatedAt: c.clock.Now(), UpdatedAt: c.clock.Now()}
	if err := c.stores[0].CreateUser(ctx, bob); err != nil {
		t.Fatal(err)
	}
	res, err := c.node(0).Login(ctx, signin.LoginRequest{Organization: "clinic", Email: "bob@clinic.test", Password: "bob's password", ClientIP: addr(1)})
	if err != nil {
		t.Fatal(err)
	}
	failUntilHeld(t, c, 10)
	// Bob's cookie does not exempt anyone from ann's account count.
	_, err = c.node(0).Login(ctx, signin.LoginRequest{Organization: "clinic", Email: "ann@clinic.test", Password: testPassword,
		ClientIP: addr(1), DeviceTokens: []string{res.DeviceToken}})
	wantCode(t, err, gatehouse.ETOOMANYATTEMPTS)
	// A wrong password makes no device.
	_, err = c.node(0).Login(ctx, signin.LoginRequest{Organization: "clinic", Email: "bob@clinic.test", Password: "wrong", ClientIP: addr(2)})
	wantCode(t, err, gatehouse.EINVALIDCREDENTIALS)
}
