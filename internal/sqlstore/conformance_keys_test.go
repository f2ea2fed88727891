package sqlstore

import (
	"bytes"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// TestKeys holds the store to what key rotation needs: hashes replaced
// only while they are the old ones (one winner among 40 callers, on one node
// or two), sealed set-up replaced only while unchanged, and KeyUse counting
// stored hashes by key ID without writing.
func TestKeys(t *testing.T) { forEachDB(t, testKeyStore) }

func testKeyStore(t *testing.T, d engine) {
	// keyed stands in for a keyring hash: a 4-byte key ID and 32 bytes.
	keyed := func(id, s string) []byte { return append([]byte(id), codeHash(s)...) }

	// twoNodes returns two stores on one migrated database: on PostgreSQL
	// two pools, as two servers would have.
	twoNodes := func(t *testing.T) (*DB, *DB) {
		dbs := d.nodes(t, 2)
		return dbs[0], dbs[1]
	}

	t.Run("keys: 40 callers re-keying one session on two nodes: one wins, the session keeps its row", func(t *testing.T) {
		a, b := twoNodes(t)
		org := newOrg(t, a, "rekey")
		u := newUser(t, a, org.ID, "rekey@example.com")
		old, cur := codeHash("old"), keyed("BBBB", "tok")
		newSession(t, a, u, old)
		wins := race(t, 40, func(i int) (bool, error) {
			return wonUnless(gatehouse.ENOTFOUND, []*DB{a, b}[i%2].RekeySession(t.Context(), old, cur))
		})
		if gone := 40 - wins; wins != 1 || gone != 39 {
			t.Errorf("re-key: %d won, %d found it gone; want 1 and 39", wins, gone)
		}
		if _, err := a.SessionByTokenHash(t.Context(), old); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Errorf("the old hash still finds the session: %v", err)
		}
		s, err := b.SessionByTokenHash(t.Context(), cur)
		if err != nil || s.UserID != u.ID {
			t.Fatalf("the new hash: %+v %v", s, err)
		}
		checkCode(t, "RekeySession of a missing session", a.RekeySession(t.Context(), codeHash("none"), keyed("BBBB", "x")), gatehouse.ENOTFOUND)
		got, err := b.SessionTokenHashIn(t.Context(), [][]byte{codeHash("none"), old, cur, keyed("CCCC", "tok")})
		if err != nil || !bytes.Equal(got, cur) {
			t.Errorf("SessionTokenHashIn = %x, %v; want the new hash", got, err)
		}
		_, err = a.SessionTokenHashIn(t.Context(), [][]byte{codeHash("none"), old})
		checkCode(t, "SessionTokenHashIn of hashes no session has", err, gatehouse.ENOTFOUND)
	})

	t.Run("keys: re-keying a remembered browser needs its id and its old hash", func(t *testing.T) {
		a, b := twoNodes(t)
		org := newOrg(t, a, "rekeyb")
		u := newUser(t, a, org.ID, "rekeyb@example.com")
		br := newBrowser(t, a, u, "tok", t0)
		other := newBrowser(t, a, u, "other", t0)
		cur := keyed("BBBB", "tok")
		checkCode(t, "RekeyRememberedBrowser with another browser's hash",
			a.RekeyRememberedBrowser(t.Context(), br.ID, other.TokenHash, cur), gatehouse.ENOTFOUND)
		wins := race(t, 40, func(i int) (bool, error) {
			return wonUnless(gatehouse.ENOTFOUND, []*DB{a, b}[i%2].RekeyRememberedBrowser(t.Context(), br.ID, br.TokenHash, cur))
		})
		if gone := 40 - wins; wins != 1 || gone != 39 {
			t.Errorf("re-key: %d won, %d found it gone; want 1 and 39", wins, gone)
		}
		got, err := b.FindRememberedBrowser(t.Context(), org.ID, u.ID, [][]byte{cur}, t0)
		if err != nil || got.ID != br.ID {
			t.Fatalf("found by the new hash: %+v %v", got, err)
		}
		if _, err := b.FindRememberedBrowser(t.Context(), org.ID, u.ID, [][]byte{br.TokenHash}, t0); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Errorf("the old hash still finds it: %v", err)
		}
	})

	t.Run("keys: a re-seal replaces only the value it read, never a change saved meanwhile", func(t *testing.T) {
		a, b := twoNodes(t)
		org := newOrg(t, a, "reseal")
		c := &gatehouse.SignInConfig{OrgID: org.ID, LDAP: []byte("ldap-old"), SAML: []byte("saml-old"), SAMLKey: []byte("key-old"),
			SAMLCert: []byte("cert"), UpdatedAt: t0}
		if err := a.SaveSignInConfig(t.Context(), c); err != nil {
			t.Fatal(err)
		}
		wins := race(t, 40, func(i int) (bool, error) {
			return wonUnless(gatehouse.ENOTFOUND, []*DB{a, b}[i%2].ResealSignInConfig(t.Context(), org.ID, SealedSAMLKey, []byte("key-old"), []byte("key-new")))
		})
		if gone := 40 - wins; wins != 1 || gone != 39 {
			t.Errorf("re-seal: %d won, %d found it changed; want 1 and 39", wins, gone)
		}
		// An admin saves a new LDAP set-up; a node that read the old one
		// re-seals late: the admin's change stands.
		c.LDAP, c.SAMLKey = []byte("ldap-admin"), []byte("key-new")
		if err := a.SaveSignInConfig(t.Context(), c); err != nil {
			t.Fatal(err)
		}
		checkCode(t, "late re-seal", b.ResealSignInConfig(t.Context(), org.ID, SealedLDAP, []byte("ldap-old"), []byte("ldap-resealed")), gatehouse.ENOTFOUND)
		if err := b.ResealSignInConfig(t.Context(), org.ID, SealedSAML, []byte("saml-old"), []byte("saml-new")); err != nil {
			t.Fatal(err)
		}
		got, err := a.SignInConfig(t.Context(), org.ID)
		if err != nil {
			t.Fatal(err)
		}
		if string(got.LDAP) != "ldap-admin" || string(got.SAML) != "saml-new" || string(got.SAMLKey) != "key-new" || string(got.SAMLCert) != "cert" {
			t.Errorf("after re-seals: ldap %q saml %q key %q cert %q", got.LDAP, got.SAML, got.SAMLKey, got.SAMLCert)
		}
		if err := a.ResealSignInConfig(t.Context(), org.ID, "updated_at = 0, ldap", nil, nil); err == nil {
			t.Error("an unknown part was accepted")
		}
	})

	t.Run("keys: KeyUse counts live hashes by length and key ID and every sealed part", func(t *testing.T) {
		db := d.fresh(t)
		ctx := t.Context()
		org := newOrg(t, db, "use")
		u := newUser(t, db, org.ID, "use@example.com")
		newSession(t, db, u, codeHash("legacy1"))
		newSession(t, db, u, keyed("AAAA", "s1"))
		newSession(t, db, u, keyed("AAAA", "s2"))
		newSession(t, db, u, keyed("BBBB", "s3"))
		newBrowser(t, db, u, "b1", t0)
		ended := &gatehouse.Session{TokenHash: keyed("CCCC", "ended"), UserID: u.ID, OrgID: u.OrgID, TwoFactorState: gatehouse.TwoFactorVerified,
			CreatedAt: t0.Add(-8 * 24 * time.Hour), LastSeenAt: t0.Add(-8 * 24 * time.Hour), ExpiresAt: t0.Add(-time.Hour)}
		if err := db.CreateSession(ctx, ended); err != nil {
			t.Fatal(err)
		}
		r := newReset(t, db, u, "link")
		if _, err := db.ConsumePasswordReset(ctx, r.TokenHash, t0); err != nil {
			t.Fatal(err)
		}
		newChallenge(t, db, u, func(c *gatehouse.Challenge) { c.TokenHash = keyed("BBBB", "pending") })
		if err := db.SaveSignInConfig(ctx, &gatehouse.SignInConfig{OrgID: org.ID, LDAP: []byte("gk1AAAA..."), UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		var before int
		if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM sessions`).Scan(&before); err != nil {
			t.Fatal(err)
		}

		use, err := db.KeyUse(ctx, t0)
		if err != nil {
			t.Fatal(err)
		}
		checkEqual(t, "sessions", use.Hashes["sessions"], []HashCount{
			{Length: 32, Prefix: codeHash("legacy1")[:4], Count: 1},
			{Length: 36, Prefix: []byte("AAAA"), Count: 2},
			{Length: 36, Prefix: []byte("BBBB"), Count: 1},
		})
		checkEqual(t, "remembered browsers", use.Hashes["remembered browsers"], []HashCount{{Length: 32, Prefix: codeHash("b1")[:4], Count: 1}})
		checkEqual(t, "password links (the one link is used)", use.Hashes["password links"], []HashCount(nil))
		checkEqual(t, "pending sign-ins", use.Hashes["pending sign-ins"], []HashCount{{Length: 36, Prefix: []byte("BBBB"), Count: 1}})
		if len(use.Sealed) != 1 || use.Sealed[0].Part != SealedLDAP || !bytes.Equal(use.Sealed[0].Sealed, []byte("gk1AAAA...")) {
			t.Errorf("sealed: %+v", use.Sealed)
		}
		var after int
		if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM sessions`).Scan(&after); err != nil || after != before {
			t.Errorf("KeyUse changed the sessions: %d before, %d after (%v)", before, after, err)
		}
	})
}

func TestSessionTokenHashInBounds(t *testing.T) {
	db := &DB{}
	if _, err := db.SessionTokenHashIn(t.Context(), nil); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		t.Errorf("no hashes: %v", err)
	}
	if _, err := db.SessionTokenHashIn(t.Context(), make([][]byte, maxHashesIn+1)); err == nil {
		t.Error("too many hashes were accepted")
	}
}
