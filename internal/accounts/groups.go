package accounts

import (
	"context"
	"slices"
	"strings"

	"github.com/gatehousehq/gatehouse"
)

// Organization groups (gatehouse.OrgGroup): the operator makes them at the
// command line and names their admins; a group admin administers every
// organization of the group and may create organizations in it.

// CreateGroup makes an organization group. Only the operator may.
// Returns EINVALID naming the bad field, ECONFLICT for a taken slug.
func (s *Service) CreateGroup(ctx context.Context, slug, name string, actor Actor) (_ *gatehouse.OrgGroup, err error) {
	defer s.storeFailure(ctx, &err)
	if !actor.Operator() {
		return nil, operatorOnly()
	}
	slug, name = strings.TrimSpace(slug), strings.TrimSpace(name)
	if err := gatehouse.ValidateSlug(slug); err != nil {
		return nil, err
	}
	if err := gatehouse.ValidateOrgName(name); err != nil {
		return nil, err
	}
	g := &gatehouse.OrgGroup{ID: gatehouse.NewID(), Slug: slug, Name: name, CreatedAt: s.now()}
	if err := s.store.CreateGroup(ctx, g); err != nil {
		return nil, err
	}
	return g, nil
}

func operatorOnly() error {
	return gatehouse.Reasoned(gatehouse.EFORBIDDEN, gatehouse.ReasonAdminOnly, "Only admins of this organization may do that.")
}

// Group returns a group by slug; ENOTFOUND names it.
func (s *Service) Group(ctx context.Context, slug string) (_ *gatehouse.OrgGroup, err error) {
	defer s.storeFailure(ctx, &err)
	return s.group(ctx, slug)
}

func (s *Service) group(ctx context.Context, slug string) (*gatehouse.OrgGroup, error) {
	slug = strings.TrimSpace(slug)
	g, err := s.store.GroupBySlug(ctx, slug)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		e := gatehouse.Reasoned(gatehouse.ENOTFOUND, gatehouse.ReasonNoSuchGroup, "There is no group with the slug %q.", slug)
		e.Field = "group"
		return nil, e
	}
	return g, err
}

// GroupsByIDs returns the groups of ids, ordered by slug (a group admin's,
// for the organizations page).
func (s *Service) GroupsByIDs(ctx context.Context, ids []string) (_ []*gatehouse.OrgGroup, err error) {
	defer s.storeFailure(ctx, &err)
	out := make([]*gatehouse.OrgGroup, 0, len(ids))
	for _, id := range ids {
		g, err := s.store.GroupByID(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b *gatehouse.OrgGroup) int { return strings.Compare(a.Slug, b.Slug) })
	return out, nil
}

// GroupView is a group with its organizations and admins.
type GroupView struct {
	Group         *gatehouse.OrgGroup
	Organizations []*gatehouse.Organization
	Admins        []*gatehouse.User
}

// Groups lists every group with its organizations and admins.
func (s *Service) Groups(ctx context.Context) (_ []GroupView, err error) {
	defer s.storeFailure(ctx, &err)
	groups, err := s.store.ListGroups(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]GroupView, 0, len(groups))
	for _, g := range groups {
		v := GroupView{Group: g}
		if v.Organizations, err = s.store.GroupOrganizations(ctx, g.ID); err != nil {
			return nil, err
		}
		if v.Admins, err = s.store.GroupAdmins(ctx, g.ID); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// SetOrganizationGroup puts an organization in a group, or takes it out of
// its group (groupSlug ""), audited in the organization. Only the operator
// may. ECONFLICT when it is in another group, the group is full, or (taking
// it out) admins of the group are its users.
func (s *Service) SetOrganizationGroup(ctx context.Context, orgSlug, groupSlug string, actor Actor) (err error) {
	defer s.storeFailure(ctx, &err)
	if !actor.Operator() {
		return operatorOnly()
	}
	org, err := s.organization(ctx, orgSlug)
	if err != nil {
		return err
	}
	ev := &gatehouse.AuditEvent{OrgID: org.ID, Event: gatehouse.AuditGroupOrgAdded, At: s.now()}
	groupID := ""
	if groupSlug != "" {
		g, err := s.group(ctx, groupSlug)
		if err != nil {
			return err
		}
		groupID, ev.Detail = g.ID, map[string]string{"group": g.Slug}
	} else if org.GroupID != "" {
		g, err := s.store.GroupByID(ctx, org.GroupID)
		if err != nil {
			return err
		}
		ev.Event, ev.Detail = gatehouse.AuditGroupOrgRemoved, map[string]string{"group": g.Slug}
	}
	if groupID == org.GroupID {
		return nil
	}
	return s.store.SetOrganizationGroup(ctx, org.ID, groupID, []*gatehouse.AuditEvent{ev})
}

// AddGroupAdmin makes an admin of one of the group's organizations an
// admin of the whole group, audited in every organization of the group.
// Only the operator may. The user must be an admin, not disabled, of a
// password organization (a group admin's sign-in holds to the strictest
// two-factor policy of the group, which a directory or an identity
// provider would not ask for). Returns ENOTFOUND, ECONFLICT naming why.
func (s *Service) AddGroupAdmin(ctx context.Context, groupSlug, orgSlug, email string, actor Actor) (err error) {
	return s.changeGroupAdmin(ctx, groupSlug, orgSlug, email, true, actor)
}

// RemoveGroupAdmin takes a user's admin rights over a group away (they
// stay an admin of their own organization), audited in every organization
// of the group. Only the operator may.
func (s *Service) RemoveGroupAdmin(ctx context.Context, groupSlug, orgSlug, email string, actor Actor) (err error) {
	return s.changeGroupAdmin(ctx, groupSlug, orgSlug, email, false, actor)
}

func (s *Service) changeGroupAdmin(ctx context.Context, groupSlug, orgSlug, email string, add bool, actor Actor) (err error) {
	defer s.storeFailure(ctx, &err)
	if !actor.Operator() {
		return operatorOnly()
	}
	g, err := s.group(ctx, groupSlug)
	if err != nil {
		return err
	}
	org, u, err := s.UserByEmail(ctx, orgSlug, email)
	if err != nil {
		return err
	}
	if add && (u.Role != gatehouse.RoleAdmin || org.Settings.AuthMethod != gatehouse.AuthPassword) {
		return groupAdminStays()
	}
	if add && u.Disabled {
		return gatehouse.FieldReason("email", gatehouse.ReasonGroupAdminDisabled, "%s is disabled.", u.Email)
	}
	orgs, err := s.store.GroupOrganizations(ctx, g.ID)
	if err != nil {
		return err
	}
	now := s.now()
	event := gatehouse.AuditGroupAdminAdded
	if !add {
		event = gatehouse.AuditGroupAdminRemoved
	}
	events := make([]*gatehouse.AuditEvent, 0, len(orgs))
	for _, o := range orgs {
		ev := &gatehouse.AuditEvent{OrgID: o.ID, Event: event, At: now,
			Detail: map[string]string{"group": g.Slug, "email": u.Email, "organization": org.Slug}}
		if o.ID == org.ID {
			ev.UserID = u.ID
		}
		events = append(events, ev)
	}
	if add {
		return s.store.AddGroupAdmin(ctx, g.ID, u.ID, now, events)
	}
	return s.store.RemoveGroupAdmin(ctx, g.ID, u.ID, events)
}

// CreateGroupOrganization is CreateOrganization in a group, for an admin
// of that group (or the operator): the new organization is in the group
// from its first moment, so its creator administers it at once.
func (s *Service) CreateGroupOrganization(ctx context.Context, groupSlug string, in NewOrganization, actor Actor) (_ *gatehouse.Organization, err error) {
	defer s.storeFailure(ctx, &err)
	g, err := s.group(ctx, groupSlug)
	if err != nil {
		return nil, err
	}
	if !actor.Operator() && !(actor.UserID != "" && slices.Contains(actor.GroupIDs, g.ID)) {
		return nil, gatehouse.Reasoned(gatehouse.ENOTFOUND, gatehouse.ReasonNoSuchGroup, "There is no group with the slug %q.", g.Slug)
	}
	if err := actor.RequireRecent(s.now()); err != nil {
		return nil, err
	}
	in.groupID, in.groupSlug = g.ID, g.Slug
	return s.CreateOrganization(ctx, in, actor.AuditID())
}

// guardGroupAdmin refuses a change of a group admin's account by anyone
// but the operator and those who administer every organization the group
// admin does: an admin of one clinic must not take over, by resetting
// their factor or their e-mail, the account that runs all of them.
func (s *Service) guardGroupAdmin(ctx context.Context, actor Actor, org *gatehouse.Organization, u *gatehouse.User) error {
	if actor.Operator() || org.GroupID == "" {
		return nil
	}
	managed, err := s.store.ManagedOrganizations(ctx, u.ID)
	if err != nil {
		return err
	}
	for _, o := range managed {
		if !slices.Contains(actor.ManagedOrgIDs, o.ID) {
			return gatehouse.Reasoned(gatehouse.EFORBIDDEN, gatehouse.ReasonGroupAdminProtected,
				"This user administers the organization group: only the operator or another admin of the group may change their account.")
		}
	}
	return nil
}

// isGroupAdmin reports whether u administers any organization group.
func (s *Service) isGroupAdmin(ctx context.Context, org *gatehouse.Organization, u *gatehouse.User) (bool, error) {
	if org.GroupID == "" {
		return false, nil
	}
	managed, err := s.store.ManagedOrganizations(ctx, u.ID)
	return len(managed) > 0, err
}

// groupAdminStays is the refusal of a group admin who would not be an admin
// of a password organization (their sign-in could not follow the group's
// two-factor policy).
func groupAdminStays() error {
	return gatehouse.Reasoned(gatehouse.ECONFLICT, gatehouse.ReasonGroupAdminRole,
		"A group admin must be an admin of an organization that signs in with a password: remove them from the group first, or choose another user.")
}

// hasGroupAdmins reports whether any user of org administers its group.
func (s *Service) hasGroupAdmins(ctx context.Context, org *gatehouse.Organization) (bool, error) {
	if org.GroupID == "" {
		return false, nil
	}
	admins, err := s.store.GroupAdmins(ctx, org.GroupID)
	return slices.ContainsFunc(admins, func(a *gatehouse.User) bool { return a.OrgID == org.ID }), err
}
