package password

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// DefaultMaxWait is how long a caller waits for a free hashing slot unless
// HasherConfig says otherwise.
const DefaultMaxWait = 2 * time.Second

// busyRetryAfter is the Retry-After of an EBUSY answer: long enough for the
// queue in front of the caller to drain, short enough for a person to retry.
const busyRetryAfter = 3 * time.Second

// HasherConfig configures a Hasher. Zero fields take their defaults.
type HasherConfig struct {
	// Params are the parameters of new hashes; the zero value means
	// DefaultParams.
	Params Params
	// Workers is how many hashes may run at once; 0 means runtime.NumCPU().
	Workers int
	// MaxWait is how long a caller waits for a free slot before it gets
	// EBUSY; 0 means DefaultMaxWait.
	MaxWait time.Duration
	// Rand is the source of salts; nil means crypto/rand.
	Rand io.Reader
	// ObserveWait, when set, is called with how long each caller waited for
	// a slot, whether it got one or not (for a metrics histogram).
	ObserveWait func(time.Duration)
}

// Hasher hashes and verifies passwords with at most Workers hashes running at
// once, so that a flood of sign-ins cannot run the server out of memory. It is
// safe for concurrent use.
type Hasher struct {
	params      Params
	slots       chan struct{} // a semaphore: one element per running hash
	maxWait     time.Duration
	rand        io.Reader
	observeWait func(time.Duration)
	dummy       phc // what Verify checks when there is no stored hash

	// testHookHash, when set by a test, runs in a held slot right before
	// each hash computation.
	testHookHash func()
}

// NewHasher validates cfg, fills in the defaults and returns a Hasher. It
// computes one hash (the dummy for unknown users) before it returns.
func NewHasher(cfg HasherConfig) (*Hasher, error) {
	if cfg.Params == (Params{}) {
		cfg.Params = DefaultParams()
	}
	if err := cfg.Params.Validate(); err != nil {
		return nil, fmt.Errorf("password: new hasher: %w", err)
	}
	switch {
	case cfg.Workers < 0:
		return nil, fmt.Errorf("password: new hasher: workers %d is negative", cfg.Workers)
	case cfg.Workers == 0:
		cfg.Workers = runtime.NumCPU()
	}
	switch {
	case cfg.MaxWait < 0:
		return nil, fmt.Errorf("password: new hasher: max wait %s is negative", cfg.MaxWait)
	case cfg.MaxWait == 0:
		cfg.MaxWait = DefaultMaxWait
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	h := &Hasher{
		params:      cfg.Params,
		slots:       make(chan struct{}, cfg.Workers),
		maxWait:     cfg.MaxWait,
		rand:        cfg.Rand,
		observeWait: cfg.ObserveWait,
	}

	// The dummy is a hash of a random password nobody knows, made with the
	// same parameters as real hashes so that checking it costs the same.
	secret := make([]byte, 18)
	if _, err := io.ReadFull(h.rand, secret); err != nil {
		return nil, fmt.Errorf("password: new hasher: dummy password: %w", err)
	}
	salt, err := newSalt(h.rand, h.params)
	if err != nil {
		return nil, fmt.Errorf("password: new hasher: dummy: %w", err)
	}
	dummyPassword := base64.RawURLEncoding.EncodeToString(secret)
	h.dummy = phc{params: h.params, salt: salt, key: derive(dummyPassword, salt, h.params)}
	return h, nil
}

// Hash hashes password with the Hasher's parameters and a fresh salt and
// returns the PHC string to store.
//
// Returns EBUSY (with RetryAfter) when no slot frees up within MaxWait or ctx
// ends first; no hash runs then.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt, err := newSalt(h.rand, h.params)
	if err != nil {
		return "", fmt.Errorf("password: hash: %w", err)
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return phc{params: h.params, salt: salt, key: h.derive(password, salt, h.params)}.String(), nil
}

// Verify reports whether password matches the stored hash: an argon2id PHC
// string, or a bcrypt or PBKDF2-SHA256 hash brought by an import (see
// CheckImported); all of them are checked in a hashing slot. A stored
// string of "" (unknown user, or a user without a local password) is checked
// against a dummy hash with the same parameters, so it takes as long as a
// real check, and never matches.
//
// A wrong password is (false, nil). Returns EBUSY (with RetryAfter) when no
// slot frees up within MaxWait or ctx ends first, and an error wrapping
// ErrInvalidHash when stored is not a usable hash.
func (h *Hasher) Verify(ctx context.Context, stored, password string) (bool, error) {
	var target verifier = h.dummy
	known := stored != ""
	if known {
		var err error
		if target, err = parseStored(stored); err != nil {
			return false, fmt.Errorf("password: verify: %w", err)
		}
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	if h.testHookHash != nil {
		h.testHookHash()
	}
	match := target.verify(password)
	return known && match, nil
}

// NeedsRehash reports whether the stored PHC string is weaker than the
// Hasher's parameters (or unusable) and should be replaced by a new hash of
// the password just verified. See the package-level NeedsRehash.
func (h *Hasher) NeedsRehash(stored string) bool {
	return NeedsRehash(stored, h.params)
}

func (h *Hasher) derive(password string, salt []byte, p Params) []byte {
	if h.testHookHash != nil {
		h.testHookHash()
	}
	return derive(password, salt, p)
}

// acquire takes a slot, waiting at most maxWait and not past ctx. It returns
// an EBUSY error when it gets none.
func (h *Hasher) acquire(ctx context.Context) error {
	if ctx.Err() != nil {
		return errBusy()
	}
	start := time.Now()
	select {
	case h.slots <- struct{}{}:
		h.observe(start)
		return nil
	default:
	}
	timer := time.NewTimer(h.maxWait)
	defer timer.Stop()
	select {
	case h.slots <- struct{}{}:
	case <-timer.C:
		h.observe(start)
		return errBusy()
	case <-ctx.Done():
		h.observe(start)
		return errBusy()
	}
	h.observe(start)
	if ctx.Err() != nil { // both were ready and select chose the slot
		h.release()
		return errBusy()
	}
	return nil
}

func (h *Hasher) release() { <-h.slots }

func (h *Hasher) observe(start time.Time) {
	if h.observeWait != nil {
		h.observeWait(time.Since(start))
	}
}

func errBusy() *gatehouse.Error {
	return &gatehouse.Error{
		Code:       gatehouse.EBUSY,
		Message:    "The server is busy; try again in a moment.",
		RetryAfter: busyRetryAfter,
	}
}
