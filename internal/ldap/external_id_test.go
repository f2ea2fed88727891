package ldap

import (
	"context"
	"testing"

	"github.com/gatehousehq/gatehouse/internal/ldap/ldaptest"
)

// TestExternalIDIsTheEntryUUID: an entry is named by its entryUUID, the same
// whichever way it is found, and different for each entry, so a sign-in can
// be linked to the entry rather than to its mutable mail attribute.
func TestExternalIDIsTheEntryUUID(t *testing.T) {
	srv := ldaptest.Start(t)
	ids := map[string]string{}
	for _, d := range []*Directory{mustNew(t, templateConfig(srv)), mustNew(t, searchConfig(srv))} {
		for name, pw := range map[string]string{"ada": ldaptest.AdaPassword, "bob": ldaptest.BobPassword} {
			e, err := d.Authenticate(context.Background(), name, pw)
			if err != nil {
				t.Fatal(err)
			}
			if prev, ok := ids[name]; ok && prev != e.ExternalID {
				t.Errorf("%s: ExternalID %q in one mode, %q in the other", name, prev, e.ExternalID)
			}
			ids[name] = e.ExternalID
		}
	}
	if ids["ada"] == ids["bob"] || len(ids["ada"]) != len("uuid:")+36 {
		t.Errorf("ExternalIDs %v, want two different entryUUIDs", ids)
	}
}
