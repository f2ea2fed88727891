package password

import (
	"errors"
	"fmt"
)

// Bounds on argon2id parameters. They apply both to the parameters we hash
// with (Params.Validate) and to every stored hash we parse, so anything this
// package writes it can read back, and a hostile hash costs at most
// MaxMemory KiB and MaxTime passes per verification.
const (
	// MaxMemory is 256 MiB: more than thirteen times the default, room to
	// raise the parameters for years, and small enough that Workers hashes
	// at once fit in a server's memory.
	MaxMemory = 256 * 1024 // KiB
	// MaxTime bounds the number of passes over memory.
	MaxTime = 16
	// MaxThreads bounds the lanes (parallelism) of one hash.
	MaxThreads = 16
	// MinKeyLen and MaxKeyLen bound the length of the derived hash in
	// bytes; 16 bytes is the shortest that is still a sound verifier.
	MinKeyLen = 16
	MaxKeyLen = 64
	// MinSaltLen and MaxSaltLen bound the salt in bytes; RFC 9106 asks for
	// at least 8 and recommends 16.
	MinSaltLen = 8
	MaxSaltLen = 64
)

// Params are the argon2id cost parameters.
type Params struct {
	Memory  uint32 // memory in KiB
	Time    uint32 // passes over memory
	Threads uint8  // lanes (parallelism)
	KeyLen  uint32 // length of the derived hash in bytes
	SaltLen uint32 // length of the random salt in bytes
}

// DefaultParams are the parameters new hashes are made with in production:
// argon2id with m=19456 KiB (19 MiB), t=2, p=1, a 32-byte hash and a 16-byte
// salt, as OWASP recommends (docs/design.md §3).
func DefaultParams() Params {
	return Params{Memory: 19 * 1024, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 16}
}

// TestParams are very cheap parameters for tests anywhere in the repository,
// so that a test suite that hashes hundreds of passwords stays fast. They
// give no protection: never use them outside tests.
func TestParams() Params {
	return Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}
}

var errInvalidParams = errors.New("invalid argon2id parameters")

// Validate checks that argon2id accepts the parameters and that they are
// inside this package's bounds (the Max* and Min* constants). It does not
// judge their strength: TestParams are valid.
func (p Params) Validate() error {
	switch {
	case p.Threads < 1 || p.Threads > MaxThreads:
		return fmt.Errorf("%w: threads %d not in 1..%d", errInvalidParams, p.Threads, MaxThreads)
	case p.Time < 1 || p.Time > MaxTime:
		return fmt.Errorf("%w: time %d not in 1..%d", errInvalidParams, p.Time, MaxTime)
	case p.Memory < 8*uint32(p.Threads) || p.Memory > MaxMemory:
		return fmt.Errorf("%w: memory %d KiB not in %d..%d (at least 8 KiB per thread)",
			errInvalidParams, p.Memory, 8*uint32(p.Threads), MaxMemory)
	case p.KeyLen < MinKeyLen || p.KeyLen > MaxKeyLen:
		return fmt.Errorf("%w: key length %d not in %d..%d", errInvalidParams, p.KeyLen, MinKeyLen, MaxKeyLen)
	case p.SaltLen < MinSaltLen || p.SaltLen > MaxSaltLen:
		return fmt.Errorf("%w: salt length %d not in %d..%d", errInvalidParams, p.SaltLen, MinSaltLen, MaxSaltLen)
	}
	return nil
}

// weakerThan reports whether hashes made with p are weaker than those made
// with want. A different number of lanes is not weaker, only different.
func (p Params) weakerThan(want Params) bool {
	return p.Memory < want.Memory || p.Time < want.Time ||
		p.KeyLen < want.KeyLen || p.SaltLen < want.SaltLen
}
