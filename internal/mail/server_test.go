package mail

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// This file holds a real SMTP server (github.com/emersion/go-smtp) that
// the tests start on 127.0.0.1, and the helpers to read what it received.

// serverConfig says how a test server behaves.
type serverConfig struct {
	// startTLS, when set, makes the server offer STARTTLS with it.
	startTLS *tls.Config
	// implicitTLS, when set, makes the server speak TLS from the first byte.
	implicitTLS *tls.Config
	// user and pass, when set, are the only credentials accepted, and a
	// message is refused until they are given.
	user, pass string
	// plainAuth lets the server offer AUTH on an unencrypted connection,
	// so that a client that would send its password in clear could.
	plainAuth bool
}

// received is one message as the server got it.
type received struct {
	From string
	To   []string
	User string // the authenticated user, "" if none
	TLS  bool   // whether the connection was encrypted
	Data []byte
}

// The bounds below keep every wait in these tests finite: a test may fail,
// but it never hangs until the go test timeout. Each is generous, because a
// loaded machine (go test ./... runs many packages at once) must not turn a
// slow exchange into a failure.
const (
	// testIOTimeout is the test server's read and write deadline, and the
	// Sender's timeout in the tests that expect a Send to finish (see
	// newTestSender). A loopback SMTP dialogue needs milliseconds.
	testIOTimeout = 30 * time.Second
	// testStopTimeout bounds each wait for a test server to stop.
	testStopTimeout = 10 * time.Second
	// silentFor is how long the silent server keeps a connection before it
	// closes it: far longer than the timeouts the tests expect a Sender to
	// give up at, yet short enough that a Sender that ignored its deadline
	// fails the test with an error instead of hanging it.
	silentFor = 20 * time.Second
)

type testServer struct {
	cfg  serverConfig
	port int

	mu           sync.Mutex
	messages     []received
	authAttempts int
}

// startServer runs an SMTP server on a free port of 127.0.0.1 until the
// test ends.
func startServer(t *testing.T, cfg serverConfig) *testServer {
	t.Helper()
	ts := &testServer{cfg: cfg}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{srv: ts, conn: c}, nil
	}))
	s.Domain = "localhost"
	// A server-side bound for every read and write, so that no server
	// goroutine waits for a client without end.
	s.ReadTimeout = testIOTimeout
	s.WriteTimeout = testIOTimeout
	s.AllowInsecureAuth = cfg.plainAuth
	s.TLSConfig = cfg.startTLS
	s.ErrorLog = log.New(io.Discard, "", 0)

	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.port = tcp.Addr().(*net.TCPAddr).Port
	tl := &trackingListener{Listener: tcp}
	var l net.Listener = tl
	if cfg.implicitTLS != nil {
		l = tls.NewListener(l, cfg.implicitTLS)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Serve(l)
	}()
	t.Cleanup(func() {
		// Server.Close would not do: it misses a listener that Serve has
		// not registered yet and a connection accepted while it runs, and
		// it does not wait for the connections' goroutines. So: stop
		// accepting, wait for Serve, close every connection ever accepted,
		// then let Shutdown wait for the connection goroutines, all of it
		// with a bound.
		_ = tl.Close()
		if !waitFor(done, testStopTimeout) {
			t.Errorf("the SMTP server's accept loop did not end within %v of closing its listener", testStopTimeout)
			tl.closeConns()
			// Shutdown's wait could race with Serve starting another
			// connection.
			return
		}
		tl.closeConns()
		ctx, cancel := context.WithTimeout(context.Background(), testStopTimeout)
		defer cancel()
		if err := s.Shutdown(ctx); errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("the SMTP server's connections did not end within %v of being closed", testStopTimeout)
		}
	})
	return ts
}

// waitFor reports whether ch closes within d.
func waitFor(ch <-chan struct{}, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ch:
		return true
	case <-timer.C:
		return false
	}
}

// trackingListener remembers every connection it accepts, so that a test
// can close them all when it ends, whoever holds them.
type trackingListener struct {
	net.Listener

	mu     sync.Mutex
	conns  []net.Conn
	closed bool
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		// Accepted as the test ended: nobody will close it later.
		_ = c.Close()
	}
	l.conns = append(l.conns, c)
	return c, nil
}

func (l *trackingListener) closeConns() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	for _, c := range l.conns {
		_ = c.Close()
	}
}

func (ts *testServer) received() []received {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]received(nil), ts.messages...)
}

func (ts *testServer) auths() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.authAttempts
}

type session struct {
	srv  *testServer
	conn *smtp.Conn
	user string
	from string
	to   []string
}

func (s *session) AuthMechanisms() []string {
	if s.srv.cfg.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		s.srv.mu.Lock()
		s.srv.authAttempts++
		s.srv.mu.Unlock()
		if user != s.srv.cfg.user || pass != s.srv.cfg.pass {
			return smtp.ErrAuthFailed
		}
		s.user = user
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.srv.cfg.user != "" && s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	s.srv.messages = append(s.srv.messages, received{
		From: s.from, To: s.to, User: s.user, TLS: isTLS, Data: data,
	})
	return nil
}

func (s *session) Reset() {
	s.from, s.to = "", nil
}

func (s *session) Logout() error { return nil }

// startSilentServer accepts connections and never says a word, like a
// server that hangs or a firewall that swallows the traffic. It reads and
// discards what a client sends, and closes each connection after silentFor
// or when the test ends, whichever comes first.
func startSilentServer(t *testing.T) int {
	t.Helper()
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &trackingListener{Listener: tcp}
	var (
		conns    sync.WaitGroup
		acceptor = make(chan struct{})
	)
	go func() {
		defer close(acceptor)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			// The server's own deadline: silence, but not for ever.
			_ = c.SetDeadline(time.Now().Add(silentFor))
			conns.Add(1)
			go func() {
				defer conns.Done()
				defer c.Close()
				_, _ = io.Copy(io.Discard, c)
			}()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		if !waitFor(acceptor, testStopTimeout) {
			t.Errorf("the silent server's accept loop did not end within %v of closing its listener", testStopTimeout)
			// Its conns.Add could race with the Wait below.
			return
		}
		l.closeConns()
		connsDone := make(chan struct{})
		go func() {
			defer close(connsDone)
			conns.Wait()
		}()
		if !waitFor(connsDone, testStopTimeout) {
			t.Errorf("the silent server's connections did not end within %v of being closed", testStopTimeout)
		}
	})
	return tcp.Addr().(*net.TCPAddr).Port
}

// newTestCert makes a self-signed certificate for 127.0.0.1, ::1 and
// localhost, valid for the next hour, and a pool that trusts it.
func newTestCert(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "gatehouse test SMTP server"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server := &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}},
		MinVersion:   tls.VersionTLS12,
	}
	return server, pool
}

// parsedMessage is a received message read back with net/mail and
// mime/multipart, the way a mail client would.
type parsedMessage struct {
	Header netmail.Header
	// Parts maps a part's media type (text/plain, text/html) to its
	// decoded body.
	Parts map[string]string
	// MediaType is the top-level Content-Type without parameters.
	MediaType string
}

func parseMessage(t *testing.T, data []byte) parsedMessage {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("the message does not parse: %v\n%s", err, data)
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	p := parsedMessage{Header: msg.Header, Parts: map[string]string{}, MediaType: mediaType}
	if !strings.HasPrefix(mediaType, "multipart/") {
		body, err := io.ReadAll(msg.Body)
		if err != nil {
			t.Fatal(err)
		}
		p.Parts[mediaType] = string(body)
		return p
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("reading a part: %v", err)
		}
		partType, _, err := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if err != nil {
			t.Fatalf("part Content-Type %q: %v", part.Header.Get("Content-Type"), err)
		}
		// NextPart decodes quoted-printable bodies by itself.
		body, err := io.ReadAll(part)
		if err != nil {
			t.Fatalf("reading the %s part: %v", partType, err)
		}
		p.Parts[partType] = string(body)
	}
	return p
}
