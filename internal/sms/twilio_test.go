package sms_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/internal/sms"
)

const (
	testSID     = "AC0123456789abcdef0123456789abcdef"
	testToken   = "s3cr3t-auth-token-0123456789abcdef"
	testService = "MGfedcba9876543210fedcba9876543210"
	testFrom    = "+15017122661"
	testTo      = "+358401234567"
	testBody    = "Your Example Clinic sign-in code is 907315. It expires in 10 minutes.\n\n@gatehouse.example.com #907315"
)

// fakeTwilio implements Twilio's "Create a Message" endpoint,
// POST /2010-04-01/Accounts/{AccountSid}/Messages.json, as Twilio documents
// it: form-encoded parameters, HTTP basic auth with the Account SID and Auth
// Token, 201 Created with the Message resource in JSON, and errors as
// {"code", "message", "more_info", "status"}. It checks every request
// strictly and fails the test on anything Twilio's API would not expect.
type fakeTwilio struct {
	t     *testing.T
	sid   string
	token string

	// fail, when set, answers instead of the 201 (after the checks).
	fail func(w http.ResponseWriter, r *http.Request)

	mu   sync.Mutex
	got  []url.Values // the forms received
	hits atomic.Int32
}

func newFakeTwilio(t *testing.T) (*fakeTwilio, *httptest.Server) {
	f := &fakeTwilio{t: t, sid: testSID, token: testToken}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeTwilio) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.hits.Add(1)
	t := f.t
	if r.Method != http.MethodPost {
		t.Errorf("method = %s, want POST", r.Method)
	}
	wantPath := "/2010-04-01/Accounts/" + f.sid + "/Messages.json"
	if r.URL.Path != wantPath {
		t.Errorf("path = %q, want %q", r.URL.Path, wantPath)
		twilioErrorJSON(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	if r.URL.RawQuery != "" {
		t.Errorf("query = %q, want none: parameters go in the form body", r.URL.RawQuery)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		t.Errorf("Content-Type = %q, want application/x-www-form-urlencoded", ct)
	}
	if a := r.Header.Get("Accept"); a != "application/json" {
		t.Errorf("Accept = %q, want application/json", a)
	}
	if ua := r.Header.Get("User-Agent"); !strings.Contains(ua, "Gatehouse") {
		t.Errorf("User-Agent = %q, want one naming Gatehouse", ua)
	}
	user, pass, ok := r.BasicAuth()
	if !ok || user != f.sid || pass != f.token {
		twilioErrorJSON(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if err := r.ParseForm(); err != nil {
		t.Errorf("ParseForm: %v", err)
		twilioErrorJSON(w, http.StatusBadRequest, 20001, "Bad request")
		return
	}
	f.mu.Lock()
	f.got = append(f.got, r.PostForm)
	f.mu.Unlock()

	if f.fail != nil {
		f.fail(w, r)
		return
	}
	from := r.PostForm.Get("From")
	service := r.PostForm.Get("MessagingServiceSid")
	if from == "" && service == "" {
		twilioErrorJSON(w, http.StatusBadRequest, 21603, "The 'From' phone number is required.")
		return
	}
	now := time.Now().UTC().Format(time.RFC1123Z)
	msgSID := "SM0123456789abcdef0123456789abcdef"
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]any{
		"account_sid":           f.sid,
		"api_version":           "2010-04-01",
		"body":                  r.PostForm.Get("Body"),
		"date_created":          now,
		"date_sent":             nil,
		"date_updated":          now,
		"direction":             "outbound-api",
		"error_code":            nil,
		"error_message":         nil,
		"from":                  nilIfEmpty(from),
		"messaging_service_sid": nilIfEmpty(service),
		"num_media":             "0",
		"num_segments":          "1",
		"price":                 nil,
		"price_unit":            "USD",
		"sid":                   msgSID,
		"status":                map[bool]string{true: "accepted", false: "queued"}[service != ""],
		"subresource_uris": map[string]string{
			"media": "/2010-04-01/Accounts/" + f.sid + "/Messages/" + msgSID + "/Media.json",
		},
		"to":  r.PostForm.Get("To"),
		"uri": "/2010-04-01/Accounts/" + f.sid + "/Messages/" + msgSID + ".json",
	})
}

func (f *fakeTwilio) forms() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.got)
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// twilioErrorJSON answers as Twilio's REST API does when it refuses a request.
func twilioErrorJSON(w http.ResponseWriter, status, code int, message string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{
		"code":      code,
		"message":   message,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code),
		"status":    status,
	})
}

func newTwilio(t *testing.T, cfg sms.TwilioConfig) *sms.Twilio {
	t.Helper()
	if cfg.AccountSID == "" {
		cfg.AccountSID = testSID
	}
	if cfg.AuthToken == "" {
		cfg.AuthToken = testToken
	}
	if cfg.From == "" {
		cfg.From = testFrom
	}
	tw, err := sms.NewTwilio(cfg)
	if err != nil {
		t.Fatalf("NewTwilio: %v", err)
	}
	return tw
}

func TestTwilioSend(t *testing.T) {
	tests := []struct {
		name     string
		from     string
		urlAfter string // appended to the test server's URL
		want     url.Values
	}{
		{
			name: "a message from a phone number is sent as To, From and Body",
			from: testFrom,
			want: url.Values{"To": {testTo}, "From": {testFrom}, "Body": {testBody}},
		},
		{
			name: "a message through a Messaging Service is sent as To, MessagingServiceSid and Body",
			from: testService,
			want: url.Values{"To": {testTo}, "MessagingServiceSid": {testService}, "Body": {testBody}},
		},
		{
			name:     "a base URL with a trailing slash reaches the same endpoint",
			from:     testFrom,
			urlAfter: "/",
			want:     url.Values{"To": {testTo}, "From": {testFrom}, "Body": {testBody}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, srv := newFakeTwilio(t)
			tw := newTwilio(t, sms.TwilioConfig{From: tt.from, APIURL: srv.URL + tt.urlAfter})
			if err := tw.Send(t.Context(), testTo, testBody); err != nil {
				t.Fatalf("Send: %v", err)
			}
			forms := fake.forms()
			if len(forms) != 1 {
				t.Fatalf("server received %d messages, want 1", len(forms))
			}
			if got := forms[0]; !equalForms(got, tt.want) {
				t.Errorf("form = %v, want exactly %v", got, tt.want)
			}
		})
	}
}

func equalForms(a, b url.Values) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

func TestTwilioSendReportsRefusals(t *testing.T) {
	tests := []struct {
		name       string
		token      string // the token Gatehouse is configured with
		fail       func(w http.ResponseWriter, r *http.Request)
		wantStatus int
		wantCode   int
		wantIn     []string
	}{
		{
			name: "an invalid To number answers 400 with code 21211",
			fail: func(w http.ResponseWriter, r *http.Request) {
				twilioErrorJSON(w, http.StatusBadRequest, 21211, "Invalid 'To' Phone Number: "+r.PostForm.Get("To"))
			},
			wantStatus: 400, wantCode: 21211,
			wantIn: []string{"21211", "Invalid 'To' Phone Number", "https://www.twilio.com/docs/errors/21211"},
		},
		{
			name:       "a wrong Auth Token answers 401 with code 20003, and the token is not quoted",
			token:      "wrong-token-0123456789abcdef0123",
			wantStatus: 401, wantCode: 20003,
			wantIn: []string{"20003", "401"},
		},
		{
			name: "a message from Twilio that quotes the token is redacted",
			fail: func(w http.ResponseWriter, r *http.Request) {
				twilioErrorJSON(w, http.StatusForbidden, 20005, "Account "+testSID+" with token "+testToken+" is suspended")
			},
			wantStatus: 403, wantCode: 20005,
			wantIn: []string{"20005", "[redacted]"},
		},
		{
			name: "an answer that is not JSON still gives the status",
			fail: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(http.StatusBadGateway)
				fmt.Fprint(w, "<html><body>Bad gateway</body></html>")
			},
			wantStatus: 502,
			wantIn:     []string{"502"},
		},
		{
			name: "an answer far larger than any error object is read only in part",
			fail: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusServiceUnavailable)
				chunk := strings.Repeat("x", 64<<10)
				for range 64 { // 4 MiB
					if _, err := fmt.Fprint(w, chunk); err != nil {
						return
					}
				}
			},
			wantStatus: 503,
			wantIn:     []string{"503"},
		},
		{
			name: "a message created as failed is not a delivery",
			fail: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusCreated)
				fmt.Fprint(w, `{"sid": "SM0123456789abcdef0123456789abcdef", "status": "failed", "error_code": 30007, "error_message": "Message filtered"}`)
			},
			wantStatus: 201, wantCode: 30007,
			wantIn: []string{"30007", "failed"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, srv := newFakeTwilio(t)
			fake.fail = tt.fail
			tw := newTwilio(t, sms.TwilioConfig{APIURL: srv.URL, AuthToken: tt.token})
			err := tw.Send(t.Context(), testTo, testBody)
			if err == nil {
				t.Fatal("Send succeeded, want an error")
			}
			var te *sms.TwilioError
			if !errors.As(err, &te) {
				t.Fatalf("Send error = %v, want a *TwilioError", err)
			}
			if te.StatusCode != tt.wantStatus || te.Code != tt.wantCode {
				t.Errorf("TwilioError status, code = %d, %d; want %d, %d", te.StatusCode, te.Code, tt.wantStatus, tt.wantCode)
			}
			msg := err.Error()
			for _, s := range tt.wantIn {
				if !strings.Contains(msg, s) {
					t.Errorf("error %q does not mention %q", msg, s)
				}
			}
			for _, secret := range []string{testToken, tt.token, "907315"} {
				if secret != "" && strings.Contains(msg, secret) {
					t.Errorf("error %q quotes the secret %q", msg, secret)
				}
			}
		})
	}
}

func TestTwilioSendKeepsTwiliosMessageFitForALogLine(t *testing.T) {
	fake, srv := newFakeTwilio(t)
	fake.fail = func(w http.ResponseWriter, r *http.Request) {
		twilioErrorJSON(w, http.StatusBadRequest, 21617, "first line\r\nsecond \x1b[31mline "+strings.Repeat("é", 2000))
	}
	tw := newTwilio(t, sms.TwilioConfig{APIURL: srv.URL})
	err := tw.Send(t.Context(), testTo, testBody)
	var te *sms.TwilioError
	if !errors.As(err, &te) {
		t.Fatalf("Send error = %v, want a *TwilioError", err)
	}
	if strings.ContainsAny(te.Message, "\r\n\x1b") {
		t.Errorf("message %q holds control characters", te.Message)
	}
	if !strings.HasPrefix(te.Message, "first line  second  [31mline éé") || !strings.HasSuffix(te.Message, "é…") {
		t.Errorf("message %q, want the start of Twilio's, cut at a character boundary with …", te.Message)
	}
	if len(te.Message) > 310 {
		t.Errorf("message has %d bytes, want about 300 at most", len(te.Message))
	}
}

func TestTwilioSendGivesUpOnAServerThatHangs(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs before srv.Close

	tests := []struct {
		name    string
		timeout time.Duration
		ctx     func(t *testing.T) context.Context
	}{
		{"the configured timeout ends the call", 200 * time.Millisecond, func(t *testing.T) context.Context { return t.Context() }},
		{"the caller's deadline ends the call when it is sooner", time.Minute, func(t *testing.T) context.Context {
			ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			t.Cleanup(cancel)
			return ctx
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tw := newTwilio(t, sms.TwilioConfig{APIURL: srv.URL, Timeout: tt.timeout})
			start := time.Now()
			err := tw.Send(tt.ctx(t), testTo, testBody)
			elapsed := time.Since(start)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Send error = %v, want one wrapping context.DeadlineExceeded", err)
			}
			if elapsed > 5*time.Second {
				t.Errorf("Send took %v, want about 200ms", elapsed)
			}
			if err != nil && strings.Contains(err.Error(), testToken) {
				t.Errorf("error %q quotes the Auth Token", err)
			}
		})
	}
}

func TestTwilioSendFollowsNoRedirect(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"sid": "SMx", "status": "queued"}`)
	}))
	t.Cleanup(other.Close)

	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(fmt.Sprintf("a %d redirect to another host is an error and is not followed", status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, other.URL+r.URL.Path, status)
			}))
			t.Cleanup(srv.Close)
			tw := newTwilio(t, sms.TwilioConfig{APIURL: srv.URL})
			err := tw.Send(t.Context(), testTo, testBody)
			if err == nil || !strings.Contains(err.Error(), fmt.Sprint(status)) {
				t.Errorf("Send error = %v, want one naming HTTP %d", err, status)
			}
			if n := elsewhere.Load(); n != 0 {
				t.Errorf("the redirect target received %d requests, want 0", n)
			}
		})
	}
}

func TestTwilioLeavesTheCallersClientAlone(t *testing.T) {
	client := &http.Client{Timeout: time.Minute}
	newTwilio(t, sms.TwilioConfig{HTTPClient: client})
	if client.CheckRedirect != nil {
		t.Error("NewTwilio set CheckRedirect on the caller's client, want it copied")
	}
}

func TestTwilioSendRefusesWhatCannotBeSent(t *testing.T) {
	tests := []struct {
		name, to, body string
	}{
		{"a number without the plus sign", "358401234567", testBody},
		{"a number with spaces", "+358 40 123 4567", testBody},
		{"a number starting with zero", "+0401234567", testBody},
		{"a number of sixteen digits", "+1234567890123456", testBody},
		{"an empty body", testTo, ""},
		{"a body of only spaces", testTo, "  \n "},
		{"a body longer than 1600 characters", testTo, strings.Repeat("a", 1601)},
	}
	fake, srv := newFakeTwilio(t)
	tw := newTwilio(t, sms.TwilioConfig{APIURL: srv.URL})
	for _, tt := range tests {
		t.Run(tt.name+" is refused before any request", func(t *testing.T) {
			if err := tw.Send(t.Context(), tt.to, tt.body); err == nil {
				t.Error("Send succeeded, want an error")
			}
		})
	}
	if n := fake.hits.Load(); n != 0 {
		t.Errorf("the server received %d requests, want 0", n)
	}
}

func TestNewTwilioRefuses(t *testing.T) {
	good := sms.TwilioConfig{AccountSID: testSID, AuthToken: testToken, From: testFrom}
	tests := []struct {
		name   string
		change func(c *sms.TwilioConfig)
		wantIn string
	}{
		{"an empty Account SID", func(c *sms.TwilioConfig) { c.AccountSID = "" }, "AccountSID"},
		{"an Account SID with the wrong prefix", func(c *sms.TwilioConfig) { c.AccountSID = "SK" + testSID[2:] }, "AccountSID"},
		{"an Account SID one digit short", func(c *sms.TwilioConfig) { c.AccountSID = testSID[:33] }, "AccountSID"},
		{"an Account SID with a letter that is not hex", func(c *sms.TwilioConfig) { c.AccountSID = testSID[:33] + "g" }, "AccountSID"},
		{"an empty Auth Token", func(c *sms.TwilioConfig) { c.AuthToken = "" }, "AuthToken is empty"},
		{"an Auth Token with a trailing newline", func(c *sms.TwilioConfig) { c.AuthToken = testToken + "\n" }, "AuthToken contains"},
		{"an empty From", func(c *sms.TwilioConfig) { c.From = "" }, "From must be"},
		{"a From in national form", func(c *sms.TwilioConfig) { c.From = "0401234567" }, "From must be"},
		{"a Messaging Service SID that is too short", func(c *sms.TwilioConfig) { c.From = testService[:20] }, "Messaging Service SID"},
		{"an API URL with another scheme", func(c *sms.TwilioConfig) { c.APIURL = "ftp://api.twilio.com" }, "APIURL must start with https://"},
		{"an API URL without a host", func(c *sms.TwilioConfig) { c.APIURL = "https://" }, "APIURL has no host"},
		{"an API URL that is a bare host name", func(c *sms.TwilioConfig) { c.APIURL = "api.twilio.com" }, "APIURL"},
		{"an API URL with a path", func(c *sms.TwilioConfig) { c.APIURL = "https://api.twilio.com/2010-04-01" }, "without a path"},
		{"an API URL with a query", func(c *sms.TwilioConfig) { c.APIURL = "https://api.twilio.com/?x=1" }, "query"},
		{"an API URL with a fragment", func(c *sms.TwilioConfig) { c.APIURL = "https://api.twilio.com/#x" }, "fragment"},
		{"an API URL with a password", func(c *sms.TwilioConfig) { c.APIURL = "https://" + testSID + ":" + testToken + "@api.twilio.com" }, "user name or password"},
		{"a negative timeout", func(c *sms.TwilioConfig) { c.Timeout = -time.Second }, "Timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.change(&cfg)
			_, err := sms.NewTwilio(cfg)
			if err == nil {
				t.Fatal("NewTwilio succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.wantIn) {
				t.Errorf("error %q does not mention %q", err, tt.wantIn)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("error %q quotes the Auth Token", err)
			}
		})
	}

	t.Run("every problem is reported at once", func(t *testing.T) {
		_, err := sms.NewTwilio(sms.TwilioConfig{AccountSID: "x", From: "y", APIURL: "ftp://h", Timeout: -1})
		if err == nil {
			t.Fatal("NewTwilio succeeded, want an error")
		}
		for _, s := range []string{"AccountSID", "AuthToken", "From", "APIURL", "Timeout"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("error %q does not mention %s", err, s)
			}
		}
	})

	t.Run("an empty API URL means Twilio's", func(t *testing.T) {
		if _, err := sms.NewTwilio(good); err != nil {
			t.Errorf("NewTwilio: %v", err)
		}
	})
}
