package sms_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/internal/sms"
)

var (
	testSecret = []byte("0123456789abcdef0123456789abcdef-webhook")
	// testNow is the clock of both ends unless a test skews one.
	testNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
)

// gateway is a test receiver of Gatehouse's webhook, written as a gateway
// author would from the package documentation: it checks the signature with
// VerifyWebhook against its own clock, then decodes the body strictly.
type gateway struct {
	t      *testing.T
	secret []byte
	now    time.Time
	status int // the answer to a good request; 0 means 202

	mu       sync.Mutex
	messages []map[string]string
	refusals []error
	hits     atomic.Int32
}

func newGateway(t *testing.T) (*gateway, *httptest.Server) {
	g := &gateway{t: t, secret: testSecret, now: testNow}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return g, srv
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.hits.Add(1)
	if r.Method != http.MethodPost {
		g.t.Errorf("method = %s, want POST", r.Method)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		g.t.Errorf("Content-Type = %q, want application/json", ct)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<10))
	if err != nil {
		g.t.Errorf("reading the body: %v", err)
		return
	}
	err = sms.VerifyWebhook(g.secret, r.Header.Get(sms.HeaderTimestamp), r.Header.Get(sms.HeaderSignature), body, g.now, 0)
	if err != nil {
		g.mu.Lock()
		g.refusals = append(g.refusals, err)
		g.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var m map[string]string
	if err := dec.Decode(&m); err != nil {
		g.t.Errorf("decoding %q: %v", body, err)
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	if len(m) != 2 || m["to"] == "" || m["body"] == "" {
		g.t.Errorf("body = %q, want exactly the fields to and body", body)
	}
	g.mu.Lock()
	g.messages = append(g.messages, m)
	g.mu.Unlock()
	if g.status != 0 {
		w.WriteHeader(g.status)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (g *gateway) received() ([]map[string]string, []error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]map[string]string(nil), g.messages...), append([]error(nil), g.refusals...)
}

func newWebhook(t *testing.T, cfg sms.WebhookConfig) *sms.Webhook {
	t.Helper()
	if cfg.Secret == nil {
		cfg.Secret = testSecret
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return testNow }
	}
	w, err := sms.NewWebhook(cfg)
	if err != nil {
		t.Fatalf("NewWebhook: %v", err)
	}
	return w
}

func TestWebhookSend(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{"a code message arrives signed and intact", testBody},
		{"quotes, line breaks and letters outside ASCII survive the JSON", "Klinikka \"Äänekoski\" <&>\r\nkoodi: 907315 ✓"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, srv := newGateway(t)
			w := newWebhook(t, sms.WebhookConfig{URL: srv.URL + "/sms?tenant=gatehouse"})
			if err := w.Send(t.Context(), testTo, tt.body); err != nil {
				t.Fatalf("Send: %v", err)
			}
			msgs, refusals := g.received()
			if len(refusals) != 0 {
				t.Fatalf("gateway refused: %v", refusals)
			}
			if len(msgs) != 1 {
				t.Fatalf("gateway received %d messages, want 1", len(msgs))
			}
			if got := msgs[0]; got["to"] != testTo || got["body"] != tt.body {
				t.Errorf("gateway received to=%q body=%q, want to=%q body=%q", got["to"], got["body"], testTo, tt.body)
			}
		})
	}
}

func TestWebhookSendIsRefusedByAGatewayThatDoesNotTrustIt(t *testing.T) {
	tests := []struct {
		name      string
		senderNow time.Time
		secret    []byte // the gateway's
		wantErr   error
	}{
		{"a request signed ten minutes ago is refused as a replay", testNow.Add(-10 * time.Minute), testSecret, sms.ErrWebhookTimestamp},
		{"a request signed ten minutes in the future is refused", testNow.Add(10 * time.Minute), testSecret, sms.ErrWebhookTimestamp},
		{"a request signed with another secret is refused", testNow, []byte("another-secret-of-32-bytes-or-more!!"), sms.ErrWebhookSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, srv := newGateway(t)
			g.secret = tt.secret
			w := newWebhook(t, sms.WebhookConfig{URL: srv.URL, Now: func() time.Time { return tt.senderNow }})
			err := w.Send(t.Context(), testTo, testBody)
			if err == nil || !strings.Contains(err.Error(), "401") {
				t.Errorf("Send error = %v, want one naming HTTP 401", err)
			}
			_, refusals := g.received()
			if len(refusals) != 1 || !errors.Is(refusals[0], tt.wantErr) {
				t.Errorf("gateway refusals = %v, want one matching %v", refusals, tt.wantErr)
			}
		})
	}
}

func TestWebhookSendReportsFailures(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	t.Cleanup(other.Close)

	tests := []struct {
		name    string
		handler http.HandlerFunc
		wantIn  string
	}{
		{"a 500 answer is an error naming the status", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "the gateway is down; message was: "+testBody, http.StatusInternalServerError)
		}, "HTTP 500"},
		{"a 429 answer is an error naming the status", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusTooManyRequests)
		}, "HTTP 429"},
		{"a redirect is an error and is not followed", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL, http.StatusTemporaryRedirect)
		}, "HTTP 307"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			t.Cleanup(srv.Close)
			w := newWebhook(t, sms.WebhookConfig{URL: srv.URL})
			err := w.Send(t.Context(), testTo, testBody)
			if err == nil || !strings.Contains(err.Error(), tt.wantIn) {
				t.Fatalf("Send error = %v, want one containing %q", err, tt.wantIn)
			}
			if strings.Contains(err.Error(), "907315") {
				t.Errorf("error %q quotes the code", err)
			}
		})
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("the redirect target received %d requests, want 0", n)
	}

	t.Run("a gateway that hangs is given up on after the timeout", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		t.Cleanup(srv.Close)
		t.Cleanup(func() { close(release) })
		w := newWebhook(t, sms.WebhookConfig{URL: srv.URL, Timeout: 200 * time.Millisecond})
		start := time.Now()
		err := w.Send(t.Context(), testTo, testBody)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Send error = %v, want one wrapping context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Send took %v, want about 200ms", d)
		}
	})

	t.Run("a password in the URL is not quoted in errors", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, pass, _ := r.BasicAuth(); pass != "hunter2hunter2" {
				t.Errorf("basic auth password = %q, want the one in the URL", pass)
			}
			w.WriteHeader(http.StatusForbidden)
		}))
		t.Cleanup(srv.Close)
		u := strings.Replace(srv.URL, "http://", "http://gw:hunter2hunter2@", 1) + "/send?key=k3y-in-query"
		w := newWebhook(t, sms.WebhookConfig{URL: u})
		err := w.Send(t.Context(), testTo, testBody)
		if err == nil {
			t.Fatal("Send succeeded, want an error")
		}
		for _, s := range []string{"hunter2hunter2", "k3y-in-query"} {
			if strings.Contains(err.Error(), s) {
				t.Errorf("error %q quotes %q", err, s)
			}
		}
	})
}

// sign is the documented scheme, written out independently of the package.
func sign(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

func TestVerifyWebhook(t *testing.T) {
	body := []byte(`{"to":"+358401234567","body":"Your code is 907315."}`)
	ts := strconv.FormatInt(testNow.Unix(), 10)
	good := sign(testSecret, ts, body)

	tests := []struct {
		name      string
		secret    []byte
		timestamp string
		signature string
		body      []byte
		now       time.Time
		tolerance time.Duration
		wantErr   error // nil means accepted
	}{
		{name: "a request signed now is accepted", timestamp: ts, signature: good},
		{name: "a request signed five minutes ago is still accepted", timestamp: ts, signature: good, now: testNow.Add(5 * time.Minute)},
		{name: "a request signed five minutes ahead of the receiver is still accepted", timestamp: ts, signature: good, now: testNow.Add(-5 * time.Minute)},
		{name: "upper-case hex is accepted", timestamp: ts, signature: "v1=" + strings.ToUpper(good[3:])},
		{name: "one matching signature among several is enough, for a change of secret", timestamp: ts,
			signature: sign([]byte("the-old-secret-of-thirty-two-bytes!"), ts, body) + ", " + good},
		{name: "a signature of an unknown scheme beside v1 is ignored", timestamp: ts, signature: "v2=abc," + good},

		{name: "a tampered body is refused", timestamp: ts, signature: good,
			body: bytes.Replace(body, []byte("907315"), []byte("000000"), 1), wantErr: sms.ErrWebhookSignature},
		{name: "an added space in the body is refused", timestamp: ts, signature: good,
			body: append(append([]byte(nil), body...), ' '), wantErr: sms.ErrWebhookSignature},
		{name: "a wrong secret is refused", secret: []byte("not-the-secret-not-the-secret-not-the-secret"), timestamp: ts, signature: good, wantErr: sms.ErrWebhookSignature},
		{name: "a changed timestamp is refused", timestamp: strconv.FormatInt(testNow.Unix()+1, 10), signature: good, wantErr: sms.ErrWebhookSignature},
		{name: "a stale timestamp is refused as a replay", timestamp: ts, signature: good, now: testNow.Add(5*time.Minute + time.Second), wantErr: sms.ErrWebhookTimestamp},
		{name: "a timestamp from the future is refused", timestamp: ts, signature: good, now: testNow.Add(-5*time.Minute - time.Second), wantErr: sms.ErrWebhookTimestamp},
		{name: "a shorter tolerance is kept", timestamp: ts, signature: good, now: testNow.Add(31 * time.Second), tolerance: 30 * time.Second, wantErr: sms.ErrWebhookTimestamp},

		{name: "an empty timestamp is malformed", timestamp: "", signature: good, wantErr: sms.ErrWebhookMalformed},
		{name: "a timestamp with a sign is malformed", timestamp: "+" + ts, signature: sign(testSecret, "+"+ts, body), wantErr: sms.ErrWebhookMalformed},
		{name: "a timestamp in RFC 3339 is malformed", timestamp: testNow.Format(time.RFC3339), signature: good, wantErr: sms.ErrWebhookMalformed},
		{name: "a timestamp in milliseconds is refused", timestamp: ts + "000", signature: sign(testSecret, ts+"000", body), wantErr: sms.ErrWebhookTimestamp},
		{name: "an empty signature is malformed", timestamp: ts, signature: "", wantErr: sms.ErrWebhookMalformed},
		{name: "a signature without the v1= prefix is malformed", timestamp: ts, signature: good[3:], wantErr: sms.ErrWebhookMalformed},
		{name: "a signature that is not hex is malformed", timestamp: ts, signature: "v1=" + strings.Repeat("zz", 32), wantErr: sms.ErrWebhookMalformed},
		{name: "a signature cut short is malformed", timestamp: ts, signature: good[:40], wantErr: sms.ErrWebhookMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secret, b, now := tt.secret, tt.body, tt.now
			if secret == nil {
				secret = testSecret
			}
			if b == nil {
				b = body
			}
			if now.IsZero() {
				now = testNow
			}
			err := sms.VerifyWebhook(secret, tt.timestamp, tt.signature, b, now, tt.tolerance)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Errorf("VerifyWebhook = %v, want nil", err)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Errorf("VerifyWebhook = %v, want %v", err, tt.wantErr)
			}
		})
	}

	t.Run("an empty secret verifies nothing", func(t *testing.T) {
		if err := sms.VerifyWebhook(nil, ts, sign(nil, ts, body), body, testNow, 0); err == nil {
			t.Error("VerifyWebhook = nil, want an error")
		}
	})
}

func TestNewWebhookRefuses(t *testing.T) {
	tests := []struct {
		name   string
		cfg    sms.WebhookConfig
		wantIn string
	}{
		{"a secret of 31 bytes", sms.WebhookConfig{URL: "https://gw.example/sms", Secret: bytes.Repeat([]byte("s"), 31)}, "at least 32"},
		{"no secret", sms.WebhookConfig{URL: "https://gw.example/sms"}, "Secret"},
		{"an empty URL", sms.WebhookConfig{Secret: testSecret}, "URL"},
		{"a URL of another scheme", sms.WebhookConfig{URL: "ftp://gw.example/sms", Secret: testSecret}, "https://"},
		{"a URL without a host", sms.WebhookConfig{URL: "https:///sms", Secret: testSecret}, "no host"},
		{"a URL with a fragment", sms.WebhookConfig{URL: "https://gw.example/sms#x", Secret: testSecret}, "fragment"},
		{"a negative timeout", sms.WebhookConfig{URL: "https://gw.example/sms", Secret: testSecret, Timeout: -1}, "Timeout"},
		{"a URL that does not parse, with a password", sms.WebhookConfig{URL: "https://u:hunter2hunter2@gw.example:port/", Secret: testSecret}, "URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			_, err := sms.NewWebhook(tt.cfg)
			if err == nil {
				t.Fatal("NewWebhook succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.wantIn) {
				t.Errorf("error %q does not mention %q", err, tt.wantIn)
			}
			if strings.Contains(err.Error(), "hunter2hunter2") || (len(tt.cfg.Secret) > 0 && strings.Contains(err.Error(), string(tt.cfg.Secret))) {
				t.Errorf("error %q quotes a secret", err)
			}
		})
	}

	t.Run("the secret is copied, so a caller that wipes its slice does not break signing", func(t *testing.T) {
		g, srv := newGateway(t)
		secret := bytes.Clone(testSecret)
		w := newWebhook(t, sms.WebhookConfig{URL: srv.URL, Secret: secret})
		clear(secret)
		if err := w.Send(t.Context(), testTo, testBody); err != nil {
			t.Errorf("Send: %v", err)
		}
		if _, refusals := g.received(); len(refusals) != 0 {
			t.Errorf("gateway refusals = %v, want none", refusals)
		}
	})
}

func ExampleVerifyWebhook() {
	secret := []byte("0123456789abcdef0123456789abcdef")
	body := []byte(`{"to":"+358401234567","body":"Your code is 907315."}`)
	now := time.Unix(1767225600, 0)
	// What Gatehouse sends: hex(HMAC-SHA256(secret, timestamp + "." + body)).
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("1767225600." + string(body)))
	signature := "v1=" + hex.EncodeToString(m.Sum(nil))

	err := sms.VerifyWebhook(secret, "1767225600", signature, body, now.Add(time.Minute), 0)
	fmt.Println(err)
	err = sms.VerifyWebhook(secret, "1767225600", signature, body, now.Add(time.Hour), 0)
	fmt.Println(errors.Is(err, sms.ErrWebhookTimestamp))
	// Output:
	// <nil>
	// true
}
