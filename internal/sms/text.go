package sms

import (
	"fmt"
	"net"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxOrgNameLength bounds the organization's name in CodeText, in
// characters, so that the text and a WebOTP line for a host of up to about
// 50 characters fit in one 160-character GSM-7 segment.
const MaxOrgNameLength = 32

// CodeText returns the text of a code message, such as
//
//	Your Example Clinic sign-in code is 123456. It expires in 10 minutes.
//
// The organization's name is reduced to characters of the GSM 7-bit default
// alphabet: common accented Latin letters lose their accent where GSM has no
// such letter (á→a, č→c; ä, ö, å, é and ñ are GSM and stay), typographic
// quotes and dashes become plain ones, other characters (emoji, other
// scripts, and GSM's two-septet characters such as [ ] { } € ~) are dropped,
// runs of spaces and line breaks become one space, and the name is cut to
// MaxOrgNameLength characters. One character outside GSM-7 would send the
// whole message as UCS-2, where a segment holds 70 characters instead of 160
// and the code message would cost two or three. A name with nothing left is
// left out ("Your sign-in code is …"). A lifetime of zero or less leaves out
// the second sentence; a lifetime of a minute or more is given in whole
// minutes, rounded down, so the text never promises more than it keeps.
//
// The text is English; a translated one is built by the caller and passed to
// WebOTPBody the same way.
func CodeText(orgName, code string, lifetime time.Duration) string {
	var b strings.Builder
	if name := gsmName(orgName); name != "" {
		fmt.Fprintf(&b, "Your %s sign-in code is %s.", name, code)
	} else {
		fmt.Fprintf(&b, "Your sign-in code is %s.", code)
	}
	if lifetime > 0 {
		fmt.Fprintf(&b, " It expires in %s.", humanDuration(lifetime))
	}
	return b.String()
}

// humanDuration writes d in whole minutes, or whole seconds below a minute,
// rounding down.
func humanDuration(d time.Duration) string {
	if d >= time.Minute {
		if m := int64(d / time.Minute); m != 1 {
			return fmt.Sprintf("%d minutes", m)
		}
		return "1 minute"
	}
	if s := max(int64(d/time.Second), 1); s != 1 {
		return fmt.Sprintf("%d seconds", s)
	}
	return "1 second"
}

// WebOTPBody returns text followed by a blank line and the origin-bound
// one-time code line "@host #code", which makes the message an origin-bound
// one-time code message (https://wicg.github.io/sms-one-time-codes/): a
// phone (iOS and Android keyboards, Chrome's WebOTP API) then offers the
// code, but only to pages of the same site as host, which blunts phishing.
//
// host is a host name without scheme or port, as WebOTPHost returns it. The
// format has no place for a port (the code's origin is https, the host, and
// no port, and it is matched "same site", which ignores ports), so a port
// given anyway ("example.com:8443") is dropped rather than written where it
// would stop the line from matching. Line breaks in text are normalized to
// "\n" and trailing space is removed, so that the code line is the message's
// last line, as the format requires.
//
// If host or code is empty or holds a space or a control character, no valid
// line can be written and the normalized text is returned alone.
func WebOTPBody(text, host, code string) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	text = strings.TrimRightFunc(text, unicode.IsSpace)
	host = stripPort(host)
	if !otpToken(host) || !otpToken(code) {
		return text
	}
	line := "@" + host + " #" + code
	if text == "" {
		return line
	}
	return text + "\n\n" + line
}

// WebOTPHost returns the host for WebOTPBody from the public URL
// (GATEHOUSE_PUBLIC_URL): its host name in lower case, without port or
// trailing dot; an IPv6 address keeps its brackets. Browsers offer the code
// only on https pages (a secure context); with an http public URL the line is
// still written, and does no harm.
func WebOTPHost(publicURL string) (string, error) {
	u, err := parseHTTPURL(publicURL)
	if err != nil {
		return "", fmt.Errorf("sms: public URL %w", err)
	}
	h := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if strings.Contains(h, ":") {
		h = "[" + h + "]"
	}
	if !otpToken(h) {
		return "", fmt.Errorf("sms: public URL has a host that cannot be written in an SMS")
	}
	return h, nil
}

// stripPort removes a ":port" from host, keeping an IPv6 address bracketed.
func stripPort(host string) string {
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		return host
	}
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}

// otpToken reports whether s can stand as a token of the code line: not
// empty, and no whitespace or control character (the format's tokens run to
// the next ASCII whitespace).
func otpToken(s string) bool {
	if s == "" || !utf8.ValidString(s) {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) < 0
}

// gsmBasic is the GSM 03.38 default alphabet without the escape and the
// line breaks: each of these characters takes one septet.
const gsmBasic = "@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsmExtension holds the characters that GSM-7 writes with an escape, two
// septets each.
const gsmExtension = "\f^{}\\[]~|€"

// gsmFold maps characters outside GSM-7 to a close GSM-7 character: Latin
// letters of the Nordic, Baltic and Central European names Gatehouse's
// organizations are likely to have, and typographic punctuation.
var gsmFold = map[rune]rune{
	'á': 'a', 'â': 'a', 'ã': 'a', 'ā': 'a', 'ą': 'a', 'ă': 'a',
	'Á': 'A', 'À': 'A', 'Â': 'A', 'Ã': 'A', 'Ā': 'A', 'Ą': 'A', 'Ă': 'A',
	'ç': 'c', 'ć': 'c', 'č': 'c', 'Ć': 'C', 'Č': 'C',
	'ď': 'd', 'đ': 'd', 'Ď': 'D', 'Đ': 'D', 'ð': 'd', 'Ð': 'D',
	'ê': 'e', 'ë': 'e', 'ē': 'e', 'ė': 'e', 'ę': 'e', 'ě': 'e',
	'È': 'E', 'Ê': 'E', 'Ë': 'E', 'Ē': 'E', 'Ė': 'E', 'Ę': 'E', 'Ě': 'E',
	'ğ': 'g', 'Ğ': 'G', 'ģ': 'g', 'Ģ': 'G',
	'í': 'i', 'î': 'i', 'ï': 'i', 'ī': 'i', 'į': 'i', 'ı': 'i',
	'Í': 'I', 'Ì': 'I', 'Î': 'I', 'Ï': 'I', 'Ī': 'I', 'Į': 'I', 'İ': 'I',
	'ķ': 'k', 'Ķ': 'K', 'ļ': 'l', 'ł': 'l', 'ľ': 'l', 'Ļ': 'L', 'Ł': 'L', 'Ľ': 'L',
	'ń': 'n', 'ň': 'n', 'ņ': 'n', 'Ń': 'N', 'Ň': 'N', 'Ņ': 'N',
	'ó': 'o', 'ô': 'o', 'õ': 'o', 'ō': 'o', 'Ó': 'O', 'Ò': 'O', 'Ô': 'O', 'Õ': 'O', 'Ō': 'O',
	'ő': 'ö', 'Ő': 'Ö', 'ű': 'ü', 'Ű': 'Ü',
	'ŕ': 'r', 'ř': 'r', 'Ŕ': 'R', 'Ř': 'R',
	'ś': 's', 'š': 's', 'ş': 's', 'ș': 's', 'Ś': 'S', 'Š': 'S', 'Ş': 'S', 'Ș': 'S',
	'ť': 't', 'ţ': 't', 'ț': 't', 'Ť': 'T', 'Ţ': 'T', 'Ț': 'T', 'þ': 't', 'Þ': 'T',
	'ú': 'u', 'û': 'u', 'ū': 'u', 'ů': 'u', 'ų': 'u', 'Ú': 'U', 'Ù': 'U', 'Û': 'U', 'Ū': 'U', 'Ů': 'U', 'Ų': 'U',
	'ý': 'y', 'ÿ': 'y', 'Ý': 'Y', 'Ÿ': 'Y',
	'ź': 'z', 'ż': 'z', 'ž': 'z', 'Ź': 'Z', 'Ż': 'Z', 'Ž': 'Z',
	'‘': '\'', '’': '\'', '‚': '\'', '‛': '\'', '´': '\'', '`': '\'',
	'“': '"', '”': '"', '„': '"', '«': '"', '»': '"',
	'‐': '-', '‑': '-', '‒': '-', '–': '-', '—': '-', '−': '-',
	'·': '.', '•': '.',
}

// gsmName reduces an organization's name as CodeText describes.
func gsmName(name string) string {
	var b strings.Builder
	n := 0
	space := false
	for _, r := range name {
		if unicode.IsSpace(r) {
			space = b.Len() > 0
			continue
		}
		if f, ok := gsmFold[r]; ok {
			r = f
		}
		if r == utf8.RuneError || !strings.ContainsRune(gsmBasic, r) {
			continue
		}
		if n >= MaxOrgNameLength {
			break
		}
		if space {
			if n+2 > MaxOrgNameLength {
				break
			}
			b.WriteByte(' ')
			n++
			space = false
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// segments returns how many SMS segments body takes: GSM-7 when every
// character is in the GSM alphabet (160 septets alone, 153 a segment when
// concatenated), otherwise UCS-2 (70 UTF-16 units alone, 67 concatenated).
func segments(body string) int {
	septets := 0
	gsm := true
	for _, r := range body {
		switch {
		case r == '\n' || r == '\r' || strings.ContainsRune(gsmBasic, r):
			septets++
		case strings.ContainsRune(gsmExtension, r):
			septets += 2
		default:
			gsm = false
		}
	}
	if gsm {
		if septets <= 160 {
			return 1
		}
		return (septets + 152) / 153
	}
	units := len(utf16.Encode([]rune(body)))
	if units <= 70 {
		return 1
	}
	return (units + 66) / 67
}
