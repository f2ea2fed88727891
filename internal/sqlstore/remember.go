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

// CreateRememberedBrowser saves a remembered browser. Returns ENOTFOUND
// unless the user exists in b.OrgID, ECONFLICT if the id or token hash is
// taken.
func (db *DB) CreateRememberedBrowser(ctx context.Context, b *gatehouse.RememberedBrowser) error {
	return insertBrowser(ctx, db.write, b)
}

func insertBrowser(ctx context.Context, q execer, b *gatehouse.RememberedBrowser) error {
	_, err := q.ExecContext(ctx, `
		INSERT INTO remembered_browsers (id, token_hash, org_id, user_id, client_ip, user_agent,
			created_at, last_used_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		b.ID, b.TokenHash, b.OrgID, b.UserID, addrText(b.ClientIP), b.UserAgent,
		millis(b.CreatedAt), millis(b.LastUsedAt), millis(b.ExpiresAt))
	switch violated(err) {
	case foreignKeyViolation:
		return notFound("User")
	case uniqueViolation: // random ids and 256-bit tokens never collide: a caller bug
		return gatehouse.Errorf(gatehouse.ECONFLICT, "The remembered browser already exists.")
	}
	if err != nil {
		return fmt.Errorf("sqlstore: create remembered browser: %w", err)
	}
	return nil
}

const browserColumns = `id, token_hash, org_id, user_id, client_ip, user_agent, created_at, last_used_at, expires_at`

func scanBrowser(row scanner) (*gatehouse.RememberedBrowser, error) {
	var (
		b                   gatehouse.RememberedBrowser
		ip                  string
		created, used, expy int64
	)
	err := row.Scan(&b.ID, &b.TokenHash, &b.OrgID, &b.UserID, &ip, &b.UserAgent, &created, &used, &expy)
	if err != nil {
		return nil, err
	}
	if b.ClientIP, err = parseAddr(ip); err != nil {
		return nil, fmt.Errorf("remembered browser %s: client_ip: %w", b.ID, err)
	}
	b.CreatedAt, b.LastUsedAt, b.ExpiresAt = fromMillis(created), fromMillis(used), fromMillis(expy)
	return &b, nil
}

// FindRememberedBrowser returns the unexpired remembered browser of that
// user in that organization whose token hash is among hashes (the browser's
// cookies), or ENOTFOUND. Only the first gatehouse.MaxRememberedPerBrowser
// hashes are looked at: more can only come from a tampered cookie jar, and
// ignoring them can only ask for a code.
func (db *DB) FindRememberedBrowser(ctx context.Context, orgID, userID string, hashes [][]byte, now time.Time) (*gatehouse.RememberedBrowser, error) {
	hashes = hashes[:min(len(hashes), gatehouse.MaxRememberedPerBrowser)]
	if len(hashes) == 0 {
		return nil, notFound("Remembered browser")
	}
	args := []any{orgID, userID, millis(now)}
	marks := make([]string, len(hashes))
	for i, h := range hashes {
		args = append(args, h)
		marks[i] = "$" + strconv.Itoa(len(args))
	}
	b, err := scanBrowser(db.read.QueryRowContext(ctx, `
		SELECT `+browserColumns+` FROM remembered_browsers
		WHERE org_id = $1 AND user_id = $2 AND expires_at > $3 AND token_hash IN (`+strings.Join(marks, ", ")+`)
		ORDER BY created_at DESC, id LIMIT 1`, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Remembered browser")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: find remembered browser: %w", err)
	}
	return b, nil
}

// TouchRememberedBrowser records a sign-in through a remembered browser; it
// never moves the last use backwards. Returns ENOTFOUND if it is gone
// (revoked meanwhile, perhaps on another node).
func (db *DB) TouchRememberedBrowser(ctx context.Context, id string, now time.Time) error {
	res, err := db.write.ExecContext(ctx, `
		UPDATE remembered_browsers SET last_used_at = CASE WHEN last_used_at < $2 THEN $2 ELSE last_used_at END
		WHERE id = $1`, id, millis(now))
	return updated(res, err, "Remembered browser", "touch remembered browser")
}

// ListRememberedBrowsers returns a user's unexpired remembered browsers,
// newest first.
func (db *DB) ListRememberedBrowsers(ctx context.Context, orgID, userID string, now time.Time) ([]*gatehouse.RememberedBrowser, error) {
	rows, err := db.read.QueryContext(ctx, `
		SELECT `+browserColumns+` FROM remembered_browsers
		WHERE org_id = $1 AND user_id = $2 AND expires_at > $3
		ORDER BY created_at DESC, id`, orgID, userID, millis(now))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list remembered browsers: %w", err)
	}
	defer rows.Close()
	browsers := []*gatehouse.RememberedBrowser{}
	for rows.Next() {
		b, err := scanBrowser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: list remembered browsers: %w", err)
		}
		browsers = append(browsers, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list remembered browsers: %w", err)
	}
	return browsers, nil
}

// DeleteRememberedBrowser revokes one remembered browser. Returns ENOTFOUND
// unless it belongs to that user in that organization.
func (db *DB) DeleteRememberedBrowser(ctx context.Context, orgID, userID, id string) error {
	res, err := db.write.ExecContext(ctx, `
		DELETE FROM remembered_browsers WHERE id = $1 AND org_id = $2 AND user_id = $3`, id, orgID, userID)
	return updated(res, err, "Remembered browser", "delete remembered browser")
}

// DeleteUserRememberedBrowsers revokes every remembered browser of a user
// and returns how many.
func (db *DB) DeleteUserRememberedBrowsers(ctx context.Context, orgID, userID string) (int64, error) {
	n, err := deleted(db.write.ExecContext(ctx, `
		DELETE FROM remembered_browsers WHERE org_id = $1 AND user_id = $2`, orgID, userID))
	if err != nil {
		return 0, fmt.Errorf("sqlstore: delete user remembered browsers: %w", err)
	}
	return n, nil
}

// DeleteOrgRememberedBrowsers revokes every remembered browser in an
// organization and returns how many.
func (db *DB) DeleteOrgRememberedBrowsers(ctx context.Context, orgID string) (int64, error) {
	n, err := deleted(db.write.ExecContext(ctx, `DELETE FROM remembered_browsers WHERE org_id = $1`, orgID))
	if err != nil {
		return 0, fmt.Errorf("sqlstore: delete org remembered browsers: %w", err)
	}
	return n, nil
}
