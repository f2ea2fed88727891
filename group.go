package gatehouse

import (
	"context"
	"net/netip"
	"time"
)

// MaxGroupOrganizations bounds the organizations of one group: a group
// admin's sign-in reads all of their policies, and the console lists them.
const MaxGroupOrganizations = 1000

// OrgGroup is an organization group: the clinics of one owner, managed by
// one IT admin. Each organization is in at most one group; a group admin
// is a user of one of the group's organizations who is an admin of every
// organization of the group. The audit log of each organization records
// what a group admin does in it.
type OrgGroup struct {
	ID        string
	Slug      string
	Name      string
	CreatedAt time.Time
}

// GroupStore keeps organization groups, which organizations they hold
// (Organization.GroupID) and their admins.
type GroupStore interface {
	// CreateGroup saves a new group; ECONFLICT if the slug is taken.
	CreateGroup(ctx context.Context, g *OrgGroup) error
	// GroupBySlug and GroupByID return ENOTFOUND when there is no such
	// group.
	GroupBySlug(ctx context.Context, slug string) (*OrgGroup, error)
	GroupByID(ctx context.Context, id string) (*OrgGroup, error)
	// ListGroups returns every group, ordered by slug.
	ListGroups(ctx context.Context) ([]*OrgGroup, error)
	// SetOrganizationGroup puts an organization in a group (groupID "" takes
	// it out); ECONFLICT when it is already in another group, when the
	// group holds MaxGroupOrganizations, or, taking it out, when a group
	// admin is one of its users; ENOTFOUND for an unknown organization or
	// group. Appends audit (when not nil) in the same transaction.
	SetOrganizationGroup(ctx context.Context, orgID, groupID string, audit []*AuditEvent) error
	// AddGroupAdmin makes a user of one of the group's organizations an
	// admin of the group (adding one twice is no error), and
	// RemoveGroupAdmin takes that away (ENOTFOUND if they were not);
	// both append audit (when not nil) in the same transaction.
	AddGroupAdmin(ctx context.Context, groupID, userID string, at time.Time, audit []*AuditEvent) error
	RemoveGroupAdmin(ctx context.Context, groupID, userID string, audit []*AuditEvent) error
	// GroupAdmins returns the admins of a group, ordered by e-mail.
	GroupAdmins(ctx context.Context, groupID string) ([]*User, error)
	// GroupOrganizations returns the organizations of a group, by slug.
	GroupOrganizations(ctx context.Context, groupID string) ([]*Organization, error)
	// ManagedOrganizations returns the organizations of every group the
	// user is an admin of, ordered by slug; none for a user who is no
	// group admin.
	ManagedOrganizations(ctx context.Context, userID string) ([]*Organization, error)
}

// StrictestSettings are the password settings a group admin's own sign-in
// follows: of their own organization's settings (home) and those of the
// organizations they administer through groups, the strictest. Two-factor
// authentication is enforced when any password organization among them
// enforces it; then a browser is remembered for the fewest days of those
// that enforce it, a network skips the code only where every one of them
// lets it, and the code comes by the home organization's method. An
// organization that signs in with LDAP or SAML2 has no two-factor policy to
// add; a home organization that does keeps its own settings (a group admin
// must come from a password organization: the services refuse the rest).
func StrictestSettings(home PasswordSettings, managed []PasswordSettings) PasswordSettings {
	if home.AuthMethod != AuthPassword {
		return home
	}
	out := home
	out.SkipNetworks = append([]netip.Prefix(nil), home.SkipNetworks...)
	first := home.EnforceTwoFactor
	for _, m := range managed {
		if m.AuthMethod != AuthPassword || !m.EnforceTwoFactor {
			continue
		}
		if !first {
			out.EnforceTwoFactor, out.RememberDays = true, m.RememberDays
			out.SkipNetworks = append([]netip.Prefix(nil), m.SkipNetworks...)
			first = true
			continue
		}
		out.RememberDays = min(out.RememberDays, m.RememberDays)
		out.SkipNetworks = intersectNetworks(out.SkipNetworks, m.SkipNetworks)
	}
	return out
}

// intersectNetworks is the addresses in both lists, as prefixes: of two
// overlapping prefixes, one holds the other, and the smaller is what they
// share.
func intersectNetworks(a, b []netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	seen := map[netip.Prefix]bool{}
	for _, p := range a {
		for _, q := range b {
			if !p.Overlaps(q) {
				continue
			}
			small := p
			if q.Bits() > p.Bits() {
				small = q
			}
			if small = small.Masked(); !seen[small] {
				seen[small] = true
				out = append(out, small)
			}
		}
	}
	return out
}
