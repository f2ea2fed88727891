package sqlstore

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// testSAMLBinding holds the store to the browser binding of SAML requests
// (issue 8 item 6): the hash a request is issued with comes back, once, to
// whichever node consumes it.
func testSAMLBinding(t *testing.T, newURL func(*testing.T) string, open func(*testing.T, string) *DB) {
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
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			db := a
			if i%2 == 1 {
				db = b
			}
			wg.Go(func() { hashes[i], oks[i], errs[i] = db.ConsumeSAMLRequest(t.Context(), org, "req", t0) })
		}
		wg.Wait()
		taken := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if oks[i] {
				taken++
				if !bytes.Equal(hashes[i], hash) {
					t.Errorf("the winner got hash %x, want %x", hashes[i], hash)
				}
			}
		}
		if taken != 1 {
			t.Errorf("%d of %d consumers took the request, want exactly 1", taken, n)
		}
	})
}
