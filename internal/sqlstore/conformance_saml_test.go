package sqlstore

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// testSAMLBinding holds the store to the browser binding of SAML requests
// (issue 8 item 6): the hash a request is issued with comes back, once, to
// whichever node consumes it.
func testSAMLBinding(t *testing.T, newURL func(*testing.T) string, open func(*testing.T, string) *DB) {
	t.Run("federated identities", func(t *testing.T) { testFederatedIdentities(t, newURL, open) })
	node := func(t *testing.T, url string) *DB {
		db := open(t, url)
		if err := db.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		return db
	}

	t.Run("the browser hash comes back with the request, and an empty one is refused", func(t *testing.T) {
		db := node(t, newURL(t))
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
		db := node(t, newURL(t))
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
		url := newURL(t)
		a := node(t, url)
		b := open(t, url)
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

// testFederatedIdentities holds the store to the links of federated users:
// one user per external ID and one external ID per user and provider,
// decided in one statement, also by two nodes at once.
func testFederatedIdentities(t *testing.T, newURL func(*testing.T) string, open func(*testing.T, string) *DB) {
	node := func(t *testing.T, url string) *DB {
		db := open(t, url)
		if err := db.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		return db
	}
	link := func(org, provider, ext, user string) *gatehouse.FederatedIdentity {
		return &gatehouse.FederatedIdentity{OrgID: org, Provider: provider, ExternalID: ext, UserID: user, CreatedAt: t0}
	}

	t.Run("a link is found both ways, and each side is taken once", func(t *testing.T) {
		db := node(t, newURL(t))
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
		url := newURL(t)
		a := node(t, url)
		b := open(t, url)
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
