package signin_test

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/password"
	"github.com/gatehousehq/gatehouse/internal/signin"
	"github.com/gatehousehq/gatehouse/internal/sqlstore"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

// Races against the counters that bound an attacker (issue 8, items 3 and
// 5), through the service, on SQLite, PostgreSQL and two PostgreSQL nodes.

const racers = 40

// gate is a Messenger whose deliveries all wait until every racer has
// either reached a delivery or finished, then go at once: the widest window
// a check-then-record counter can have, without a sleep.
type gate struct {
	mu       sync.Mutex
	total    int
	entered  int
	finished int
	opened   bool
	open     chan struct{}
	codes    []gatehouse.CodeMessage
}

func newGate(total int) *gate { return &gate{total: total, open: make(chan struct{})} }

func (g *gate) check() {
	if !g.opened && g.entered+g.finished >= g.total {
		g.opened = true
		close(g.open)
	}
}

func (g *gate) SendCode(ctx context.Context, m gatehouse.CodeMessage) error {
	g.mu.Lock()
	g.codes = append(g.codes, m)
	g.entered++
	g.check()
	g.mu.Unlock()
	select {
	case <-g.open:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *gate) Notify(context.Context, gatehouse.Notice) error { return nil }

// done is called by each racer when its call returns.
func (g *gate) done() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.finished++
	g.check()
}

func (g *gate) sent() []gatehouse.CodeMessage {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]gatehouse.CodeMessage(nil), g.codes...)
}

// cluster is one database and the sign-in services of the nodes on it.
type cluster struct {
	db    *sqlstore.DB
	nodes []*signin.Service
	clock *clock
}

func (c *cluster) node(i int) *signin.Service { return c.nodes[i%len(c.nodes)] }

// newCluster builds one sign-in service per database handle (nodes), all
// on one clock, delivering through m.
func newCluster(t *testing.T, m gatehouse.Messenger, dbs []*sqlstore.DB) *cluster {
	t.Helper()
	h := testHasher(t, password.HasherConfig{Params: password.TestParams(), MaxWait: time.Minute})
	c := &cluster{db: dbs[0], clock: newClock()}
	for _, db := range dbs {
		// All racers reach the send caps under test, not the throttle.
		c.nodes = append(c.nodes, newNode(t, db, withHasher(h), withNow(c.clock.Now), withMessenger(m), unthrottled()))
	}
	return c
}

// forEachStore runs f on SQLite (one node), on PostgreSQL (one node) and on
// two PostgreSQL nodes sharing one schema.
func forEachStore(t *testing.T, f func(t *testing.T, dbs []*sqlstore.DB)) {
	pg := func(t *testing.T) (string, *sqlstore.DB) {
		url := testdb.PostgresURL(t)
		db, err := sqlstore.Open(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if err := db.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		return url, db
	}
	t.Run("sqlite", func(t *testing.T) { f(t, []*sqlstore.DB{testdb.SQLite(t)}) })
	t.Run("postgres", func(t *testing.T) {
		_, db := pg(t)
		f(t, []*sqlstore.DB{db})
	})
	t.Run("two postgres nodes", func(t *testing.T) {
		url, a := pg(t)
		b, err := sqlstore.Open(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		f(t, []*sqlstore.DB{a, b})
	})
}

// addStrict adds an organization enforcing 2FA by method with one user
// (phone "" for none) and returns the user and a login request for them.
func (c *cluster) addStrict(t *testing.T, method gatehouse.OTPMethod, userPhone string) (*gatehouse.User, signin.LoginRequest) {
	t.Helper()
	ctx := t.Context()
	s := gatehouse.DefaultPasswordSettings()
	s.OTPMethod = method
	org := &gatehouse.Organization{ID: gatehouse.NewID(), Slug: "strict", Name: "Strict", Settings: s, CreatedAt: c.clock.Now(), UpdatedAt: c.clock.Now()}
	if err := c.db.CreateOrganization(ctx, org); err != nil {
		t.Fatal(err)
	}
	h, err := password.NewHasher(password.HasherConfig{Params: password.TestParams()})
	if err != nil {
		t.Fatal(err)
	}
	hash, err := h.Hash(ctx, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	u := &gatehouse.User{ID: gatehouse.NewID(), OrgID: org.ID, Email: "nurse@strict.test", Phone: userPhone, Role: gatehouse.RoleMember,
		PasswordHash: hash, CreatedAt: c.clock.Now(), UpdatedAt: c.clock.Now()}
	if err := c.db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	return u, signin.LoginRequest{Organization: "strict", Email: u.Email, Password: testPassword,
		ClientIP: netip.MustParseAddr("2001:db8:1:2::9"), UserAgent: "Mozilla/5.0"}
}

// tally counts results by error code ("" for success).
type tally struct {
	mu sync.Mutex
	n  map[string]int
}

func (r *tally) add(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == nil {
		r.n = map[string]int{}
	}
	code := ""
	if err != nil {
		code = gatehouse.ErrorCode(err)
		if code == "" {
			code = err.Error()
		}
	}
	r.n[code]++
}

func TestParallelSignInsDeliverNoMoreCodesThanTheCap(t *testing.T) {
	forEachStore(t, func(t *testing.T, dbs []*sqlstore.DB) {
		g := newGate(racers)
		c := newCluster(t, g, dbs)
		_, req := c.addStrict(t, gatehouse.OTPEmail, "")
		var wg sync.WaitGroup
		var results tally
		for i := range racers {
			svc := c.node(i)
			wg.Go(func() {
				defer g.done()
				_, err := svc.Login(context.Background(), req)
				results.add(err)
			})
		}
		wg.Wait()
		if n := len(g.sent()); n != gatehouse.MaxSendsPerUser || results.n[""] != n ||
			results.n[gatehouse.ERESENDTOOSOON] != racers-gatehouse.MaxSendsPerUser {
			t.Errorf("%d parallel sign-ins of one user delivered %d codes (results %v); want exactly %d, the rest refused",
				racers, n, results.n, gatehouse.MaxSendsPerUser)
		}
	})
}

// TestParallelPhonePromptsSendNoMoreSMSThanTheCap: the phone prompt of one
// pending sign-in, sent 40 times at once with a number of the attacker's
// choosing (toll fraud), sends at most the per-user cap of SMS.
func TestParallelPhonePromptsSendNoMoreSMSThanTheCap(t *testing.T) {
	forEachStore(t, func(t *testing.T, dbs []*sqlstore.DB) {
		g := newGate(racers)
		c := newCluster(t, g, dbs)
		_, req := c.addStrict(t, gatehouse.OTPSMS, "")
		res, err := c.node(0).Login(t.Context(), req)
		if err != nil || res.Pending == nil || res.Pending.Status != signin.StatusPhoneRequired {
			t.Fatalf("login = %+v, %v; want phone_required", res, err)
		}
		var wg sync.WaitGroup
		var results tally
		for i := range racers {
			svc := c.node(i)
			wg.Go(func() {
				defer g.done()
				_, err := svc.Phone(context.Background(), res.Pending.Token, "+358 40 123 4567", req.ClientIP)
				results.add(err)
			})
		}
		wg.Wait()
		sent := g.sent()
		if n := len(sent); n < 1 || n > gatehouse.MaxSendsPerUser || results.n[""] != n {
			t.Errorf("%d parallel phone prompts sent %d SMS (results %v); want 1 to %d", racers, n, results.n, gatehouse.MaxSendsPerUser)
		}
		for _, m := range sent {
			if m.Channel != gatehouse.OTPSMS || m.To != "+358401234567" {
				t.Errorf("sent %+v", m)
			}
		}
	})
}

// TestParallelWrongCodesNeverPassTheUsersBound: a user one wrong code from
// the lock (NIST's 100) with five pending sign-ins, whose own bounds would
// allow 25 more tries, gets exactly one more from 40 parallel wrong codes.
func TestParallelWrongCodesNeverPassTheUsersBound(t *testing.T) {
	forEachStore(t, func(t *testing.T, dbs []*sqlstore.DB) {
		box := &inbox{}
		c := newCluster(t, box, dbs)
		u, req := c.addStrict(t, gatehouse.OTPEmail, "")
		long := c.clock.Now().Add(-2 * gatehouse.OTPMaxWait)
		for range gatehouse.OTPLockFailures - 1 {
			if _, err := c.db.RecordOTPFailure(t.Context(), u.OrgID, u.ID, long); err != nil {
				t.Fatal(err)
			}
		}
		var tokens []string
		for i := range gatehouse.MaxSendsPerUser {
			res, err := c.node(i).Login(t.Context(), req)
			if err != nil || res.Pending == nil {
				t.Fatalf("sign-in %d: %+v, %v", i+1, res, err)
			}
			tokens = append(tokens, res.Pending.Token)
		}
		var wg sync.WaitGroup
		var results tally
		for i := range racers {
			svc, token := c.node(i), tokens[i%len(tokens)]
			wg.Go(func() {
				_, err := svc.Verify(context.Background(), signin.VerifyRequest{PendingToken: token, Code: fmt.Sprintf("9%05d", i), ClientIP: req.ClientIP})
				results.add(err)
			})
		}
		wg.Wait()
		got, err := c.db.UserByID(t.Context(), u.OrgID, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.OTPFailures != gatehouse.OTPLockFailures || results.n[gatehouse.EINVALIDCODE] != 1 ||
			results.n[gatehouse.ETOOMANYATTEMPTS] != racers-1 {
			t.Errorf("after %d parallel wrong codes the user is at %d (results %v); want exactly %d, one counted",
				racers, got.OTPFailures, results.n, gatehouse.OTPLockFailures)
		}
		// Locked: not even the right code gets in.
		_, err = c.node(0).Verify(t.Context(), signin.VerifyRequest{PendingToken: tokens[0], Code: box.lastCode(t).Code, ClientIP: req.ClientIP})
		if gatehouse.ErrorCode(err) != gatehouse.ETOOMANYATTEMPTS {
			t.Errorf("the right code after the lock: %v", err)
		}
	})
}

func (f *faultyStore) ReserveSend(ctx context.Context, r gatehouse.SendRecord, since time.Time, caps gatehouse.SendCaps) (int64, gatehouse.SendCounts, bool, error) {
	if err := f.check("ReserveSend"); err != nil {
		return 0, gatehouse.SendCounts{}, false, err
	}
	return f.DB.ReserveSend(ctx, r, since, caps)
}

func (f *faultyStore) CancelSend(ctx context.Context, id int64) error {
	if err := f.check("CancelSend"); err != nil {
		return err
	}
	return f.DB.CancelSend(ctx, id)
}

func (f *faultyStore) TakeCode(ctx context.Context, orgID, userID, challengeID string, hash []byte, now time.Time, maxFailures int) (gatehouse.CodeAttempt, error) {
	if err := f.check("TakeCode"); err != nil {
		return gatehouse.CodeAttempt{}, err
	}
	return f.DB.TakeCode(ctx, orgID, userID, challengeID, hash, now, maxFailures)
}

func TestTheCountersFailClosed(t *testing.T) {
	ctx := context.Background()
	t.Run("when the send cannot be reserved, nothing is delivered", func(t *testing.T) {
		f := newFixture(t)
		_, _, req := f.strict(nil)
		f.store.fail["ReserveSend"] = true
		res, err := f.svc.Login(ctx, req)
		wantCode(t, err, gatehouse.EUNAVAILABLE)
		if n, _ := f.inbox.count(); n != 0 || res != nil {
			t.Errorf("%d codes sent, result %+v", n, res)
		}
	})
	t.Run("when a failed delivery cannot be given back, it still counts", func(t *testing.T) {
		f := newFixture(t)
		_, u, req := f.strict(nil)
		f.inbox.fail = true
		f.store.fail["CancelSend"] = true
		res, err := f.svc.Login(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		wantCode(t, res.Pending.Undelivered(), gatehouse.EDELIVERYFAILED)
		if c, _ := f.db.CountSends(ctx, u.ID, u.Email, req.ClientIP, f.clock.Now().Add(-time.Hour)); c.User != 1 {
			t.Errorf("%d sends counted, want the one that could not be given back", c.User)
		}
	})
	t.Run("a resend refused as too soon counts nothing", func(t *testing.T) {
		f := newFixture(t)
		_, u, req := f.strict(nil)
		res, err := f.svc.Login(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			_, err = f.svc.Resend(ctx, res.Pending.Token, req.ClientIP)
			wantCode(t, err, gatehouse.ERESENDTOOSOON)
		}
		if c, _ := f.db.CountSends(ctx, u.ID, u.Email, req.ClientIP, f.clock.Now().Add(-time.Hour)); c.User != 1 {
			t.Errorf("%d sends counted, want 1", c.User)
		}
	})
	t.Run("when the code cannot be taken, nobody is signed in and nothing is counted", func(t *testing.T) {
		f := newFixture(t)
		org, u, req := f.strict(nil)
		res, err := f.svc.Login(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		f.store.fail["TakeCode"] = true
		for _, code := range []string{f.inbox.lastCode(t).Code, wrongOf(f.inbox.lastCode(t).Code)} {
			done, err := f.verify(res.Pending.Token, code)
			wantCode(t, err, gatehouse.EUNAVAILABLE)
			if done != nil {
				t.Errorf("signed in: %+v", done)
			}
		}
		if got, _ := f.db.UserByID(ctx, org.ID, u.ID); got.OTPFailures != 0 {
			t.Errorf("%d failures counted", got.OTPFailures)
		}
		f.store.fail["TakeCode"] = false
		if _, err := f.verify(res.Pending.Token, f.inbox.lastCode(t).Code); err != nil {
			t.Errorf("the code after the store came back: %v", err)
		}
	})
}

// TestParallelContactChangesSendNoMoreCodesThanTheCap: a signed-in user's
// 40 parallel changes of phone number send at most the per-user cap.
func TestParallelContactChangesSendNoMoreCodesThanTheCap(t *testing.T) {
	forEachStore(t, func(t *testing.T, dbs []*sqlstore.DB) {
		g := newGate(racers)
		c := newCluster(t, g, dbs)
		u, req := c.addStrict(t, gatehouse.OTPEmail, "")
		org, err := c.db.OrganizationByID(t.Context(), u.OrgID)
		if err != nil {
			t.Fatal(err)
		}
		cur := &signin.Current{Organization: org, User: u, Session: &gatehouse.Session{TokenHash: []byte("the signed-in session")}}
		var wg sync.WaitGroup
		var results tally
		for i := range racers {
			svc := c.node(i)
			wg.Go(func() {
				defer g.done()
				ch, err := svc.StartContactChange(context.Background(), cur, gatehouse.ChallengeChangePhone,
					fmt.Sprintf("+358 40 123 45%02d", i), testPassword, req.ClientIP, "Mozilla/5.0")
				if err == nil {
					err = ch.Pending.Undelivered() // a reached cap: the change lives, its code did not go out
				}
				results.add(err)
			})
		}
		wg.Wait()
		if n := len(g.sent()); n != gatehouse.MaxSendsPerUser || results.n[""] != n ||
			results.n[gatehouse.ERESENDTOOSOON] != racers-gatehouse.MaxSendsPerUser {
			t.Errorf("%d parallel contact changes sent %d codes (results %v); want exactly %d", racers, n, results.n, gatehouse.MaxSendsPerUser)
		}
	})
}
