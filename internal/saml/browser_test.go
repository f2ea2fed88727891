package saml

import (
	"context"
	"errors"
	"strings"
	"testing"

	crewjam "github.com/crewjam/saml"
)

// TestSignInIsBoundToTheBrowser: a response is accepted only from the
// browser whose nonce the request was bound to (login CSRF, issue 8 item
// 6). The attacker's own valid response, posted from a browser without the
// nonce or with another one, is refused.
func TestSignInIsBoundToTheBrowser(t *testing.T) {
	e := newEnv(t)
	sp := e.newSP(t, nil)
	e.register(t, sp, false)
	other, err := NewBrowserNonce(nil)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("posted without the nonce: refused before the request is looked up", func(t *testing.T) {
		f := e.signIn(t, e.alice, sp, "")
		_, err := e.acs.postAs(t, sp, f, "")
		wantRefused(t, err, ErrWrongBrowser)
		if n := e.tracker.len(); n != 1 {
			t.Errorf("%d requests pending, want the one still there", n)
		}
		// The browser that started it can still finish it.
		if _, err := e.acs.post(t, sp, f); err != nil {
			t.Fatalf("the right browser was refused after a post without the nonce: %v", err)
		}
	})

	t.Run("posted with a malformed nonce: refused", func(t *testing.T) {
		f := e.signIn(t, e.alice, sp, "")
		_, err := e.acs.postAs(t, sp, f, strings.Repeat("x", 500))
		wantRefused(t, err, ErrWrongBrowser)
		if _, err := e.acs.post(t, sp, f); err != nil {
			t.Fatalf("the right browser was refused: %v", err)
		}
	})

	t.Run("posted with another browser's nonce: refused, and the request is spent", func(t *testing.T) {
		f := e.signIn(t, e.alice, sp, "")
		_, err := e.acs.postAs(t, sp, f, other)
		wantRefused(t, err, ErrWrongBrowser)
		if n := e.tracker.len(); n != 0 {
			t.Errorf("%d requests pending, want 0: a response is tried once", n)
		}
		_, err = e.acs.post(t, sp, f)
		wantRefused(t, err, crewjam.ErrRequestIDMismatch)
	})

	t.Run("a request cannot be made without a nonce", func(t *testing.T) {
		for _, n := range []string{"", "short", testNonce + "x"} {
			if _, err := sp.AuthnRequestURL(context.Background(), "", n); err == nil {
				t.Errorf("AuthnRequestURL with nonce %q made a request", n)
			}
		}
	})
}

func TestBrowserNonce(t *testing.T) {
	a, err := NewBrowserNonce(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewBrowserNonce(nil)
	if a == b || !ValidBrowserNonce(a) || !ValidBrowserNonce(testNonce) {
		t.Errorf("nonces %q, %q", a, b)
	}
	if _, err := NewBrowserNonce(strings.NewReader("too short")); err == nil {
		t.Error("a nonce from a short reader")
	}
	for _, bad := range []string{"", strings.Repeat("A", 42), strings.Repeat("A", 44), strings.Repeat("+", 43), strings.Repeat("A", 42) + "B",
		"0\n\n\n\n\n\n\n" + strings.Repeat("0", 35), strings.Repeat("A", 41) + "\r\n"} {
		if ValidBrowserNonce(bad) {
			t.Errorf("ValidBrowserNonce(%q) = true", bad)
		}
	}
	if !errors.Is(invalid(ErrWrongBrowser), ErrInvalidResponse) {
		t.Error("a wrong browser is not an invalid response")
	}
}
