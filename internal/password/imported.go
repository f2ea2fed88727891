package password

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// Besides its own argon2id PHC strings, Verify accepts the hashes users
// bring along when they are imported from another system: bcrypt and
// Django's PBKDF2-SHA256. They are never written here; NeedsRehash is true
// for them, so the first sign-in with the right password replaces them with
// argon2id. Their cost parameters are bounded like argon2id's, so that a
// hostile row costs at most a few seconds of one hashing slot.
const (
	// MinBcryptCost and MaxBcryptCost bound bcrypt's cost (2^cost rounds);
	// 15 takes a few seconds on one core.
	MinBcryptCost = bcrypt.MinCost
	MaxBcryptCost = 15
	// MaxPBKDF2Iterations bounds Django's PBKDF2-SHA256 iterations; Django
	// 5 uses 870,000 to 1,200,000.
	MaxPBKDF2Iterations = 2_000_000

	bcryptLen         = 60 // "$2b$10$" + 22 characters of salt + 31 of hash
	pbkdf2Prefix      = "pbkdf2_sha256"
	maxPBKDF2SaltLen  = 128
	maxPBKDF2StoreLen = 256
)

// verifier is a parsed stored hash of any format Verify accepts.
type verifier interface {
	// verify derives the key of password and compares it with the stored
	// one in constant time.
	verify(password string) bool
}

// parseStored parses a stored hash of any accepted format, refusing
// anything malformed or outside the bounds with an error wrapping
// ErrInvalidHash that says what is wrong.
func parseStored(s string) (verifier, error) {
	switch {
	case strings.HasPrefix(s, "$2"):
		return parseBcrypt(s)
	case strings.HasPrefix(s, "pbkdf2_"):
		return parsePBKDF2(s)
	case strings.HasPrefix(s, "$"):
		return parsePHC(s)
	}
	return nil, fmt.Errorf("%w: not argon2id (PHC), bcrypt or pbkdf2_sha256", ErrInvalidHash)
}

// CheckImported says what is wrong with a hash given for import: an unknown
// format or parameters outside the bounds (an error wrapping ErrInvalidHash);
// nil when Verify can check passwords against it.
func CheckImported(hash string) error {
	_, err := parseStored(hash)
	return err
}

func (h phc) verify(password string) bool {
	return h.matches(derive(password, h.salt, h.params))
}

// bcryptHash is a bcrypt string as crypt(3) writes it.
type bcryptHash []byte

// parseBcrypt accepts $2a$, $2b$ and $2y$ (the same algorithm; the letters
// tell which implementation's bug fixes it had) with a two-digit cost within
// MinBcryptCost..MaxBcryptCost and 53 characters of bcrypt's base64.
func parseBcrypt(s string) (verifier, error) {
	if len(s) != bcryptLen || s[3] != '$' || s[6] != '$' {
		return nil, fmt.Errorf("%w: not a bcrypt string ($2b$COST$ and 53 characters)", ErrInvalidHash)
	}
	switch s[:3] {
	case "$2a", "$2b", "$2y":
	default:
		return nil, fmt.Errorf("%w: bcrypt version %q is not 2a, 2b or 2y", ErrInvalidHash, s[1:3])
	}
	cost, err := strconv.Atoi(s[4:6])
	if err != nil || s[4] < '0' || s[4] > '9' {
		return nil, fmt.Errorf("%w: bcrypt cost %q is not a number", ErrInvalidHash, s[4:6])
	}
	if cost < MinBcryptCost || cost > MaxBcryptCost {
		return nil, fmt.Errorf("%w: bcrypt cost %d not in %d..%d", ErrInvalidHash, cost, MinBcryptCost, MaxBcryptCost)
	}
	for i := 7; i < len(s); i++ {
		if c := s[i]; !(c == '.' || c == '/' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return nil, fmt.Errorf("%w: bcrypt salt and hash are not bcrypt's base64", ErrInvalidHash)
		}
	}
	return bcryptHash(s), nil
}

func (h bcryptHash) verify(password string) bool {
	// CompareHashAndPassword compares in constant time. Like every bcrypt,
	// it reads only the first 72 bytes of the password.
	return bcrypt.CompareHashAndPassword(h, []byte(password)) == nil
}

// pbkdf2Hash is Django's pbkdf2_sha256$ITERATIONS$SALT$HASH: the salt is
// used as the text it is, the hash is standard base64 with padding.
type pbkdf2Hash struct {
	iterations int
	salt       []byte
	key        []byte
}

func parsePBKDF2(s string) (verifier, error) {
	if len(s) > maxPBKDF2StoreLen {
		return nil, fmt.Errorf("%w: longer than %d characters", ErrInvalidHash, maxPBKDF2StoreLen)
	}
	parts := strings.Split(s, "$")
	if parts[0] != pbkdf2Prefix {
		return nil, fmt.Errorf("%w: %s is not supported, only %s", ErrInvalidHash, parts[0], pbkdf2Prefix)
	}
	if len(parts) != 4 {
		return nil, fmt.Errorf("%w: not pbkdf2_sha256$ITERATIONS$SALT$HASH", ErrInvalidHash)
	}
	iter, ok := parseDecimal(parts[1])
	if !ok || iter < 1 || iter > MaxPBKDF2Iterations {
		return nil, fmt.Errorf("%w: pbkdf2 iterations %q not a number in 1..%d", ErrInvalidHash, parts[1], MaxPBKDF2Iterations)
	}
	if salt := parts[2]; salt == "" || len(salt) > maxPBKDF2SaltLen {
		return nil, fmt.Errorf("%w: pbkdf2 salt is empty or longer than %d characters", ErrInvalidHash, maxPBKDF2SaltLen)
	}
	key, err := base64.StdEncoding.Strict().DecodeString(parts[3])
	if err != nil || len(key) < MinKeyLen || len(key) > MaxKeyLen {
		return nil, fmt.Errorf("%w: pbkdf2 hash is not base64 of %d..%d bytes", ErrInvalidHash, MinKeyLen, MaxKeyLen)
	}
	return pbkdf2Hash{iterations: int(iter), salt: []byte(parts[2]), key: key}, nil
}

func (h pbkdf2Hash) verify(password string) bool {
	key, err := pbkdf2.Key(sha256.New, password, h.salt, h.iterations, len(h.key))
	return err == nil && subtle.ConstantTimeCompare(key, h.key) == 1
}
