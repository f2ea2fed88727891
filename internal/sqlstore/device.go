package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// CreateDevice saves a known device. The user's row is locked first, so
// that parallel sign-ins of one user on several nodes keep the bound of
// gatehouse.MaxDevicesPerUser exactly.
func (db *DB) CreateDevice(ctx context.Context, d *gatehouse.Device) error {
	return db.inTx(ctx, "create device", func(tx *txn) error {
		// A no-op update locks the user's row on PostgreSQL and tells
		// whether the user exists.
		res, err := tx.ExecContext(ctx, `UPDATE users SET updated_at = updated_at WHERE org_id = $1 AND id = $2`, d.OrgID, d.UserID)
		if err := updated(res, err, "User", "create device"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM known_devices WHERE org_id = $1 AND user_id = $2 AND expires_at <= $3`,
			d.OrgID, d.UserID, millis(d.CreatedAt)); err != nil {
			return fmt.Errorf("sqlstore: create device: %w", err)
		}
		_, err = tx.ExecContext(ctx, `
			INSERT INTO known_devices (id, token_hash, org_id, user_id, created_at, last_used_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			d.ID, d.TokenHash, d.OrgID, d.UserID, millis(d.CreatedAt), millis(d.LastUsedAt), millis(d.ExpiresAt))
		switch violated(err) {
		case foreignKeyViolation:
			return notFound("User")
		case uniqueViolation: // random ids and 256-bit tokens never collide: a caller bug
			return gatehouse.Errorf(gatehouse.ECONFLICT, "The device already exists.")
		}
		if err != nil {
			return fmt.Errorf("sqlstore: create device: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `
			DELETE FROM known_devices WHERE org_id = $1 AND user_id = $2 AND id NOT IN (
				SELECT id FROM known_devices WHERE org_id = $1 AND user_id = $2
				ORDER BY last_used_at DESC, created_at DESC, id DESC LIMIT $3)`,
			d.OrgID, d.UserID, gatehouse.MaxDevicesPerUser); err != nil {
			return fmt.Errorf("sqlstore: create device: %w", err)
		}
		return nil
	})
}

// FindDevice returns the unexpired device of that user whose token hash is
// among hashes, or ENOTFOUND.
func (db *DB) FindDevice(ctx context.Context, orgID, userID string, hashes [][]byte, now time.Time) (*gatehouse.Device, error) {
	hashes = hashes[:min(len(hashes), gatehouse.MaxDevicesPerBrowser)]
	if len(hashes) == 0 {
		return nil, notFound("Device")
	}
	args := []any{orgID, userID, millis(now)}
	marks := make([]string, len(hashes))
	for i, h := range hashes {
		args = append(args, h)
		marks[i] = "$" + strconv.Itoa(len(args))
	}
	var (
		d                   gatehouse.Device
		created, used, expy int64
	)
	err := db.read.QueryRowContext(ctx, `
		SELECT id, token_hash, org_id, user_id, created_at, last_used_at, expires_at FROM known_devices
		WHERE org_id = $1 AND user_id = $2 AND expires_at > $3 AND token_hash IN (`+strings.Join(marks, ", ")+`)
		ORDER BY last_used_at DESC, id LIMIT 1`, args...).
		Scan(&d.ID, &d.TokenHash, &d.OrgID, &d.UserID, &created, &used, &expy)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Device")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: find device: %w", err)
	}
	d.CreatedAt, d.LastUsedAt, d.ExpiresAt = fromMillis(created), fromMillis(used), fromMillis(expy)
	return &d, nil
}

// TouchDevice records a correct password on a device.
func (db *DB) TouchDevice(ctx context.Context, id string, now, expires time.Time) error {
	res, err := db.write.ExecContext(ctx, `
		UPDATE known_devices SET
			last_used_at = CASE WHEN last_used_at < $2 THEN $2 ELSE last_used_at END,
			expires_at = CASE WHEN expires_at < $3 THEN $3 ELSE expires_at END
		WHERE id = $1`, id, millis(now), millis(expires))
	return updated(res, err, "Device", "touch device")
}

// DeleteUserDevices forgets every device of a user.
func (db *DB) DeleteUserDevices(ctx context.Context, orgID, userID string) (int64, error) {
	n, err := deleted(db.write.ExecContext(ctx, `DELETE FROM known_devices WHERE org_id = $1 AND user_id = $2`, orgID, userID))
	if err != nil {
		return 0, fmt.Errorf("sqlstore: delete user devices: %w", err)
	}
	return n, nil
}
