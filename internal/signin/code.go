package signin

import (
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// codeHash is how a code is stored: keyed and bound to its challenge, so the
// same digits in two challenges never match. It is keyed like the
// challenge's own token, so a sign-in begun under an old key still takes its
// codes after a rotation.
func (s *Service) codeHash(c *gatehouse.Challenge, code string) []byte {
	if h, ok := s.keys.HashLike(c.TokenHash, "code", "code", c.ID, code); ok {
		return h
	}
	return s.keyed("code", c.ID, code)
}

// newCode returns 6 decimal digits, uniform: values of 32 random bits at or
// above the largest multiple of 10^6 are drawn again, so there is no modulo
// bias.
func newCode(r io.Reader) (string, error) {
	const n = 1_000_000
	const limit = (1 << 32) / n * n
	var b [4]byte
	for {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return "", err
		}
		if v := binary.BigEndian.Uint32(b[:]); v < limit {
			return fmt.Sprintf("%06d", v%n), nil
		}
	}
}

// normalizeCode drops the spaces and dashes people type or paste.
func normalizeCode(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\u00a0' {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
}

func validCode(s string) bool {
	if len(s) != gatehouse.CodeDigits {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Mask hides most of a destination: "a•••@clinic.test", "+358•••••67".
func Mask(ch gatehouse.OTPMethod, dest string) string {
	if dest == "" {
		return ""
	}
	if ch == gatehouse.OTPSMS {
		if len(dest) <= 6 {
			return strings.Repeat("•", len(dest))
		}
		return dest[:4] + strings.Repeat("•", len(dest)-6) + dest[len(dest)-2:]
	}
	local, domain, ok := strings.Cut(dest, "@")
	if !ok || local == "" {
		return "•••"
	}
	return local[:1] + "•••@" + domain
}

func otpLocked(wait time.Duration, locked bool) error {
	if locked {
		// The lock lasts until an admin unlocks the user or the password
		// is reset; Retry-After tells clients not to come back sooner than
		// the longest back-off.
		return &gatehouse.Error{Code: gatehouse.ETOOMANYATTEMPTS, Reason: gatehouse.ReasonLocked, RetryAfter: gatehouse.OTPMaxWait,
			Message: "Too many wrong codes: your account is locked. Ask your admin to unlock it, or reset your password."}
	}
	wait = max(wait, time.Second)
	return &gatehouse.Error{Code: gatehouse.ETOOMANYATTEMPTS, Reason: gatehouse.ReasonWrongCodes, Args: []any{wait}, RetryAfter: wait,
		Message: "Too many wrong codes. Wait a moment and try again."}
}

func noPending() error {
	return &gatehouse.Error{Code: gatehouse.ENOPENDINGLOGIN, Message: "There is no sign-in waiting for a code in this browser. Sign in with your password."}
}

func loginExpired() error {
	return &gatehouse.Error{Code: gatehouse.ELOGINEXPIRED, Message: "This sign-in has expired. Sign in again with your password."}
}
