package accounts_test

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/netip"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/accounts"
	"github.com/gatehousehq/gatehouse/internal/password"
	"github.com/gatehousehq/gatehouse/internal/phone"
	"github.com/gatehousehq/gatehouse/internal/signin"
	"github.com/gatehousehq/gatehouse/internal/sqlstore"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

const linkPassword = "plum orchard teaspoon gravel"

// inbox records what the services deliver. The real senders are tested
// against real servers in internal/mail and cmd/gatehouse.
type inbox struct {
	mu      sync.Mutex
	codes   []gatehouse.CodeMessage
	notices []gatehouse.Notice
}

func (b *inbox) SendCode(_ context.Context, m gatehouse.CodeMessage) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.codes = append(b.codes, m)
	return nil
}

func (b *inbox) Notify(_ context.Context, n gatehouse.Notice) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.notices = append(b.notices, n)
	return nil
}

// links returns the tokens of the password links sent to to, oldest first.
func (b *inbox) links(t *testing.T, to string) []string {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var tokens []string
	for _, n := range b.notices {
		if n.To == to && n.Link != "" {
			u, err := url.Parse(n.Link)
			if err != nil {
				t.Fatal(err)
			}
			tokens = append(tokens, u.Query().Get("token"))
		}
	}
	return tokens
}

func (b *inbox) lastCode(t *testing.T) string {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.codes) == 0 {
		t.Fatal("no code was sent")
	}
	return b.codes[len(b.codes)-1].Code
}

// stack is one node: the account and sign-in services on a store.
type stack struct {
	db       *sqlstore.DB
	accounts *accounts.Service
	signin   *signin.Service
	inbox    *inbox
	now      time.Time
	org      *gatehouse.Organization
	user     *gatehouse.User
}

var linkSecret = []byte("0123456789abcdef0123456789abcdef-links")

// onBothDatabases runs f on SQLite and on PostgreSQL (skipped when
// GATEHOUSE_TEST_POSTGRES_URL is unset). newDB makes a new database and
// returns how to open a node on it: on PostgreSQL every call opens another
// node on the same schema.
func onBothDatabases(t *testing.T, f func(t *testing.T, newDB func(t *testing.T) func() *sqlstore.DB)) {
	t.Run("sqlite", func(t *testing.T) {
		f(t, func(t *testing.T) func() *sqlstore.DB {
			db := testdb.SQLite(t)
			return func() *sqlstore.DB { return db }
		})
	})
	t.Run("postgres", func(t *testing.T) {
		testdb.PostgresURL(t) // skips when unset
		f(t, func(t *testing.T) func() *sqlstore.DB {
			u := testdb.PostgresURL(t)
			return func() *sqlstore.DB {
				db, err := sqlstore.Open(t.Context(), u)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				if err := db.Migrate(t.Context()); err != nil {
					t.Fatal(err)
				}
				return db
			}
		})
	})
}

// newStack builds a node on db. With seed it creates the organization
// "acme" (2FA by e-mail) and its member nurse@acme.test first.
func newStack(t *testing.T, db *sqlstore.DB, seed bool) *stack {
	t.Helper()
	return newStackWith(t, db, seed, rand.Reader)
}

// newStackWith is newStack with the accounts service's random source.
func newStackWith(t *testing.T, db *sqlstore.DB, seed bool, random io.Reader) *stack {
	t.Helper()
	h := testHasher(t)
	s := &stack{db: db, inbox: &inbox{}, now: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)}
	clock := func() time.Time { return s.now }
	s.accounts = newAccounts(t, db, withHasher(h), withNow(clock), withRand(random), withSecret(linkSecret),
		withMessenger(s.inbox, "https://sign-in.example.test"))
	var err error
	s.signin, err = signin.New(signin.Config{Store: db, Hasher: h, Secret: linkSecret, Messenger: s.inbox,
		NormalizePhone: phone.Normalize, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if seed {
		if s.org, err = s.accounts.CreateOrganization(ctx, accounts.NewOrganization{Slug: "acme", Name: "Acme"}, ""); err != nil {
			t.Fatal(err)
		}
		if s.user, err = s.accounts.CreateUser(ctx, accounts.NewUser{OrgSlug: "acme", Email: "nurse@acme.test", Name: "Nurse",
			Password: linkPassword}, ""); err != nil {
			t.Fatal(err)
		}
	} else {
		if s.org, err = db.OrganizationBySlug(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		if s.user, err = db.UserByEmail(ctx, s.org.ID, "nurse@acme.test"); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

var client = netip.MustParseAddr("198.51.100.7")

// startSignIn types the right password and returns the pending sign-in.
func (s *stack) startSignIn(t *testing.T, pw string) string {
	t.Helper()
	res, err := s.signin.Login(t.Context(), signin.LoginRequest{Organization: "acme", Email: "nurse@acme.test", Password: pw, ClientIP: client})
	if err != nil {
		t.Fatal(err)
	}
	if res.Pending == nil || res.Pending.Status != signin.StatusCodeSent {
		t.Fatalf("the sign-in did not wait for a code: %+v", res)
	}
	return res.Pending.Token
}

func (s *stack) forgot(t *testing.T) string {
	t.Helper()
	if err := s.accounts.ForgotPassword(t.Context(), "acme", "nurse@acme.test", client); err != nil {
		t.Fatal(err)
	}
	links := s.inbox.links(t, "nurse@acme.test")
	if len(links) == 0 {
		t.Fatal("no reset link was sent")
	}
	return links[len(links)-1]
}

func TestPasswordChangesEndPendingSignIns(t *testing.T) {
	onBothDatabases(t, func(t *testing.T, newDB func(t *testing.T) func() *sqlstore.DB) {
		for name, change := range map[string]func(t *testing.T, s *stack){
			"a reset through a link": func(t *testing.T, s *stack) {
				if err := s.accounts.ResetPassword(t.Context(), s.forgot(t), "a brand new passphrase", client); err != nil {
					t.Fatal(err)
				}
			},
			"an operator's set-password": func(t *testing.T, s *stack) {
				if _, err := s.accounts.SetPassword(t.Context(), "acme", "nurse@acme.test", "a brand new passphrase", ""); err != nil {
					t.Fatal(err)
				}
			},
			"disabling the user": func(t *testing.T, s *stack) {
				if _, err := s.accounts.SetDisabled(t.Context(), "acme", s.user.ID, true, gatehouse.OperatorActor()); err != nil {
					t.Fatal(err)
				}
				if _, err := s.accounts.SetDisabled(t.Context(), "acme", s.user.ID, false, gatehouse.OperatorActor()); err != nil {
					t.Fatal(err)
				}
			},
		} {
			t.Run("after "+name+", a sign-in started with the old password yields no session", func(t *testing.T) {
				s := newStack(t, newDB(t)(), true)
				pending := s.startSignIn(t, linkPassword)
				code := s.inbox.lastCode(t)
				change(t, s)
				res, err := s.signin.Verify(t.Context(), signin.VerifyRequest{PendingToken: pending, Code: code, ClientIP: client})
				if err == nil || res != nil {
					t.Fatalf("the old pending sign-in finished: %+v", res)
				}
				if c := gatehouse.ErrorCode(err); c != gatehouse.ENOPENDINGLOGIN && c != gatehouse.ELOGINEXPIRED {
					t.Errorf("Verify: %v, want no pending sign-in", err)
				}
			})
		}
	})
}

func TestOneLiveLinkPerUser(t *testing.T) {
	onBothDatabases(t, func(t *testing.T, newDB func(t *testing.T) func() *sqlstore.DB) {
		ctx := context.Background()
		t.Run("a newer link voids the older, and a completed reset voids every link", func(t *testing.T) {
			s := newStack(t, newDB(t)(), true)
			first := s.forgot(t)
			second := s.forgot(t)
			err := s.accounts.ResetPassword(ctx, first, "a brand new passphrase", client)
			var ge *gatehouse.Error
			if !errors.As(err, &ge) || ge.Code != gatehouse.ENOTFOUND || ge.Reason != gatehouse.ReasonResetLinkSpent {
				t.Errorf("the older link after a newer one: %v, want not_found for a spent link", err)
			}
			if err := s.accounts.ResendWelcome(ctx, "acme", s.user.ID, gatehouse.OperatorActor()); err != nil {
				t.Fatal(err)
			}
			links := s.inbox.links(t, "nurse@acme.test")
			welcome := links[len(links)-1]
			if err := s.accounts.ResetPassword(ctx, second, "a brand new passphrase", client); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
				t.Errorf("the reset link after a welcome link: %v, want not_found", err)
			}
			if err := s.accounts.ResetPassword(ctx, welcome, "a brand new passphrase", client); err != nil {
				t.Fatalf("the newest link: %v", err)
			}
			if err := s.accounts.ResetPassword(ctx, welcome, "another new passphrase", client); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
				t.Errorf("the link used twice: %v, want not_found", err)
			}
		})
		t.Run("set-password voids the live link", func(t *testing.T) {
			s := newStack(t, newDB(t)(), true)
			link := s.forgot(t)
			if _, err := s.accounts.SetPassword(ctx, "acme", "nurse@acme.test", "a brand new passphrase", ""); err != nil {
				t.Fatal(err)
			}
			if err := s.accounts.ResetPassword(ctx, link, "another new passphrase", client); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
				t.Errorf("a link after set-password: %v, want not_found", err)
			}
		})
		t.Run("a link sent to the old address is dead after the user changes the e-mail, even when it is changed back", func(t *testing.T) {
			s := newStack(t, newDB(t)(), true)
			pending := s.startSignIn(t, linkPassword)
			res, err := s.signin.Verify(ctx, signin.VerifyRequest{PendingToken: pending, Code: s.inbox.lastCode(t), ClientIP: client})
			if err != nil {
				t.Fatal(err)
			}
			cur, err := s.signin.Authenticate(ctx, res.SessionToken)
			if err != nil {
				t.Fatal(err)
			}
			link := s.forgot(t)
			for _, email := range []string{"nurse@elsewhere.test", "nurse@acme.test"} {
				ch, err := s.signin.StartContactChange(ctx, cur, gatehouse.ChallengeChangeEmail, email, linkPassword, client, "")
				if err != nil {
					t.Fatal(err)
				}
				for range 2 { // a code to the current address, then one to the new
					s.now = s.now.Add(gatehouse.ResendGap)
					if ch, err = s.signin.VerifyContactChange(ctx, cur, ch.ChallengeID, s.inbox.lastCode(t), client); err != nil {
						t.Fatal(err)
					}
				}
				if !ch.Done || cur.User.Email != email {
					t.Fatalf("the change to %s did not finish: %+v, %s", email, ch, cur.User.Email)
				}
				if _, _, err := s.accounts.PasswordResetUser(ctx, link); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
					t.Errorf("the link with the e-mail at %s: %v, want not_found", email, err)
				}
			}
		})
		t.Run("a link sent to the old address is dead after an admin changes the e-mail, even when it is changed back", func(t *testing.T) {
			s := newStack(t, newDB(t)(), true)
			link := s.forgot(t)
			for _, email := range []string{"nurse@elsewhere.test", "nurse@acme.test"} {
				if _, err := s.accounts.EditUser(ctx, "acme", s.user.ID, accounts.UserEdit{Name: "Nurse", Email: email, Role: gatehouse.RoleMember}, gatehouse.OperatorActor()); err != nil {
					t.Fatal(err)
				}
				if _, _, err := s.accounts.PasswordResetUser(ctx, link); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
					t.Errorf("the link with the e-mail at %s: %v, want not_found", email, err)
				}
			}
		})
	})
}

// sequence is a reader of predictable bytes: the injected randomness.
type sequence struct{ n byte }

func (s *sequence) Read(p []byte) (int, error) {
	for i := range p {
		s.n++
		p[i] = s.n
	}
	return len(p), nil
}

func TestResetLinksUseTheInjectedRandomness(t *testing.T) {
	s := newStackWith(t, testdb.SQLite(t), true, &sequence{})
	want, _ := gatehouse.NewToken(&sequence{})
	if got := s.forgot(t); got != want {
		t.Errorf("the link's token is %q, want %q from the injected reader", got, want)
	}
}

func TestResetRequestsNeverUseUpSignInCodes(t *testing.T) {
	onBothDatabases(t, func(t *testing.T, newDB func(t *testing.T) func() *sqlstore.DB) {
		t.Run("forty parallel forgot-password requests on two nodes send at most the reset cap, and the user still gets a code", func(t *testing.T) {
			open := newDB(t)
			nodes := []*stack{newStack(t, open(), true)}
			nodes = append(nodes, newStack(t, open(), false))
			const n = 40
			errs := make([]error, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					// Each from another address: only the per-user cap binds.
					ip := netip.AddrFrom4([4]byte{203, 0, 113, byte(i)})
					errs[i] = nodes[i%2].accounts.ForgotPassword(context.Background(), "acme", "nurse@acme.test", ip)
				})
			}
			close(start)
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			sent := len(nodes[0].inbox.links(t, "nurse@acme.test")) + len(nodes[1].inbox.links(t, "nurse@acme.test"))
			if sent == 0 || sent > gatehouse.MaxResetSendsPerUser {
				t.Errorf("%d reset e-mails were sent, want 1 to %d", sent, gatehouse.MaxResetSendsPerUser)
			}
			s := nodes[0]
			counts, err := s.db.CountSends(t.Context(), s.user.ID, s.user.Email, client, s.now.Add(-gatehouse.SendWindow))
			if err != nil || counts.User != 0 {
				t.Errorf("the code-send log counts %d sends of the user (%v): resets must not count", counts.User, err)
			}
			for range gatehouse.MaxSendsPerUser {
				s.startSignIn(t, linkPassword) // fails the test unless a code was sent
				s.now = s.now.Add(gatehouse.ResendGap)
			}
		})
		t.Run("one IPv6 /64 gets the network cap across users and addresses", func(t *testing.T) {
			s := newStack(t, newDB(t)(), true)
			ctx := t.Context()
			for i := range gatehouse.MaxResetSendsPerNetwork + 2 {
				email := "user" + string(rune('a'+i)) + "@acme.test"
				if _, err := s.accounts.CreateUser(ctx, accounts.NewUser{OrgSlug: "acme", Email: email, Name: "U"}, ""); err != nil {
					t.Fatal(err)
				}
				ip := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 15: byte(i + 1)})
				if err := s.accounts.ForgotPassword(ctx, "acme", email, ip); err != nil {
					t.Fatal(err)
				}
			}
			s.inbox.mu.Lock()
			sent := len(s.inbox.notices)
			s.inbox.mu.Unlock()
			if sent != gatehouse.MaxResetSendsPerNetwork {
				t.Errorf("%d reset e-mails went out to one /64, want %d", sent, gatehouse.MaxResetSendsPerNetwork)
			}
		})
	})
}

// gatedHasher holds a password check between entered and release, so a
// test can change the password while a sign-in is checking the old one;
// rehash makes every hash look outdated.
type gatedHasher struct {
	*password.Hasher
	entered, release chan struct{}
	rehash           bool
}

func (h *gatedHasher) Verify(ctx context.Context, phc, pw string) (bool, error) {
	ok, err := h.Hasher.Verify(ctx, phc, pw)
	if h.entered != nil {
		h.entered <- struct{}{}
		<-h.release
	}
	return ok, err
}

func (h *gatedHasher) NeedsRehash(phc string) bool { return h.rehash || h.Hasher.NeedsRehash(phc) }

func TestAPasswordChangeDuringTheCheckOfTheOldOneEndsThatSignIn(t *testing.T) {
	changes := map[string]func(t *testing.T, s *stack){
		"a reset": func(t *testing.T, s *stack) {
			if err := s.accounts.ResetPassword(t.Context(), s.forgot(t), "a brand new passphrase", client); err != nil {
				t.Fatal(err)
			}
		},
		"a set-password": func(t *testing.T, s *stack) {
			if _, err := s.accounts.SetPassword(t.Context(), "acme", "nurse@acme.test", "a brand new passphrase", ""); err != nil {
				t.Fatal(err)
			}
		},
	}
	onBothDatabases(t, func(t *testing.T, newDB func(t *testing.T) func() *sqlstore.DB) {
		for name, change := range changes {
			for _, tc := range []struct {
				what            string
				enforce, rehash bool
			}{
				{"a pending sign-in", true, false},
				{"a session without 2FA", false, false},
				{"a pending sign-in whose hash is outdated", true, true},
			} {
				t.Run(name+" while the old password is checked ends "+tc.what, func(t *testing.T) {
					s := newStack(t, newDB(t)(), true)
					if !tc.enforce {
						set := s.org.Settings
						set.EnforceTwoFactor = false
						if _, err := s.accounts.UpdateSettings(t.Context(), "acme", accounts.SettingsChange{Settings: set, ConfirmTwoFactorOff: true}, gatehouse.OperatorActor()); err != nil {
							t.Fatal(err)
						}
					}
					h, err := password.NewHasher(password.HasherConfig{Params: password.TestParams()})
					if err != nil {
						t.Fatal(err)
					}
					gh := &gatedHasher{Hasher: h, entered: make(chan struct{}), release: make(chan struct{}), rehash: tc.rehash}
					s.signin, err = signin.New(signin.Config{Store: s.db, Hasher: gh, Secret: linkSecret, Messenger: s.inbox,
						NormalizePhone: phone.Normalize, Now: func() time.Time { return s.now }})
					if err != nil {
						t.Fatal(err)
					}
					type result struct {
						res *signin.LoginResult
						err error
					}
					done := make(chan result, 1)
					go func() {
						res, err := s.signin.Login(context.Background(), signin.LoginRequest{Organization: "acme", Email: "nurse@acme.test",
							Password: linkPassword, ClientIP: client})
						done <- result{res, err}
					}()
					<-gh.entered // the old password has just been found right
					change(t, s)
					close(gh.release)
					r := <-done
					gh.entered = nil
					switch {
					case r.err != nil:
						if gatehouse.ErrorCode(r.err) != gatehouse.EINVALIDCREDENTIALS {
							t.Errorf("Login: %v, want invalid_credentials", r.err)
						}
					case r.res.Pending != nil:
						s.inbox.mu.Lock()
						code := s.inbox.codes[len(s.inbox.codes)-1].Code
						s.inbox.mu.Unlock()
						if _, err := s.signin.Verify(t.Context(), signin.VerifyRequest{PendingToken: r.res.Pending.Token, Code: code, ClientIP: client}); err == nil {
							t.Error("a sign-in checked against the old password finished after the change")
						}
					default:
						if _, err := s.signin.Authenticate(t.Context(), r.res.SessionToken); err == nil {
							t.Error("a session signed in with the old password outlived the change")
						}
					}
					gh.rehash = false
					for pw, want := range map[string]bool{linkPassword: false, "a brand new passphrase": true} {
						_, err := s.signin.Login(t.Context(), signin.LoginRequest{Organization: "acme", Email: "nurse@acme.test", Password: pw, ClientIP: client})
						if got := gatehouse.ErrorCode(err) != gatehouse.EINVALIDCREDENTIALS; got != want {
							t.Errorf("after the change, signing in with %q: %v; want it to work: %t", pw, err, want)
						}
					}
				})
			}
		}
	})
}
