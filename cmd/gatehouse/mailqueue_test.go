package main

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// holdDeliveries makes the mail server keep every message waiting in DATA,
// not accepted, until the returned release is called (also at the end of
// the test).
func (ss *smtpServer) holdDeliveries(t *testing.T) (release func()) {
	ss.mu.Lock()
	ss.hold, ss.held = make(chan struct{}), make(chan struct{}, 100)
	ss.mu.Unlock()
	var once sync.Once
	release = func() { once.Do(func() { close(ss.hold) }) }
	t.Cleanup(release)
	return release
}

// wait blocks a DATA while deliveries are held.
func (ss *smtpServer) wait() {
	ss.mu.Lock()
	hold, held := ss.hold, ss.held
	ss.mu.Unlock()
	if hold == nil {
		return
	}
	select {
	case held <- struct{}{}:
	default:
	}
	<-hold
}

// waitHeld waits until a message is being held in DATA.
func (ss *smtpServer) waitHeld(t *testing.T) {
	t.Helper()
	select {
	case <-ss.held:
	case <-time.After(30 * time.Second):
		t.Fatal("no message reached the mail server")
	}
}

// waitFor waits for an e-mail to to whose subject contains subject and
// returns it.
func (ss *smtpServer) waitFor(t *testing.T, to, subject string) sentMail {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		ss.mu.Lock()
		for _, m := range ss.mails {
			if m.To == to && strings.Contains(strings.ToLower(m.Subject), subject) {
				ss.mu.Unlock()
				return m
			}
		}
		changed := ss.changed
		ss.mu.Unlock()
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("no e-mail to %s about %q arrived", to, subject)
		}
	}
}

func (ss *smtpServer) count() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return len(ss.mails)
}

// The answer to a forgot-password request must not wait for the mail
// server, or its timing tells which accounts exist. The mail server here
// holds every message until released: both answers arrive while it holds
// the reset e-mail, and the worker, still waiting on it, delivers it once
// released. (Before the queue, the request waited for the mail server
// until the sender gave up, 10 s later, and logged the e-mail as failed.)
func TestForgotPasswordAnswersBeforeTheMailServerAccepts(t *testing.T) {
	te := newTestEnv(t)
	te.mustCLI("", "org", "create", "--slug", "clinic", "--name", "North Clinic")
	te.mustCLI("a long enough passphrase\n", "user", "create", "--org", "clinic", "--email", "nurse@clinic.test")
	release := te.mail.holdDeliveries(t)
	base := te.serve()
	c := newBrowser()
	for _, email := range []string{"nurse@clinic.test", "ghost@clinic.test"} {
		st, body := post(t, c, base+"/api/v1/password/forgot", `{"organization":"clinic","email":"`+email+`"}`)
		if st != 202 {
			t.Fatalf("forgot password for %s: %d %s", email, st, body)
		}
		if n := te.mail.count(); n != 0 {
			t.Fatalf("the mail server had accepted %d e-mails before the answer for %s", n, email)
		}
	}
	te.mail.waitHeld(t) // the worker is delivering: the mail server holds it
	release()
	m := te.mail.waitFor(t, "nurse@clinic.test", "password")
	if !strings.Contains(m.Text, base+"/reset-password?token=") {
		t.Errorf("the reset e-mail has no link: %q", m.Text)
	}
	// The delivery that the mail server held was still awaited, not given
	// up on: it succeeded the first time.
	if logs := te.logs.String(); strings.Contains(logs, "failed") {
		t.Errorf("a delivery failed on the way: %s", logs)
	}
	if got := te.mail.lastSubjectTo("ghost@clinic.test"); got != "" {
		t.Errorf("an e-mail went to an unknown address: %q", got)
	}
}
