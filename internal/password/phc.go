package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// ErrInvalidHash is wrapped by every error about a stored hash that cannot be
// used: malformed, another algorithm or version, or parameters out of bounds.
// It means bad data in the database, never a wrong password.
var ErrInvalidHash = errors.New("invalid or unsupported password hash")

const (
	phcAlgorithm = "argon2id"
	phcVersion   = "v=19" // argon2.Version, 0x13
	// maxPHCLen is longer than any string within the bounds can be
	// ("$argon2id$v=19$m=262144,t=16,p=16$" + 86 + "$" + 86 characters); a
	// longer string is refused before it is even split.
	maxPHCLen = 256
)

// b64 is the encoding of salt and hash in PHC strings: standard alphabet, no
// padding. Strict refuses non-zero trailing bits, so each value has one form.
var b64 = base64.RawStdEncoding.Strict()

// phc is a parsed PHC string.
type phc struct {
	params Params // KeyLen and SaltLen are those of key and salt
	salt   []byte
	key    []byte
}

func (h phc) String() string {
	return fmt.Sprintf("$%s$%s$m=%d,t=%d,p=%d$%s$%s", phcAlgorithm, phcVersion,
		h.params.Memory, h.params.Time, h.params.Threads,
		b64.EncodeToString(h.salt), b64.EncodeToString(h.key))
}

// parsePHC parses an argon2id PHC string strictly: exactly the form String
// writes, version 19, the parameters in the order m, t, p as canonical
// decimal numbers, canonical base64, and everything within the bounds of
// Params.Validate. Anything else is ErrInvalidHash.
func parsePHC(s string) (phc, error) {
	if len(s) > maxPHCLen {
		return phc{}, fmt.Errorf("%w: longer than %d characters", ErrInvalidHash, maxPHCLen)
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return phc{}, fmt.Errorf("%w: not a PHC string", ErrInvalidHash)
	}
	if parts[1] != phcAlgorithm {
		return phc{}, fmt.Errorf("%w: algorithm is not %s", ErrInvalidHash, phcAlgorithm)
	}
	if parts[2] != phcVersion {
		return phc{}, fmt.Errorf("%w: version is not %s", ErrInvalidHash, phcVersion)
	}
	fields := strings.Split(parts[3], ",")
	if len(fields) != 3 {
		return phc{}, fmt.Errorf("%w: parameters are not m,t,p", ErrInvalidHash)
	}
	var nums [3]uint32
	for i, name := range [3]string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(fields[i], name)
		if !ok {
			return phc{}, fmt.Errorf("%w: parameters are not m,t,p", ErrInvalidHash)
		}
		n, ok := parseDecimal(v)
		if !ok {
			return phc{}, fmt.Errorf("%w: parameter %s is not a number", ErrInvalidHash, name[:1])
		}
		nums[i] = n
	}
	salt, ok := decodeB64(parts[4])
	if !ok {
		return phc{}, fmt.Errorf("%w: salt is not base64", ErrInvalidHash)
	}
	key, ok := decodeB64(parts[5])
	if !ok {
		return phc{}, fmt.Errorf("%w: hash is not base64", ErrInvalidHash)
	}
	if nums[2] > MaxThreads {
		return phc{}, fmt.Errorf("%w: %d threads", ErrInvalidHash, nums[2])
	}
	h := phc{
		params: Params{
			Memory:  nums[0],
			Time:    nums[1],
			Threads: uint8(nums[2]),
			KeyLen:  uint32(len(key)),
			SaltLen: uint32(len(salt)),
		},
		salt: salt,
		key:  key,
	}
	if err := h.params.Validate(); err != nil {
		return phc{}, fmt.Errorf("%w: %w", ErrInvalidHash, err)
	}
	return h, nil
}

// parseDecimal parses a canonical unsigned decimal that fits in 32 bits: no
// sign, no leading zeros, no spaces or underscores.
func parseDecimal(s string) (uint32, bool) {
	if s == "" || len(s) > 10 || (s[0] == '0' && len(s) > 1) {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, false
	}
	return uint32(n), true
}

// decodeB64 decodes s and insists that it is the canonical encoding of the
// result (the decoder itself skips newlines).
func decodeB64(s string) ([]byte, bool) {
	b, err := b64.DecodeString(s)
	if err != nil || b64.EncodeToString(b) != s {
		return nil, false
	}
	return b, true
}

// derive is the one place this package calls argon2id.
func derive(password string, salt []byte, p Params) []byte {
	return argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
}

// newSalt reads p.SaltLen random bytes from r.
func newSalt(r io.Reader, p Params) ([]byte, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := io.ReadFull(r, salt); err != nil {
		return nil, fmt.Errorf("read salt: %w", err)
	}
	return salt, nil
}

// Hash hashes password with argon2id and parameters p and a fresh salt read
// from rand (crypto/rand when nil), and returns the PHC string to store.
//
// Hash does not bound how many hashes run at once; a server hashes through a
// Hasher instead.
func Hash(password string, p Params, rand io.Reader) (string, error) {
	if err := p.Validate(); err != nil {
		return "", fmt.Errorf("password: hash: %w", err)
	}
	if rand == nil {
		rand = defaultRand
	}
	salt, err := newSalt(rand, p)
	if err != nil {
		return "", fmt.Errorf("password: hash: %w", err)
	}
	return phc{params: p, salt: salt, key: derive(password, salt, p)}.String(), nil
}

var defaultRand = rand.Reader

// Verify reports whether password matches the hash stored: an argon2id PHC
// string, or a bcrypt or PBKDF2-SHA256 hash an import brought. It returns
// an error wrapping ErrInvalidHash when the stored string cannot be used;
// a wrong password is (false, nil). The comparison takes constant time.
//
// Like Hash, Verify does not bound concurrency; a server verifies through a
// Hasher.
func Verify(stored, password string) (bool, error) {
	h, err := parseStored(stored)
	if err != nil {
		return false, fmt.Errorf("password: verify: %w", err)
	}
	return h.verify(password), nil
}

func (h phc) matches(key []byte) bool {
	return subtle.ConstantTimeCompare(key, h.key) == 1
}

// NeedsRehash reports whether the stored PHC string should be replaced by a
// hash made with p: it was made with less memory, fewer passes, a shorter
// hash or a shorter salt than p asks for, or it cannot be parsed at all.
// A different number of lanes alone does not ask for a rehash, and neither do
// parameters stronger than p (an operator who lowers the parameters does not
// weaken existing hashes). A bcrypt or PBKDF2 hash always needs a rehash.
func NeedsRehash(stored string, p Params) bool {
	h, err := parsePHC(stored)
	if err != nil {
		return true
	}
	return h.params.weakerThan(p)
}
