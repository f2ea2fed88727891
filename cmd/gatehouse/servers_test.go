package main

import (
	"encoding/json"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	netmail "net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// smtpServer is a real SMTP server (go-smtp) on loopback that keeps what it
// receives: the e-mail side of the end-to-end tests.
type smtpServer struct {
	addr     string
	user     string
	password string
	mu       sync.Mutex
	mails    []sentMail
	// changed is closed and replaced whenever a mail arrives; hold, when
	// set, keeps every DATA waiting until it is closed, and held hears of
	// each DATA that waits (mailqueue_test.go).
	changed chan struct{}
	hold    chan struct{}
	held    chan struct{}
}

type sentMail struct {
	To      string
	Subject string
	Text    string
}

func startSMTP(t *testing.T) *smtpServer {
	t.Helper()
	ss := &smtpServer{user: "gatehouse", password: "mail-password", changed: make(chan struct{})}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &smtpSession{srv: ss}, nil }))
	s.Domain = "localhost"
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	s.AllowInsecureAuth = true // loopback, tls=none: what the URL allows
	s.ErrorLog = log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ss.addr = l.Addr().String()
	go s.Serve(l)
	t.Cleanup(func() { s.Close(); l.Close() })
	return ss
}

// url is the GATEHOUSE_SMTP_URL of the server.
func (ss *smtpServer) url() string {
	return "smtp://" + ss.user + ":" + ss.password + "@" + ss.addr + "?tls=none"
}

// lastSubjectTo returns the subject of the newest e-mail to to.
func (ss *smtpServer) lastSubjectTo(to string) string {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for i := len(ss.mails) - 1; i >= 0; i-- {
		if ss.mails[i].To == to {
			return ss.mails[i].Subject
		}
	}
	return ""
}

var codeRE = regexp.MustCompile(`\b\d{6}\b`)

// lastCode returns the code in the newest e-mail to to.
func (ss *smtpServer) lastCode(t *testing.T, to string) string {
	t.Helper()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for i := len(ss.mails) - 1; i >= 0; i-- {
		if m := ss.mails[i]; m.To == to {
			if c := codeRE.FindString(m.Text); c != "" {
				return c
			}
		}
	}
	t.Fatalf("no e-mail with a code to %s among %d", to, len(ss.mails))
	return ""
}

type smtpSession struct {
	srv    *smtpServer
	authed bool
	to     string
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.srv.user || pass != s.srv.password {
			return smtp.ErrAuthFailed
		}
		s.authed = true
		return nil
	}), nil
}

func (s *smtpSession) Mail(string, *smtp.MailOptions) error {
	if !s.authed {
		return smtp.ErrAuthRequired
	}
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error { s.to = to; return nil }

func (s *smtpSession) Data(r io.Reader) error {
	msg, err := netmail.ReadMessage(r)
	if err != nil {
		return err
	}
	text, err := plainPart(msg)
	if err != nil {
		return err
	}
	s.srv.wait()
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	s.srv.mails = append(s.srv.mails, sentMail{To: s.to, Subject: msg.Header.Get("Subject"), Text: text})
	close(s.srv.changed)
	s.srv.changed = make(chan struct{})
	return nil
}

func (s *smtpSession) Reset()        { s.to = "" }
func (s *smtpSession) Logout() error { return nil }

// plainPart returns the text/plain part of a message.
func plainPart(msg *netmail.Message) (string, error) {
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(mt, "multipart/") {
		b, err := io.ReadAll(msg.Body)
		return string(b), err
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
			b, err := io.ReadAll(p)
			return string(b), err
		}
	}
}

// twilioServer imitates Twilio's Messages API as documented: a form POST
// with basic auth to /2010-04-01/Accounts/{sid}/Messages.json, answered 201
// with a Message resource. Anything else is refused, so a client that
// strays from the documented request fails the test.
type twilioServer struct {
	*httptest.Server
	sid, token, from string
	mu               sync.Mutex
	sms              []twilioMessage
	problems         []string
}

type twilioMessage struct{ To, Body string }

func startTwilio(t *testing.T) *twilioServer {
	t.Helper()
	ts := &twilioServer{sid: "AC" + strings.Repeat("0123456789abcdef", 2), token: "twilio-auth-token", from: "+15005550006"}
	ts.Server = httptest.NewServer(http.HandlerFunc(ts.serve))
	t.Cleanup(func() {
		ts.Close()
		ts.mu.Lock()
		defer ts.mu.Unlock()
		for _, p := range ts.problems {
			t.Errorf("Twilio request: %s", p)
		}
	})
	return ts
}

func (ts *twilioServer) serve(w http.ResponseWriter, r *http.Request) {
	problem := func(msg string) {
		ts.mu.Lock()
		ts.problems = append(ts.problems, msg)
		ts.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]any{"code": 21211, "message": msg, "status": 400})
	}
	if r.Method != http.MethodPost || r.URL.Path != "/2010-04-01/Accounts/"+ts.sid+"/Messages.json" {
		problem("unexpected " + r.Method + " " + r.URL.Path)
		return
	}
	if user, pass, ok := r.BasicAuth(); !ok || user != ts.sid || pass != ts.token {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		problem("content type " + r.Header.Get("Content-Type"))
		return
	}
	if err := r.ParseForm(); err != nil {
		problem("form: " + err.Error())
		return
	}
	for k := range r.PostForm {
		if k != "To" && k != "From" && k != "Body" {
			problem("unexpected field " + k)
			return
		}
	}
	if r.PostForm.Get("From") != ts.from || !strings.HasPrefix(r.PostForm.Get("To"), "+") || r.PostForm.Get("Body") == "" {
		problem("fields " + r.PostForm.Encode())
		return
	}
	ts.mu.Lock()
	ts.sms = append(ts.sms, twilioMessage{To: r.PostForm.Get("To"), Body: r.PostForm.Get("Body")})
	ts.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]any{"sid": "SM" + strings.Repeat("0", 32), "status": "queued",
		"to": r.PostForm.Get("To"), "from": ts.from, "body": r.PostForm.Get("Body"), "account_sid": ts.sid})
}

func (ts *twilioServer) last(t *testing.T) twilioMessage {
	t.Helper()
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if len(ts.sms) == 0 {
		t.Fatal("no SMS reached Twilio")
	}
	return ts.sms[len(ts.sms)-1]
}
