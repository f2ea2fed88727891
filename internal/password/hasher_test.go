package password

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
)

func newTestHasher(t *testing.T, cfg HasherConfig) *Hasher {
	t.Helper()
	if cfg.Params == (Params{}) {
		cfg.Params = TestParams()
	}
	h, err := NewHasher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// countHashes makes h count the argon2id computations it runs from now on.
func countHashes(h *Hasher) *atomic.Int64 {
	var n atomic.Int64
	h.testHookHash = func() { n.Add(1) }
	return &n
}

// holdAllSlots takes every slot of h, as if that many hashes were running,
// and returns a function that gives them back.
func holdAllSlots(t *testing.T, h *Hasher) (release func()) {
	t.Helper()
	n := cap(h.slots)
	for range n {
		if err := h.acquire(context.Background()); err != nil {
			t.Fatalf("holding a slot: %v", err)
		}
	}
	return func() {
		for range n {
			h.release()
		}
	}
}

func wantBusy(t *testing.T, err error) {
	t.Helper()
	var e *gatehouse.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v, want a *gatehouse.Error with code %s", err, gatehouse.EBUSY)
	}
	if e.Code != gatehouse.EBUSY {
		t.Errorf("error code = %q, want %q", e.Code, gatehouse.EBUSY)
	}
	if e.RetryAfter < time.Second {
		t.Errorf("RetryAfter = %s, want at least a second", e.RetryAfter)
	}
	if e.Message == "" {
		t.Error("the busy error has no message")
	}
}

func TestNewHasher(t *testing.T) {
	t.Run("zero workers and wait take the defaults", func(t *testing.T) {
		h := newTestHasher(t, HasherConfig{})
		if got, want := cap(h.slots), runtime.NumCPU(); got != want {
			t.Errorf("workers = %d, want %d", got, want)
		}
		if got, want := h.maxWait, DefaultMaxWait; got != want {
			t.Errorf("max wait = %s, want %s", got, want)
		}
	})
	t.Run("the dummy hash has the hasher's parameters", func(t *testing.T) {
		p := TestParams()
		p.Time = 2
		h := newTestHasher(t, HasherConfig{Params: p})
		if got := h.dummy.params; got != p {
			t.Errorf("dummy params = %+v, want %+v", got, p)
		}
	})

	bad := []struct {
		name string
		cfg  HasherConfig
	}{
		{"negative workers are refused", HasherConfig{Params: TestParams(), Workers: -1}},
		{"a negative wait is refused", HasherConfig{Params: TestParams(), MaxWait: -time.Second}},
		{"invalid parameters are refused", HasherConfig{Params: Params{Memory: 64, Time: 0, Threads: 1, KeyLen: 32, SaltLen: 16}}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewHasher(tt.cfg); err == nil {
				t.Errorf("NewHasher(%+v) error = nil, want an error", tt.cfg)
			}
		})
	}
}

func TestHasherHashAndVerify(t *testing.T) {
	ctx := context.Background()
	h := newTestHasher(t, HasherConfig{Workers: 2})
	stored, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		password string
		want     bool
	}{
		{"the right password matches", "correct horse battery staple", true},
		{"a wrong password does not match", "Tr0ub4dor&3", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := h.Verify(ctx, stored, tt.password)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Verify(%q) = %v, want %v", tt.password, got, tt.want)
			}
		})
	}

	t.Run("a fresh hash needs no rehash", func(t *testing.T) {
		if h.NeedsRehash(stored) {
			t.Error("NeedsRehash = true, want false")
		}
	})
	t.Run("a hasher with more memory asks for a rehash", func(t *testing.T) {
		p := TestParams()
		p.Memory *= 2
		stronger := newTestHasher(t, HasherConfig{Params: p})
		if !stronger.NeedsRehash(stored) {
			t.Error("NeedsRehash = false, want true")
		}
		if ok, err := stronger.Verify(ctx, stored, "correct horse battery staple"); err != nil || !ok {
			t.Errorf("Verify of the older hash = %v, %v; want true, nil", ok, err)
		}
	})
	t.Run("every slot is given back", func(t *testing.T) {
		if got := len(h.slots); got != 0 {
			t.Errorf("%d slots still held, want 0", got)
		}
	})
}

func TestHasherVerifyWithoutStoredHash(t *testing.T) {
	ctx := context.Background()
	h := newTestHasher(t, HasherConfig{Workers: 1})
	hashes := countHashes(h)

	for _, password := range []string{"correct horse battery staple", ""} {
		before := hashes.Load()
		ok, err := h.Verify(ctx, "", password)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			t.Errorf("Verify(\"\", %q) = true, want false", password)
		}
		if got := hashes.Load() - before; got != 1 {
			t.Errorf("Verify(\"\", %q) ran %d hashes, want 1 (the dummy)", password, got)
		}
	}
}

func TestHasherVerifyInvalidHash(t *testing.T) {
	h := newTestHasher(t, HasherConfig{Workers: 1})
	hashes := countHashes(h)
	ok, err := h.Verify(context.Background(), "$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "x")
	if !errors.Is(err, ErrInvalidHash) {
		t.Errorf("Verify error = %v, want ErrInvalidHash", err)
	}
	if ok {
		t.Error("Verify = true, want false")
	}
	if got := hashes.Load(); got != 0 {
		t.Errorf("%d hashes ran, want 0", got)
	}
}

func TestHasherNeverRunsMoreThanWorkers(t *testing.T) {
	const workers, callers = 2, 10
	h := newTestHasher(t, HasherConfig{Workers: workers, MaxWait: time.Minute})

	var running, most atomic.Int64
	entered := make(chan struct{}, callers)
	proceed := make(chan struct{})
	h.testHookHash = func() {
		n := running.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		entered <- struct{}{}
		<-proceed
		running.Add(-1)
	}

	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for i := range callers {
		wg.Go(func() {
			var err error
			if i%2 == 0 {
				_, err = h.Hash(context.Background(), "correct horse battery staple")
			} else {
				_, err = h.Verify(context.Background(), "", "correct horse battery staple")
			}
			errs <- err
		})
	}
	// Let the hashes through one at a time: every time one finishes,
	// exactly one waiter may start.
	for range workers {
		<-entered
	}
	for range callers - workers {
		proceed <- struct{}{}
		<-entered
	}
	for range workers {
		proceed <- struct{}{}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("a caller failed: %v", err)
		}
	}
	if got := most.Load(); got != workers {
		t.Errorf("at most %d hashes ran at once, want exactly %d", got, workers)
	}
	if got := len(h.slots); got != 0 {
		t.Errorf("%d slots still held, want 0", got)
	}
}

func TestHasherBusy(t *testing.T) {
	const maxWait = 5 * time.Millisecond
	var (
		mu    sync.Mutex
		waits []time.Duration
	)
	h := newTestHasher(t, HasherConfig{Workers: 2, MaxWait: maxWait, ObserveWait: func(d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		waits = append(waits, d)
	}})
	release := holdAllSlots(t, h)
	stored := mustHash(t, "correct horse battery staple", TestParams())
	hashes := countHashes(h)
	mu.Lock()
	waits = nil // forget the slots the test took
	mu.Unlock()

	t.Run("a caller that finds every slot taken gets busy from Hash", func(t *testing.T) {
		_, err := h.Hash(context.Background(), "correct horse battery staple")
		wantBusy(t, err)
	})
	t.Run("a caller that finds every slot taken gets busy from Verify", func(t *testing.T) {
		ok, err := h.Verify(context.Background(), stored, "correct horse battery staple")
		wantBusy(t, err)
		if ok {
			t.Error("Verify = true, want false")
		}
	})
	t.Run("a busy caller runs no hash", func(t *testing.T) {
		if got := hashes.Load(); got != 0 {
			t.Errorf("%d hashes ran, want 0", got)
		}
	})
	t.Run("each wait is observed and lasted at least MaxWait", func(t *testing.T) {
		mu.Lock()
		defer mu.Unlock()
		if len(waits) != 2 {
			t.Fatalf("observed %d waits, want 2", len(waits))
		}
		for _, d := range waits {
			if d < maxWait {
				t.Errorf("observed wait %s, want at least %s", d, maxWait)
			}
		}
	})

	release()
	t.Run("once the slots are free hashing works again", func(t *testing.T) {
		ok, err := h.Verify(context.Background(), stored, "correct horse battery staple")
		if err != nil || !ok {
			t.Errorf("Verify = %v, %v; want true, nil", ok, err)
		}
		if got := hashes.Load(); got != 1 {
			t.Errorf("%d hashes ran, want 1", got)
		}
	})
}

func TestHasherContext(t *testing.T) {
	h := newTestHasher(t, HasherConfig{Workers: 1, MaxWait: time.Minute})
	hashes := countHashes(h)

	t.Run("a cancelled context gets busy even when a slot is free", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := h.Hash(ctx, "correct horse battery staple")
		wantBusy(t, err)
	})
	t.Run("a context that ends while waiting gets busy before MaxWait", func(t *testing.T) {
		release := holdAllSlots(t, h)
		defer release()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := h.Verify(ctx, "", "correct horse battery staple")
		wantBusy(t, err)
		if elapsed := time.Since(start); elapsed >= time.Minute {
			t.Errorf("Verify returned after %s, want well before MaxWait", elapsed)
		}
	})
	t.Run("no hash ran", func(t *testing.T) {
		if got := hashes.Load(); got != 0 {
			t.Errorf("%d hashes ran, want 0", got)
		}
	})
}
