package sqlstore

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// likeEscaper makes a search text match itself literally inside a LIKE
// pattern whose ESCAPE character is the backslash.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// SearchUsers returns up to limit users of orgID whose e-mail or name
// contains query, ignoring case ("" matches all), ordered by e-mail, those
// after afterEmail ("" for the first page).
//
// Case is folded by the database's lower() on both sides, so a name and a
// query always fold alike: SQLite folds ASCII letters only, PostgreSQL by
// the database's locale. A substring cannot use a b-tree index; the scan
// walks the organization's (org_id, email) index in order and stops at
// limit matches: at 10,000 users, tens of milliseconds at worst.
func (db *DB) SearchUsers(ctx context.Context, orgID, query, afterEmail string, limit int) ([]*gatehouse.User, error) {
	if query == "" {
		return db.ListUsers(ctx, orgID, afterEmail, limit)
	}
	if limit <= 0 {
		return []*gatehouse.User{}, nil // SQLite reads a negative LIMIT as no limit at all
	}
	pattern := "%" + likeEscaper.Replace(query) + "%"
	return db.queryUsers(ctx, "search users", searchUsersQuery, orgID, afterEmail, pattern, limit)
}

const searchUsersQuery = `
	SELECT ` + userColumns + ` FROM users
	WHERE org_id = $1 AND email > $2
		AND (lower(email) LIKE lower($3) ESCAPE '\' OR lower(name) LIKE lower($3) ESCAPE '\')
	ORDER BY email LIMIT $4`

// UserStats counts an organization's users in one pass over them.
// VerifiedSince counts those who ever entered a right code, the last time
// at or after since; Locked those at gatehouse.OTPLockFailures or more
// consecutive wrong codes.
func (db *DB) UserStats(ctx context.Context, orgID string, since time.Time) (gatehouse.UserStats, error) {
	var s gatehouse.UserStats
	err := db.read.QueryRowContext(ctx, `
		SELECT count(*),
			count(*) FILTER (WHERE last_verified_at <> 0 AND last_verified_at >= $2),
			count(*) FILTER (WHERE phone IS NULL OR phone = ''),
			count(*) FILTER (WHERE otp_failures >= $3),
			count(*) FILTER (WHERE two_factor_exempt),
			count(*) FILTER (WHERE disabled)
		FROM users WHERE org_id = $1`, orgID, millis(since), gatehouse.OTPLockFailures).
		Scan(&s.Total, &s.VerifiedSince, &s.WithoutPhone, &s.Locked, &s.Exempt, &s.Disabled)
	if err != nil {
		return gatehouse.UserStats{}, fmt.Errorf("sqlstore: user stats: %w", err)
	}
	return s, nil
}

// CountOrgRememberedBrowsers counts the organization's browsers still
// remembered at now.
func (db *DB) CountOrgRememberedBrowsers(ctx context.Context, orgID string, now time.Time) (int, error) {
	var n int
	err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM remembered_browsers WHERE org_id = $1 AND expires_at > $2`, orgID, millis(now)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: count remembered browsers: %w", err)
	}
	return n, nil
}

// CountAuditReasons counts an organization's events named event at or after
// since, by reason. An index on (org_id, event, at, reason) answers it
// without reading the log itself.
func (db *DB) CountAuditReasons(ctx context.Context, orgID, event string, since time.Time) (map[string]int, error) {
	rows, err := db.read.QueryContext(ctx, countAuditReasonsQuery, orgID, event, millis(since))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: count audit reasons: %w", err)
	}
	defer rows.Close()
	counts := map[string]int{}
	for rows.Next() {
		var (
			reason string
			n      int
		)
		if err := rows.Scan(&reason, &n); err != nil {
			return nil, fmt.Errorf("sqlstore: count audit reasons: %w", err)
		}
		counts[reason] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: count audit reasons: %w", err)
	}
	return counts, nil
}

const countAuditReasonsQuery = `
	SELECT reason, count(*) FROM audit_events
	WHERE org_id = $1 AND event = $2 AND at >= $3
	GROUP BY reason`

// ListAuditFiltered returns up to f.Limit events of f.OrgID, newest first,
// those with an ID below f.BeforeID (0 for the first page) that match every
// filter set: f.UserID as the subject or the actor, f.Event exactly, and a
// time at or after f.Since and before f.Until.
//
// The ids of the page are found first, from one index, and only those rows
// read. Which index depends on the filters, so that the work is bounded by
// the events of that user, or in that time window, never by the whole log:
//   - a user: the newest ids as the subject and as the actor, each from its
//     own index, merged. The other filters are written so that no index
//     serves them (the event with an empty string appended, the time with
//     a unary plus): an index on the event or the time holds far more rows
//     than any one user's;
//   - a time window: the ids in the window (of that event too, when set),
//     sorted. "+id" keeps the databases from walking the primary key
//     backwards instead, which with a LIMIT looks cheap but reads every
//     event newer than the window, and the whole log when fewer than a page
//     match;
//   - an event alone, or nothing: the (org_id, event, id) or (org_id, id)
//     index backwards.
func (db *DB) ListAuditFiltered(ctx context.Context, f gatehouse.AuditFilter) ([]*gatehouse.AuditEvent, error) {
	if f.Limit <= 0 {
		return []*gatehouse.AuditEvent{}, nil // SQLite reads a negative LIMIT as no limit at all
	}
	query, args := auditFilteredQuery(f)
	return db.queryAudit(ctx, "list audit filtered", query, args...)
}

// auditFilteredQuery writes ListAuditFiltered's query for f, whose Limit is
// positive.
func auditFilteredQuery(f gatehouse.AuditFilter) (query string, args []any) {
	beforeID := f.BeforeID
	if beforeID <= 0 {
		beforeID = math.MaxInt64
	}
	args = []any{f.OrgID, beforeID, f.Limit}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	// filters returns the conditions on the event and the time.
	filters := func(indexed bool) string {
		event, at := "event", "at"
		if !indexed {
			event, at = "event || ''", "+at"
		}
		var b strings.Builder
		if f.Event != "" {
			b.WriteString(" AND " + event + " = " + arg(f.Event))
		}
		if !f.Since.IsZero() {
			b.WriteString(" AND " + at + " >= " + arg(millis(f.Since)))
		}
		if !f.Until.IsZero() {
			b.WriteString(" AND " + at + " < " + arg(millis(f.Until)))
		}
		return b.String()
	}
	var ids string
	if f.UserID != "" {
		user, rest := arg(f.UserID), filters(false)
		ids = `
			SELECT id FROM (SELECT id FROM audit_events
				WHERE org_id = $1 AND user_id = ` + user + ` AND id < $2` + rest + `
				ORDER BY id DESC LIMIT $3) AS subject
			UNION ALL
			SELECT id FROM (SELECT id FROM audit_events
				WHERE org_id = $1 AND actor_id = ` + user + ` AND id < $2` + rest + `
				ORDER BY id DESC LIMIT $3) AS actor`
	} else {
		id := "id"
		if !f.Since.IsZero() || !f.Until.IsZero() {
			id = "+id"
		}
		ids = `
			SELECT id FROM audit_events
			WHERE org_id = $1 AND ` + id + ` < $2` + filters(true) + `
			ORDER BY ` + id + ` DESC LIMIT $3`
	}
	return `
		SELECT ` + auditColumns + ` FROM audit_events
		WHERE id IN (` + ids + `)
		ORDER BY id DESC LIMIT $3`, args
}

// rememberedBatch bounds the ids of one CountRememberedBrowsers query, far
// below the bound on parameters of either database.
const rememberedBatch = 500

// CountRememberedBrowsers returns how many unexpired remembered browsers each
// of the users of orgID has at now; a user without any is absent.
func (db *DB) CountRememberedBrowsers(ctx context.Context, orgID string, userIDs []string, now time.Time) (map[string]int, error) {
	counts := map[string]int{}
	for len(userIDs) > 0 {
		batch := userIDs[:min(len(userIDs), rememberedBatch)]
		userIDs = userIDs[len(batch):]
		args := []any{orgID, millis(now)}
		marks := make([]string, len(batch))
		for i, id := range batch {
			args = append(args, id)
			marks[i] = "$" + strconv.Itoa(len(args))
		}
		if err := db.countRemembered(ctx, counts, `
			SELECT user_id, count(*) FROM remembered_browsers
			WHERE org_id = $1 AND expires_at > $2 AND user_id IN (`+strings.Join(marks, ", ")+`)
			GROUP BY user_id`, args...); err != nil {
			return nil, fmt.Errorf("sqlstore: count remembered browsers: %w", err)
		}
	}
	return counts, nil
}

func (db *DB) countRemembered(ctx context.Context, counts map[string]int, query string, args ...any) error {
	rows, err := db.read.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			userID string
			n      int
		)
		if err := rows.Scan(&userID, &n); err != nil {
			return err
		}
		counts[userID] = n
	}
	return rows.Err()
}

// SetSessionReauth records that the session's user gave the password again
// at at. Returns ENOTFOUND if the session is gone (ended meanwhile, perhaps
// on another node).
func (db *DB) SetSessionReauth(ctx context.Context, hash []byte, at time.Time) error {
	res, err := db.write.ExecContext(ctx, `UPDATE sessions SET reauth_at = $2 WHERE token_hash = $1`, hash, millis(at))
	return updated(res, err, "Session", "set session reauth")
}
