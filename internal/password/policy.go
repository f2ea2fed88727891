package password

import (
	_ "embed"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/gatehousehq/gatehouse"
)

// Default bounds of a password, in characters (Unicode code points).
const (
	DefaultMinLength = 12
	// DefaultMaxLength is not a security rule but a bound on what is fed
	// to the hash, generous enough for any passphrase.
	DefaultMaxLength = 256
)

// Policy is what a new password must satisfy.
type Policy struct {
	MinLength int // characters; 0 means DefaultMinLength
	MaxLength int // characters; 0 means DefaultMaxLength
}

// DefaultPolicy asks for 12 to 256 characters.
func DefaultPolicy() Policy {
	return Policy{MinLength: DefaultMinLength, MaxLength: DefaultMaxLength}
}

// commonText is a few hundred of the passwords people use most, lower-case,
// one a line, written for this project from general knowledge of the leaked
// password lists (plus the product's own name).
//
//go:embed common.txt
var commonText string

var commonSet = sync.OnceValue(func() map[string]bool {
	set := make(map[string]bool)
	for line := range strings.Lines(commonText) {
		if w := strings.TrimSpace(line); w != "" {
			set[w] = true
		}
	}
	return set
})

// Check returns nil when password is acceptable for the account with the
// given e-mail address, and otherwise an EWEAKPASSWORD error with Field
// "password" and a message saying what to change. The rules, in order:
//
//   - at least MinLength and at most MaxLength characters (code points);
//   - not one character repeated ("aaaaaaaaaaaa");
//   - not on the list of common passwords. The check ignores case, and is
//     repeated after removing trailing digits, punctuation, symbols and
//     spaces, so "Password2026!" counts as "password". Other variations
//     (leading digits, letters swapped for digits) are not tried;
//   - not containing the e-mail address, nor the part before the @ when
//     that part has at least 4 characters (ignoring case).
//
// There are no composition rules (NIST SP 800-63B-4 advises against them).
func (p Policy) Check(password, email string) error {
	minLen, maxLen := p.MinLength, p.MaxLength
	if minLen <= 0 {
		minLen = DefaultMinLength
	}
	if maxLen <= 0 {
		maxLen = DefaultMaxLength
	}
	n := utf8.RuneCountInString(password)
	switch {
	case n < minLen:
		return weak(gatehouse.ReasonPasswordTooShort, "The password must be at least %d characters long.", minLen)
	case n > maxLen:
		return weak(gatehouse.ReasonPasswordTooLong, "The password must be at most %d characters long.", maxLen)
	case oneCharacter(password):
		return weak(gatehouse.ReasonPasswordOneCharacter, "The password must not be a single character repeated.")
	case isCommon(password):
		return weak(gatehouse.ReasonPasswordCommon, "This password is one of the most commonly used passwords; choose one that is harder to guess.")
	}
	if containsEmail(password, email) {
		return weak(gatehouse.ReasonPasswordContainsEmail, "The password must not contain your e-mail address or the name before the @.")
	}
	return nil
}

func weak(reason, format string, args ...any) *gatehouse.Error {
	e := gatehouse.Reasoned(gatehouse.EWEAKPASSWORD, reason, format, args...)
	e.Field = "password"
	return e
}

func oneCharacter(s string) bool {
	first, size := utf8.DecodeRuneInString(s)
	for _, r := range s[size:] {
		if r != first {
			return false
		}
	}
	return true
}

func isCommon(password string) bool {
	set := commonSet()
	lower := strings.ToLower(password)
	if set[lower] {
		return true
	}
	stem := strings.TrimRightFunc(lower, func(r rune) bool {
		return unicode.IsDigit(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsSpace(r)
	})
	return stem != "" && set[stem]
}

// minLocalPart is the shortest local part of an e-mail address that the
// policy looks for inside a password; shorter ones ("jo") would refuse
// innocent passwords that merely contain those letters.
const minLocalPart = 4

func containsEmail(password, email string) bool {
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" {
		return false
	}
	lower := strings.ToLower(password)
	if strings.Contains(lower, email) {
		return true
	}
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return false
	}
	local := email[:at]
	return utf8.RuneCountInString(local) >= minLocalPart && strings.Contains(lower, local)
}
