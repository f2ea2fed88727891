package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// CreateOrganization saves a new organization. Returns ECONFLICT if the slug
// is taken or its group (org.GroupID, when set) is full, ENOTFOUND for an
// unknown group.
func (db *DB) CreateOrganization(ctx context.Context, org *gatehouse.Organization) error {
	return db.inTx(ctx, "create organization", func(tx *txn) error {
		if org.GroupID != "" {
			if err := groupHasRoom(ctx, tx, org.GroupID); err != nil {
				return err
			}
		}
		s := org.Settings
		_, err := tx.ExecContext(ctx, `
			INSERT INTO organizations (id, slug, name, enforce_two_factor, otp_method, skip_networks,
				remember_days, auth_method, created_at, updated_at, time_zone, country, group_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			org.ID, org.Slug, org.Name, s.EnforceTwoFactor, string(s.OTPMethod), networksJSON(s.SkipNetworks),
			s.RememberDays, string(s.AuthMethod), millis(org.CreatedAt), millis(org.UpdatedAt), org.TimeZone, org.Country,
			nullable(org.GroupID))
		if violated(err) == uniqueViolation {
			return gatehouse.Errorf(gatehouse.ECONFLICT, "An organization with the slug %q already exists.", org.Slug)
		}
		if err != nil {
			return fmt.Errorf("sqlstore: create organization: %w", err)
		}
		return nil
	})
}

// orgColumns are the columns orgRow scans, named with their table so that
// a join may select them beside another table's (SessionAccount).
const orgColumns = `organizations.id, organizations.slug, organizations.name,
	organizations.enforce_two_factor, organizations.otp_method, organizations.skip_networks,
	organizations.remember_days, organizations.auth_method, organizations.created_at, organizations.updated_at,
	organizations.time_zone, organizations.country, COALESCE(organizations.group_id, '')`

// orgRow is an organization as orgColumns hold it, before conversion.
type orgRow struct {
	o                gatehouse.Organization
	networks         string
	created, updated int64
}

// dest is where a Scan of orgColumns goes, in their order.
func (r *orgRow) dest() []any {
	o, s := &r.o, &r.o.Settings
	return []any{&o.ID, &o.Slug, &o.Name, &s.EnforceTwoFactor, &s.OTPMethod, &r.networks,
		&s.RememberDays, &s.AuthMethod, &r.created, &r.updated, &o.TimeZone, &o.Country, &o.GroupID}
}

// value converts what was scanned.
func (r *orgRow) value() (*gatehouse.Organization, error) {
	var err error
	if r.o.Settings.SkipNetworks, err = parseNetworks(r.networks); err != nil {
		return nil, fmt.Errorf("organization %s: skip_networks: %w", r.o.ID, err)
	}
	r.o.CreatedAt, r.o.UpdatedAt = fromMillis(r.created), fromMillis(r.updated)
	return &r.o, nil
}

func scanOrganization(row scanner) (*gatehouse.Organization, error) {
	var r orgRow
	if err := row.Scan(r.dest()...); err != nil {
		return nil, err
	}
	return r.value()
}

// OrganizationBySlug returns ENOTFOUND if there is no such organization.
func (db *DB) OrganizationBySlug(ctx context.Context, slug string) (*gatehouse.Organization, error) {
	o, err := scanOrganization(db.read.QueryRowContext(ctx,
		`SELECT `+orgColumns+` FROM organizations WHERE slug = $1`, slug))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Organization")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: organization by slug: %w", err)
	}
	return o, nil
}

// OrganizationByName returns the one organization whose name is name, in
// any case (lower() folds all of Unicode on PostgreSQL, ASCII only on
// SQLite), for a sign-in page where people type their clinic's name.
// ENOTFOUND when none has that name, or more than one does: names need not
// be unique, and a guess between two organizations would be wrong half the
// time.
func (db *DB) OrganizationByName(ctx context.Context, name string) (*gatehouse.Organization, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+orgColumns+` FROM organizations WHERE lower(name) = lower($1) LIMIT 2`, name)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: organization by name: %w", err)
	}
	defer rows.Close()
	var found []*gatehouse.Organization
	for rows.Next() {
		o, err := scanOrganization(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: organization by name: %w", err)
		}
		found = append(found, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: organization by name: %w", err)
	}
	if len(found) != 1 {
		return nil, notFound("Organization")
	}
	return found[0], nil
}

// OrganizationByID returns ENOTFOUND if there is no such organization.
func (db *DB) OrganizationByID(ctx context.Context, id string) (*gatehouse.Organization, error) {
	o, err := scanOrganization(db.read.QueryRowContext(ctx,
		`SELECT `+orgColumns+` FROM organizations WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Organization")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: organization by id: %w", err)
	}
	return o, nil
}

// ListOrganizations returns all organizations ordered by slug.
func (db *DB) ListOrganizations(ctx context.Context) ([]*gatehouse.Organization, error) {
	return db.queryOrganizations(ctx, "list organizations", `SELECT `+orgColumns+` FROM organizations ORDER BY slug`)
}

// UpdatePasswordSettings replaces the organization's settings as a whole.
// Returns ENOTFOUND if there is no such organization.
func (db *DB) UpdatePasswordSettings(ctx context.Context, orgID string, s gatehouse.PasswordSettings, at time.Time) error {
	res, err := db.write.ExecContext(ctx, `
		UPDATE organizations SET enforce_two_factor = $2, otp_method = $3, skip_networks = $4,
			remember_days = $5, auth_method = $6, updated_at = $7
		WHERE id = $1`,
		orgID, s.EnforceTwoFactor, string(s.OTPMethod), networksJSON(s.SkipNetworks),
		s.RememberDays, string(s.AuthMethod), millis(at))
	return updated(res, err, "Organization", "update password settings")
}

// updated turns the result of an UPDATE of one row into ENOTFOUND when no
// row matched.
func updated(res sql.Result, err error, what, op string) error {
	if err != nil {
		return fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	if n == 0 {
		return notFound(what)
	}
	return nil
}

// networksJSON writes no networks as [] rather than null, so the column
// always holds an array.
func networksJSON(ps []netip.Prefix) string {
	s := make([]string, 0, len(ps))
	for _, p := range ps {
		s = append(s, p.String())
	}
	b, _ := json.Marshal(s) // a []string always marshals
	return string(b)
}

func parseNetworks(text string) ([]netip.Prefix, error) {
	var s []string
	if err := json.Unmarshal([]byte(text), &s); err != nil {
		return nil, err
	}
	var ps []netip.Prefix
	for _, v := range s {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// UpdateOrganizationProfile saves an organization's name, time zone and
// country. Returns ENOTFOUND when there is no such organization.
func (db *DB) UpdateOrganizationProfile(ctx context.Context, orgID, name, timeZone, country string, at time.Time) error {
	res, err := db.write.ExecContext(ctx, `UPDATE organizations SET name = $2, time_zone = $3, country = $4, updated_at = $5 WHERE id = $1`,
		orgID, name, timeZone, country, millis(at))
	return updated(res, err, "Organization", "update organization profile")
}
