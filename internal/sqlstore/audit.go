package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"

	"github.com/gatehousehq/gatehouse"
)

// AppendAudit saves e and sets its ID.
func (db *DB) AppendAudit(ctx context.Context, e *gatehouse.AuditEvent) error {
	if err := appendAudit(ctx, db.write, e); err != nil {
		return fmt.Errorf("sqlstore: append audit: %w", err)
	}
	return nil
}

// rowQuerier is a *sql.DB or a *sql.Tx.
type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// appendAudit saves e through q (the writer, or a transaction that saves
// the event with what it records) and sets its ID.
func appendAudit(ctx context.Context, q rowQuerier, e *gatehouse.AuditEvent) error {
	detail := []byte("{}")
	if len(e.Detail) > 0 {
		detail, _ = json.Marshal(e.Detail) // a map[string]string always marshals
	}
	return q.QueryRowContext(ctx, `
		INSERT INTO audit_events (org_id, user_id, actor_id, event, reason, client_ip, detail, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		RETURNING id`,
		e.OrgID, e.UserID, e.ActorID, e.Event, e.Reason, addrText(e.ClientIP), string(detail), millis(e.At)).
		Scan(&e.ID)
}

// ListAudit returns up to limit events of orgID, newest first, those with an
// ID below beforeID (0 for the first page). An event without detail comes
// back with a nil Detail.
func (db *DB) ListAudit(ctx context.Context, orgID string, beforeID int64, limit int) ([]*gatehouse.AuditEvent, error) {
	if limit <= 0 {
		return []*gatehouse.AuditEvent{}, nil // SQLite reads a negative LIMIT as no limit at all
	}
	if beforeID <= 0 {
		beforeID = math.MaxInt64 // one plain range condition: the index serves every page alike
	}
	return db.queryAudit(ctx, "list audit", `
		SELECT `+auditColumns+` FROM audit_events
		WHERE org_id = $1 AND id < $2
		ORDER BY id DESC LIMIT $3`, orgID, beforeID, limit)
}

const auditColumns = `id, org_id, user_id, actor_id, event, reason, client_ip, detail, at`

// queryAudit runs a query that selects auditColumns and scans every row.
func (db *DB) queryAudit(ctx context.Context, op, query string, args ...any) ([]*gatehouse.AuditEvent, error) {
	rows, err := db.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	defer rows.Close()
	events := []*gatehouse.AuditEvent{}
	for rows.Next() {
		var (
			e          gatehouse.AuditEvent
			ip, detail string
			at         int64
		)
		if err := rows.Scan(&e.ID, &e.OrgID, &e.UserID, &e.ActorID, &e.Event, &e.Reason, &ip, &detail, &at); err != nil {
			return nil, fmt.Errorf("sqlstore: %s: %w", op, err)
		}
		if e.ClientIP, err = parseAddr(ip); err != nil {
			return nil, fmt.Errorf("sqlstore: %s: event %d: client_ip: %w", op, e.ID, err)
		}
		if err := json.Unmarshal([]byte(detail), &e.Detail); err != nil {
			return nil, fmt.Errorf("sqlstore: %s: event %d: detail: %w", op, e.ID, err)
		}
		if len(e.Detail) == 0 {
			e.Detail = nil
		}
		e.At = fromMillis(at)
		events = append(events, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	return events, nil
}
