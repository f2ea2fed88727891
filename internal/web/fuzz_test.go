package web

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
)

// FuzzDecodeJSON sends the API's body reader anything: it must never panic,
// and every refusal is a client error with a code of the contract (never an
// internal error, which would be a 500). Bodies go in as the server reads
// them, through the 64 KiB limit.
func FuzzDecodeJSON(f *testing.F) {
	f.Add(`{"organization":"acme","email":"ada@acme.test","password":"pw"}`)
	f.Add(`{"organization":"acme"}{"x":1}`)
	f.Add(`{"enforce_two_factor":true,"otp_method":"sms","skip_networks":["192.0.2.0/24"],"remember_days":30,"auth_method":"password"}`)
	f.Add(`{"organization":1}`)
	f.Add(`{"unknown":true}`)
	f.Add(`[`)
	f.Fuzz(func(t *testing.T, body string) {
		for _, into := range []any{&loginBody{}, &settingsJSON{}} {
			req := httptest.NewRequest("POST", "/api/v1/login", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Body = http.MaxBytesReader(httptest.NewRecorder(), req.Body, 64<<10)
			err := decodeJSON(req, into)
			if err == nil {
				continue
			}
			var ge *gatehouse.Error
			if !errors.As(err, &ge) {
				t.Fatalf("%q: %v is not a gatehouse.Error", body, err)
			}
			if status := statusFor(ge.Code); status < 400 || status >= 500 {
				t.Fatalf("%q: code %q answers %d, want a client error", body, ge.Code, status)
			}
		}
	})
}

// FuzzRememberTokens reads the remember cookie from any Cookie header: never
// a panic, never more tokens than one browser may hold.
func FuzzRememberTokens(f *testing.F) {
	f.Add("gatehouse_remember=a.b.c")
	f.Add("gatehouse_remember=" + strings.Repeat("x.", 100))
	f.Add(`gatehouse_remember="quoted.value"; gatehouse_remember=second`)
	f.Add("__Host-gatehouse_remember=a; gatehouse_session=s")
	f.Fuzz(func(t *testing.T, header string) {
		for _, secure := range []bool{false, true} {
			s := &Server{secure: secure}
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("Cookie", header)
			if got := s.rememberTokens(req); len(got) > gatehouse.MaxRememberedPerBrowser {
				t.Fatalf("%q gives %d tokens, more than %d", header, len(got), gatehouse.MaxRememberedPerBrowser)
			}
			_ = s.sessionToken(req)
			_ = s.pendingToken(req)
		}
	})
}
