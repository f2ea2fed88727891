package sqlstore

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// TestAuditLog holds the audit log to its contract (the console's
// filtered queries are TestConsole).
func TestAuditLog(t *testing.T) {
	forEachDB(t, func(t *testing.T, d engine) {
		t.Run("the audit log lists an organization's events newest first, a page at a time", func(t *testing.T) {
			db := d.fresh(t)
			ctx := t.Context()
			a, b := newOrg(t, db, "clinic-a"), newOrg(t, db, "clinic-b")
			var inA []*gatehouse.AuditEvent
			for i := range 5 {
				for _, orgID := range []string{a.ID, b.ID, ""} {
					e := &gatehouse.AuditEvent{
						OrgID: orgID, UserID: "u" + orgID, ActorID: "admin", Event: gatehouse.AuditLoginSucceeded,
						Reason: gatehouse.TwoFactorAllowedNetwork, ClientIP: netip.MustParseAddr("2001:db8::7"),
						Detail: map[string]string{"network": "2001:db8::/48", "n": fmt.Sprint(i)},
						At:     t0.Add(time.Duration(i) * time.Second),
					}
					if i == 0 { // no address, no detail
						e.ClientIP, e.Detail = netip.Addr{}, nil
					}
					if err := db.AppendAudit(ctx, e); err != nil {
						t.Fatal(err)
					}
					if e.ID == 0 {
						t.Fatal("AppendAudit did not set the ID")
					}
					if orgID == a.ID {
						inA = append(inA, e)
					}
				}
			}
			slices.Reverse(inA)

			first, err := db.ListAudit(ctx, a.ID, 0, 3)
			if err != nil {
				t.Fatal(err)
			}
			checkEqual(t, "first page", first, inA[:3])
			second, err := db.ListAudit(ctx, a.ID, first[len(first)-1].ID, 3)
			if err != nil {
				t.Fatal(err)
			}
			checkEqual(t, "second page", second, inA[3:])
			if rest, err := db.ListAudit(ctx, a.ID, second[len(second)-1].ID, 3); err != nil || len(rest) != 0 {
				t.Errorf("past the last page: %d events, %v; want none", len(rest), err)
			}
			if none, err := db.ListAudit(ctx, gatehouse.NewID(), 0, 10); err != nil || none == nil || len(none) != 0 {
				t.Errorf("an organization without events: %v, %v; want an empty list", none, err)
			}
		})
	})
}
