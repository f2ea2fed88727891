package signin

import (
	"context"
	"slices"
	"strings"

	"github.com/gatehousehq/gatehouse"
)

// policyFor returns the organization and user as the sign-in policy sees
// them. For an admin of organization groups that is a copy of org under the
// strictest settings of every organization they administer
// (gatehouse.StrictestSettings) and of the user with no exemption, so a
// clinic's policy holds for everyone who can change it; anyone else gets
// org and user as they are. Only a user of an organization in a group can
// be a group admin, so nobody else costs a read.
func (s *Service) policyFor(ctx context.Context, org *gatehouse.Organization, user *gatehouse.User) (*gatehouse.Organization, *gatehouse.User, []*gatehouse.Organization, error) {
	if org.GroupID == "" {
		return org, user, nil, nil
	}
	managed, err := s.dir.ManagedOrganizations(ctx, user.ID)
	if err != nil || len(managed) == 0 {
		return org, user, nil, err
	}
	return strictOrg(org, managed), strictUser(user), managed, nil
}

func strictOrg(org *gatehouse.Organization, managed []*gatehouse.Organization) *gatehouse.Organization {
	settings := make([]gatehouse.PasswordSettings, len(managed))
	for i, m := range managed {
		settings[i] = m.Settings
	}
	strict := *org
	strict.Settings = gatehouse.StrictestSettings(org.Settings, settings)
	return &strict
}

func strictUser(user *gatehouse.User) *gatehouse.User {
	u := *user
	u.TwoFactorExempt = false
	return &u
}

// AdminOf returns the signed-in user's session as an admin of the
// organization slug: their own organization when they are its admin, or
// one they administer through a group (Current.Organization is then that
// organization and Current.Managed lists every one they administer so). A group admin's session must still pass the strictest policy of the
// organizations they administer: a policy made stricter since they signed
// in ends the session (EUNAUTHORIZED), as a stricter policy of their own
// organization does at the session check. Another organization
// answers ENOTFOUND, as if it did not exist, and a member of their own
// organization EFORBIDDEN.
func (s *Service) AdminOf(ctx context.Context, cur *Current, slug string) (_ *Current, err error) {
	defer s.failure(&err, "AdminOf")
	home := cur.Organization
	var managed []*gatehouse.Organization
	if home.GroupID != "" {
		if managed, err = s.dir.ManagedOrganizations(ctx, cur.User.ID); err != nil {
			return nil, s.unavailable("find managed organizations", err)
		}
	}
	out := *cur
	out.Managed = managed
	if len(managed) > 0 && !stillPasses(strictOrg(home, managed), strictUser(cur.User), cur.Session) {
		return nil, s.endFailingSession(ctx, cur.Session, home, cur.User, s.now())
	}
	if slug == home.Slug {
		if cur.User.Role != gatehouse.RoleAdmin && len(managed) == 0 {
			return nil, gatehouse.Reasoned(gatehouse.EFORBIDDEN, gatehouse.ReasonAdminOnly, "Only admins of this organization may do that.")
		}
		return &out, nil
	}
	i := slices.IndexFunc(managed, func(o *gatehouse.Organization) bool { return o.Slug == slug })
	if i < 0 {
		return nil, gatehouse.Reasoned(gatehouse.ENOTFOUND, gatehouse.ReasonNotAdministered, "No such organization.")
	}
	out.Organization = managed[i]
	return &out, nil
}

// Manageable returns the organizations the signed-in user may administer:
// their own when they are its admin, and those of their groups, by slug.
func (s *Service) Manageable(ctx context.Context, cur *Current) (_ []*gatehouse.Organization, err error) {
	defer s.failure(&err, "Manageable")
	var out []*gatehouse.Organization
	if cur.User.Role == gatehouse.RoleAdmin {
		out = append(out, cur.Organization)
	}
	if cur.Organization.GroupID != "" {
		managed, err := s.dir.ManagedOrganizations(ctx, cur.User.ID)
		if err != nil {
			return nil, s.unavailable("find managed organizations", err)
		}
		for _, o := range managed {
			if o.ID != cur.Organization.ID {
				out = append(out, o)
			}
		}
	}
	slices.SortFunc(out, func(a, b *gatehouse.Organization) int { return strings.Compare(a.Slug, b.Slug) })
	return out, nil
}
