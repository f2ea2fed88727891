package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

// A flow is a sequence of requests a user makes. run makes them through
// do, which answers false (and the flow stops) when a request did not get
// its usual answer; check then looks at what the failed or finished flow
// left behind, with the database healthy again.
type faultFlow struct {
	name     string
	settings func(*gatehouse.PasswordSettings) // of the strict organization
	setup    func(e *env)
	run      func(e *env, do func(method, path, body string, want int) (string, bool)) bool
	check    func(t *testing.T, e *env, finished bool)
}

// TestADatabaseFaultAtAnyCallNeverSignsInNorHalfSaves fails each database
// call of a sign-in, a password reset and a contact change in turn, the
// first call, the second, and so on to the last, and checks that the
// request that met the fault answered 503, that nobody got a session
// without the code, that nothing was half-saved, and that the user can
// simply start again.
func TestADatabaseFaultAtAnyCallNeverSignsInNorHalfSaves(t *testing.T) {
	t.Parallel()
	for _, fl := range faultFlows() {
		t.Run(fl.name, func(t *testing.T) {
			t.Parallel()
			// A clean run counts the calls to fail.
			e, faults := newFaultEnv(t, fl)
			faults.Arm(0)
			if !fl.run(e, e.faultStep(t, 0)) {
				t.Fatal("the flow fails without any fault")
			}
			total := faults.Calls()
			if total < 5 {
				t.Fatalf("the flow made only %d database calls: the fault driver is not in the way", total)
			}
			for n := 1; n <= total; n++ {
				t.Run(fmt.Sprintf("call%02d", n), func(t *testing.T) {
					e, faults := newFaultEnv(t, fl)
					faults.Arm(n)
					finished := fl.run(e, e.faultStep(t, n))
					failed, what := faults.Failed()
					faults.Arm(0)
					if finished && failed {
						// A failed call the service could do without
						// (a retry, an optional read) is allowed only if
						// the result is still right; check says.
						t.Logf("call %d (%s) failed and the flow still finished", n, what)
					}
					if !finished && !failed {
						t.Fatalf("the flow stopped though call %d was never made", n)
					}
					if failed {
						t.Logf("failed call %d: %.120s", n, what)
					}
					fl.check(t, e, finished)
				})
			}
		})
	}
}

func newFaultEnv(t *testing.T, fl faultFlow) (*env, *testdb.Faults) {
	t.Helper()
	db, faults := testdb.FaultySQLite(t)
	e := newEnv(t, options{db: db, outbox: testdb.SQLite(t)})
	e.addStrictOrg(fl.settings)
	if fl.setup != nil {
		fl.setup(e)
	}
	return e, faults
}

// faultStep makes one request of a flow. A request that does not get want
// must have answered 503 (the database failed: try again later), never
// anything that looks like an answer about the user.
func (e *env) faultStep(t *testing.T, n int) func(method, path, body string, want int) (string, bool) {
	return func(method, path, body string, want int) (string, bool) {
		t.Helper()
		ct := ""
		if body != "" {
			ct = "application/json"
		}
		res := e.do(method, path, ct, body)
		b := readBody(t, res)
		if res.StatusCode == want {
			return b, true
		}
		if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
			t.Errorf("fault at call %d: %s %s answered %d %s, want %d or 503 with Retry-After", n, method, path, res.StatusCode, b, want)
		}
		return b, false
	}
}

func readBody(t *testing.T, res *http.Response) string {
	t.Helper()
	return body(t, res)
}

// freshStatus signs in from a new browser and returns the answer's status
// and body.
func (e *env) freshLogin(t *testing.T, org, email, pw string) (int, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Post(e.srv.URL+"/api/v1/login", "application/json",
		strings.NewReader(`{"organization":"`+org+`","email":"`+email+`","password":"`+pw+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	return res.StatusCode, body(t, res)
}

func (e *env) lastLink(t *testing.T, kind, to string) string {
	t.Helper()
	msgs, err := e.box.db.ListOutboxMessages(context.Background(), 50)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Subject == kind && m.To == to {
			u, err := url.Parse(m.Body)
			if err != nil {
				t.Fatal(err)
			}
			return u.Query().Get("token")
		}
	}
	return ""
}

const newPassword = "a brand new passphrase"

func faultFlows() []faultFlow {
	signIn := func(e *env, do func(method, path, body string, want int) (string, bool)) bool {
		b, ok := do("POST", "/api/v1/login", `{"organization":"acme","email":"member@acme.test","password":"`+testPassword+`"}`, 200)
		if !ok {
			return false
		}
		if m := decode(e.t, b); m["status"] != "code_sent" {
			e.t.Errorf("the password step answered %s: 2FA is enforced and nothing may skip it", b)
			return false
		}
		_, ok = do("POST", "/api/v1/login/verify", `{"code":"`+e.lastCode()+`"}`, 200)
		return ok
	}
	phonePrompt := func(e *env, do func(method, path, body string, want int) (string, bool)) bool {
		b, ok := do("POST", "/api/v1/login", `{"organization":"acme","email":"member@acme.test","password":"`+testPassword+`"}`, 200)
		if !ok {
			return false
		}
		switch st := decode(e.t, b)["status"]; st {
		case "phone_required":
			if _, ok := do("POST", "/api/v1/login/phone", `{"phone":"+358401234567"}`, 200); !ok {
				return false
			}
		case "code_sent": // the number was saved by an earlier try
		default:
			e.t.Errorf("the password step answered %s: 2FA is enforced and nothing may skip it", b)
			return false
		}
		_, ok = do("POST", "/api/v1/login/verify", `{"code":"`+e.lastCode()+`"}`, 200)
		return ok
	}
	return []faultFlow{{
		name:     "sign-in that asks for a phone number",
		settings: func(s *gatehouse.PasswordSettings) { s.OTPMethod = gatehouse.OTPSMS },
		run:      phonePrompt,
		check: func(t *testing.T, e *env, finished bool) {
			res := e.do("GET", "/api/v1/session", "", "")
			if signedIn := res.StatusCode == 200; signedIn != finished {
				t.Errorf("signed in: %v, but the flow finished: %v (%s)", signedIn, finished, body(t, res))
			}
			org, err := e.db.OrganizationBySlug(context.Background(), "acme")
			if err != nil {
				t.Fatal(err)
			}
			u, err := e.db.UserByEmail(context.Background(), org.ID, "member@acme.test")
			if err != nil {
				t.Fatal(err)
			}
			if finished && u.Phone != "+358401234567" {
				t.Errorf("signed in, but the number %q was not saved", u.Phone)
			}
			e.client.Jar, _ = cookiejar.New(nil)
			if !phonePrompt(e, e.faultStep(t, 0)) {
				t.Error("after the fault the user cannot sign in again")
			}
		},
	}, {
		name: "sign-in with a code",
		run:  signIn,
		check: func(t *testing.T, e *env, finished bool) {
			res := e.do("GET", "/api/v1/session", "", "")
			signedIn := res.StatusCode == 200
			b := body(t, res)
			if signedIn != finished {
				t.Errorf("signed in: %v, but the flow finished: %v (%s)", signedIn, finished, b)
			}
			if signedIn && !strings.Contains(b, `"state":"verified"`) {
				t.Errorf("a session without the code: %s", b)
			}
			// Starting again from a new browser works.
			e.client.Jar, _ = cookiejar.New(nil)
			if !signIn(e, e.faultStep(t, 0)) {
				t.Error("after the fault the user cannot sign in again")
			}
		},
	}, {
		name: "password reset",
		run: func(e *env, do func(method, path, body string, want int) (string, bool)) bool {
			if _, ok := do("POST", "/api/v1/password/forgot", `{"organization":"clinic","email":"staff@clinic.test"}`, 202); !ok {
				return false
			}
			token := e.lastLink(e.t, gatehouse.NoticePasswordReset, "staff@clinic.test")
			if token == "" {
				// Forgot-password answers alike whether or not it sent;
				// a fault it swallowed shows here as no link.
				return false
			}
			_, ok := do("POST", "/api/v1/password/reset", `{"token":"`+token+`","password":"`+newPassword+`"}`, 204)
			return ok
		},
		check: func(t *testing.T, e *env, finished bool) {
			oldCode, _ := e.freshLogin(t, "clinic", "staff@clinic.test", testPassword)
			newCode, _ := e.freshLogin(t, "clinic", "staff@clinic.test", newPassword)
			if (oldCode == 200) == (newCode == 200) {
				t.Fatalf("old password %d, new password %d: exactly one must work", oldCode, newCode)
			}
			if (newCode == 200) != finished {
				t.Errorf("the new password works: %v, but the flow finished: %v", newCode == 200, finished)
			}
		},
	}, {
		name: "e-mail change",
		setup: func(e *env) {
			wantStatus(e.t, e.login("clinic", "staff@clinic.test", testPassword), 200)
		},
		run: func(e *env, do func(method, path, body string, want int) (string, bool)) bool {
			b, ok := do("POST", "/api/v1/account/contact", `{"kind":"email","value":"new@clinic.test","password":"`+testPassword+`"}`, 200)
			if !ok {
				return false
			}
			ch, _ := decode(e.t, b)["challenge"].(string)
			b, ok = do("POST", "/api/v1/account/contact/verify", `{"challenge":"`+ch+`","code":"`+e.lastCode()+`"}`, 200)
			if !ok {
				return false
			}
			ch, _ = decode(e.t, b)["challenge"].(string)
			b, ok = do("POST", "/api/v1/account/contact/verify", `{"challenge":"`+ch+`","code":"`+e.lastCode()+`"}`, 200)
			if ok && decode(e.t, b)["status"] != "changed" {
				e.t.Errorf("the last step answered %s", b)
				return false
			}
			return ok
		},
		check: func(t *testing.T, e *env, finished bool) {
			org, err := e.db.OrganizationBySlug(context.Background(), "clinic")
			if err != nil {
				t.Fatal(err)
			}
			_, errNew := e.db.UserByEmail(context.Background(), org.ID, "new@clinic.test")
			_, errOld := e.db.UserByEmail(context.Background(), org.ID, "staff@clinic.test")
			if (errNew == nil) == (errOld == nil) {
				t.Fatalf("old address found: %v, new address found: %v", errOld == nil, errNew == nil)
			}
			if (errNew == nil) != finished {
				t.Errorf("the address changed: %v, but the flow finished: %v", errNew == nil, finished)
			}
		},
	}}
}
