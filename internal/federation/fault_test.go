package federation_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/federation"
	"github.com/gatehousehq/gatehouse/internal/ldap"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

// TestAFailingStoreAnswersUnavailableAndNoChangeGoesUnaudited fails each
// database call of saving an LDAP set-up, and of the reads sign-in makes,
// in turn: every call that meets the fault answers EUNAVAILABLE (503, like
// sign-in and accounts), never an internal error; and a failed audit write
// fails the change's call, so no change of who can sign in goes unrecorded
// without the caller knowing.
func TestAFailingStoreAnswersUnavailableAndNoChangeGoesUnaudited(t *testing.T) {
	ctx := context.Background()
	cfg := ldap.Config{URL: "ldap://127.0.0.1:1389", InsecureNoTLS: true, BindDNTemplate: "uid={username},ou=people,dc=example,dc=test"}
	calls := []struct {
		name string
		call func(svc *federation.Service, org *gatehouse.Organization) error
	}{
		{"SetLDAP", func(svc *federation.Service, org *gatehouse.Organization) error {
			return svc.SetLDAP(ctx, org.ID, cfg, admin(org, now))
		}},
		{"LDAPConfig", func(svc *federation.Service, org *gatehouse.Organization) error {
			_, err := svc.LDAPConfig(ctx, org.ID)
			return err
		}},
		{"Configured", func(svc *federation.Service, org *gatehouse.Organization) error {
			_, err := svc.Configured(ctx, org.ID, gatehouse.AuthLDAP)
			return err
		}},
		{"SAMLConfig", func(svc *federation.Service, org *gatehouse.Organization) error {
			_, err := svc.SAMLConfig(ctx, org.ID)
			return err
		}},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			db, faults := testdb.FaultySQLite(t)
			org := &gatehouse.Organization{ID: gatehouse.NewID(), Slug: "dir", Name: "Dir", Settings: gatehouse.DefaultPasswordSettings(), CreatedAt: now, UpdatedAt: now}
			if err := db.CreateOrganization(ctx, org); err != nil {
				t.Fatal(err)
			}
			svc, err := federation.New(federation.Config{Store: db, Secret: []byte(strings.Repeat("k", 32)), Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			if c.name != "SetLDAP" {
				if err := svc.SetLDAP(ctx, org.ID, cfg, admin(org, now)); err != nil {
					t.Fatal(err)
				}
			}
			faults.Arm(0)
			if err := c.call(svc, org); err != nil {
				t.Fatalf("without a fault: %v", err)
			}
			total := faults.Calls()
			if total == 0 {
				t.Fatal("no database call was made: the fault driver is not in the way")
			}
			sawAudit := false
			for n := 1; n <= total; n++ {
				faults.Arm(n)
				err := c.call(svc, org)
				failed, what := faults.Failed()
				faults.Arm(0)
				if !failed {
					t.Fatalf("call %d was never made", n)
				}
				if code := gatehouse.ErrorCode(err); code != gatehouse.EUNAVAILABLE {
					t.Errorf("fault at call %d (%.80s): code %q (%v), want %q", n, what, code, err, gatehouse.EUNAVAILABLE)
				}
				sawAudit = sawAudit || strings.Contains(what, "audit")
			}
			if c.name == "SetLDAP" && !sawAudit {
				t.Error("no call of SetLDAP wrote the audit log")
			}
		})
	}
}

func TestNewNamesTheMissingField(t *testing.T) {
	db := testdb.SQLite(t)
	for _, tc := range []struct {
		field string
		cfg   federation.Config
	}{
		{"Config.Store", federation.Config{Secret: []byte(strings.Repeat("k", 32))}},
		{"Config.Keys", federation.Config{Store: db}},
		{"Config.Keys", federation.Config{Store: db, Secret: []byte("short")}},
	} {
		if _, err := federation.New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("New(%+v) = %v, want an error naming %s", tc.cfg, err, tc.field)
		}
	}
}
