package mailqueue_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/mailqueue"
	"github.com/gatehousehq/gatehouse/internal/sqlstore"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

// postman records deliveries; fail makes the next deliveries fail as a mail
// server would. The SMTP sender itself is tested against real servers in
// internal/mail and cmd/gatehouse.
type postman struct {
	mu        sync.Mutex
	notices   []gatehouse.Notice
	codes     int
	fail      int
	delivered chan gatehouse.Notice
}

func (p *postman) SendCode(context.Context, gatehouse.CodeMessage) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.codes++
	return nil
}

func (p *postman) Notify(_ context.Context, n gatehouse.Notice) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail > 0 {
		p.fail--
		return errors.New("451 try again later")
	}
	p.notices = append(p.notices, n)
	if p.delivered != nil {
		p.delivered <- n
	}
	return nil
}

func (p *postman) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.notices)
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newQueue(t *testing.T, db *sqlstore.DB, p *postman, c *clock) *mailqueue.Queue {
	t.Helper()
	q, err := mailqueue.New(mailqueue.Config{Store: db, Messenger: p, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func newClock() *clock { return &clock{t: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)} }

var notice = gatehouse.Notice{Kind: gatehouse.NoticePasswordReset, To: "ann@example.com", OrgName: "Acme",
	At: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC), ClientIP: netip.MustParseAddr("2001:db8::7"),
	Link: "https://sign-in.example.test/reset-password?token=abc", Lifetime: time.Hour}

// onBothDatabases runs f on SQLite and on PostgreSQL; open opens a node on
// the test's database (on PostgreSQL a new one each call).
func onBothDatabases(t *testing.T, f func(t *testing.T, open func() *sqlstore.DB)) {
	t.Run("sqlite", func(t *testing.T) {
		db := testdb.SQLite(t)
		f(t, func() *sqlstore.DB { return db })
	})
	t.Run("postgres", func(t *testing.T) {
		u := testdb.PostgresURL(t)
		f(t, func() *sqlstore.DB {
			db, err := sqlstore.Open(t.Context(), u)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if err := db.Migrate(t.Context()); err != nil {
				t.Fatal(err)
			}
			return db
		})
	})
}

func TestNoticesWaitInTheQueueAndCodesDoNot(t *testing.T) {
	db, p, c := testdb.SQLite(t), &postman{}, newClock()
	q := newQueue(t, db, p, c)
	ctx := t.Context()
	if err := q.Notify(ctx, notice); err != nil {
		t.Fatal(err)
	}
	if p.count() != 0 {
		t.Fatal("Notify delivered at once instead of queueing")
	}
	if err := q.SendCode(ctx, gatehouse.CodeMessage{Channel: gatehouse.OTPEmail, To: "ann@example.com", Code: "123456"}); err != nil || p.codes != 1 {
		t.Errorf("a code was not delivered inline: %v, %d", err, p.codes)
	}
	if n, err := q.Drain(ctx); err != nil || n != 1 {
		t.Fatalf("Drain = %d, %v; want 1, nil", n, err)
	}
	if p.notices[0].Link != notice.Link || p.notices[0].ClientIP != notice.ClientIP || !p.notices[0].At.Equal(notice.At) ||
		p.notices[0].Lifetime != notice.Lifetime {
		t.Errorf("delivered %+v, want %+v", p.notices[0], notice)
	}
	if n, err := db.CountMail(ctx); err != nil || n != 0 {
		t.Errorf("%d rows (%v) left after delivery: a sent link must not stay in the database", n, err)
	}
}

func TestAFailedDeliveryIsRetriedAfterTheBackoff(t *testing.T) {
	db, p, c := testdb.SQLite(t), &postman{fail: 1}, newClock()
	q := newQueue(t, db, p, c)
	ctx := t.Context()
	if err := q.Notify(ctx, notice); err != nil {
		t.Fatal(err)
	}
	if n, err := q.Drain(ctx); err != nil || n != 0 {
		t.Fatalf("Drain with the mail server failing = %d, %v; want 0, nil", n, err)
	}
	c.Add(mailqueue.Backoff(1) - time.Millisecond)
	if n, err := q.Drain(ctx); err != nil || n != 0 {
		t.Errorf("Drain before the back-off = %d, %v; want 0", n, err)
	}
	c.Add(time.Millisecond)
	if n, err := q.Drain(ctx); err != nil || n != 1 || p.count() != 1 {
		t.Errorf("Drain after the back-off = %d, %v; want the notice delivered", n, err)
	}
}

func TestANoticeIsDroppedAfterMaxAttempts(t *testing.T) {
	db, p, c := testdb.SQLite(t), &postman{fail: 1000}, newClock()
	q := newQueue(t, db, p, c)
	ctx := t.Context()
	if err := q.Notify(ctx, notice); err != nil {
		t.Fatal(err)
	}
	for i := range mailqueue.DefaultMaxAttempts {
		if _, err := q.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		c.Add(mailqueue.Backoff(i + 1))
	}
	if n, err := db.CountMail(ctx); err != nil || n != 0 {
		t.Errorf("%d rows (%v) left after %d failed attempts, want 0", n, err, mailqueue.DefaultMaxAttempts)
	}
	if got := mailqueue.Backoff(100); got != mailqueue.MaxRetry {
		t.Errorf("Backoff(100) = %v, want the cap %v", got, mailqueue.MaxRetry)
	}
}

func TestTheQueueIsBounded(t *testing.T) {
	db, p, c := testdb.SQLite(t), &postman{}, newClock()
	q, err := mailqueue.New(mailqueue.Config{Store: db, Messenger: p, Now: c.Now, MaxQueued: 2})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		err := q.Notify(t.Context(), notice)
		if want := i < 2; (err == nil) != want {
			t.Errorf("Notify #%d: %v", i+1, err)
		}
		if i == 2 && !errors.Is(err, mailqueue.ErrFull) {
			t.Errorf("Notify past the bound: %v, want ErrFull", err)
		}
	}
}

func TestTwoNodesDeliverEachNoticeOnce(t *testing.T) {
	onBothDatabases(t, func(t *testing.T, open func() *sqlstore.DB) {
		c := newClock()
		a, b := open(), open()
		pa, pb := &postman{}, &postman{}
		qa, qb := newQueue(t, a, pa, c), newQueue(t, b, pb, c)
		const n = 40
		for i := range n {
			m := notice
			m.To = fmt.Sprintf("user%d@example.com", i)
			if err := []*mailqueue.Queue{qa, qb}[i%2].Notify(t.Context(), m); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		errs := make([]error, 8)
		start := make(chan struct{})
		for i := range errs {
			wg.Go(func() { <-start; _, errs[i] = []*mailqueue.Queue{qa, qb}[i%2].Drain(t.Context()) })
		}
		close(start)
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		got := map[string]int{}
		for _, p := range []*postman{pa, pb} {
			for _, m := range p.notices {
				got[m.To]++
			}
		}
		for to, k := range got {
			if k != 1 {
				t.Errorf("%s got %d e-mails, want 1", to, k)
			}
		}
		if len(got) != n {
			t.Errorf("%d of %d notices were delivered", len(got), n)
		}
	})
}

func TestRunDeliversWhatIsQueuedAndStopsWithItsContext(t *testing.T) {
	db, c := testdb.SQLite(t), newClock()
	p := &postman{delivered: make(chan gatehouse.Notice, 1)}
	q := newQueue(t, db, p, c)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { q.Run(ctx); close(done) }()
	if err := q.Notify(t.Context(), notice); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-p.delivered:
		if m.To != notice.To {
			t.Errorf("delivered to %s", m.To)
		}
	case <-t.Context().Done():
		t.Fatal("the worker never delivered")
	}
	cancel()
	<-done
}
