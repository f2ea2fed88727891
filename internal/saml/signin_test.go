package saml

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	crewjam "github.com/crewjam/saml"
	"github.com/crewjam/saml/samlidp"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/gatehousehq/gatehouse"
)

// These tests sign in end to end: crewjam's samlidp, a real IdP, runs on a
// loopback port; a browser with a cookie jar signs in there, follows the
// AuthnRequest redirect and receives the IdP's auto-submitting form; the
// form is posted to a small ACS server that calls ParseResponse.

// env is the IdP, the Gatehouse ACS server and the browsers, shared by the
// tests (the IdP hashes passwords with bcrypt, which is slow under the race
// detector), and the stores and clock of one test.
type env struct {
	*world
	clock   *testClock
	tracker *memTracker
	replay  *memReplay
}

type world struct {
	idp     *testIdP
	acs     *acs
	idpMeta *IdPMetadata
	alice   *browser // signed in at the IdP as alice
	bob     *browser // signed in at the IdP as bob, who has no e-mail address
}

var (
	worldOnce sync.Once
	theWorld  *world
	worldErr  error
)

func newWorld() (*world, error) {
	w := &world{alice: newBrowser(), bob: newBrowser()}
	var err error
	if w.idp, err = startIdP(nil); err != nil {
		return nil, err
	}
	if w.acs, err = startACS(); err != nil {
		return nil, err
	}
	// The metadata comes from the IdP's URL, over http to a loopback
	// address, as an organization in development would give it.
	if w.idpMeta, err = FetchIdPMetadata(context.Background(), FetchPolicy{AllowPrivate: true}, w.idp.url+"/metadata"); err != nil {
		return nil, err
	}
	for _, step := range []func() error{
		func() error { return w.idp.addUser("alice", "alice@example.com", "Alice Example") },
		func() error { return w.idp.addUser("bob", "", "Bob Without Mail") },
		func() error { return w.alice.login(w.idp, "alice") },
		func() error { return w.bob.login(w.idp, "bob") },
	} {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return w, nil
}

func TestMain(m *testing.M) {
	m.Run()
	if theWorld != nil {
		theWorld.idp.srv.Close()
		theWorld.acs.srv.Close()
	}
}

func newEnv(t *testing.T) *env {
	t.Helper()
	worldOnce.Do(func() { theWorld, worldErr = newWorld() })
	if worldErr != nil {
		t.Fatal(worldErr)
	}
	return &env{world: theWorld, clock: &testClock{}, tracker: newMemTracker(), replay: newMemReplay()}
}

// newSP builds the SP of organization "acme" on the shared stores; mod may
// change the options first.
func (e *env) newSP(t *testing.T, mod func(*Options)) *ServiceProvider {
	t.Helper()
	key, cert := testKeyPair(t, 1)
	opts := Options{
		BaseURL:        e.acs.base,
		OrgSlug:        "acme",
		Key:            key,
		Cert:           cert,
		IdPMetadata:    e.idpMeta,
		Clock:          e.clock.nowFunc(),
		ReplayCache:    e.replay,
		RequestTracker: e.tracker,
	}
	if mod != nil {
		mod(&opts)
	}
	sp, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// register gives the IdP the SP's metadata; with plain set, without the
// encryption key, so that the IdP sends the assertion unencrypted and a test
// can change it.
func (e *env) register(t *testing.T, sp *ServiceProvider, plain bool) {
	t.Helper()
	md, err := sp.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	if plain {
		md = []byte(removeElements(string(md), `<KeyDescriptor use="encryption">`, `</KeyDescriptor>`, -1))
	}
	e.idp.register(t, md)
}

// signIn starts a sign-in at sp and returns the IdP's answer, not yet
// posted.
func (e *env) signIn(t *testing.T, b *browser, sp *ServiceProvider, relayState string) postedForm {
	t.Helper()
	u, err := sp.AuthnRequestURL(context.Background(), relayState, testNonce)
	if err != nil {
		t.Fatal(err)
	}
	return b.get(t, u)
}

// wantRefused checks that err is a refusal that shows the user nothing but
// "sign-in failed", for the reason want (nil: any).
func wantRefused(t *testing.T, err error, want error) {
	t.Helper()
	if err == nil {
		t.Fatal("the response was accepted, want it refused")
	}
	t.Logf("refused: %v", err)
	if !errors.Is(err, ErrInvalidResponse) {
		t.Fatalf("error %v does not wrap ErrInvalidResponse", err)
	}
	if want != nil && !errors.Is(err, want) {
		t.Fatalf("error %v, want one matching %v", err, want)
	}
	if got := gatehouse.ErrorCode(err); got != gatehouse.EINVALIDCREDENTIALS {
		t.Errorf("code %q, want %q", got, gatehouse.EINVALIDCREDENTIALS)
	}
	if got, want := gatehouse.ErrorMessage(err), ErrInvalidResponse.Message; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
}

func TestSignInWithARealIdP(t *testing.T) {
	e := newEnv(t)
	sp := e.newSP(t, nil)
	e.register(t, sp, false)

	f := e.signIn(t, e.alice, sp, "opaque-relay-1")
	if !strings.Contains(f.responseXML(t), "EncryptedAssertion") {
		t.Error("the IdP did not encrypt the assertion to the SP certificate in the metadata")
	}
	id, err := e.acs.post(t, sp, f)
	if err != nil {
		t.Fatalf("a good sign-in was refused: %v", err)
	}
	want := Identity{NameID: "alice@example.com", Email: "alice@example.com", Name: "Alice Example"}
	if *id != want {
		t.Errorf("identity %+v, want %+v", *id, want)
	}
	if got := e.acs.relayState(); got != "opaque-relay-1" {
		t.Errorf("RelayState %q, want it back unchanged", got)
	}
	if n := e.tracker.len(); n != 0 {
		t.Errorf("%d requests still pending after the answer, want 0", n)
	}
	if n := e.replay.len(); n != 1 {
		t.Errorf("the replay cache holds %d assertion IDs, want 1", n)
	}
}

func TestSignInRefusesTamperedResponses(t *testing.T) {
	e := newEnv(t)
	sp := e.newSP(t, nil)

	changeEmail := func(doc string) string {
		return strings.ReplaceAll(doc, "alice@example.com", "mallory@example.com")
	}
	accepted := errors.New("accepted")
	tests := []struct {
		name      string
		encrypted bool // as the IdP sends it, unless the test registers the SP without its encryption key
		tamper    func(doc string) string
		want      error // accepted, or the reason for the refusal (nil: any)
	}{
		{"an untouched signed response is accepted (the control)", false,
			func(doc string) string { return doc }, accepted},
		{"a response whose Assertion is signed is accepted without the Response signature", false,
			func(doc string) string { return removeElements(doc, "<ds:Signature", "</ds:Signature>", 1) }, accepted},
		{"the e-mail address changed in the signed assertion", false,
			changeEmail, crewjam.ErrInvalidSignature},
		{"the Response signature removed and the e-mail address changed in the signed assertion", false,
			func(doc string) string {
				return changeEmail(removeElements(doc, "<ds:Signature", "</ds:Signature>", 1))
			}, crewjam.ErrInvalidSignature},
		{"both signatures removed, nothing else changed", false,
			func(doc string) string { return removeElements(doc, "<ds:Signature", "</ds:Signature>", -1) }, nil},
		{"the encrypted assertion changed under the Response signature", true,
			func(doc string) string {
				i := strings.LastIndex(doc, "<xenc:CipherValue>") + len("<xenc:CipherValue>")
				b := []byte(doc)
				b[i] ^= 'A' ^ 'B'
				return string(b)
			}, crewjam.ErrInvalidSignature},
		{"the Response's SignatureValue changed", true,
			func(doc string) string {
				i := strings.Index(doc, "<ds:SignatureValue>") + len("<ds:SignatureValue>")
				sig, err := base64.StdEncoding.DecodeString(doc[i : i+strings.Index(doc[i:], "<")])
				if err != nil {
					t.Fatal(err)
				}
				sig[0] ^= 1
				return doc[:i] + base64.StdEncoding.EncodeToString(sig) + doc[i+strings.Index(doc[i:], "<"):]
			}, crewjam.ErrInvalidSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.register(t, sp, !tt.encrypted)
			f := e.signIn(t, e.alice, sp, "")
			doc := f.responseXML(t)
			if got := strings.Contains(doc, "EncryptedAssertion"); got != tt.encrypted {
				t.Fatalf("the IdP sent an encrypted assertion: %v, want %v", got, tt.encrypted)
			}
			tampered := tt.tamper(doc)
			if tampered == doc && tt.want != accepted {
				t.Fatal("the tampering changed nothing")
			}
			id, err := e.acs.post(t, sp, f.withResponse(tampered))
			if tt.want == accepted {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if id.Email != "alice@example.com" {
					t.Errorf("e-mail %q", id.Email)
				}
				return
			}
			wantRefused(t, err, tt.want)
		})
	}
}

func TestSignInRefusesReplays(t *testing.T) {
	e := newEnv(t)

	t.Run("the same response posted twice is refused the second time", func(t *testing.T) {
		sp := e.newSP(t, nil)
		e.register(t, sp, false)
		f := e.signIn(t, e.alice, sp, "")
		if _, err := e.acs.post(t, sp, f); err != nil {
			t.Fatal(err)
		}
		_, err := e.acs.post(t, sp, f)
		// The request it answers was consumed by the first post.
		wantRefused(t, err, crewjam.ErrRequestIDMismatch)
	})

	t.Run("the replay cache refuses an assertion seen before, on this node and on another", func(t *testing.T) {
		// A tracker that lets a request be answered again leaves the
		// replay cache as the only defence.
		loose := newMemTracker()
		loose.reusable = true
		replay := newMemReplay()
		node1 := e.newSP(t, func(o *Options) { o.RequestTracker, o.ReplayCache = loose, replay })
		node2 := e.newSP(t, func(o *Options) { o.RequestTracker, o.ReplayCache = loose, replay })
		e.register(t, node1, false)

		f := e.signIn(t, e.alice, node1, "")
		if _, err := e.acs.post(t, node1, f); err != nil {
			t.Fatal(err)
		}
		_, err := e.acs.post(t, node1, f)
		wantRefused(t, err, crewjam.ErrAssertionReplayed)
		_, err = e.acs.post(t, node2, f)
		wantRefused(t, err, crewjam.ErrAssertionReplayed)

		// The ID is remembered for as long as the assertion could be
		// accepted: no longer than its NotOnOrAfter (with clock skew).
		replay.mu.Lock()
		defer replay.mu.Unlock()
		for id, until := range replay.seen {
			now := time.Now()
			if !until.After(now) || until.After(now.Add(crewjam.MaxIssueDelay+crewjam.MaxClockSkew)) {
				t.Errorf("assertion %s remembered until %s, want between now and NotOnOrAfter", id, until)
			}
		}
	})
}

func TestSignInChecksTheAssertionsTimes(t *testing.T) {
	e := newEnv(t)
	sp := e.newSP(t, nil)

	tests := []struct {
		name  string
		clock time.Duration // the SP's clock when the response arrives
		// rewrap takes the signed assertion out of the signed Response
		// and puts it in an unsigned one issued at the SP's clock, so
		// that the assertion's own times are what is checked.
		rewrap bool
		want   error // nil: accepted
	}{
		{"a response that arrives a minute later is accepted", time.Minute, false, nil},
		{"an expired response and assertion are refused (past NotOnOrAfter and the clock skew)", 5 * time.Minute, false, crewjam.ErrExpired},
		{"a response and assertion not valid yet are refused (before NotBefore and the clock skew)", -10 * time.Minute, false, crewjam.ErrNotYetValid},
		{"a fresh unsigned Response is accepted around a signed assertion (the control)", 0, true, nil},
		{"an expired signed assertion in a fresh Response is refused", 5 * time.Minute, true, crewjam.ErrExpired},
		{"a signed assertion not valid yet in a fresh Response is refused", -10 * time.Minute, true, crewjam.ErrNotYetValid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer e.clock.reset()
			e.register(t, sp, tt.rewrap)
			f := e.signIn(t, e.alice, sp, "")
			e.clock.advance(tt.clock)
			if tt.rewrap {
				doc := removeElements(f.responseXML(t), "<ds:Signature", "</ds:Signature>", 1)
				i := strings.Index(doc, `IssueInstant="`) + len(`IssueInstant="`)
				j := i + strings.Index(doc[i:], `"`)
				f = f.withResponse(doc[:i] + e.clock.now().UTC().Format(time.RFC3339Nano) + doc[j:])
			}
			_, err := e.acs.post(t, sp, f)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			wantRefused(t, err, tt.want)
		})
	}
}

func TestSignInRefusesAWrongAudience(t *testing.T) {
	e := newEnv(t)
	sp := e.newSP(t, nil)
	// Another SP of the same IdP, on the same tracker, whose entity ID is
	// not Gatehouse's (crewjam's field is set directly: New always makes it
	// the metadata URL). The IdP issues its assertion to that audience.
	other := e.newSP(t, nil)
	other.sp.EntityID = "https://elsewhere.example/saml/acme/metadata"
	e.register(t, other, false)

	f := e.signIn(t, e.alice, other, "")
	if !strings.Contains(f.responseXML(t), `Destination="`+sp.ACSURL()+`"`) {
		t.Fatal("the response is not addressed to the ACS; the test would not isolate the audience")
	}
	_, err := e.acs.post(t, sp, f)
	wantRefused(t, err, crewjam.ErrAudienceMismatch)
}

func TestSignInRefusesAResponseForAnotherOrganization(t *testing.T) {
	e := newEnv(t)
	acme := e.newSP(t, nil)
	globex := e.newSP(t, func(o *Options) { o.OrgSlug = "globex" })
	e.register(t, acme, false)

	f := e.signIn(t, e.alice, acme, "")
	f.action = globex.ACSURL()
	_, err := e.acs.post(t, globex, f)
	wantRefused(t, err, crewjam.ErrDestinationMismatch)
}

func TestSignInRefusesAResponseToNoPendingRequest(t *testing.T) {
	e := newEnv(t)
	sp := e.newSP(t, nil)
	e.register(t, sp, false)

	t.Run("an InResponseTo this SP's tracker never issued", func(t *testing.T) {
		f := e.signIn(t, e.alice, sp, "")
		elsewhere := e.newSP(t, func(o *Options) { o.RequestTracker = newMemTracker() })
		_, err := e.acs.post(t, elsewhere, f)
		wantRefused(t, err, crewjam.ErrRequestIDMismatch)
	})

	t.Run("an answer after the request's lifetime", func(t *testing.T) {
		defer e.clock.reset()
		f := e.signIn(t, e.alice, sp, "")
		e.clock.advance(RequestLifetime + time.Second)
		_, err := e.acs.post(t, sp, f)
		wantRefused(t, err, crewjam.ErrRequestIDMismatch)
	})

	t.Run("an unsolicited (IdP-initiated) response", func(t *testing.T) {
		if err := e.idp.putJSON("/shortcuts/gatehouse", map[string]any{"service_provider": sp.EntityID()}); err != nil {
			t.Fatal(err)
		}
		f := e.alice.get(t, e.idp.url+"/login/gatehouse")
		if strings.Contains(f.responseXML(t), "InResponseTo") {
			t.Fatal("the IdP-initiated response has an InResponseTo")
		}
		_, err := e.acs.post(t, sp, f)
		wantRefused(t, err, crewjam.ErrRequestIDMismatch)
	})
}

func TestSignInRefusesASignerMissingFromTheMetadata(t *testing.T) {
	e := newEnv(t)
	// The organization's metadata names a certificate other than the one
	// the IdP signs with.
	_, idpCert := testKeyPair(t, 0)
	_, stranger := testKeyPair(t, 2)
	raw := strings.ReplaceAll(string(e.idpMeta.Raw()),
		base64.StdEncoding.EncodeToString(idpCert.Raw), base64.StdEncoding.EncodeToString(stranger.Raw))
	meta, err := ParseIdPMetadata([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	sp := e.newSP(t, func(o *Options) { o.IdPMetadata = meta })
	e.register(t, sp, false)

	_, err = e.acs.post(t, sp, e.signIn(t, e.alice, sp, ""))
	wantRefused(t, err, crewjam.ErrInvalidSignature)
}

func TestSignInMapsAttributes(t *testing.T) {
	e := newEnv(t)

	tests := []struct {
		name     string
		browser  *browser
		mod      func(*Options)
		want     *Identity
		wantAttr string // the missing attribute, when refused
	}{
		{"the organization's attribute names", e.alice,
			func(o *Options) { o.EmailAttr, o.NameAttr, o.PhoneAttr = "mail", "urn:oid:2.5.4.3", "telephoneNumber" },
			&Identity{NameID: "alice@example.com", Email: "alice@example.com", Name: "Alice Example"}, ""},
		{"a user without an e-mail address is refused, naming the attribute", e.bob,
			nil, nil, "email"},
		{"an organization's e-mail attribute that the IdP does not send is refused, naming it", e.alice,
			func(o *Options) { o.EmailAttr = "corporateEmail" }, nil, "corporateEmail"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := e.newSP(t, tt.mod)
			e.register(t, sp, false)
			id, err := e.acs.post(t, sp, e.signIn(t, tt.browser, sp, ""))
			if tt.want != nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if *id != *tt.want {
					t.Errorf("identity %+v, want %+v", *id, *tt.want)
				}
				return
			}
			wantRefused(t, err, nil)
			var missing *MissingAttributeError
			if !errors.As(err, &missing) || missing.Attribute != tt.wantAttr {
				t.Fatalf("error %v, want a MissingAttributeError for %q", err, tt.wantAttr)
			}
			if !strings.Contains(err.Error(), `"`+tt.wantAttr+`"`) {
				t.Errorf("error %q does not name the attribute %q", err, tt.wantAttr)
			}
		})
	}
}

func TestSignInFailsClosedWhenTheStoresFail(t *testing.T) {
	e := newEnv(t)
	boom := errors.New("database is down")

	t.Run("the tracker cannot record the request", func(t *testing.T) {
		sp := e.newSP(t, func(o *Options) {
			o.RequestTracker = trackerFuncs{issue: func(context.Context, string, []byte, time.Time) error { return boom }}
		})
		_, err := sp.AuthnRequestURL(context.Background(), "", testNonce)
		if !errors.Is(err, ErrUnavailable) || !errors.Is(err, boom) {
			t.Fatalf("error %v, want ErrUnavailable wrapping the store's error", err)
		}
	})

	t.Run("the tracker cannot consume the request", func(t *testing.T) {
		failing := trackerFuncs{
			issue:   e.tracker.Issue,
			consume: func(context.Context, string, time.Time) ([]byte, bool, error) { return nil, false, boom },
		}
		sp := e.newSP(t, func(o *Options) { o.RequestTracker = failing })
		e.register(t, sp, false)
		_, err := e.acs.post(t, sp, e.signIn(t, e.alice, sp, ""))
		if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrInvalidResponse) {
			t.Fatalf("error %v, want ErrUnavailable only", err)
		}
		if got := gatehouse.ErrorCode(err); got != gatehouse.EUNAVAILABLE {
			t.Errorf("code %q, want %q", got, gatehouse.EUNAVAILABLE)
		}
	})

	t.Run("the replay cache cannot record the assertion", func(t *testing.T) {
		sp := e.newSP(t, func(o *Options) {
			o.ReplayCache = replayFunc(func(context.Context, string, time.Time) (bool, error) { return false, boom })
		})
		e.register(t, sp, false)
		_, err := e.acs.post(t, sp, e.signIn(t, e.alice, sp, ""))
		if !errors.Is(err, ErrUnavailable) || !errors.Is(err, boom) || errors.Is(err, ErrInvalidResponse) {
			t.Fatalf("error %v, want ErrUnavailable wrapping the store's error", err)
		}
	})
}

func TestSignInRefusesSHA1Signatures(t *testing.T) {
	e := newEnv(t)
	// An IdP of its own, which signs with RSA-SHA1.
	idp, err := startIdP(func(s *samlidp.Server) { s.IDP.SignatureMethod = dsig.RSASHA1SignatureMethod })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(idp.srv.Close)
	if err := idp.addUser("alice", "alice@example.com", "Alice Example"); err != nil {
		t.Fatal(err)
	}
	b := newBrowser()
	if err := b.login(idp, "alice"); err != nil {
		t.Fatal(err)
	}
	meta, err := FetchIdPMetadata(context.Background(), FetchPolicy{AllowPrivate: true}, idp.url+"/metadata")
	if err != nil {
		t.Fatal(err)
	}
	sp := e.newSP(t, func(o *Options) { o.IdPMetadata = meta })
	md, err := sp.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	idp.register(t, md)

	f := e.signIn(t, b, sp, "")
	if !strings.Contains(f.responseXML(t), dsig.RSASHA1SignatureMethod) {
		t.Fatal("the IdP did not sign with RSA-SHA1")
	}
	_, err = e.acs.post(t, sp, f)
	wantRefused(t, err, crewjam.ErrUnsupported)
}
