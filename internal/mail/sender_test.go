package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	testUser     = "gatehouse@example.com"
	testPassword = "pa:ss/w@rd-9f3e"
	testFrom     = "Gatehouse <no-reply@example.com>"
	testTo       = "anna@example.com"
)

// userinfo is the test credentials as they are written in a URL.
func userinfo(user, pass string) string {
	return strings.NewReplacer("@", "%40", ":", "%3A", "/", "%2F").Replace(user) + ":" +
		strings.NewReplacer("@", "%40", ":", "%3A", "/", "%2F").Replace(pass)
}

// withPort fills in the port; fmt would take the URL's percent escapes for
// verbs.
func withPort(rawURL string, port int) string {
	return strings.ReplaceAll(rawURL, "{port}", strconv.Itoa(port))
}

// newTestSender returns a Sender for rawURL whose timeout is the generous
// testIOTimeout rather than DefaultTimeout, so that a loaded machine does not
// fail a send that must succeed; opts come after and may set another.
func newTestSender(t *testing.T, rawURL string, opts ...Option) *Sender {
	t.Helper()
	cfg, err := ParseURL(rawURL)
	if err != nil {
		t.Fatalf("ParseURL: %v", err)
	}
	s, err := New(cfg, testFrom, append([]Option{WithTimeout(testIOTimeout)}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// sendWatchdog bounds a Send in the tests. Every Sender in them gives up
// after testIOTimeout at most (DefaultTimeout, shorter, where a test builds
// one with New), so a Send still running after this ignores its own
// deadline: the test fails rather than hangs.
const sendWatchdog = testIOTimeout + 15*time.Second

// send runs s.Send(ctx, m) and returns its error, failing the test if Send
// does not return within sendWatchdog.
func send(t *testing.T, ctx context.Context, s *Sender, m Message) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- s.Send(ctx, m) }()
	timer := time.NewTimer(sendWatchdog)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
		t.Fatalf("Send did not return within %v; it must keep its timeout", sendWatchdog)
		return nil
	}
}

func TestSendDelivers(t *testing.T) {
	serverTLS, roots := newTestCert(t)
	trust := WithTLSConfig(&tls.Config{RootCAs: roots})
	creds := userinfo(testUser, testPassword)

	tests := []struct {
		name     string
		server   serverConfig
		url      string // {port} stands for the server's port
		opts     []Option
		wantUser string
		wantTLS  bool
	}{
		{
			name:     "STARTTLS on smtp:// upgrades, authenticates and delivers",
			server:   serverConfig{startTLS: serverTLS, user: testUser, pass: testPassword},
			url:      "smtp://" + creds + "@127.0.0.1:{port}",
			opts:     []Option{trust},
			wantUser: testUser,
			wantTLS:  true,
		},
		{
			name:     "implicit TLS on smtps:// authenticates and delivers",
			server:   serverConfig{implicitTLS: serverTLS, user: testUser, pass: testPassword},
			url:      "smtps://" + creds + "@127.0.0.1:{port}",
			opts:     []Option{trust},
			wantUser: testUser,
			wantTLS:  true,
		},
		{
			name:    "STARTTLS without credentials delivers without AUTH",
			server:  serverConfig{startTLS: serverTLS},
			url:     "smtp://localhost:{port}",
			opts:    []Option{trust},
			wantTLS: true,
		},
		{
			name:     "tls=none to 127.0.0.1 authenticates and delivers in plain text",
			server:   serverConfig{user: testUser, pass: testPassword, plainAuth: true},
			url:      "smtp://" + creds + "@127.0.0.1:{port}?tls=none",
			wantUser: testUser,
		},
		{
			name:   "tls=none to localhost without credentials delivers in plain text",
			server: serverConfig{},
			url:    "smtp://localhost:{port}?tls=none",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, tt.server)
			now := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
			opts := append([]Option{WithClock(func() time.Time { return now })}, tt.opts...)
			s := newTestSender(t, withPort(tt.url, srv.port), opts...)

			m, err := CodeMessage(testTo, "Happy Paws Clinic", "493027", 10*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if err := send(t, context.Background(), s, m); err != nil {
				t.Fatalf("Send: %v", err)
			}

			got := srv.received()
			if len(got) != 1 {
				t.Fatalf("the server received %d messages, want 1", len(got))
			}
			r := got[0]
			if r.From != "no-reply@example.com" {
				t.Errorf("MAIL FROM = %q, want %q", r.From, "no-reply@example.com")
			}
			if len(r.To) != 1 || r.To[0] != testTo {
				t.Errorf("RCPT TO = %q, want [%q]", r.To, testTo)
			}
			if r.User != tt.wantUser {
				t.Errorf("authenticated user = %q, want %q", r.User, tt.wantUser)
			}
			if r.TLS != tt.wantTLS {
				t.Errorf("encrypted = %v, want %v", r.TLS, tt.wantTLS)
			}

			p := parseMessage(t, r.Data)
			if p.MediaType != "multipart/alternative" {
				t.Errorf("Content-Type = %q, want multipart/alternative", p.MediaType)
			}
			for _, part := range []string{"text/plain", "text/html"} {
				if !strings.Contains(p.Parts[part], "493027") {
					t.Errorf("the %s part does not contain the code:\n%s", part, p.Parts[part])
				}
				if !strings.Contains(p.Parts[part], "Happy Paws Clinic") {
					t.Errorf("the %s part does not contain the organization:\n%s", part, p.Parts[part])
				}
			}
			if len(p.Parts) != 2 {
				t.Errorf("parts = %d, want 2 (text/plain and text/html)", len(p.Parts))
			}
			checkHeaders(t, p, m.Subject, now)
		})
	}
}

func checkHeaders(t *testing.T, p parsedMessage, wantSubject string, wantDate time.Time) {
	t.Helper()
	from, err := p.Header.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Address != "no-reply@example.com" || from[0].Name != "Gatehouse" {
		t.Errorf("From = %v (%v), want Gatehouse <no-reply@example.com>", from, err)
	}
	to, err := p.Header.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Address != testTo {
		t.Errorf("To = %v (%v), want %s", to, err, testTo)
	}
	if got := p.Header.Get("Subject"); got != wantSubject {
		t.Errorf("Subject = %q, want %q", got, wantSubject)
	}
	date, err := p.Header.Date()
	if err != nil || !date.Equal(wantDate) {
		t.Errorf("Date = %v (%v), want %v", date, err, wantDate)
	}
	id := p.Header.Get("Message-Id")
	if !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@example.com>") {
		t.Errorf("Message-ID = %q, want <random@example.com>", id)
	}
	if ua := p.Header.Get("User-Agent") + p.Header.Get("X-Mailer"); ua != "" {
		t.Errorf("the message names its mailer %q; it should not advertise the library", ua)
	}
}

func TestSendFails(t *testing.T) {
	serverTLS, roots := newTestCert(t)
	trust := WithTLSConfig(&tls.Config{RootCAs: roots})
	creds := userinfo(testUser, testPassword)

	tests := []struct {
		name   string
		server serverConfig
		url    string // {port} stands for the server's port
		opts   []Option
		// wantNoAuth says the password must never have reached the server.
		wantNoAuth bool
	}{
		{
			name:   "a wrong password is refused by the server",
			server: serverConfig{startTLS: serverTLS, user: testUser, pass: "the-right-one"},
			url:    "smtp://" + creds + "@127.0.0.1:{port}",
			opts:   []Option{trust},
		},
		{
			name:   "a wrong user name is refused by the server",
			server: serverConfig{startTLS: serverTLS, user: "someone-else", pass: testPassword},
			url:    "smtp://" + creds + "@127.0.0.1:{port}",
			opts:   []Option{trust},
		},
		{
			name:       "smtp:// to a server without STARTTLS fails instead of falling back to plain text",
			server:     serverConfig{user: testUser, pass: testPassword, plainAuth: true},
			url:        "smtp://" + creds + "@127.0.0.1:{port}",
			opts:       []Option{trust},
			wantNoAuth: true,
		},
		{
			name:       "smtp:// without credentials to a server without STARTTLS fails too",
			server:     serverConfig{},
			url:        "smtp://127.0.0.1:{port}",
			opts:       []Option{trust},
			wantNoAuth: true,
		},
		{
			name:       "STARTTLS to a server whose certificate is not trusted fails",
			server:     serverConfig{startTLS: serverTLS, user: testUser, pass: testPassword},
			url:        "smtp://" + creds + "@127.0.0.1:{port}",
			opts:       []Option{WithTLSConfig(&tls.Config{RootCAs: x509.NewCertPool()})},
			wantNoAuth: true,
		},
		{
			name:       "smtps:// to a server whose certificate is not trusted fails",
			server:     serverConfig{implicitTLS: serverTLS, user: testUser, pass: testPassword},
			url:        "smtps://" + creds + "@127.0.0.1:{port}",
			opts:       []Option{WithTLSConfig(&tls.Config{RootCAs: x509.NewCertPool()})},
			wantNoAuth: true,
		},
		{
			name:       "smtps:// to a server that speaks plain text fails",
			server:     serverConfig{user: testUser, pass: testPassword, plainAuth: true},
			url:        "smtps://" + creds + "@127.0.0.1:{port}",
			opts:       []Option{trust, WithTimeout(2 * time.Second)},
			wantNoAuth: true,
		},
		{
			name:       "a certificate for another name is refused",
			server:     serverConfig{startTLS: serverTLS, user: testUser, pass: testPassword},
			url:        "smtp://" + creds + "@127.0.0.1:{port}",
			opts:       []Option{WithTLSConfig(&tls.Config{RootCAs: roots, ServerName: "mail.example.org"})},
			wantNoAuth: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, tt.server)
			s := newTestSender(t, withPort(tt.url, srv.port), tt.opts...)
			m, err := CodeMessage(testTo, "Happy Paws Clinic", "493027", 10*time.Minute)
			if err != nil {
				t.Fatal(err)
			}

			err = send(t, context.Background(), s, m)
			if err == nil {
				t.Fatal("Send succeeded, want an error")
			}
			if errors.Unwrap(err) == nil {
				t.Errorf("the error %q does not wrap its cause", err)
			}
			if strings.Contains(err.Error(), testPassword) {
				t.Errorf("the error contains the password: %q", err)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("127.0.0.1:%d", srv.port)) {
				t.Errorf("the error %q does not name the server", err)
			}
			if n := len(srv.received()); n != 0 {
				t.Errorf("the server received %d messages, want 0", n)
			}
			if n := srv.auths(); tt.wantNoAuth && n != 0 {
				t.Errorf("the client tried AUTH %d times; the password must not be sent here", n)
			}
		})
	}
}

func TestSendGivesUpInTime(t *testing.T) {
	// Each case should end Send after 300 ms at most. Anything else that
	// could end it comes much later: DefaultTimeout (10 s) if WithTimeout
	// were ignored, the test Sender's testIOTimeout (30 s) if the context
	// were, the silent server hanging up after silentFor (20 s). So a Send
	// that returns within limit was ended by the bound under test, and a
	// loaded machine has 16 times the expected time to get there.
	const limit = DefaultTimeout / 2

	tests := []struct {
		name    string
		scheme  string
		opts    []Option
		ctx     func() (context.Context, context.CancelFunc)
		wantErr error
	}{
		{
			name:    "a silent server is given up on after the sender's timeout",
			scheme:  "smtp",
			opts:    []Option{WithTimeout(300 * time.Millisecond)},
			ctx:     func() (context.Context, context.CancelFunc) { return context.Background(), func() {} },
			wantErr: context.DeadlineExceeded,
		},
		{
			name:    "a silent server on smtps:// is given up on during the TLS handshake",
			scheme:  "smtps",
			opts:    []Option{WithTimeout(300 * time.Millisecond)},
			ctx:     func() (context.Context, context.CancelFunc) { return context.Background(), func() {} },
			wantErr: context.DeadlineExceeded,
		},
		{
			name:   "a silent server is given up on at the caller's deadline",
			scheme: "smtp",
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 300*time.Millisecond)
			},
			wantErr: context.DeadlineExceeded,
		},
		{
			name:   "a cancelled context stops the send",
			scheme: "smtp",
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(200*time.Millisecond, cancel)
				return ctx, cancel
			},
			wantErr: context.Canceled,
		},
		{
			name:   "an already cancelled context does not dial at all",
			scheme: "smtp",
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx, cancel
			},
			wantErr: context.Canceled,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			port := startSilentServer(t)
			url := withPort(tt.scheme+"://"+userinfo(testUser, testPassword)+"@127.0.0.1:{port}", port)
			s := newTestSender(t, url, tt.opts...)
			m, err := CodeMessage(testTo, "Happy Paws Clinic", "493027", 10*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := tt.ctx()
			defer cancel()

			start := time.Now()
			err = send(t, ctx, s, m)
			elapsed := time.Since(start)

			if err == nil {
				t.Fatal("Send succeeded against a silent server")
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("error = %q, want one that is %v", err, tt.wantErr)
			}
			if elapsed > limit {
				t.Errorf("Send took %v, want well under %v", elapsed, limit)
			}
		})
	}
}

func TestSendRefusesBadMessages(t *testing.T) {
	// No server: a message that cannot be sent must fail before dialling.
	cfg := &Config{Host: "127.0.0.1", Port: 1, Security: NoTLS}
	s, err := New(cfg, testFrom)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		m       Message
		wantErr string
	}{
		{"a recipient that is not an address is refused", Message{To: "anna", Subject: "s", Text: "t"}, "recipient"},
		{"a recipient with a line break is refused", Message{To: "anna@example.com\r\nBcc: eve@example.com", Subject: "s", Text: "t"}, "recipient"},
		{"two recipients in one message are refused", Message{To: "anna@example.com, eve@example.com", Subject: "s", Text: "t"}, "recipient"},
		{"a message without text is refused", Message{To: "anna@example.com", Subject: "s"}, "no text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := send(t, context.Background(), s, tt.m)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Send error = %v, want one about %q", err, tt.wantErr)
			}
		})
	}
}

func TestSendKeepsTheSubjectOnOneLine(t *testing.T) {
	srv := startServer(t, serverConfig{})
	s := newTestSender(t, fmt.Sprintf("smtp://127.0.0.1:%d?tls=none", srv.port))
	m := Message{
		To:      testTo,
		Subject: "Hello\r\nBcc: eve@example.com",
		Text:    "Only text.",
	}
	if err := send(t, context.Background(), s, m); err != nil {
		t.Fatal(err)
	}
	got := srv.received()
	if len(got) != 1 {
		t.Fatalf("the server received %d messages, want 1", len(got))
	}
	p := parseMessage(t, got[0].Data)
	if bcc := p.Header.Get("Bcc"); bcc != "" {
		t.Errorf("a Bcc header %q was injected through the subject", bcc)
	}
	if subject := p.Header.Get("Subject"); subject != "Hello Bcc: eve@example.com" {
		t.Errorf("Subject = %q, want the line breaks turned into a space", subject)
	}
	if p.MediaType != "text/plain" || !strings.Contains(p.Parts["text/plain"], "Only text.") {
		t.Errorf("a message without HTML should be text/plain only, got %q with %q", p.MediaType, p.Parts)
	}
	if len(got[0].To) != 1 {
		t.Errorf("RCPT TO = %q, want only %s", got[0].To, testTo)
	}
}

func TestSendIsSafeForConcurrentUse(t *testing.T) {
	serverTLS, roots := newTestCert(t)
	srv := startServer(t, serverConfig{startTLS: serverTLS, user: testUser, pass: testPassword})
	s := newTestSender(t,
		withPort("smtp://"+userinfo(testUser, testPassword)+"@127.0.0.1:{port}", srv.port),
		WithTLSConfig(&tls.Config{RootCAs: roots}))

	const n = 4
	errs := make(chan error, n) // buffered: a late Send never blocks
	for i := range n {
		go func() {
			m, err := CodeMessage(testTo, "Happy Paws Clinic", fmt.Sprintf("00000%d", i), 10*time.Minute)
			if err == nil {
				err = s.Send(context.Background(), m)
			}
			errs <- err
		}()
	}
	// The sends run at once, so one watchdog covers them all.
	watchdog := time.NewTimer(sendWatchdog)
	defer watchdog.Stop()
	for i := range n {
		select {
		case err := <-errs:
			if err != nil {
				t.Error(err)
			}
		case <-watchdog.C:
			t.Fatalf("%d of %d concurrent Sends did not return within %v", n-i, n, sendWatchdog)
		}
	}
	if got := len(srv.received()); got != n {
		t.Errorf("the server received %d messages, want %d", got, n)
	}
}

func TestNew(t *testing.T) {
	good := &Config{Host: "mail.example.com", Port: 587}
	tests := []struct {
		name    string
		cfg     *Config
		from    string
		wantErr bool
	}{
		{"a bare sender address is accepted", good, "no-reply@example.com", false},
		{"a sender address with a display name is accepted", good, "Happy Paws <no-reply@example.com>", false},
		{"an empty sender address is refused", good, "", true},
		{"a sender address without a domain is refused", good, "no-reply", true},
		{"two sender addresses are refused", good, "a@example.com, b@example.com", true},
		{"a sender address with a line break is refused", good, "a@example.com\r\nBcc: e@example.com", true},
		{"a missing configuration is refused", nil, "no-reply@example.com", true},
		{"plain text to a remote host built by hand is refused", &Config{Host: "mail.example.com", Port: 25, Security: NoTLS}, "no-reply@example.com", true},
		{"plain text to a loopback host built by hand is accepted", &Config{Host: "::1", Port: 25, Security: NoTLS}, "no-reply@example.com", false},
		{"a port out of range is refused", &Config{Host: "mail.example.com", Port: 70000}, "no-reply@example.com", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg, tt.from)
			if gotErr := err != nil; gotErr != tt.wantErr {
				t.Errorf("New error = %v, want error: %v", err, tt.wantErr)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	cause := errors.New("535 nope for user:hunter2")
	err := redact(fmt.Errorf("mail: sending: %w", cause), "hunter2")
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("the password survived: %q", err)
	}
	if !errors.Is(err, cause) {
		t.Error("the redacted error no longer wraps its cause")
	}
}

// TestCheck: Check succeeds where Send would get through, sends nothing,
// and fails, naming the server and never the password, where Send would
// fail: no server, no STARTTLS offered, a wrong password.
func TestCheck(t *testing.T) {
	serverTLS, roots := newTestCert(t)
	trust := WithTLSConfig(&tls.Config{RootCAs: roots})
	creds := userinfo(testUser, testPassword)

	t.Run("a server that takes the TLS mode and the password passes, and receives no message", func(t *testing.T) {
		ts := startServer(t, serverConfig{startTLS: serverTLS, user: testUser, pass: testPassword})
		s := newTestSender(t, withPort("smtp://"+creds+"@127.0.0.1:{port}", ts.port), trust)
		if err := s.Check(t.Context()); err != nil {
			t.Fatalf("Check: %v", err)
		}
		if n := len(ts.received()); n != 0 {
			t.Errorf("Check sent %d messages, want none", n)
		}
		if ts.auths() == 0 {
			t.Error("Check did not try the password")
		}
	})
	fails := []struct {
		name   string
		server *serverConfig
		url    string
	}{
		{"no server listening", nil, "smtp://" + creds + "@127.0.0.1:{port}"},
		{"a server without STARTTLS", &serverConfig{user: testUser, pass: testPassword, plainAuth: true}, "smtp://" + creds + "@127.0.0.1:{port}"},
		{"a wrong password", &serverConfig{startTLS: serverTLS, user: testUser, pass: "the-right-one"}, "smtp://" + creds + "@127.0.0.1:{port}"},
	}
	for _, tc := range fails {
		t.Run(tc.name+" fails, naming the server", func(t *testing.T) {
			var port int
			if tc.server != nil {
				port = startServer(t, *tc.server).port
			} else {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				port = l.Addr().(*net.TCPAddr).Port
				l.Close()
			}
			s := newTestSender(t, withPort(tc.url, port), trust)
			err := s.Check(t.Context())
			if err == nil {
				t.Fatal("Check passed")
			}
			if !strings.Contains(err.Error(), "127.0.0.1:"+strconv.Itoa(port)) {
				t.Errorf("Check: %v, want the server named", err)
			}
			if strings.Contains(err.Error(), testPassword) {
				t.Errorf("Check's error holds the password: %v", err)
			}
		})
	}
}
