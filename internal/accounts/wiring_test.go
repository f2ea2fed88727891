package accounts_test

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/accounts"
	"github.com/gatehousehq/gatehouse/internal/keyring"
	"github.com/gatehousehq/gatehouse/internal/password"
	"github.com/gatehousehq/gatehouse/internal/phone"
	"github.com/gatehousehq/gatehouse/internal/sqlstore"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

// option changes one field of the accounts.Config a test builds on.
type option func(*accounts.Config)

func withNow(now func() time.Time) option { return func(c *accounts.Config) { c.Now = now } }
func withRand(r io.Reader) option         { return func(c *accounts.Config) { c.Rand = r } }
func withHasher(h accounts.Hasher) option { return func(c *accounts.Config) { c.Hasher = h } }
func withSecret(b []byte) option          { return func(c *accounts.Config) { c.Secret = b } }
func withKeys(r *keyring.Ring) option     { return func(c *accounts.Config) { c.Keys = r } }

// withSMS says an SMS provider is configured, so organizations may choose
// codes by SMS.
func withSMS() option { return func(c *accounts.Config) { c.SMSAvailable = true } }

// withMessenger sends links and notices to m, links under publicURL.
func withMessenger(m gatehouse.Messenger, publicURL string) option {
	return func(c *accounts.Config) { c.Messenger, c.PublicURL = m, publicURL }
}

// newAccounts is the one wiring of an accounts service in these tests: the
// store given, a fast hasher, the default password policy and phone rules,
// then each option in turn.
func newAccounts(t testing.TB, store gatehouse.Store, opts ...option) *accounts.Service {
	t.Helper()
	cfg := accounts.Config{Store: store, Hasher: testHasher(t), Policy: password.DefaultPolicy(), Phone: phone.Normalize}
	for _, o := range opts {
		o(&cfg)
	}
	svc, err := accounts.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// newService is newAccounts on a fresh SQLite store.
func newService(t *testing.T, opts ...option) (*accounts.Service, *sqlstore.DB) {
	t.Helper()
	db := testdb.SQLite(t)
	return newAccounts(t, db, opts...), db
}

// testHasher is a hasher with the fast test parameters.
func testHasher(t testing.TB) *password.Hasher {
	t.Helper()
	h, err := password.NewHasher(password.HasherConfig{Params: password.TestParams()})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestNewNamesTheMissingField(t *testing.T) {
	db := testdb.SQLite(t)
	full := accounts.Config{Store: db, Hasher: testHasher(t), Policy: password.DefaultPolicy(), Phone: phone.Normalize}
	for _, tc := range []struct {
		field string
		drop  func(*accounts.Config)
	}{
		{"Store", func(c *accounts.Config) { c.Store = nil }},
		{"Hasher", func(c *accounts.Config) { c.Hasher = nil }},
		{"Policy", func(c *accounts.Config) { c.Policy = nil }},
		{"Phone", func(c *accounts.Config) { c.Phone = nil }},
	} {
		c := full
		tc.drop(&c)
		if _, err := accounts.New(c); err == nil || !strings.Contains(err.Error(), "Config."+tc.field) {
			t.Errorf("without %s: %v, want an error naming Config.%s", tc.field, err, tc.field)
		}
	}
	if _, err := accounts.New(full); err != nil {
		t.Errorf("with every required field: %v", err)
	}
	full.Secret = []byte("short")
	if _, err := accounts.New(full); err == nil {
		t.Error("a 5-byte secret was taken")
	}
}
