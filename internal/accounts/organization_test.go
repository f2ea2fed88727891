package accounts_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/accounts"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

// An organization has a time zone and a country: bad ones are named and
// nothing is saved, and phone numbers typed the national way are read in
// the organization's country.
func TestAnOrganizationsTimeZoneAndCountry(t *testing.T) {
	ctx := context.Background()
	db := testdb.SQLite(t)
	svc := newAccounts(t, db)
	for _, bad := range []accounts.NewOrganization{
		{Slug: "a", Name: "A", TimeZone: "Europe/Nowhere"},
		{Slug: "a", Name: "A", TimeZone: "Local"},
		{Slug: "a", Name: "A", Country: "XX"},
		{Slug: "a", Name: "A", Country: "Finland"},
	} {
		_, err := svc.CreateOrganization(ctx, bad, "")
		var ge *gatehouse.Error
		if gatehouse.ErrorCode(err) != gatehouse.EINVALID || !errors.As(err, &ge) || (ge.Field != "time_zone" && ge.Field != "country") {
			t.Errorf("CreateOrganization(%+v) = %v; want EINVALID naming the field", bad, err)
		}
	}
	if _, err := db.OrganizationBySlug(ctx, "a"); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		t.Errorf("a refused organization was saved: %v", err)
	}
	fi, err := svc.CreateOrganization(ctx, accounts.NewOrganization{Slug: "kallio", Name: "Kallio", TimeZone: "Europe/Helsinki", Country: "fi"}, "")
	if err != nil || fi.TimeZone != "Europe/Helsinki" || fi.Country != "FI" {
		t.Fatalf("CreateOrganization = %+v, %v", fi, err)
	}
	u, err := svc.CreateUser(ctx, accounts.NewUser{OrgSlug: "kallio", Email: "vet@kallio.test", Phone: "040 123 4567"}, "")
	if err != nil || u.Phone != "+358401234567" {
		t.Errorf("a national number in a Finnish organization: %+v, %v; want +358401234567", u, err)
	}
	if _, err := svc.CreateOrganization(ctx, accounts.NewOrganization{Slug: "nowhere", Name: "Nowhere"}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateUser(ctx, accounts.NewUser{OrgSlug: "nowhere", Email: "x@nowhere.test", Phone: "040 123 4567"}, ""); gatehouse.ErrorCode(err) != gatehouse.EINVALIDPHONE {
		t.Errorf("a national number in an organization without a country: %v; want EINVALIDPHONE", err)
	}

	// Edited by its admin: only valid values, audited.
	actor := gatehouse.OperatorActor()
	if _, err := svc.EditOrganization(ctx, "kallio", accounts.OrgProfile{Name: "Kallio", TimeZone: "Mars/Olympus"}, actor); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
		t.Errorf("a bad time zone: %v", err)
	}
	org, err := svc.EditOrganization(ctx, "kallio", accounts.OrgProfile{Name: "Eläinklinikka Kallio", TimeZone: "", Country: "SE"}, actor)
	if err != nil || org.Name != "Eläinklinikka Kallio" || org.TimeZone != "" || org.Country != "SE" {
		t.Fatalf("EditOrganization = %+v, %v", org, err)
	}
	events, err := db.ListAudit(ctx, fi.ID, 0, 1)
	if err != nil || len(events) != 1 || events[0].Event != gatehouse.AuditOrgEdited || events[0].Detail["country"] != "FI → SE" {
		t.Errorf("audit = %+v, %v", events, err)
	}
	member := gatehouse.Actor{UserID: u.ID, OrgID: fi.ID, Role: gatehouse.RoleMember, AuthenticatedAt: time.Now()}
	if _, err := svc.EditOrganization(ctx, "kallio", accounts.OrgProfile{Name: "Mine"}, member); gatehouse.ErrorCode(err) != gatehouse.EFORBIDDEN {
		t.Errorf("a member editing the organization: %v, want EFORBIDDEN", err)
	}
}
