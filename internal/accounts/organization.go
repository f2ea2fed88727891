package accounts

import (
	"context"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// OrgProfile is what an admin may change of their organization besides its
// sign-in settings: the name it is shown by, the time zone its times are
// shown in and the country phone numbers are read in.
type OrgProfile struct {
	Name, TimeZone, Country string
}

// EditOrganization saves an organization's name, time zone and country.
// Returns EINVALID naming the bad field, ENOTFOUND, EFORBIDDEN.
func (s *Service) EditOrganization(ctx context.Context, orgSlug string, in OrgProfile, actor Actor) (_ *gatehouse.Organization, err error) {
	defer s.storeFailure(ctx, &err)
	org, err := s.organization(ctx, orgSlug)
	if err != nil {
		return nil, err
	}
	if err := actor.RequireAdmin(org.ID); err != nil {
		return nil, err
	}
	name, zone, country, err := s.orgProfile(in)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if err := s.store.UpdateOrganizationProfile(ctx, org.ID, name, zone, country, now); err != nil {
		return nil, err
	}
	detail := map[string]string{}
	for k, v := range map[string][2]string{"name": {org.Name, name}, "time_zone": {org.TimeZone, zone}, "country": {org.Country, country}} {
		if v[0] != v[1] {
			detail[k] = v[0] + " → " + v[1]
		}
	}
	if err := s.audit(ctx, &gatehouse.AuditEvent{OrgID: org.ID, ActorID: actor.AuditID(), ClientIP: actor.ClientIP,
		Event: gatehouse.AuditOrgEdited, At: now, Detail: detail}); err != nil {
		return nil, err
	}
	org.Name, org.TimeZone, org.Country, org.UpdatedAt = name, zone, country, now
	return org, nil
}

// orgProfile checks an organization's name, time zone and country and
// returns them as stored, naming the first bad field.
func (s *Service) orgProfile(in OrgProfile) (name, zone, country string, err error) {
	name = strings.TrimSpace(in.Name)
	if err := gatehouse.ValidateOrgName(name); err != nil {
		return "", "", "", err
	}
	zone, country, err = s.place(in.TimeZone, in.Country)
	return name, zone, country, err
}

// place checks a time zone (an IANA name such as Europe/Helsinki; "" for
// the server's) and a country (ISO 3166-1 alpha-2 such as FI, in any case;
// "" for none) and returns them as stored.
func (s *Service) place(zone, country string) (string, string, error) {
	zone = strings.TrimSpace(zone)
	if zone != "" {
		if _, err := time.LoadLocation(zone); err != nil || len(zone) > 64 || strings.EqualFold(zone, "local") {
			return "", "", gatehouse.FieldReason("time_zone", gatehouse.ReasonTimeZoneInvalid, "%q is not a time zone: use a name such as Europe/Helsinki.", zone)
		}
	}
	country = strings.ToUpper(strings.TrimSpace(country))
	if country != "" {
		// The phone normalizer knows every country's numbering plan: an
		// unknown code is its ordinary error, not a refusal of the number.
		var err error
		if s.phone != nil {
			_, err = s.phone("+358401234567", country)
		}
		if len(country) != 2 || country[0] < 'A' || country[0] > 'Z' || country[1] < 'A' || country[1] > 'Z' || err != nil {
			return "", "", gatehouse.FieldReason("country", gatehouse.ReasonCountryInvalid, "%q is not a country code: use two letters such as FI.", country)
		}
	}
	return zone, country, nil
}
