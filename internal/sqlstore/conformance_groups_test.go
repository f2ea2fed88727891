package sqlstore

import (
	"slices"
	"sync"
	"testing"

	"github.com/gatehousehq/gatehouse"
)

// TestGroups holds the organization group store to its contract.
func TestGroups(t *testing.T) {
	forEachDB(t, func(t *testing.T, d engine) {
		newGroup := func(t *testing.T, db *DB, slug string) *gatehouse.OrgGroup {
			t.Helper()
			g := &gatehouse.OrgGroup{ID: gatehouse.NewID(), Slug: slug, Name: "Group " + slug, CreatedAt: t0}
			if err := db.CreateGroup(t.Context(), g); err != nil {
				t.Fatal(err)
			}
			return g
		}
		slugs := func(orgs []*gatehouse.Organization) []string {
			out := make([]string, len(orgs))
			for i, o := range orgs {
				out[i] = o.Slug
			}
			return out
		}

		t.Run("a group holds organizations and its admins manage each", func(t *testing.T) {
			db := d.fresh(t)
			ctx := t.Context()
			g := newGroup(t, db, "vets")
			if err := db.CreateGroup(ctx, &gatehouse.OrgGroup{ID: gatehouse.NewID(), Slug: "vets", Name: "x", CreatedAt: t0}); gatehouse.ErrorCode(err) != gatehouse.ECONFLICT {
				t.Errorf("a taken group slug: %v, want ECONFLICT", err)
			}
			north, south, alone := newOrg(t, db, "north"), newOrg(t, db, "south"), newOrg(t, db, "alone")
			it := newUser(t, db, north.ID, "it@north.test")
			outsider := newUser(t, db, alone.ID, "x@alone.test")
			for _, o := range []*gatehouse.Organization{north, south} {
				ev := &gatehouse.AuditEvent{OrgID: o.ID, Event: gatehouse.AuditGroupOrgAdded, At: t0}
				if err := db.SetOrganizationGroup(ctx, o.ID, g.ID, []*gatehouse.AuditEvent{ev}); err != nil {
					t.Fatal(err)
				}
				if ev.ID == 0 {
					t.Errorf("the audit of %s was not saved", o.Slug)
				}
			}
			if got, err := db.OrganizationByID(ctx, north.ID); err != nil || got.GroupID != g.ID {
				t.Errorf("north's group = %+v, %v", got, err)
			}
			if got, err := db.GroupOrganizations(ctx, g.ID); err != nil || !slices.Equal(slugs(got), []string{"north", "south"}) {
				t.Errorf("GroupOrganizations = %v, %v", slugs(got), err)
			}
			if err := db.AddGroupAdmin(ctx, g.ID, outsider.ID, t0, nil); gatehouse.ErrorCode(err) != gatehouse.ECONFLICT {
				t.Errorf("a user of an organization outside the group became its admin: %v", err)
			}
			if got, err := db.ManagedOrganizations(ctx, it.ID); err != nil || len(got) != 0 {
				t.Errorf("before being made admin: %v, %v", slugs(got), err)
			}
			for range 2 { // adding twice is no error
				if err := db.AddGroupAdmin(ctx, g.ID, it.ID, t0, nil); err != nil {
					t.Fatal(err)
				}
			}
			if got, err := db.ManagedOrganizations(ctx, it.ID); err != nil || !slices.Equal(slugs(got), []string{"north", "south"}) {
				t.Errorf("ManagedOrganizations = %v, %v", slugs(got), err)
			}
			if admins, err := db.GroupAdmins(ctx, g.ID); err != nil || len(admins) != 1 || admins[0].ID != it.ID {
				t.Errorf("GroupAdmins = %v, %v", admins, err)
			}
			if err := db.SetOrganizationGroup(ctx, alone.ID, gatehouse.NewID(), nil); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
				t.Errorf("an unknown group: %v, want ENOTFOUND", err)
			}
			other := newGroup(t, db, "other")
			if err := db.SetOrganizationGroup(ctx, south.ID, other.ID, nil); gatehouse.ErrorCode(err) != gatehouse.ECONFLICT {
				t.Errorf("an organization moved into a second group: %v, want ECONFLICT", err)
			}
			if err := db.SetOrganizationGroup(ctx, north.ID, "", nil); gatehouse.ErrorCode(err) != gatehouse.ECONFLICT {
				t.Errorf("the organization of a group admin left the group: %v, want ECONFLICT", err)
			}
			if err := db.SetOrganizationGroup(ctx, south.ID, "", nil); err != nil {
				t.Fatal(err)
			}
			if got, err := db.ManagedOrganizations(ctx, it.ID); err != nil || !slices.Equal(slugs(got), []string{"north"}) {
				t.Errorf("after south left: %v, %v", slugs(got), err)
			}
			if err := db.RemoveGroupAdmin(ctx, g.ID, it.ID, nil); err != nil {
				t.Fatal(err)
			}
			if err := db.RemoveGroupAdmin(ctx, g.ID, it.ID, nil); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
				t.Errorf("removing twice: %v, want ENOTFOUND", err)
			}
			if got, err := db.ManagedOrganizations(ctx, it.ID); err != nil || len(got) != 0 {
				t.Errorf("after removal: %v, %v", slugs(got), err)
			}
		})

		t.Run("deleting a group admin ends what they administer", func(t *testing.T) {
			db := d.fresh(t)
			ctx := t.Context()
			g := newGroup(t, db, "vets")
			north := newOrg(t, db, "north")
			if err := db.SetOrganizationGroup(ctx, north.ID, g.ID, nil); err != nil {
				t.Fatal(err)
			}
			newUser(t, db, north.ID, "keeper@north.test")
			it := newUser(t, db, north.ID, "it@north.test")
			if err := db.AddGroupAdmin(ctx, g.ID, it.ID, t0, nil); err != nil {
				t.Fatal(err)
			}
			if err := db.DeleteUser(ctx, north.ID, it.ID, nil); err != nil {
				t.Fatal(err)
			}
			if admins, err := db.GroupAdmins(ctx, g.ID); err != nil || len(admins) != 0 {
				t.Errorf("GroupAdmins after the delete = %v, %v", admins, err)
			}
		})

		t.Run("an organization created in a group is in it, and the group takes no more than its bound", func(t *testing.T) {
			db := d.fresh(t)
			ctx := t.Context()
			g := newGroup(t, db, "vets")
			org := &gatehouse.Organization{ID: gatehouse.NewID(), Slug: "made", Name: "Made", GroupID: g.ID,
				Settings: gatehouse.DefaultPasswordSettings(), CreatedAt: t0, UpdatedAt: t0}
			if err := db.CreateOrganization(ctx, org); err != nil {
				t.Fatal(err)
			}
			if got, err := db.OrganizationBySlug(ctx, "made"); err != nil || got.GroupID != g.ID {
				t.Errorf("created in the group: %+v, %v", got, err)
			}
			bad := &gatehouse.Organization{ID: gatehouse.NewID(), Slug: "nogroup", Name: "x", GroupID: gatehouse.NewID(),
				Settings: gatehouse.DefaultPasswordSettings(), CreatedAt: t0, UpdatedAt: t0}
			if err := db.CreateOrganization(ctx, bad); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
				t.Errorf("created in an unknown group: %v, want ENOTFOUND", err)
			}
			// Fill the group to one short of its bound straight in SQL,
			// then race two creations for the one place left: one gets it.
			for i := 1; i < gatehouse.MaxGroupOrganizations-1; i++ {
				if _, err := db.write.ExecContext(ctx, `
					INSERT INTO organizations (id, slug, name, enforce_two_factor, otp_method, skip_networks, remember_days, auth_method,
						created_at, updated_at, group_id) VALUES ($1, $1, 'Fill', $2, 'email', '[]', 30, 'password', 0, 0, $3)`,
					"fill-"+gatehouse.NewID(), true, g.ID); err != nil {
					t.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i := range errs {
				wg.Go(func() {
					o := &gatehouse.Organization{ID: gatehouse.NewID(), Slug: "late-" + string(rune('a'+i)), Name: "Late", GroupID: g.ID,
						Settings: gatehouse.DefaultPasswordSettings(), CreatedAt: t0, UpdatedAt: t0}
					errs[i] = db.CreateOrganization(ctx, o)
				})
			}
			wg.Wait()
			if ok, full := errs[0] == nil || errs[1] == nil, gatehouse.ErrorCode(errs[0]) == gatehouse.ECONFLICT || gatehouse.ErrorCode(errs[1]) == gatehouse.ECONFLICT; !ok || !full {
				t.Errorf("two creations for the last place: %v and %v, want one in and one ECONFLICT", errs[0], errs[1])
			}
			if got, err := db.GroupOrganizations(ctx, g.ID); err != nil || len(got) != gatehouse.MaxGroupOrganizations {
				t.Errorf("the group holds %d, want %d (%v)", len(got), gatehouse.MaxGroupOrganizations, err)
			}
		})
	})
}
