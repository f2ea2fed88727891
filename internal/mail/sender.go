package mail

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"os"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// DefaultTimeout bounds one Send, from dialling to the server's answer to
// the message. A user is waiting for the code on the other side, so a slow
// server must turn into a quick "could not send, try again" rather than a
// hung request.
const DefaultTimeout = 10 * time.Second

// Message is one e-mail to one person. The template functions in this
// package build them; Send adds From, Date and Message-ID.
type Message struct {
	To      string
	Subject string
	Text    string // the text/plain part
	HTML    string // the text/html part; when empty the message is plain text only
}

// Sender sends Messages through one SMTP server. It holds no connection
// between sends, so it is safe for concurrent use and survives server
// restarts without any reconnect logic.
type Sender struct {
	cfg     Config
	from    *netmail.Address
	timeout time.Duration
	tls     *tls.Config
	now     func() time.Time
}

// Option adjusts a Sender made by New.
type Option func(*Sender)

// WithTimeout sets how long one Send may take in all (DefaultTimeout if
// not given or not positive). A deadline on Send's context applies too;
// the sooner of the two wins.
func WithTimeout(d time.Duration) Option {
	return func(s *Sender) {
		if d > 0 {
			s.timeout = d
		}
	}
}

// WithTLSConfig sets the TLS configuration used for STARTTLS and implicit
// TLS, for example to trust a private CA through RootCAs. ServerName
// defaults to the SMTP host, and versions below TLS 1.2 are never allowed.
func WithTLSConfig(c *tls.Config) Option {
	return func(s *Sender) {
		if c != nil {
			s.tls = c.Clone()
		}
	}
}

// WithClock sets the clock used for the Date header.
func WithClock(now func() time.Time) Option {
	return func(s *Sender) {
		if now != nil {
			s.now = now
		}
	}
}

// New returns a Sender that sends through the server in cfg, from the
// address from (GATEHOUSE_EMAIL_FROM, "no-reply@example.com" or
// "Example <no-reply@example.com>").
func New(cfg *Config, from string, opts ...Option) (*Sender, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	addr, err := parseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("mail: the sender address (GATEHOUSE_EMAIL_FROM) %q is not valid: %w", from, err)
	}
	s := &Sender{
		cfg:     *cfg,
		from:    addr,
		timeout: DefaultTimeout,
		tls:     &tls.Config{},
		now:     time.Now,
	}
	for _, opt := range opts {
		opt(s)
	}
	if s.tls.ServerName == "" {
		s.tls.ServerName = cfg.Host
	}
	if s.tls.MinVersion < tls.VersionTLS12 {
		s.tls.MinVersion = tls.VersionTLS12
	}
	return s, nil
}

// parseAddress accepts exactly one address with a domain. net/mail already
// refuses CR and LF, which keeps header injection out.
func parseAddress(s string) (*netmail.Address, error) {
	a, err := netmail.ParseAddress(s)
	if err != nil {
		return nil, err
	}
	at := strings.LastIndexByte(a.Address, '@')
	if at < 1 || at == len(a.Address)-1 {
		return nil, errors.New("an address needs a name and a domain around the @")
	}
	return a, nil
}

// Send delivers m and returns once the server has accepted it or the
// attempt has failed. It gives up after the Sender's timeout or when ctx
// ends, whichever comes first; the error then matches
// context.DeadlineExceeded or context.Canceled with errors.Is. Every error
// wraps its cause and names the server, never the password.
func (s *Sender) Send(ctx context.Context, m Message) error {
	msg, err := s.build(m)
	if err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()

	if err := ctx.Err(); err != nil {
		return s.opError(ctx, "sending through", err)
	}
	// go-mail keeps its own socket deadlines. Ours is enforced by closing
	// the socket (see dialer), so theirs is only a backstop, set a little
	// later so that a timeout always reports as the context's.
	deadline, _ := ctx.Deadline()
	timeout := time.Until(deadline) + time.Second

	client, err := gomail.NewClient(s.cfg.Host, s.clientOptions(ctx, timeout)...)
	if err != nil {
		return s.opError(ctx, "sending through", err)
	}
	conn, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return s.opError(ctx, "sending through", err)
	}
	if err := client.SendWithSMTPClient(conn, msg); err != nil {
		_ = client.CloseWithSMTPClient(conn)
		return s.opError(ctx, "sending through", err)
	}
	// The server has taken the message: a failed QUIT must not turn into
	// "could not send", or the user would be told to ask for another code
	// while the first one is on its way.
	_ = client.CloseWithSMTPClient(conn)
	return nil
}

// Check connects to the server as Send would (the configured TLS mode,
// then AUTH when a user is set) and says goodbye without sending anything,
// so an operator learns at start-up, not at the first sign-in, that the
// server is away or refuses the TLS mode or the password. It keeps the same
// bounds as Send, and its error names the server, never the password.
func (s *Sender) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := ctx.Err(); err != nil {
		return s.opError(ctx, "connecting to", err)
	}
	deadline, _ := ctx.Deadline()
	client, err := gomail.NewClient(s.cfg.Host, s.clientOptions(ctx, time.Until(deadline)+time.Second)...)
	if err != nil {
		return s.opError(ctx, "connecting to", err)
	}
	conn, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return s.opError(ctx, "connecting to", err)
	}
	if err := client.CloseWithSMTPClient(conn); err != nil {
		return s.opError(ctx, "connecting to", err)
	}
	return nil
}

// clientOptions configures a go-mail client for one Send. A fresh client per
// Send keeps concurrent sends apart: go-mail's client mutates itself while
// it picks an AUTH mechanism.
func (s *Sender) clientOptions(ctx context.Context, timeout time.Duration) []gomail.Option {
	opts := []gomail.Option{
		gomail.WithPort(s.cfg.Port),
		gomail.WithTimeout(timeout),
		gomail.WithTLSConfig(s.tls),
		gomail.WithDialContextFunc(s.dialer(ctx)),
		// The connection is new; a NOOP before the message would only
		// cost a round trip.
		gomail.WithoutNoop(),
	}
	switch s.cfg.Security {
	case StartTLS:
		// Mandatory: no STARTTLS offered means no send, never plain text.
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case ImplicitTLS:
		// The dialer does the TLS handshake; WithSSL stops go-mail from
		// asking for STARTTLS on top of it.
		opts = append(opts, gomail.WithSSL(), gomail.WithTLSPolicy(gomail.TLSMandatory))
	case NoTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if s.cfg.Username != "" {
		mechs := []gomail.SMTPAuthType{gomail.SMTPAuthPlain, gomail.SMTPAuthLogin}
		if s.cfg.Security == NoTLS {
			// Validate allowed plain text only to a loopback host, so the
			// password does not cross a network; go-mail on its own would
			// refuse PLAIN to any loopback name but three.
			mechs = []gomail.SMTPAuthType{gomail.SMTPAuthPlainNoEnc, gomail.SMTPAuthLoginNoEnc}
		}
		// PLAIN or LOGIN when offered, otherwise the strongest mechanism
		// the server offers (go-mail's auto-discovery).
		opts = append(opts,
			gomail.WithOpportunisticSMTPAuth(mechs...),
			gomail.WithUsername(s.cfg.Username),
			gomail.WithPassword(s.cfg.Password),
		)
	}
	return opts
}

// dialer connects to the configured address and ties the connection to
// ctx. go-mail uses its context only while dialling and afterwards relies
// on socket deadlines that it extends as the dialogue goes on; closing the
// socket when ctx ends is what makes the whole Send keep its deadline, even
// against a server that accepts and then says nothing. Send cancels ctx
// when it returns, so this also closes a socket that go-mail leaves open
// after a failed greeting or STARTTLS.
func (s *Sender) dialer(ctx context.Context) gomail.DialContextFunc {
	return func(dialCtx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		raw, err := d.DialContext(dialCtx, "tcp", s.cfg.Addr())
		if err != nil {
			return nil, err
		}
		context.AfterFunc(ctx, func() { _ = raw.Close() })
		if s.cfg.Security != ImplicitTLS {
			return raw, nil
		}
		conn := tls.Client(raw, s.tls)
		if err := conn.HandshakeContext(dialCtx); err != nil {
			_ = raw.Close()
			return nil, err
		}
		return conn, nil
	}
}

// opError wraps err with the operation and the server's address and, when the deadline or
// the caller ended the attempt, with the context's error, because the
// error from the closed socket alone would not say why.
func (s *Sender) opError(ctx context.Context, op string, err error) error {
	switch ctxErr := ctx.Err(); {
	case ctxErr != nil && !errors.Is(err, ctxErr):
		err = fmt.Errorf("%w: %w", ctxErr, err)
	case ctxErr == nil && errors.Is(err, os.ErrDeadlineExceeded):
		// The backstop socket deadline fired first.
		err = fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
	}
	err = fmt.Errorf("mail: %s %s: %w", op, s.cfg.Addr(), err)
	return redact(err, s.cfg.Password)
}

// build turns m into a go-mail message with every header set.
func (s *Sender) build(m Message) (*gomail.Msg, error) {
	to, err := parseAddress(m.To)
	if err != nil {
		return nil, fmt.Errorf("mail: the recipient address is not valid: %w", err)
	}
	if m.Text == "" {
		return nil, errors.New("mail: the message has no text")
	}
	// The default User-Agent would advertise the library and its version.
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(s.from)
	msg.ToMailAddress(to)
	msg.Subject(oneLine(m.Subject))
	msg.SetDateWithValue(s.now())
	msg.SetMessageIDWithValue(s.messageID())
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// messageID is random and under the sender's own domain rather than the
// local host name (go-mail's default), which on a container is meaningless
// and which some spam filters hold against the message.
func (s *Sender) messageID() string {
	domain := s.from.Address[strings.LastIndexByte(s.from.Address, '@')+1:]
	return rand.Text() + "@" + domain
}

// oneLine keeps a subject to one header line whatever the templates or the
// organization's name contain.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return r == '\r' || r == '\n' || r == '\t'
	}), " ")
}

// redactedError hides a secret that a server or library echoed into an
// error message, while errors.Is and errors.As still see the cause.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func redact(err error, secret string) error {
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return &redactedError{msg: strings.ReplaceAll(err.Error(), secret, "xxxxx"), err: err}
}
