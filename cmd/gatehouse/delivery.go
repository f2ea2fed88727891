package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/mail"
	"github.com/gatehousehq/gatehouse/internal/sms"
)

// emailSender sends one e-mail: SMTP (internal/mail) or the outbox.
type emailSender interface {
	Send(ctx context.Context, m mail.Message) error
}

// messenger routes codes and notices to the configured e-mail sender and
// SMS provider; it implements gatehouse.Messenger.
type messenger struct {
	email emailSender
	sms   sms.Provider // nil when no SMS provider is configured
	host  string       // the WebOTP host, from the public URL
}

func (m *messenger) SendCode(ctx context.Context, c gatehouse.CodeMessage) error {
	switch c.Channel {
	case gatehouse.OTPEmail:
		render := mail.CodeMessage
		if c.Change {
			render = mail.ChangeCodeMessage
		}
		msg, err := render(c.To, c.OrgName, c.Code, c.Lifetime)
		if err != nil {
			return err
		}
		return m.email.Send(ctx, msg)
	case gatehouse.OTPSMS:
		if m.sms == nil {
			return errors.New("no SMS provider is configured (GATEHOUSE_SMS_PROVIDER)")
		}
		body := sms.WebOTPBody(sms.CodeText(c.OrgName, c.Code, c.Lifetime), m.host, c.Code)
		return m.sms.Send(ctx, c.To, body)
	default:
		return fmt.Errorf("unknown channel %q", c.Channel)
	}
}

func (m *messenger) Notify(ctx context.Context, n gatehouse.Notice) error {
	var msg mail.Message
	var err error
	ip := ""
	if n.ClientIP.IsValid() {
		ip = n.ClientIP.String()
	}
	switch n.Kind {
	case gatehouse.NoticePhoneAdded:
		msg, err = mail.PhoneAddedMessage(n.To, n.OrgName, n.NewValue, n.At, ip)
	case gatehouse.NoticeWrongCodes:
		msg, err = mail.WrongCodesMessage(n.To, n.OrgName, gatehouse.ChallengeMaxFailures, n.At, ip)
	case gatehouse.NoticePasswordReset:
		msg, err = mail.PasswordResetMessage(n.To, n.OrgName, n.Link, n.Lifetime)
	case gatehouse.NoticeWelcome:
		msg, err = mail.WelcomeMessage(n.To, n.OrgName, n.Link, n.Lifetime)
	case gatehouse.NoticeEmailChanged:
		msg, err = mail.EmailChangedMessage(n.To, n.OrgName, n.OldValue, n.NewValue, n.At)
	case gatehouse.NoticePhoneChanged:
		msg, err = mail.PhoneChangedMessage(n.To, n.OrgName, n.OldValue, n.NewValue, n.At)
	case gatehouse.NoticeChangedByAdmin:
		msg, err = mail.ChangedByAdminMessage(n.To, n.OrgName, n.Field, n.OldValue, n.NewValue, n.At)
	default:
		return fmt.Errorf("unknown notice %q", n.Kind)
	}
	if err != nil {
		return err
	}
	return m.email.Send(ctx, msg)
}

// outbox keeps messages in the database instead of sending them, for the
// demo and dev mode; /dev/outbox shows them.
type outbox struct {
	store gatehouse.OutboxStore
	now   func() time.Time
}

func (o *outbox) Send(ctx context.Context, m mail.Message) error {
	return o.store.AddOutboxMessage(ctx, &gatehouse.OutboxMessage{Channel: "email", To: m.To, Subject: m.Subject, Body: m.Text, CreatedAt: o.now()})
}

// smsOutbox is the outbox as an SMS provider.
type smsOutbox struct{ *outbox }

func (o smsOutbox) Send(ctx context.Context, to, body string) error {
	return o.store.AddOutboxMessage(ctx, &gatehouse.OutboxMessage{Channel: "sms", To: to, Body: body, CreatedAt: o.now()})
}

// newMessenger builds the delivery of codes from the configuration. In dev
// mode with no SMTP server the outbox stands in for both channels; outside it, e-mail needs SMTP
// (codes, notices and password links all go by e-mail), and the outbox is
// refused.
func newMessenger(c *Config, store gatehouse.OutboxStore, public *url.URL) (*messenger, error) {
	ob := &outbox{store: store, now: time.Now}
	host, err := sms.WebOTPHost(public.String())
	if err != nil {
		return nil, usageError("--public-url: %v", err)
	}
	m := &messenger{host: host}

	if c.SMTPURL == "" {
		if !c.Dev {
			return nil, usageError("--smtp-url (GATEHOUSE_SMTP_URL) is required outside dev mode: codes, notices and password links go by e-mail")
		}
		m.email = ob
	} else {
		cfg, err := mail.ParseURL(c.SMTPURL)
		if err != nil {
			return nil, usageError("--smtp-url: %v", err)
		}
		from := c.EmailFrom
		if from == "" {
			return nil, usageError("--email-from (GATEHOUSE_EMAIL_FROM) is required with --smtp-url")
		}
		if m.email, err = mail.New(cfg, from); err != nil {
			return nil, usageError("--smtp-url / --email-from: %v", err)
		}
	}

	if m.sms, err = newSMSProvider(c, ob); err != nil {
		return nil, err
	}
	return m, nil
}

// newSMSProvider builds the SMS provider the configuration names, or nil
// when none is configured. serve and org settings read it alike, so the CLI
// refuses SMS codes exactly when the server could not send them. ob stands in
// as the provider in dev mode.
func newSMSProvider(c *Config, ob *outbox) (sms.Provider, error) {
	switch strings.ToLower(c.SMSProvider) {
	case "":
		// The SMS outbox stands in only when nothing real is set up: with
		// a real SMTP server, dev mode is a rehearsal of production, and a
		// code that should have gone by SMS must not land on a page.
		if c.Dev && c.SMTPURL == "" {
			return smsOutbox{ob}, nil
		}
		return nil, nil
	case "outbox":
		if !c.Dev {
			return nil, usageError("--sms-provider=outbox keeps codes in the database: it is only for dev mode (--dev)")
		}
		return smsOutbox{ob}, nil
	case "twilio":
		if !c.Dev && c.TwilioAPIURL != "" && plainToRemote(c.TwilioAPIURL) {
			return nil, usageError("--twilio-api-url %q is plain http to another host: the auth token would cross the network in clear; use https (http only to a loopback test server or in dev mode)", c.TwilioAPIURL)
		}
		t, err := sms.NewTwilio(sms.TwilioConfig{AccountSID: c.TwilioSID, AuthToken: c.TwilioToken, From: c.TwilioFrom, APIURL: c.TwilioAPIURL})
		if err != nil {
			return nil, usageError("Twilio settings (GATEHOUSE_TWILIO_*): %v", oneLine(err))
		}
		return t, nil
	case "webhook":
		if !c.Dev && plainToRemote(c.SMSWebhookURL) {
			return nil, usageError("--sms-webhook-url is plain http to another host: codes would cross the network in clear; use https (http only to a loopback address or in dev mode)")
		}
		w, err := sms.NewWebhook(sms.WebhookConfig{URL: c.SMSWebhookURL, Secret: []byte(c.SMSWebhookSecret)})
		if err != nil {
			return nil, usageError("SMS webhook settings (GATEHOUSE_SMS_WEBHOOK_*): %v", oneLine(err))
		}
		return w, nil
	default:
		return nil, usageError("--sms-provider must be twilio, webhook or outbox, not %q", c.SMSProvider)
	}
}

func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}
