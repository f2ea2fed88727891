package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/netip"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/password"
	"github.com/gatehousehq/gatehouse/internal/phone"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

// signIns is figure 1: password sign-ins of users without 2FA against raw
// argon2id hashes of the same parameters, at the same concurrency.
func (r *runner) signIns(ctx context.Context, rep *report) error {
	fmt.Fprintln(r.log, "figure 1: password sign-ins against raw argon2id ...")
	var next atomic.Int64
	signIn := func(ctx context.Context, _ int) error {
		a := r.pop.open[int(next.Add(1))%len(r.pop.open)]
		res, err := expect(ctx, r.client, r.loginCall(a, ""), http.StatusOK)
		if err != nil {
			return err
		}
		return wantStatus(res, "authenticated")
	}
	hash := func(context.Context, int) error {
		_, err := password.Hash(benchPassword, r.params, rand.Reader)
		return err
	}
	s, err := r.meter.measure(r.o.rounds, nil, func(int) (round, error) {
		p := load(ctx, r.o.clients, r.o.seconds, signIn)
		if err := failed("password sign-ins", p); err != nil {
			return round{}, err
		}
		h := load(ctx, r.o.clients, r.o.seconds, hash)
		if err := failed("raw argon2id", h); err != nil {
			return round{}, err
		}
		return round{product: p.perSecond(), reference: h.perSecond()}, nil
	})
	if err != nil {
		return err
	}
	rep.rate(fmt.Sprintf("password sign-ins (%d clients)", r.o.clients), "raw argon2id", "≥ 0.90", s)
	return nil
}

// sessions is figure 2: GET /api/v1/session with a valid cookie against
// the bare handler, the same request to both.
func (r *runner) sessions(ctx context.Context, rep *report) error {
	fmt.Fprintln(r.log, "figure 2: session checks against the bare handler ...")
	jar := make([]string, r.o.clients)
	for i := range jar {
		res, err := expect(ctx, r.client, r.loginCall(r.pop.open[i%len(r.pop.open)], ""), http.StatusOK)
		if err != nil {
			return err
		}
		if jar[i] = cookies(res); jar[i] == "" {
			return fmt.Errorf("sign-in set no cookie: %s", res.body)
		}
	}
	check := func(base string) func(context.Context, int) error {
		return func(ctx context.Context, c int) error {
			_, err := expect(ctx, r.client, call{method: "GET", url: base + "/api/v1/session", cookie: jar[c]}, http.StatusOK)
			return err
		}
	}
	s, err := r.meter.measure(r.o.rounds, nil, func(int) (round, error) {
		return r.versusBare("session checks", check(r.base), check(r.bare))
	})
	if err != nil {
		return err
	}
	rep.rate("session checks (GET /api/v1/session)", "bare handler", "≥ 0.50", s)
	return nil
}

// versusBare runs product and then reference for a round each.
func (r *runner) versusBare(what string, product, bare func(context.Context, int) error) (round, error) {
	ctx := context.Background()
	p := load(ctx, r.o.clients, r.o.seconds, product)
	if err := failed(what, p); err != nil {
		return round{}, err
	}
	b := load(ctx, r.o.clients, r.o.seconds, bare)
	if err := failed(what+", bare handler", b); err != nil {
		return round{}, err
	}
	return round{product: p.perSecond(), reference: b.perSecond()}, nil
}

// pending is a prepared sign-in waiting for its code.
type pending struct{ token, code string }

// codes is figure 3: POST /api/v1/login/verify of prepared pending
// sign-ins against the bare handler. Before each round, o.codes pending
// sign-ins are made in this process by the sign-in service on the same
// database and keys as the server (prepareCodes), so the round is
// verifications only; it ends early when they are used up.
func (r *runner) codes(ctx context.Context, rep *report) error {
	fmt.Fprintln(r.log, "figure 3: code verifications against the bare handler ...")
	prep, codes, err := r.prepService()
	if err != nil {
		return err
	}
	var queue chan pending
	prepare := func(attempt int) error {
		queue = make(chan pending, r.o.codes)
		var wg sync.WaitGroup
		var first atomic.Pointer[error]
		var next atomic.Int64
		for range r.o.clients {
			wg.Go(func() {
				for {
					k := int(next.Add(1)) - 1
					if k >= r.o.codes || first.Load() != nil {
						return
					}
					a := r.pop.pool[(attempt*r.o.codes+k)%len(r.pop.pool)]
					p, err := prepareCode(ctx, prep, codes, a, r.nextAddr())
					if err != nil {
						first.CompareAndSwap(nil, &err)
						return
					}
					queue <- p
				}
			})
		}
		wg.Wait()
		if e := first.Load(); e != nil {
			return fmt.Errorf("prepare pending sign-ins: %w", *e)
		}
		return nil
	}
	verify := func(ctx context.Context, _ int) error {
		var p pending
		select {
		case p = <-queue:
		default:
			return errNoWork
		}
		res, err := expect(ctx, r.client, r.verifyCall(r.base, p), http.StatusOK)
		if err != nil {
			return err
		}
		return wantStatus(res, "authenticated")
	}
	bare := func(ctx context.Context, _ int) error {
		_, err := expect(ctx, r.client, r.verifyCall(r.bare, pending{token: "0123456789abcdef0123456789abcdef", code: "123456"}), http.StatusOK)
		return err
	}
	s, err := r.meter.measure(r.o.rounds, prepare, func(int) (round, error) {
		return r.versusBare("code verifications", verify, bare)
	})
	if err != nil {
		return err
	}
	rep.rate("code verifications (POST /api/v1/login/verify)", "bare handler", "≥ 0.10", s)
	return nil
}

func (r *runner) verifyCall(base string, p pending) call {
	return call{method: "POST", url: base + "/api/v1/login/verify", cookie: "gatehouse_pending=" + p.token,
		body: jsonBody(map[string]string{"code": p.code})}
}

// prepService is a sign-in service on the server's database and keys with
// an in-process messenger, so the benchmark knows the codes it sends. Its
// hasher has the cheap test parameters of bench-codes' users: preparing a
// pending sign-in costs no real hash.
func (r *runner) prepService() (*signin.Service, *codeBox, error) {
	h, err := password.NewHasher(password.HasherConfig{Params: password.TestParams(), Workers: r.o.clients})
	if err != nil {
		return nil, nil, err
	}
	box := &codeBox{codes: map[string]string{}}
	svc, err := signin.New(signin.Config{Store: r.store, Hasher: h, Keys: r.keys, Messenger: box, NormalizePhone: phone.Normalize})
	return svc, box, err
}

func prepareCode(ctx context.Context, svc *signin.Service, box *codeBox, a account, ip netip.Addr) (pending, error) {
	res, err := svc.Login(ctx, signin.LoginRequest{Organization: a.org, Email: a.email, Password: benchPassword, ClientIP: ip})
	if err != nil {
		return pending{}, err
	}
	if res.Pending == nil || res.Pending.Status != signin.StatusCodeSent {
		return pending{}, fmt.Errorf("sign-in of %s: no code sent", a.email)
	}
	if err := res.Pending.Undelivered(); err != nil {
		return pending{}, err
	}
	code, ok := box.take(a.email)
	if !ok {
		return pending{}, fmt.Errorf("sign-in of %s: no code delivered", a.email)
	}
	return pending{token: res.Pending.Token, code: code}, nil
}

// codeBox is the in-process messenger: it keeps the last code per address.
type codeBox struct {
	mu    sync.Mutex
	codes map[string]string
}

func (b *codeBox) SendCode(_ context.Context, m gatehouse.CodeMessage) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.codes[m.To] = m.Code
	return nil
}

func (b *codeBox) Notify(context.Context, gatehouse.Notice) error { return nil }

func (b *codeBox) take(to string) (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, ok := b.codes[to]
	delete(b.codes, to)
	return c, ok
}

// twoFactor is figure 4: full e-mail 2FA sign-ins one after another (1
// client), each code read from the dev outbox in the database, against one
// raw hash at a time.
func (r *runner) twoFactor(ctx context.Context, rep *report) error {
	fmt.Fprintln(r.log, "figure 4: full e-mail 2FA sign-ins, 1 client ...")
	var next atomic.Int64
	s, err := r.meter.measure(r.o.rounds, nil, func(int) (round, error) {
		var pw, vf, total, hash []time.Duration
		deadline := time.Now().Add(r.o.seconds)
		for time.Now().Before(deadline) {
			a := r.pop.twoFactor[int(next.Add(1))%len(r.pop.twoFactor)]
			p, v, err := r.signInWithCode(ctx, a)
			if err != nil {
				return round{}, err
			}
			pw, vf, total = append(pw, p), append(vf, v), append(total, p+v)
		}
		deadline = time.Now().Add(r.o.seconds)
		for time.Now().Before(deadline) {
			t0 := time.Now()
			if _, err := password.Hash(benchPassword, r.params, rand.Reader); err != nil {
				return round{}, err
			}
			hash = append(hash, time.Since(t0))
		}
		return round{product: durationsMedian(total), reference: durationsMedian(hash),
			password: durationsMedian(pw), verify: durationsMedian(vf)}, nil
	})
	if err != nil {
		return err
	}
	rep.latency("full e-mail 2FA sign-in, 1 client, p50", "≤ 35 ms", s)
	return nil
}

var sixDigits = regexp.MustCompile(`\b\d{6}\b`)

// signInWithCode signs a in with the password and the code from the
// outbox, and returns how long each step took.
func (r *runner) signInWithCode(ctx context.Context, a account) (pw, vf time.Duration, err error) {
	last, err := r.store.ListOutboxMessages(ctx, 1)
	if err != nil {
		return 0, 0, err
	}
	var after int64
	if len(last) > 0 {
		after = last[0].ID
	}
	from := r.nextAddr().String()
	t0 := time.Now()
	res, err := expect(ctx, r.client, r.loginCall(a, from), http.StatusOK)
	pw = time.Since(t0)
	if err != nil {
		return 0, 0, err
	}
	if err := wantStatus(res, signin.StatusCodeSent); err != nil {
		return 0, 0, err
	}
	code, err := r.outboxCode(ctx, a.email, after)
	if err != nil {
		return 0, 0, err
	}
	t1 := time.Now()
	res, err = expect(ctx, r.client, call{method: "POST", url: r.base + "/api/v1/login/verify", cookie: cookies(res), forwarded: from,
		body: jsonBody(map[string]string{"code": code})}, http.StatusOK)
	vf = time.Since(t1)
	if err != nil {
		return 0, 0, err
	}
	return pw, vf, wantStatus(res, "authenticated")
}

// outboxCode waits (up to 10 s) for the code to the address in an outbox
// message newer than after.
func (r *runner) outboxCode(ctx context.Context, to string, after int64) (string, error) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		msgs, err := r.store.ListOutboxMessages(ctx, 50)
		if err != nil {
			return "", err
		}
		for _, m := range msgs {
			if m.ID > after && m.To == to && m.Channel == "email" {
				if code := sixDigits.FindString(m.Subject + "\n" + m.Body); code != "" {
					return code, nil
				}
			}
		}
		time.Sleep(time.Millisecond)
	}
	return "", fmt.Errorf("no code for %s in the outbox after 10 s", to)
}

// flood is figure 5: o.flood sign-ins at once, each on its own connection,
// of users without 2FA (each user in at most 4 of them while users/2 is at
// least flood/4, under the account's 5 free attempts); the server's peak
// RSS meanwhile, and how each was answered.
func (r *runner) flood(ctx context.Context, rep *report) error {
	fmt.Fprintf(r.log, "figure 5: %d simultaneous sign-ins ...\n", r.o.flood)
	pid := r.server.cmd.Process.Pid
	if err := resetPeakRSS(pid); err != nil {
		return fmt.Errorf("reset the server's peak RSS: %w", err)
	}
	client := newClient(r.o.flood)
	defer client.CloseIdleConnections()
	var ok, busy, other atomic.Int64
	var first atomic.Pointer[string]
	// Each sign-in comes from an address of its own, as a crowd of users
	// would: from one address, all but the free allowance of parallel
	// attempts are refused with 429 before any hash (docs/design.md §3).
	from := make([]string, r.o.flood)
	for i := range from {
		from[i] = r.nextAddr().String()
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range r.o.flood {
		wg.Go(func() {
			<-start
			res, err := do(ctx, client, r.loginCall(r.pop.open[i%len(r.pop.open)], from[i]))
			switch {
			case err == nil && res.status == http.StatusOK:
				ok.Add(1)
			case err == nil && res.status == http.StatusServiceUnavailable && res.header.Get("Retry-After") != "":
				busy.Add(1)
			default:
				other.Add(1)
				msg := fmt.Sprintf("%d %s", res.status, res.body)
				if err != nil {
					msg = err.Error()
				}
				first.CompareAndSwap(nil, &msg)
			}
		})
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	took := time.Since(t0)
	peak, err := peakRSS(pid)
	if err != nil {
		return err
	}
	f := flooded{n: r.o.flood, ok: ok.Load(), busy: busy.Load(), other: other.Load(), peak: peak, took: took}
	if p := first.Load(); p != nil {
		f.first = *p
	}
	rep.flood(f)
	return nil
}
