package sms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
)

// DefaultTwilioAPIURL is the base of Twilio's REST API. A regional edge
// (https://api.dublin.ie1.twilio.com) or a test server can take its place.
const DefaultTwilioAPIURL = "https://api.twilio.com"

// TwilioConfig configures a Twilio sender (GATEHOUSE_TWILIO_*).
type TwilioConfig struct {
	// AccountSID is the account's SID: "AC" and 32 hex digits.
	AccountSID string
	// AuthToken is the account's Auth Token, sent by HTTP basic auth.
	AuthToken string
	// From is the sender: a Twilio phone number in E.164 form
	// ("+15017122661"), or a Messaging Service SID ("MG" and 32 hex digits),
	// which is sent as MessagingServiceSid so that Twilio picks the number.
	From string
	// APIURL is the base of the API, such as "https://api.twilio.com": http
	// or https, a host and an optional port, no path. Empty means
	// DefaultTwilioAPIURL. A trailing slash is ignored.
	APIURL string
	// HTTPClient makes the requests; nil means a client with
	// http.DefaultTransport. It is copied, and the copy follows no redirects.
	HTTPClient *http.Client
	// Timeout bounds each Send; zero means DefaultTimeout.
	Timeout time.Duration
}

// Twilio sends SMS through Twilio's Messages API: one "Create a Message"
// request per Send. It is safe for concurrent use.
type Twilio struct {
	endpoint *url.URL // {APIURL}/2010-04-01/Accounts/{AccountSID}/Messages.json
	sid      string
	token    string
	from     string
	service  bool // from is a Messaging Service SID
	client   *http.Client
	timeout  time.Duration
}

var _ Provider = (*Twilio)(nil)

// NewTwilio checks cfg and returns a sender. The error lists every problem
// with cfg at once, naming the fields; it never quotes the Auth Token.
func NewTwilio(cfg TwilioConfig) (*Twilio, error) {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("sms: twilio: "+format, args...))
	}

	if !validSID(cfg.AccountSID, "AC") {
		bad(`AccountSID must be "AC" followed by 32 hex digits, as shown in the Twilio Console`)
	}
	switch {
	case cfg.AuthToken == "":
		bad("AuthToken is empty")
	case strings.IndexFunc(cfg.AuthToken, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		bad("AuthToken contains a space or a control character (a stray newline?)")
	}
	service := strings.HasPrefix(cfg.From, "MG")
	switch {
	case service && !validSID(cfg.From, "MG"):
		bad(`From looks like a Messaging Service SID but is not "MG" followed by 32 hex digits`)
	case !service && !validE164(cfg.From):
		bad(`From must be a phone number in E.164 form (such as +15017122661) or a Messaging Service SID ("MG…"), not %q`, cfg.From)
	}
	raw := cfg.APIURL
	if raw == "" {
		raw = DefaultTwilioAPIURL
	}
	base, err := parseHTTPURL(raw)
	if err == nil {
		switch {
		case base.User != nil:
			err = errors.New("must not hold a user name or password (the Auth Token goes in AuthToken)")
		case base.RawQuery != "" || base.ForceQuery:
			err = errors.New("must not have a query (?…)")
		case strings.Trim(base.Path, "/") != "":
			err = fmt.Errorf("must be a base such as %s, without a path", DefaultTwilioAPIURL)
		}
	}
	if err != nil {
		bad("APIURL %w", err)
	}
	if cfg.Timeout < 0 {
		bad("Timeout is negative")
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	endpoint := &url.URL{
		Scheme: base.Scheme,
		Host:   base.Host,
		Path:   "/2010-04-01/Accounts/" + cfg.AccountSID + "/Messages.json",
	}
	return &Twilio{
		endpoint: endpoint,
		sid:      cfg.AccountSID,
		token:    cfg.AuthToken,
		from:     cfg.From,
		service:  service,
		client:   newClient(cfg.HTTPClient),
		timeout:  timeout,
	}, nil
}

// validSID reports whether s is prefix followed by 32 hex digits, the form
// of every Twilio SID.
func validSID(s, prefix string) bool {
	if len(s) != len(prefix)+32 || !strings.HasPrefix(s, prefix) {
		return false
	}
	for _, c := range s[len(prefix):] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// TwilioError is Twilio's refusal of a message: an HTTP status other than
// 2xx with, usually, Twilio's error object, or a message created as failed.
// Its text is safe to log.
type TwilioError struct {
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Code is Twilio's error code (https://www.twilio.com/docs/api/errors),
	// such as 21211 for an invalid 'To' number, or 0 if the answer had none.
	Code int
	// Message is Twilio's explanation, stripped of control characters and
	// shortened; empty if the answer had none.
	Message string
	// MoreInfo is the link to Twilio's page on the error, if given.
	MoreInfo string
}

func (e *TwilioError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "twilio answered HTTP %d", e.StatusCode)
	if t := http.StatusText(e.StatusCode); t != "" {
		fmt.Fprintf(&b, " %s", t)
	}
	if e.Code != 0 {
		fmt.Fprintf(&b, ": error %d", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.MoreInfo != "" {
		fmt.Fprintf(&b, " (%s)", e.MoreInfo)
	}
	return b.String()
}

// twilioError is the error object of Twilio's REST API.
type twilioError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

// twilioMessage is the part of the Message resource that Send looks at.
type twilioMessage struct {
	SID          string  `json:"sid"`
	Status       string  `json:"status"`
	ErrorCode    *int    `json:"error_code"`
	ErrorMessage *string `json:"error_message"`
}

// Send asks Twilio to send body to the phone number to (E.164). It returns
// nil once Twilio has answered 2xx (the message is queued), a *TwilioError
// (wrapped) when Twilio refused it, and another error when to or body cannot
// be sent, Twilio could not be reached, or no answer came within the timeout.
func (t *Twilio) Send(ctx context.Context, to, body string) error {
	const op = "sms: twilio: send"
	if err := checkMessage(to, body); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()

	form := url.Values{"To": {to}, "Body": {body}}
	if t.service {
		form.Set("MessagingServiceSid", t.from)
	} else {
		form.Set("From", t.from)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.endpoint.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	req.SetBasicAuth(t.sid, t.token)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)

	resp, err := t.client.Do(req)
	if err != nil {
		return transportError(op, t.endpoint, err)
	}
	defer resp.Body.Close()
	data, readErr := readBounded(resp.Body)

	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		// The status line is Twilio's word that the message was created; a
		// body cut short does not undo that. A message created already
		// failed (Twilio documents none on create, but the field exists)
		// is not a delivery.
		var m twilioMessage
		if readErr == nil && json.Unmarshal(data, &m) == nil && (m.Status == "failed" || m.Status == "undelivered") {
			e := &TwilioError{StatusCode: resp.StatusCode, Message: "the message was created with status " + clean(m.Status, 32)}
			if m.ErrorCode != nil {
				e.Code = *m.ErrorCode
			}
			if m.ErrorMessage != nil {
				e.Message += ": " + clean(*m.ErrorMessage, 300, t.token, body)
			}
			return fmt.Errorf("%s: %w", op, e)
		}
		return nil
	}

	e := &TwilioError{StatusCode: resp.StatusCode}
	var te twilioError
	if readErr == nil && json.Unmarshal(data, &te) == nil {
		e.Code = te.Code
		e.Message = clean(te.Message, 300, t.token, body)
		if strings.HasPrefix(te.MoreInfo, "https://") {
			e.MoreInfo = clean(te.MoreInfo, 200, t.token)
		}
	}
	return fmt.Errorf("%s: %w", op, e)
}
