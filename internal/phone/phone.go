// Package phone turns phone numbers as people type them into E.164, the one
// form Gatehouse stores, compares and sends SMS to ("+358401234567").
//
// Parsing and validity come from github.com/nyaruka/phonenumbers, a port of
// Google's libphonenumber, so that a number is accepted only when its
// country's numbering plan says such a number can exist. Numbers with letters
// (vanity numbers such as 1-800-FLOWERS, or extensions) are refused rather
// than converted: a code sent by SMS must reach the number the person meant.
package phone

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gatehousehq/gatehouse"
	"github.com/nyaruka/phonenumbers"
)

// MaxLength bounds what Normalize reads, in characters. The longest E.164
// number has 15 digits; the rest is room for spaces and punctuation.
const MaxLength = 64

// Normalize parses raw, a phone number as a person typed it, and returns it in
// E.164 form. A number without a leading + is read as a national number of
// defaultRegion (an ISO 3166-1 alpha-2 code such as "FI"); with defaultRegion
// "" only international numbers (+ and the country code) are accepted.
//
// Returns EINVALIDPHONE (Field "phone") with a message quoting the input when
// raw is empty, longer than MaxLength characters, contains letters, does not
// parse or is not a valid number. An unknown defaultRegion is a programming
// error and returns an ordinary error.
func Normalize(raw, defaultRegion string) (string, error) {
	if utf8.RuneCountInString(raw) > MaxLength {
		return "", invalid(gatehouse.ReasonPhoneTooLong, "The phone number is longer than %d characters.", MaxLength)
	}
	typed := strings.TrimSpace(raw)
	if typed == "" {
		return "", invalid(gatehouse.ReasonPhoneEmpty, "Enter a phone number.")
	}
	region := strings.ToUpper(defaultRegion)
	if region != "" && !phonenumbers.GetSupportedRegions()[region] {
		return "", fmt.Errorf("phone: normalize: unknown default region %q", defaultRegion)
	}
	for _, r := range typed {
		if !allowed(r) {
			return "", invalid(gatehouse.ReasonPhoneCharacters, "%q is not a phone number: use only digits, spaces, dashes and parentheses.", typed)
		}
	}
	international := strings.HasPrefix(typed, "+") || strings.HasPrefix(typed, "＋")
	if region == "" && !international {
		return "", invalid(gatehouse.ReasonPhoneNotInternational, "%q is not in international form: start with + and the country code, such as +358 40 123 4567.", typed)
	}
	num, err := phonenumbers.Parse(typed, region)
	if err != nil || !phonenumbers.IsValidNumber(num) {
		if international {
			return "", invalid(gatehouse.ReasonPhoneInvalidInternational, "%q is not a valid phone number; check the country code and the number.", typed)
		}
		return "", invalid(gatehouse.ReasonPhoneInvalid, "%q is not a valid phone number; check it, or write it with + and the country code.", typed)
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// allowed reports whether r may appear in a typed phone number: digits (of
// any script, which the parser understands), spaces, the usual separators,
// and the plus sign (ASCII or full-width).
func allowed(r rune) bool {
	return unicode.IsDigit(r) || unicode.IsSpace(r) || strings.ContainsRune("+＋-‐‑–—()./", r)
}

func invalid(reason, format string, args ...any) *gatehouse.Error {
	e := gatehouse.Reasoned(gatehouse.EINVALIDPHONE, reason, format, args...)
	e.Field = "phone"
	return e
}
