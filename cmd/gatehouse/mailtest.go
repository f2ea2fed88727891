package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehousehq/gatehouse/internal/mail"
)

// smtpCheckTimeout bounds the start-up check of the SMTP server: long
// enough for a TLS handshake across a slow link, short enough that a server
// that drops packets delays the start only a little.
const smtpCheckTimeout = 5 * time.Second

// checkSMTP connects to the configured SMTP server as a send would (its TLS
// mode, its password) and logs a warning naming the server and the error
// when that fails. It never stops the start: the server may be down for a
// moment, and codes already queued wait for it.
func checkSMTP(ctx context.Context, c *Config, m *messenger, log *slog.Logger) {
	s, ok := m.email.(*mail.Sender)
	if !ok {
		return // the outbox (dev mode)
	}
	cfg, err := mail.ParseURL(c.SMTPURL)
	if err != nil {
		return // newMessenger has already accepted it
	}
	ctx, cancel := context.WithTimeout(ctx, smtpCheckTimeout)
	defer cancel()
	if err := s.Check(ctx); err != nil {
		log.Warn("the SMTP server does not answer as configured: e-mailed codes, notices and password links will fail until it does (check with: gatehouse mail test --to ADDRESS)",
			"smtp_server", cfg.Addr(), "smtp_tls", cfg.Security.String(), "error", err)
		return
	}
	log.Info("SMTP server reachable", "smtp_server", cfg.Addr(), "smtp_tls", cfg.Security.String())
}

// mailCommands is the table of "gatehouse mail".
func mailCommands() []subcommand {
	return []subcommand{
		{"test", "send a test message through the configured SMTP server", mailTest},
	}
}

// mailTest sends one message through the configured SMTP server, the way
// the server sends codes, and says whether it went.
func mailTest(ctx context.Context, e *env, args []string) error {
	var c Config
	var to string
	fs := newFlagSet(e, "mail test", "mail test --to ADDRESS [--smtp-url URL] [--email-from FROM]")
	fs.StringVar(&to, "to", "", "address to send the test message to (required)")
	if err := parse(fs, &c, concat([]setting{sSMTP, sFrom}, logSettings), args, e); err != nil {
		return err
	}
	if to == "" {
		return usageError("mail test needs --to ADDRESS")
	}
	if c.SMTPURL == "" || c.EmailFrom == "" {
		return usageError("mail test needs --smtp-url and --email-from (GATEHOUSE_SMTP_URL, GATEHOUSE_EMAIL_FROM), as serve has them")
	}
	cfg, err := mail.ParseURL(c.SMTPURL)
	if err != nil {
		return usageError("--smtp-url: %v", err)
	}
	s, err := mail.New(cfg, c.EmailFrom)
	if err != nil {
		return usageError("--smtp-url / --email-from: %v", err)
	}
	msg := mail.Message{
		To:      to,
		Subject: "Gatehouse test message",
		Text:    "This is a test message from Gatehouse (gatehouse mail test). Codes and notices will reach this address the same way.\n",
	}
	if err := s.Send(ctx, msg); err != nil {
		return fmt.Errorf("the test message to %s was not sent: %w", to, err)
	}
	fmt.Fprintf(e.stdout, "test message sent to %s through %s (TLS: %s)\n", to, cfg.Addr(), cfg.Security)
	return nil
}
