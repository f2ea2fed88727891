package sms

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// parseOTPMessage follows "parse an origin-bound one-time code message" of
// https://wicg.github.io/sms-one-time-codes/ §3.2: the last line (after
// newline normalization) must start with "@host", then exactly one space,
// then "#code"; tokens run to the next ASCII whitespace; trailing text is
// ignored.
func parseOTPMessage(message string) (host, code string, ok bool) {
	message = strings.ReplaceAll(message, "\r\n", "\n")
	message = strings.ReplaceAll(message, "\r", "\n")
	lines := strings.Split(message, "\n")
	line := lines[len(lines)-1]
	pos := 0
	token := func(marker byte) (string, bool) {
		if pos >= len(line) || line[pos] != marker {
			return "", false
		}
		pos++
		start := pos
		for pos < len(line) && !strings.ContainsRune("\t\n\f\r ", rune(line[pos])) {
			pos++
		}
		return line[start:pos], pos > start
	}
	if host, ok = token('@'); !ok {
		return "", "", false
	}
	if pos >= len(line) || line[pos] != ' ' {
		return "", "", false
	}
	pos++
	if code, ok = token('#'); !ok {
		return "", "", false
	}
	return host, code, true
}

func TestWebOTPBody(t *testing.T) {
	const text = "Your Example Clinic sign-in code is 907315. It expires in 10 minutes."
	tests := []struct {
		name       string
		text, host string
		code       string
		want       string
	}{
		{"the code line follows the text after a blank line", text, "gatehouse.example.com", "907315",
			text + "\n\n@gatehouse.example.com #907315"},
		{"trailing line breaks of the text are not doubled", text + "\n\n", "gatehouse.example.com", "907315",
			text + "\n\n@gatehouse.example.com #907315"},
		{"Windows line breaks are normalized", "Line one\r\nline two\r\n", "example.com", "907315",
			"Line one\nline two\n\n@example.com #907315"},
		{"a port on the host is dropped, since the format has no place for one", text, "example.com:8443", "907315",
			text + "\n\n@example.com #907315"},
		{"an IPv6 host keeps its brackets when its port is dropped", "Code", "[2001:db8::1]:8443", "907315",
			"Code\n\n@[2001:db8::1] #907315"},
		{"an empty text leaves only the code line", "", "example.com", "907315",
			"@example.com #907315"},
		{"an empty host leaves the text alone", text, "", "907315", text},
		{"a host with a space leaves the text alone", text, "example .com", "907315", text},
		{"an empty code leaves the text alone", text, "example.com", "", text},
		{"a code with a line break leaves the text alone", text + "\n", "example.com", "907\n315", text},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := WebOTPBody(tt.text, tt.host, tt.code)
			if got != tt.want {
				t.Errorf("WebOTPBody(%q, %q, %q) = %q, want %q", tt.text, tt.host, tt.code, got, tt.want)
			}
		})
	}

	t.Run("the result parses as an origin-bound one-time code message", func(t *testing.T) {
		for _, in := range []struct{ text, host, code string }{
			{text, "gatehouse.example.com", "907315"},
			{"Several\nlines\r\nof text\n", "example.com:443", "000001"},
			{"", "login.example.fi", "123456"},
		} {
			msg := WebOTPBody(in.text, in.host, in.code)
			host, code, ok := parseOTPMessage(msg)
			if !ok || host != stripPort(in.host) || code != in.code {
				t.Errorf("parse(%q) = %q, %q, %v; want %q, %q, true", msg, host, code, ok, stripPort(in.host), in.code)
			}
		}
	})
}

func TestWebOTPHost(t *testing.T) {
	tests := []struct {
		name, publicURL, want string
	}{
		{"an https URL gives its host", "https://gatehouse.example.com", "gatehouse.example.com"},
		{"a path is ignored", "https://example.com/gatehouse/", "example.com"},
		{"a port is dropped", "https://example.com:8443/", "example.com"},
		{"the host is lower-cased", "https://Login.Example.COM", "login.example.com"},
		{"a trailing dot is dropped", "https://example.com./", "example.com"},
		{"an http URL still gives its host", "http://localhost:8080", "localhost"},
		{"an IPv6 address keeps its brackets", "https://[2001:db8::1]:8443/", "[2001:db8::1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := WebOTPHost(tt.publicURL)
			if err != nil || got != tt.want {
				t.Errorf("WebOTPHost(%q) = %q, %v; want %q, nil", tt.publicURL, got, err, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "example.com", "ftp://example.com", "https://", "https://example.com/#top"} {
		t.Run("the public URL "+strconv.Quote(bad)+" is refused", func(t *testing.T) {
			if got, err := WebOTPHost(bad); err == nil {
				t.Errorf("WebOTPHost(%q) = %q, nil; want an error", bad, got)
			}
		})
	}
}

func TestCodeText(t *testing.T) {
	tests := []struct {
		name     string
		org      string
		lifetime time.Duration
		want     string
	}{
		{"the default lifetime reads as ten minutes", "Example Clinic", 10 * time.Minute,
			"Your Example Clinic sign-in code is 907315. It expires in 10 minutes."},
		{"one minute is singular", "Example Clinic", time.Minute,
			"Your Example Clinic sign-in code is 907315. It expires in 1 minute."},
		{"a lifetime between minutes is rounded down", "Example Clinic", 90 * time.Second,
			"Your Example Clinic sign-in code is 907315. It expires in 1 minute."},
		{"a lifetime under a minute is in seconds", "Example Clinic", 30 * time.Second,
			"Your Example Clinic sign-in code is 907315. It expires in 30 seconds."},
		{"no lifetime leaves out the second sentence", "Example Clinic", 0,
			"Your Example Clinic sign-in code is 907315."},
		{"Nordic letters that GSM-7 has are kept", "Hammaslääkäri Åström", 10 * time.Minute,
			"Your Hammaslääkäri Åström sign-in code is 907315. It expires in 10 minutes."},
		{"accented letters that GSM-7 lacks lose their accents", "Zdravotní Středisko Łódź", 10 * time.Minute,
			"Your Zdravotni Stredisko Lodz sign-in code is 907315. It expires in 10 minutes."},
		{"typographic quotes and dashes become plain ones", "Dr. O’Brien – “Smile”", 10 * time.Minute,
			`Your Dr. O'Brien - "Smile" sign-in code is 907315. It expires in 10 minutes.`},
		{"emoji and two-septet characters are dropped", "🦷 Smile [Dental] €", 10 * time.Minute,
			"Your Smile Dental sign-in code is 907315. It expires in 10 minutes."},
		{"line breaks and runs of spaces become one space", "  Example\n\n  Clinic\t ", 10 * time.Minute,
			"Your Example Clinic sign-in code is 907315. It expires in 10 minutes."},
		{"a name with nothing left is left out", "診療所", 10 * time.Minute,
			"Your sign-in code is 907315. It expires in 10 minutes."},
		{"a long name is cut to 32 characters", "The Very Long Name of a Veterinary Clinic in Helsinki", 10 * time.Minute,
			"Your The Very Long Name of a Veterina sign-in code is 907315. It expires in 10 minutes."},
		{"a cut never leaves a trailing space", strings.Repeat("x", 31) + " yz", 10 * time.Minute,
			"Your " + strings.Repeat("x", 31) + " sign-in code is 907315. It expires in 10 minutes."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CodeText(tt.org, "907315", tt.lifetime)
			if got != tt.want {
				t.Errorf("CodeText(%q, …) = %q, want %q", tt.org, got, tt.want)
			}
		})
	}
}

func TestCodeMessageFitsOneGSMSegment(t *testing.T) {
	host := "login.gatehouse-" + strings.Repeat("x", 24) + ".example" // 48 characters
	for _, org := range []string{
		"Example Clinic",
		strings.Repeat("W", 100),
		"Zdravotní Středisko Łódź 🦷",
		"Klinikka Ääkkönen & Co. {Oy}",
		"診療所",
	} {
		t.Run("the message for "+org+" is one segment", func(t *testing.T) {
			msg := WebOTPBody(CodeText(org, "907315", 10*time.Minute), host, "907315")
			if n := segments(msg); n != 1 {
				t.Errorf("segments(%q) = %d, want 1 (%d characters)", msg, n, len([]rune(msg)))
			}
		})
	}
}

func TestSegments(t *testing.T) {
	tests := []struct {
		name string
		body string
		want int
	}{
		{"160 GSM characters are one segment", strings.Repeat("a", 160), 1},
		{"161 GSM characters are two segments of 153", strings.Repeat("a", 161), 2},
		{"306 GSM characters are two segments", strings.Repeat("ä", 306), 2},
		{"a two-septet character counts twice", strings.Repeat("a", 159) + "€", 2},
		{"one character outside GSM makes 70 the limit", strings.Repeat("a", 69) + "ł", 1},
		{"71 characters outside GSM are two segments", strings.Repeat("ł", 71), 2},
		{"an emoji is two UTF-16 units", strings.Repeat("a", 69) + "🦷", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := segments(tt.body); got != tt.want {
				t.Errorf("segments = %d, want %d", got, tt.want)
			}
		})
	}
}
