package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// CreateGroup saves a new group; ECONFLICT if the slug is taken.
func (db *DB) CreateGroup(ctx context.Context, g *gatehouse.OrgGroup) error {
	_, err := db.write.ExecContext(ctx, `INSERT INTO org_groups (id, slug, name, created_at) VALUES ($1, $2, $3, $4)`,
		g.ID, g.Slug, g.Name, millis(g.CreatedAt))
	if violated(err) == uniqueViolation {
		return gatehouse.Errorf(gatehouse.ECONFLICT, "A group with the slug %q already exists.", g.Slug)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: create group: %w", err)
	}
	return nil
}

func (db *DB) group(ctx context.Context, where string, arg string) (*gatehouse.OrgGroup, error) {
	var g gatehouse.OrgGroup
	var created int64
	err := db.read.QueryRowContext(ctx, `SELECT id, slug, name, created_at FROM org_groups WHERE `+where+` = $1`, arg).
		Scan(&g.ID, &g.Slug, &g.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Group")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: group: %w", err)
	}
	g.CreatedAt = fromMillis(created)
	return &g, nil
}

// GroupBySlug returns ENOTFOUND when there is no such group.
func (db *DB) GroupBySlug(ctx context.Context, slug string) (*gatehouse.OrgGroup, error) {
	return db.group(ctx, "slug", slug)
}

// GroupByID returns ENOTFOUND when there is no such group.
func (db *DB) GroupByID(ctx context.Context, id string) (*gatehouse.OrgGroup, error) {
	return db.group(ctx, "id", id)
}

// ListGroups returns every group, ordered by slug.
func (db *DB) ListGroups(ctx context.Context) ([]*gatehouse.OrgGroup, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, slug, name, created_at FROM org_groups ORDER BY slug`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list groups: %w", err)
	}
	defer rows.Close()
	groups := []*gatehouse.OrgGroup{}
	for rows.Next() {
		var g gatehouse.OrgGroup
		var created int64
		if err := rows.Scan(&g.ID, &g.Slug, &g.Name, &created); err != nil {
			return nil, fmt.Errorf("sqlstore: list groups: %w", err)
		}
		g.CreatedAt = fromMillis(created)
		groups = append(groups, &g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list groups: %w", err)
	}
	return groups, nil
}

// lockGroup takes the write lock of a group's row, so that the checks of
// its size and its admins hold against concurrent changes on every node.
func lockGroup(ctx context.Context, tx *txn, groupID string) error {
	res, err := tx.ExecContext(ctx, `UPDATE org_groups SET name = name WHERE id = $1`, groupID)
	return updated(res, err, "Group", "lock group")
}

// groupHasRoom locks a group's row and returns ECONFLICT when it holds
// gatehouse.MaxGroupOrganizations already, ENOTFOUND when there is no such
// group.
func groupHasRoom(ctx context.Context, tx *txn, groupID string) error {
	if err := lockGroup(ctx, tx, groupID); err != nil {
		return err
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM organizations WHERE group_id = $1`, groupID).Scan(&n); err != nil {
		return fmt.Errorf("sqlstore: count group organizations: %w", err)
	}
	if n >= gatehouse.MaxGroupOrganizations {
		return gatehouse.Reasoned(gatehouse.ECONFLICT, gatehouse.ReasonGroupFull,
			"The group holds %d organizations, the most it can.", gatehouse.MaxGroupOrganizations)
	}
	return nil
}

// SetOrganizationGroup puts an organization in a group, or takes it out
// (groupID ""); see gatehouse.GroupStore.
func (db *DB) SetOrganizationGroup(ctx context.Context, orgID, groupID string, audit []*gatehouse.AuditEvent) error {
	return db.inTx(ctx, "set organization group", func(tx *txn) error {
		var current sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT group_id FROM organizations WHERE id = $1`, orgID).Scan(&current)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("Organization")
		} else if err != nil {
			return fmt.Errorf("sqlstore: set organization group: %w", err)
		}
		if current.String == groupID {
			return nil
		}
		if groupID == "" {
			if err := lockGroup(ctx, tx, current.String); err != nil {
				return err
			}
			var admins int
			if err := tx.QueryRowContext(ctx, `
				SELECT count(*) FROM org_group_admins a JOIN users u ON u.id = a.user_id
				WHERE a.group_id = $1 AND u.org_id = $2`, current.String, orgID).Scan(&admins); err != nil {
				return fmt.Errorf("sqlstore: set organization group: count admins: %w", err)
			}
			if admins > 0 {
				return gatehouse.Reasoned(gatehouse.ECONFLICT, gatehouse.ReasonGroupAdminsInOrg,
					"Admins of the group belong to this organization: remove them from the group first.")
			}
		} else {
			if current.Valid {
				return gatehouse.Reasoned(gatehouse.ECONFLICT, gatehouse.ReasonOrgInOtherGroup,
					"The organization is in another group: take it out of that group first.")
			}
			if err := groupHasRoom(ctx, tx, groupID); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE organizations SET group_id = $2 WHERE id = $1`, orgID, nullable(groupID)); err != nil {
			return fmt.Errorf("sqlstore: set organization group: %w", err)
		}
		return appendAudits(ctx, tx, audit)
	})
}

func appendAudits(ctx context.Context, tx *txn, events []*gatehouse.AuditEvent) error {
	for _, e := range events {
		if err := appendAudit(ctx, tx, e); err != nil {
			return fmt.Errorf("sqlstore: append audit: %w", err)
		}
	}
	return nil
}

// AddGroupAdmin makes a user of one of the group's organizations an admin
// of the group; see gatehouse.GroupStore.
func (db *DB) AddGroupAdmin(ctx context.Context, groupID, userID string, at time.Time, audit []*gatehouse.AuditEvent) error {
	return db.inTx(ctx, "add group admin", func(tx *txn) error {
		if err := lockGroup(ctx, tx, groupID); err != nil {
			return err
		}
		var inGroup bool
		err := tx.QueryRowContext(ctx, `
			SELECT o.group_id IS NOT NULL AND o.group_id = $2 FROM users u JOIN organizations o ON o.id = u.org_id
			WHERE u.id = $1`, userID, groupID).Scan(&inGroup)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("User")
		} else if err != nil {
			return fmt.Errorf("sqlstore: add group admin: %w", err)
		}
		if !inGroup {
			return gatehouse.Reasoned(gatehouse.ECONFLICT, gatehouse.ReasonGroupAdminOutside,
				"A group admin must be a user of one of the group's organizations.")
		}
		res, err := tx.ExecContext(ctx, `
			INSERT INTO org_group_admins (group_id, user_id, created_at) VALUES ($1, $2, $3)
			ON CONFLICT (group_id, user_id) DO NOTHING`, groupID, userID, millis(at))
		if err != nil {
			return fmt.Errorf("sqlstore: add group admin: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlstore: add group admin: %w", err)
		} else if n == 0 {
			return nil // already an admin: nothing to audit
		}
		return appendAudits(ctx, tx, audit)
	})
}

// RemoveGroupAdmin takes a user's admin rights over a group away;
// ENOTFOUND if they had none.
func (db *DB) RemoveGroupAdmin(ctx context.Context, groupID, userID string, audit []*gatehouse.AuditEvent) error {
	return db.inTx(ctx, "remove group admin", func(tx *txn) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM org_group_admins WHERE group_id = $1 AND user_id = $2`, groupID, userID)
		if err := updated(res, err, "Group admin", "remove group admin"); err != nil {
			return err
		}
		return appendAudits(ctx, tx, audit)
	})
}

// GroupAdmins returns the admins of a group, ordered by e-mail.
func (db *DB) GroupAdmins(ctx context.Context, groupID string) ([]*gatehouse.User, error) {
	return db.queryUsers(ctx, "group admins", `
		SELECT `+userColumns+` FROM users JOIN org_group_admins a ON a.user_id = users.id
		WHERE a.group_id = $1 ORDER BY users.email, users.id`, groupID)
}

// GroupOrganizations returns the organizations of a group, by slug.
func (db *DB) GroupOrganizations(ctx context.Context, groupID string) ([]*gatehouse.Organization, error) {
	return db.queryOrganizations(ctx, "group organizations",
		`SELECT `+orgColumns+` FROM organizations WHERE group_id = $1 ORDER BY slug`, groupID)
}

// ManagedOrganizations returns the organizations of every group the user
// is an admin of, ordered by slug.
func (db *DB) ManagedOrganizations(ctx context.Context, userID string) ([]*gatehouse.Organization, error) {
	return db.queryOrganizations(ctx, "managed organizations", `
		SELECT `+orgColumns+` FROM organizations JOIN org_group_admins a ON a.group_id = organizations.group_id
		WHERE a.user_id = $1 ORDER BY organizations.slug`, userID)
}

func (db *DB) queryOrganizations(ctx context.Context, op, query string, args ...any) ([]*gatehouse.Organization, error) {
	rows, err := db.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	defer rows.Close()
	orgs := []*gatehouse.Organization{}
	for rows.Next() {
		o, err := scanOrganization(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: %s: %w", op, err)
		}
		orgs = append(orgs, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	return orgs, nil
}
