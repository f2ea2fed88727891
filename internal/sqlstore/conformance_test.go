package sqlstore

import (
	"bytes"
	"crypto/sha256"
	"database/sql/driver"
	"fmt"
	"net/netip"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb/pgschema"
)

// The conformance tests hold the store to the gatehouse.Store contract, one
// file per store or subject (conformance_*_test.go), each run on both
// databases by forEachDB with a fresh database per subtest. This file has
// the driver and the fixtures they share; race_test.go has the helper for
// concurrent callers.

// t0 has whole milliseconds, which is what the store keeps.
var t0 = time.Date(2026, 11, 27, 9, 30, 0, 123_000_000, time.UTC)

// engine is one of the databases the store runs on. Each call of url gives
// the URL of a new, empty database of it, removed when the test ends.
type engine struct {
	url func(t *testing.T) string
	// wrap, when set, wraps the driver's connector (OpenWrapped).
	wrap func(driver.Connector) driver.Connector
}

// forEachDB runs suite on SQLite and on PostgreSQL, as the subtests SQLite
// and Postgres. The PostgreSQL run is skipped, once, when
// GATEHOUSE_TEST_POSTGRES_URL is unset. When it is set nothing under it may
// skip (CI fails on a skipped test named Postgres): a test that differs by
// database branches on Dialect instead.
func forEachDB(t *testing.T, suite func(t *testing.T, d engine)) {
	t.Run("SQLite", func(t *testing.T) {
		suite(t, engine{url: func(t *testing.T) string {
			return "sqlite:" + filepath.Join(t.TempDir(), "gatehouse.db")
		}})
	})
	t.Run("Postgres", func(t *testing.T) {
		pgschema.Base(t)
		suite(t, engine{url: func(t *testing.T) string { return pgschema.URL(t) }})
	})
}

// open opens the store at url, unmigrated, closed when the test ends.
func (d engine) open(t *testing.T, url string) *DB {
	t.Helper()
	db, err := OpenWrapped(t.Context(), url, d.wrap)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// fresh returns a migrated store on a new database.
func (d engine) fresh(t *testing.T) *DB {
	t.Helper()
	return d.nodes(t, 1)[0]
}

// nodes opens n migrated stores on one new database: n nodes of one
// deployment (on PostgreSQL, n connection pools, as n servers would have).
func (d engine) nodes(t *testing.T, n int) []*DB {
	t.Helper()
	url := d.url(t)
	dbs := make([]*DB, n)
	for i := range dbs {
		dbs[i] = d.open(t, url)
		if err := dbs[i].Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	return dbs
}

func newOrg(t *testing.T, db *DB, slug string) *gatehouse.Organization {
	t.Helper()
	org := &gatehouse.Organization{ID: gatehouse.NewID(), Slug: slug, Name: "Org " + slug,
		Settings: gatehouse.DefaultPasswordSettings(), CreatedAt: t0, UpdatedAt: t0}
	if err := db.CreateOrganization(t.Context(), org); err != nil {
		t.Fatal(err)
	}
	return org
}

func newUser(t *testing.T, db *DB, orgID, email string) *gatehouse.User {
	t.Helper()
	u := &gatehouse.User{ID: gatehouse.NewID(), OrgID: orgID, Email: email, Role: gatehouse.RoleMember,
		PasswordHash: "$argon2id$" + email, CreatedAt: t0, UpdatedAt: t0}
	if err := db.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

func newSession(t *testing.T, db *DB, u *gatehouse.User, hash []byte) {
	t.Helper()
	s := &gatehouse.Session{TokenHash: bytes.Clone(hash), UserID: u.ID, OrgID: u.OrgID,
		TwoFactorState: gatehouse.TwoFactorVerified, CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(7 * 24 * time.Hour)}
	if err := db.CreateSession(t.Context(), s); err != nil {
		t.Fatal(err)
	}
}

// codeHash stands in for the keyed hash of a code or token: 32 bytes.
func codeHash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// newChallenge saves a live login challenge of u created at t0, changed
// first by edit if not nil.
func newChallenge(t *testing.T, db *DB, u *gatehouse.User, edit func(*gatehouse.Challenge)) *gatehouse.Challenge {
	t.Helper()
	c := &gatehouse.Challenge{ID: gatehouse.NewID(), TokenHash: codeHash(gatehouse.NewID()), Kind: gatehouse.ChallengeLogin,
		OrgID: u.OrgID, UserID: u.ID, Channel: gatehouse.OTPEmail, Destination: u.Email, Step: 1,
		ClientIP: netip.MustParseAddr("203.0.113.9"), UserAgent: "Mozilla/5.0",
		CreatedAt: t0, ExpiresAt: t0.Add(gatehouse.ChallengeLifetime)}
	if edit != nil {
		edit(c)
	}
	if err := db.CreateChallenge(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	return c
}

// addCode adds code to a challenge at at, for its lifetime, and returns its
// hash.
func addCode(t *testing.T, db *DB, challengeID, code string, at time.Time) []byte {
	t.Helper()
	h := codeHash(code)
	if err := db.AddCode(t.Context(), challengeID, h, at, at.Add(gatehouse.CodeLifetime)); err != nil {
		t.Fatal(err)
	}
	return h
}

func checkConsume(t *testing.T, db *DB, challengeID string, hash []byte, now time.Time, want string, wantFailures int) {
	t.Helper()
	got, failures, err := db.ConsumeCode(t.Context(), challengeID, hash, now, gatehouse.ChallengeMaxFailures)
	if err != nil || got != want || failures != wantFailures {
		t.Errorf("ConsumeCode at %v = %q, %d failures, %v; want %q, %d failures", now, got, failures, err, want, wantFailures)
	}
}

// newBrowser saves a remembered browser of u, created at created for 30 days,
// whose token hashes as codeHash(token).
func newBrowser(t *testing.T, db *DB, u *gatehouse.User, token string, created time.Time) *gatehouse.RememberedBrowser {
	t.Helper()
	b := &gatehouse.RememberedBrowser{ID: gatehouse.NewID(), TokenHash: codeHash(token), OrgID: u.OrgID, UserID: u.ID,
		ClientIP: netip.MustParseAddr("2001:db8::7"), UserAgent: "Mozilla/5.0 " + token,
		CreatedAt: created, LastUsedAt: created, ExpiresAt: created.Add(30 * 24 * time.Hour)}
	if err := db.CreateRememberedBrowser(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	return b
}

// newReset saves a password reset link of u created at t0, whose token
// hashes as codeHash(token).
func newReset(t *testing.T, db *DB, u *gatehouse.User, token string) *gatehouse.PasswordReset {
	t.Helper()
	r := &gatehouse.PasswordReset{TokenHash: codeHash(token), OrgID: u.OrgID, UserID: u.ID, Email: u.Email,
		CreatedAt: t0, ExpiresAt: t0.Add(gatehouse.PasswordResetLifetime)}
	if err := db.CreatePasswordReset(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	return r
}

func checkCode(t *testing.T, what string, err error, want string) {
	t.Helper()
	if got := gatehouse.ErrorCode(err); got != want {
		t.Errorf("%s: error %v (code %q), want code %q", what, err, got, want)
	}
}

// checkEqual compares with reflect.DeepEqual, which also tells a UTC time
// from the same instant elsewhere: the store returns times in UTC.
func checkEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %s\nwant %s", what, dump(got), dump(want))
	}
}

func dump(v any) string {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Slice {
		s := "["
		for i := range rv.Len() {
			s += "\n\t" + dump(rv.Index(i).Interface())
		}
		return s + "\n]"
	}
	if rv.Kind() == reflect.Pointer && !rv.IsNil() {
		return fmt.Sprintf("%+v", rv.Elem().Interface())
	}
	return fmt.Sprintf("%+v", v)
}

// sqliteIndexOn returns the name of the index on exactly these columns of
// table, failing the test if there is none.
func sqliteIndexOn(t *testing.T, db *DB, table string, columns ...string) string {
	t.Helper()
	rows, err := db.read.QueryContext(t.Context(), `SELECT name FROM pragma_index_list($1)`, table)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	for _, name := range names {
		rows, err := db.read.QueryContext(t.Context(), `SELECT name FROM pragma_index_info($1) ORDER BY seqno`, name)
		if err != nil {
			t.Fatal(err)
		}
		var cols []string
		for rows.Next() {
			var col string
			if err := rows.Scan(&col); err != nil {
				t.Fatal(err)
			}
			cols = append(cols, col)
		}
		rows.Close()
		if slices.Equal(cols, columns) {
			return name
		}
	}
	t.Fatalf("no index on %s %v among %v", table, columns, names)
	return ""
}

// sqlitePlan returns SQLite's plan for query, one step a line.
func sqlitePlan(t *testing.T, db *DB, query string, args ...any) string {
	t.Helper()
	rows, err := db.read.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var steps []string
	for rows.Next() {
		var (
			id, parent, notUsed int
			detail              string
		)
		if err := rows.Scan(&id, &parent, &notUsed, &detail); err != nil {
			t.Fatal(err)
		}
		steps = append(steps, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(steps, "\n")
}
