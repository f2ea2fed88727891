package sqlstore

import "testing"

// TestLatestSchemaVersion: the version a binary says it migrates to is
// the one a migrated database is at, on both databases.
func TestLatestSchemaVersion(t *testing.T) {
	want, err := LatestSchemaVersion()
	if err != nil {
		t.Fatal(err)
	}
	forEachDB(t, func(t *testing.T, d engine) {
		db := d.fresh(t)
		got, err := db.SchemaVersion(t.Context())
		if err != nil || got != want {
			t.Errorf("SchemaVersion after Migrate = %d, %v; LatestSchemaVersion = %d", got, err, want)
		}
	})
}
