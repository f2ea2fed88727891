package signin_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/keyring"
	"github.com/gatehousehq/gatehouse/internal/password"
	"github.com/gatehousehq/gatehouse/internal/phone"
	"github.com/gatehousehq/gatehouse/internal/signin"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

// testSecret is the server secret of the nodes these tests build.
var testSecret = []byte("0123456789abcdef0123456789abcdef")

// option changes one field of the signin.Config a test builds on.
type option func(*signin.Config)

func withNow(now func() time.Time) option        { return func(c *signin.Config) { c.Now = now } }
func withHasher(h signin.Hasher) option          { return func(c *signin.Config) { c.Hasher = h } }
func withMessenger(m gatehouse.Messenger) option { return func(c *signin.Config) { c.Messenger = m } }
func withFederation(f signin.Federation) option  { return func(c *signin.Config) { c.Federation = f } }
func withSecret(b []byte) option                 { return func(c *signin.Config) { c.Secret = b } }
func withKeys(r *keyring.Ring) option            { return func(c *signin.Config) { c.Keys = r } }
func withThrottling(th signin.Throttling) option { return func(c *signin.Config) { c.Throttling = th } }
func withStore(s signin.Store) option            { return func(c *signin.Config) { c.Store = s } }

// unthrottled raises the password throttle's free allowance, for races
// whose subject is something else (re-keying, the send caps): otherwise
// only its allowance hashes at once.
func unthrottled() option {
	return withThrottling(signin.Throttling{AccountFree: 1000, AddressFree: 1000})
}

// newNode is the one wiring of a sign-in service in these tests: one
// server's node over store, with a fast hasher, testSecret, the phone
// rules and a messenger that keeps what it is given, then each option in
// turn.
func newNode(t testing.TB, store signin.Store, opts ...option) *signin.Service {
	t.Helper()
	cfg := signin.Config{Store: store, Hasher: testHasher(t), Secret: testSecret, Messenger: &inbox{}, NormalizePhone: phone.Normalize}
	for _, o := range opts {
		o(&cfg)
	}
	svc, err := signin.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// testHasher is a hasher with the fast test parameters and hc's pool
// settings, if given.
func testHasher(t testing.TB, hc ...password.HasherConfig) *password.Hasher {
	t.Helper()
	c := password.HasherConfig{Params: password.TestParams()}
	if len(hc) > 0 {
		c = hc[0]
	}
	h, err := password.NewHasher(c)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestNewNamesTheMissingField(t *testing.T) {
	full := signin.Config{Store: testdb.SQLite(t), Hasher: testHasher(t), Secret: testSecret, Messenger: &inbox{}, NormalizePhone: phone.Normalize}
	for _, tc := range []struct {
		field string
		drop  func(*signin.Config)
	}{
		{"Store", func(c *signin.Config) { c.Store = nil }},
		{"Hasher", func(c *signin.Config) { c.Hasher = nil }},
		{"Messenger", func(c *signin.Config) { c.Messenger = nil }},
		{"NormalizePhone", func(c *signin.Config) { c.NormalizePhone = nil }},
		{"Keys", func(c *signin.Config) { c.Secret = nil }},
	} {
		c := full
		tc.drop(&c)
		if _, err := signin.New(c); err == nil || !strings.Contains(err.Error(), "Config."+tc.field) {
			t.Errorf("without %s: %v, want an error naming Config.%s", tc.field, err, tc.field)
		}
	}
	if _, err := signin.New(full); err != nil {
		t.Errorf("with every required field: %v", err)
	}
}
