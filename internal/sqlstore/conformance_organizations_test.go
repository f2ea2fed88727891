package sqlstore

import (
	"net/netip"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// TestOrganizations holds the organization store to its contract.
func TestOrganizations(t *testing.T) {
	forEachDB(t, func(t *testing.T, d engine) {
		t.Run("an organization's name, time zone and country are updated", func(t *testing.T) {
			db := d.fresh(t)
			o := newOrg(t, db, "profile")
			if err := db.UpdateOrganizationProfile(t.Context(), o.ID, "Renamed", "America/New_York", "US", t0.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			got, err := db.OrganizationByID(t.Context(), o.ID)
			if err != nil || got.Name != "Renamed" || got.TimeZone != "America/New_York" || got.Country != "US" || !got.UpdatedAt.Equal(t0.Add(time.Hour)) {
				t.Errorf("after the update: %+v, %v", got, err)
			}
			if err := db.UpdateOrganizationProfile(t.Context(), gatehouse.NewID(), "x", "", "", t0); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
				t.Errorf("an unknown organization: %v, want ENOTFOUND", err)
			}
		})

		t.Run("an organization is found by its one name, in any case", func(t *testing.T) {
			db := d.fresh(t)
			ctx := t.Context()
			named := func(slug, name string) *gatehouse.Organization {
				o := newOrg(t, db, slug)
				if _, err := db.write.ExecContext(ctx, `UPDATE organizations SET name = $1 WHERE id = $2`, name, o.ID); err != nil {
					t.Fatal(err)
				}
				o.Name = name
				return o
			}
			kallio := named("kallio", "Eläinklinikka Kallio")
			named("twin-a", "Twin Clinic")
			named("twin-b", "TWIN CLINIC")
			typed := []string{"Eläinklinikka Kallio", "eläinklinikka kallio", "ELäINKLINIKKA KALLIO"}
			if db.Dialect() == "postgres" {
				typed = append(typed, "ELÄINKLINIKKA KALLIO") // lower() folds all of Unicode there
			}
			for _, name := range typed {
				if got, err := db.OrganizationByName(ctx, name); err != nil || got.ID != kallio.ID {
					t.Errorf("OrganizationByName(%q) = %+v, %v; want Kallio", name, got, err)
				}
			}
			for _, name := range []string{"Twin Clinic", "Kallio", "", "Eläinklinikka"} {
				if got, err := db.OrganizationByName(ctx, name); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
					t.Errorf("OrganizationByName(%q) = %+v, %v; want ENOTFOUND (none, or more than one)", name, got, err)
				}
			}
		})

		t.Run("an organization round-trips through create, slug, id and list", func(t *testing.T) {
			db := d.fresh(t)
			ctx := t.Context()
			org := &gatehouse.Organization{
				ID: gatehouse.NewID(), Slug: "clinic", Name: "The Clinic", TimeZone: "Europe/Helsinki", Country: "FI",
				Settings: gatehouse.PasswordSettings{
					EnforceTwoFactor: true,
					OTPMethod:        gatehouse.OTPSMS,
					SkipNetworks:     []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::/48")},
					RememberDays:     7,
					AuthMethod:       gatehouse.AuthPassword,
				},
				CreatedAt: t0, UpdatedAt: t0.Add(time.Second),
			}
			if err := db.CreateOrganization(ctx, org); err != nil {
				t.Fatal(err)
			}
			other := newOrg(t, db, "another")

			bySlug, err := db.OrganizationBySlug(ctx, "clinic")
			if err != nil {
				t.Fatal(err)
			}
			checkEqual(t, "OrganizationBySlug", bySlug, org)
			byID, err := db.OrganizationByID(ctx, org.ID)
			if err != nil {
				t.Fatal(err)
			}
			checkEqual(t, "OrganizationByID", byID, org)

			list, err := db.ListOrganizations(ctx)
			if err != nil {
				t.Fatal(err)
			}
			checkEqual(t, "ListOrganizations", list, []*gatehouse.Organization{other, org})
		})

		t.Run("updating password settings replaces them as a whole", func(t *testing.T) {
			db := d.fresh(t)
			ctx := t.Context()
			org := newOrg(t, db, "clinic")
			for _, s := range []gatehouse.PasswordSettings{
				{EnforceTwoFactor: false, OTPMethod: gatehouse.OTPSMS, SkipNetworks: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, RememberDays: 0, AuthMethod: gatehouse.AuthPassword},
				{EnforceTwoFactor: false, OTPMethod: gatehouse.OTPEmail, RememberDays: 365, AuthMethod: gatehouse.AuthSAML2},
				{EnforceTwoFactor: true, OTPMethod: gatehouse.OTPEmail, RememberDays: 30, AuthMethod: gatehouse.AuthPassword},
			} {
				at := t0.Add(time.Hour)
				if err := db.UpdatePasswordSettings(ctx, org.ID, s, at); err != nil {
					t.Fatal(err)
				}
				got, err := db.OrganizationByID(ctx, org.ID)
				if err != nil {
					t.Fatal(err)
				}
				want := *org
				want.Settings, want.UpdatedAt = s, at
				checkEqual(t, "after UpdatePasswordSettings", got, &want)
			}
		})

		t.Run("a taken slug is a conflict", func(t *testing.T) {
			db := d.fresh(t)
			newOrg(t, db, "clinic")
			err := db.CreateOrganization(t.Context(), &gatehouse.Organization{
				ID: gatehouse.NewID(), Slug: "clinic", Name: "Another", Settings: gatehouse.DefaultPasswordSettings(),
			})
			checkCode(t, "CreateOrganization", err, gatehouse.ECONFLICT)
			if want := `An organization with the slug "clinic" already exists.`; gatehouse.ErrorMessage(err) != want {
				t.Errorf("message = %q, want %q", gatehouse.ErrorMessage(err), want)
			}
		})

		t.Run("a missing organization is not found", func(t *testing.T) {
			db := d.fresh(t)
			ctx := t.Context()
			_, err := db.OrganizationBySlug(ctx, "nobody")
			checkCode(t, "OrganizationBySlug", err, gatehouse.ENOTFOUND)
			_, err = db.OrganizationByID(ctx, gatehouse.NewID())
			checkCode(t, "OrganizationByID", err, gatehouse.ENOTFOUND)
			err = db.UpdatePasswordSettings(ctx, gatehouse.NewID(), gatehouse.DefaultPasswordSettings(), t0)
			checkCode(t, "UpdatePasswordSettings", err, gatehouse.ENOTFOUND)
			list, err := db.ListOrganizations(ctx)
			if err != nil || list == nil || len(list) != 0 {
				t.Errorf("ListOrganizations() = %v, %v; want an empty list", list, err)
			}
		})
	})
}
