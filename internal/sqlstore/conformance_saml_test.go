package sqlstore

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// TestSAMLBinding holds the store to the browser binding of SAML requests
// (issue 8 item 6): the hash a request is issued with comes back, once, to
// whichever node consumes it.
func TestSAMLBinding(t *testing.T) { forEachDB(t, testSAMLBinding) }

func testSAMLBinding(t *testing.T, d engine) {
	t.Run("the browser hash comes back with the request, and an empty one is refused", func(t *testing.T) {
		db := d.fresh(t)
		ctx := t.Context()
		org := newOrg(t, db, "clinic").ID
		hash := bytes.Repeat([]byte{0xa5}, 32)
		if err := db.IssueSAMLRequest(ctx, org, "req", hash, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		checkCode(t, "IssueSAMLRequest without a browser hash", db.IssueSAMLRequest(ctx, org, "req-2", nil, t0.Add(time.Minute)), gatehouse.EINVALID)
		got, ok, err := db.ConsumeSAMLRequest(ctx, org, "req", t0)
		if err != nil || !ok || !bytes.Equal(got, hash) {
			t.Fatalf("ConsumeSAMLRequest = %x, %v, %v; want %x, true", got, ok, err, hash)
		}
		if got, ok, err := db.ConsumeSAMLRequest(ctx, org, "req", t0); err != nil || ok || got != nil {
			t.Errorf("ConsumeSAMLRequest a second time = %x, %v, %v; want nothing", got, ok, err)
		}
		if _, ok, _ := db.ConsumeSAMLRequest(ctx, org, "req-2", t0); ok {
			t.Error("the request refused for its empty hash was recorded")
		}
	})

	t.Run("a request pending from before the binding has an empty hash, which matches no browser", func(t *testing.T) {
		db := d.fresh(t)
		ctx := t.Context()
		org := newOrg(t, db, "clinic").ID
		// As the code before migration 0010 wrote it.
		if _, err := db.write.ExecContext(ctx, `INSERT INTO saml_requests (org_id, id, expires_at) VALUES ($1, $2, $3)`,
			org, "old", millis(t0.Add(time.Minute))); err != nil {
			t.Fatal(err)
		}
		got, ok, err := db.ConsumeSAMLRequest(ctx, org, "old", t0)
		if err != nil || !ok || len(got) != 0 {
			t.Errorf("ConsumeSAMLRequest(old) = %x, %v, %v; want an empty hash", got, ok, err)
		}
	})

	t.Run("40 concurrent consumers on two nodes: exactly one gets the hash", func(t *testing.T) {
		dbs := d.nodes(t, 2)
		a, b := dbs[0], dbs[1]
		org := newOrg(t, a, "clinic").ID
		hash := bytes.Repeat([]byte{7}, 32)
		if err := a.IssueSAMLRequest(t.Context(), org, "req", hash, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		const n = 40
		oks := make([]bool, n)
		hashes := make([][]byte, n)
		taken := race(t, n, func(i int) (bool, error) {
			var err error
			hashes[i], oks[i], err = []*DB{a, b}[i%2].ConsumeSAMLRequest(t.Context(), org, "req", t0)
			return oks[i], err
		})
		for i := range n {
			if oks[i] && !bytes.Equal(hashes[i], hash) {
				t.Errorf("the winner got hash %x, want %x", hashes[i], hash)
			}
		}
		if taken != 1 {
			t.Errorf("%d of %d consumers took the request, want exactly 1", taken, n)
		}
	})
}

// TestFederatedIdentities holds the store to the links of federated users:
// one user per external ID and one external ID per user and provider,
// decided in one statement, also by two nodes at once.
func TestFederatedIdentities(t *testing.T) { forEachDB(t, testFederatedIdentities) }

func testFederatedIdentities(t *testing.T, d engine) {
	link := func(org, provider, ext, user string) *gatehouse.FederatedIdentity {
		return &gatehouse.FederatedIdentity{OrgID: org, Provider: provider, ExternalID: ext, UserID: user, CreatedAt: t0}
	}

	t.Run("a link is found both ways, and each side is taken once", func(t *testing.T) {
		db := d.fresh(t)
		ctx := t.Context()
		org, other := newOrg(t, db, "clinic"), newOrg(t, db, "other")
		ada, bob := newUser(t, db, org.ID, "ada@clinic.test"), newUser(t, db, org.ID, "bob@clinic.test")
		const idp = "saml2:https://idp.example.com/metadata"
		if err := db.LinkFederatedIdentity(ctx, link(org.ID, idp, "P-ada", ada.ID)); err != nil {
			t.Fatal(err)
		}
		if id, err := db.FederatedUserID(ctx, org.ID, idp, "P-ada"); err != nil || id != ada.ID {
			t.Errorf("FederatedUserID = %q, %v; want ada", id, err)
		}
		if ext, err := db.FederatedExternalID(ctx, org.ID, idp, ada.ID); err != nil || ext != "P-ada" {
			t.Errorf("FederatedExternalID = %q, %v; want P-ada", ext, err)
		}
		_, err := db.FederatedUserID(ctx, other.ID, idp, "P-ada")
		checkCode(t, "FederatedUserID in another organization", err, gatehouse.ENOTFOUND)
		_, err = db.FederatedUserID(ctx, org.ID, "ldap", "P-ada")
		checkCode(t, "FederatedUserID at another provider", err, gatehouse.ENOTFOUND)
		_, err = db.FederatedExternalID(ctx, org.ID, idp, bob.ID)
		checkCode(t, "FederatedExternalID of an unlinked user", err, gatehouse.ENOTFOUND)

		checkCode(t, "the external ID linked to a second user", db.LinkFederatedIdentity(ctx, link(org.ID, idp, "P-ada", bob.ID)), gatehouse.ECONFLICT)
		checkCode(t, "the user linked to a second external ID", db.LinkFederatedIdentity(ctx, link(org.ID, idp, "P-other", ada.ID)), gatehouse.ECONFLICT)
		if err := db.LinkFederatedIdentity(ctx, link(org.ID, "ldap", "uuid:1", ada.ID)); err != nil {
			t.Errorf("the user at a second provider: %v", err)
		}
		checkCode(t, "a link of a missing user", db.LinkFederatedIdentity(ctx, link(org.ID, idp, "P-x", gatehouse.NewID())), gatehouse.ENOTFOUND)
		checkCode(t, "a link without an external ID", db.LinkFederatedIdentity(ctx, link(org.ID, idp, "", bob.ID)), gatehouse.EINVALID)

		if ok, err := db.UnlinkFederatedIdentity(ctx, org.ID, idp, ada.ID); err != nil || !ok {
			t.Fatalf("UnlinkFederatedIdentity = %v, %v; want true", ok, err)
		}
		if ok, err := db.UnlinkFederatedIdentity(ctx, org.ID, idp, ada.ID); err != nil || ok {
			t.Errorf("UnlinkFederatedIdentity a second time = %v, %v; want false", ok, err)
		}
		if err := db.LinkFederatedIdentity(ctx, link(org.ID, idp, "P-ada", bob.ID)); err != nil {
			t.Errorf("the external ID, free again, linked to bob: %v", err)
		}
		if ext, err := db.FederatedExternalID(ctx, org.ID, "ldap", ada.ID); err != nil || ext != "uuid:1" {
			t.Errorf("ada's link at the other provider = %q, %v; want it kept", ext, err)
		}
	})

	t.Run("40 concurrent links of one external ID on two nodes: exactly one user gets it", func(t *testing.T) {
		dbs := d.nodes(t, 2)
		a, b := dbs[0], dbs[1]
		org := newOrg(t, a, "clinic")
		const n = 40
		users := make([]string, n)
		for i := range n {
			users[i] = newUser(t, a, org.ID, fmt.Sprintf("user%d@clinic.test", i)).ID
		}
		linked := make([]bool, n)
		won := race(t, n, func(i int) (bool, error) {
			var err error
			linked[i], err = wonUnless(gatehouse.ECONFLICT, []*DB{a, b}[i%2].LinkFederatedIdentity(t.Context(), link(org.ID, "ldap", "uuid:same", users[i])))
			return linked[i], err
		})
		for i := range n {
			if !linked[i] {
				continue
			}
			if id, _ := a.FederatedUserID(t.Context(), org.ID, "ldap", "uuid:same"); id != users[i] {
				t.Errorf("the winner is %s, the link names %s", users[i], id)
			}
		}
		if won != 1 {
			t.Errorf("%d of %d links succeeded, want exactly 1", won, n)
		}
	})
}

// TestSignInConfig holds the stored federation set-up to its contract.
func TestSignInConfig(t *testing.T) {
	forEachDB(t, func(t *testing.T, d engine) {
		t.Run("a sign-in configuration round-trips, nil parts staying nil, and saving replaces it", func(t *testing.T) {
			db := d.fresh(t)
			ctx := t.Context()
			a, b := newOrg(t, db, "clinic-a"), newOrg(t, db, "clinic-b")
			_, err := db.SignInConfig(ctx, a.ID)
			checkCode(t, "SignInConfig before any save", err, gatehouse.ENOTFOUND)

			// LDAP nil and SAMLCert empty: both are "not set up" and read back nil.
			c := &gatehouse.SignInConfig{OrgID: a.ID, SAML: []byte("sealed saml"), SAMLKey: []byte{0, 1, 2, 0xff},
				SAMLCert: []byte{}, UpdatedAt: t0}
			if err := db.SaveSignInConfig(ctx, c); err != nil {
				t.Fatal(err)
			}
			got, err := db.SignInConfig(ctx, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := &gatehouse.SignInConfig{OrgID: a.ID, SAML: []byte("sealed saml"), SAMLKey: []byte{0, 1, 2, 0xff}, UpdatedAt: t0}
			checkEqual(t, "SignInConfig after the first save", got, want)

			// The second save replaces every column, turning SAML off again.
			c = &gatehouse.SignInConfig{OrgID: a.ID, LDAP: []byte("sealed ldap"), UpdatedAt: t0.Add(time.Hour)}
			if err := db.SaveSignInConfig(ctx, c); err != nil {
				t.Fatal(err)
			}
			got, err = db.SignInConfig(ctx, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			checkEqual(t, "SignInConfig after the second save", got, c)

			_, err = db.SignInConfig(ctx, b.ID)
			checkCode(t, "SignInConfig of another organization", err, gatehouse.ENOTFOUND)
			other := &gatehouse.SignInConfig{OrgID: b.ID, SAML: []byte("b's saml"), UpdatedAt: t0}
			if err := db.SaveSignInConfig(ctx, other); err != nil {
				t.Fatal(err)
			}
			if got, err := db.SignInConfig(ctx, a.ID); err != nil || !bytes.Equal(got.LDAP, c.LDAP) || got.SAML != nil {
				t.Errorf("SignInConfig(a) after saving b's = %s, %v; want a's unchanged", dump(got), err)
			}

			missing := &gatehouse.SignInConfig{OrgID: gatehouse.NewID(), LDAP: []byte("x"), UpdatedAt: t0}
			checkCode(t, "SaveSignInConfig for a missing organization", db.SaveSignInConfig(ctx, missing), gatehouse.ENOTFOUND)
			_, err = db.SignInConfig(ctx, missing.OrgID)
			checkCode(t, "SignInConfig of a missing organization", err, gatehouse.ENOTFOUND)
		})
	})
}

// TestSAMLRequests holds SAML requests and assertion records to being
// used once, in their organization, before they expire.
func TestSAMLRequests(t *testing.T) {
	forEachDB(t, func(t *testing.T, d engine) {
		t.Run("a SAML request is consumed once, only in its organization and before it expires", func(t *testing.T) {
			db := d.fresh(t)
			ctx := t.Context()
			a, b := newOrg(t, db, "clinic-a").ID, newOrg(t, db, "clinic-b").ID
			until := t0.Add(5 * time.Minute)
			for _, id := range []string{"req-1", "req-2"} {
				if err := db.IssueSAMLRequest(ctx, a, id, []byte("browser"), until); err != nil {
					t.Fatal(err)
				}
			}
			checkCode(t, "IssueSAMLRequest with a taken id", db.IssueSAMLRequest(ctx, a, "req-1", []byte("browser"), until), gatehouse.ECONFLICT)
			if err := db.IssueSAMLRequest(ctx, b, "req-2", []byte("browser"), until); err != nil {
				t.Errorf("IssueSAMLRequest of another organization's id: %v", err)
			}

			for _, c := range []struct {
				what, org, id string
				now           time.Time
				want          bool
			}{
				{"through another organization", b, "req-1", t0, false},
				{"an unknown id", a, "req-9", t0, false},
				{"at its expiry", a, "req-1", until, false},
				{"just before its expiry", a, "req-1", until.Add(-time.Millisecond), true},
				{"a second time", a, "req-1", t0, false},
				{"the other organization's id of the same name", b, "req-2", t0, true},
				{"the same name in its own organization, still there", a, "req-2", t0, true},
			} {
				_, got, err := db.ConsumeSAMLRequest(ctx, c.org, c.id, c.now)
				if err != nil || got != c.want {
					t.Errorf("ConsumeSAMLRequest %s = %v, %v; want %v", c.what, got, err, c.want)
				}
			}
		})

		t.Run("twenty concurrent consumers of one SAML request: exactly one takes it", func(t *testing.T) {
			db := d.fresh(t)
			org := newOrg(t, db, "clinic").ID
			if err := db.IssueSAMLRequest(t.Context(), org, "req", []byte("browser"), t0.Add(5*time.Minute)); err != nil {
				t.Fatal(err)
			}
			const n = 20
			taken := race(t, n, func(int) (bool, error) {
				_, ok, err := db.ConsumeSAMLRequest(t.Context(), org, "req", t0)
				return ok, err
			})
			if taken != 1 {
				t.Errorf("%d consumers took the request, want 1", taken)
			}
		})

		t.Run("an assertion is fresh once per organization, and again once its record expires", func(t *testing.T) {
			db := d.fresh(t)
			ctx := t.Context()
			a, b := newOrg(t, db, "clinic-a").ID, newOrg(t, db, "clinic-b").ID
			now := t0
			db.now = func() time.Time { return now }
			until := t0.Add(5 * time.Minute)
			for _, c := range []struct {
				what, org string
				now       time.Time
				until     time.Time
				want      bool
			}{
				{"the first time", a, t0, until, true},
				{"a replay", a, t0.Add(time.Minute), until, false},
				{"in another organization", b, t0.Add(time.Minute), until, true},
				{"a replay just before the record expires", a, until.Add(-time.Millisecond), until, false},
				// An IdP that reuses an id after the first assertion expired.
				{"once the record expired", a, until, until.Add(5 * time.Minute), true},
				{"a replay of the second, held to its own expiry", a, until.Add(time.Minute), until.Add(5 * time.Minute), false},
			} {
				now = c.now
				got, err := db.RememberAssertion(ctx, c.org, "assertion-1", c.until)
				if err != nil || got != c.want {
					t.Errorf("RememberAssertion %s = %v, %v; want %v", c.what, got, err, c.want)
				}
			}
		})

		t.Run("twenty concurrent uses of one assertion: exactly one is fresh, also after an expired record", func(t *testing.T) {
			db := d.fresh(t)
			org := newOrg(t, db, "clinic").ID
			now := t0
			db.now = func() time.Time { return now }
			replay := func(until time.Time) {
				t.Helper()
				const n = 20
				count := race(t, n, func(int) (bool, error) { return db.RememberAssertion(t.Context(), org, "assertion", until) })
				if count != 1 {
					t.Errorf("%d of %d were fresh, want 1", count, n)
				}
			}
			replay(t0.Add(5 * time.Minute)) // all racing to insert
			now = t0.Add(5 * time.Minute)
			replay(t0.Add(10 * time.Minute)) // all racing to take over the expired row
		})

		t.Run("the clean-up removes expired SAML requests and assertion records", func(t *testing.T) {
			db := d.fresh(t)
			ctx := t.Context()
			org := newOrg(t, db, "clinic").ID
			now := t0.Add(5 * time.Minute)
			db.now = func() time.Time { return t0 }
			for _, r := range []struct {
				id    string
				until time.Time
			}{{"expired", now}, {"live", now.Add(time.Millisecond)}} {
				if err := db.IssueSAMLRequest(ctx, org, r.id, []byte("browser"), r.until); err != nil {
					t.Fatal(err)
				}
				if fresh, err := db.RememberAssertion(ctx, org, r.id, r.until); err != nil || !fresh {
					t.Fatalf("RememberAssertion(%s) = %v, %v", r.id, fresh, err)
				}
			}
			n, err := db.Purge(ctx, now, keepDefault)
			if err != nil {
				t.Fatal(err)
			}
			if n != 2 {
				t.Errorf("Purge removed %d, want 2 (a request and an assertion record)", n)
			}
			for _, table := range []string{"saml_requests", "saml_assertions"} {
				var ids []string
				rows, err := db.read.QueryContext(ctx, `SELECT id FROM `+table+` ORDER BY id`)
				if err != nil {
					t.Fatal(err)
				}
				for rows.Next() {
					var id string
					if err := rows.Scan(&id); err != nil {
						t.Fatal(err)
					}
					ids = append(ids, id)
				}
				if err := rows.Err(); err != nil {
					t.Fatal(err)
				}
				rows.Close()
				if !slices.Equal(ids, []string{"live"}) {
					t.Errorf("%s keeps %v, want [live]", table, ids)
				}
				if db.Dialect() == "sqlite" {
					sqliteIndexOn(t, db, table, "expires_at") // the clean-up never scans the table
				}
			}
			if _, ok, err := db.ConsumeSAMLRequest(ctx, org, "live", t0); err != nil || !ok {
				t.Errorf("ConsumeSAMLRequest(live) after the clean-up = %v, %v; want true", ok, err)
			}
		})
	})
}
