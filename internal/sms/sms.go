package sms

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// Provider sends one SMS. to is a phone number in E.164 form
// ("+358401234567"); body is the whole text. Send returns once the provider
// has accepted the message for delivery, or with an error that is safe to log
// (no credential, no message body). The context bounds the call, and each
// Provider also applies its own timeout.
type Provider interface {
	Send(ctx context.Context, to, body string) error
}

// DefaultTimeout bounds one Send when the configuration sets no Timeout.
const DefaultTimeout = 10 * time.Second

// MaxBodyLength is the longest body Send accepts, in characters: Twilio's
// limit for one message, which it splits into up to ten segments.
const MaxBodyLength = 1600

// maxResponseBytes bounds what is read of a provider's answer. Twilio's
// Message resource is about 1 KiB; anything far larger is not an answer.
const maxResponseBytes = 64 << 10

// userAgent names Gatehouse to the provider, so its logs say who called.
const userAgent = "Gatehouse/1 (sms; +https://github.com/gatehousehq/gatehouse)"

// noRedirect stops a client at the first redirect and hands the redirect
// itself back as the response, which then fails as a non-2xx answer. A
// redirect would otherwise resend the credentials or the signed body to an
// address the operator never configured.
func noRedirect(*http.Request, []*http.Request) error {
	return http.ErrUseLastResponse
}

// newClient returns a client that follows no redirects. A client given by
// the caller is copied, not changed: it may be shared.
func newClient(c *http.Client) *http.Client {
	var out http.Client
	if c != nil {
		out = *c
	}
	out.CheckRedirect = noRedirect
	return &out
}

// parseHTTPURL checks that raw is an absolute http or https URL with a host
// and no fragment.
func parseHTTPURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the URL, which may hold a password.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("is not a URL: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, errors.New("must start with https:// or http://")
	case u.Opaque != "":
		return nil, errors.New("must be of the form https://host/path")
	case u.Hostname() == "":
		return nil, errors.New("has no host")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return nil, errors.New("must not have a fragment (#…)")
	}
	return u, nil
}

// redact returns u without user information, query or fragment, for errors.
func redact(u *url.URL) string {
	r := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	return r.String()
}

// transportError rewrites an error of http.Client.Do so that it names the
// request by its redacted URL: url.Error would quote the whole URL.
func transportError(op string, u *url.URL, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("%s: POST %s: %w", op, redact(u), err)
}

// readBounded reads at most maxResponseBytes of r, and drains a little more
// so that the connection can be reused.
func readBounded(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxResponseBytes))
	_, _ = io.CopyN(io.Discard, r, 4<<10)
	return b, err
}

// validE164 reports whether s is a phone number in E.164 form: a plus sign,
// a first digit other than zero, at most fifteen digits in all.
func validE164(s string) bool {
	if len(s) < 3 || len(s) > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9' {
		return false
	}
	for i := 2; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// checkMessage refuses what no provider could send, before any request.
func checkMessage(to, body string) error {
	if !validE164(to) {
		return errors.New("the recipient is not a phone number in E.164 form (+ and up to 15 digits)")
	}
	if strings.TrimSpace(body) == "" {
		return errors.New("the message is empty")
	}
	if !utf8.ValidString(body) {
		return errors.New("the message is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(body); n > MaxBodyLength {
		return fmt.Errorf("the message has %d characters, more than %d", n, MaxBodyLength)
	}
	return nil
}

// clean makes text from a provider fit for a log line: no control
// characters, no secret, at most limit bytes (cut at a character boundary).
func clean(s string, limit int, secrets ...string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == utf8.RuneError {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
