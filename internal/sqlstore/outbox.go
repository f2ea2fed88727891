package sqlstore

import (
	"context"
	"fmt"

	"github.com/gatehousehq/gatehouse"
)

// AddOutboxMessage saves m and sets its ID.
func (db *DB) AddOutboxMessage(ctx context.Context, m *gatehouse.OutboxMessage) error {
	err := db.write.QueryRowContext(ctx, `
		INSERT INTO outbox_messages (channel, recipient, subject, body, created_at)
		VALUES ($1, $2, $3, $4, $5)
		RETURNING id`,
		m.Channel, m.To, m.Subject, m.Body, millis(m.CreatedAt)).Scan(&m.ID)
	if err != nil {
		return fmt.Errorf("sqlstore: add outbox message: %w", err)
	}
	return nil
}

// ListOutboxMessages returns up to limit messages, newest first.
func (db *DB) ListOutboxMessages(ctx context.Context, limit int) ([]*gatehouse.OutboxMessage, error) {
	msgs := []*gatehouse.OutboxMessage{}
	if limit <= 0 {
		return msgs, nil // SQLite reads a negative LIMIT as no limit at all
	}
	rows, err := db.read.QueryContext(ctx, `
		SELECT id, channel, recipient, subject, body, created_at
		FROM outbox_messages ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list outbox messages: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			m       gatehouse.OutboxMessage
			created int64
		)
		if err := rows.Scan(&m.ID, &m.Channel, &m.To, &m.Subject, &m.Body, &created); err != nil {
			return nil, fmt.Errorf("sqlstore: list outbox messages: %w", err)
		}
		m.CreatedAt = fromMillis(created)
		msgs = append(msgs, &m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list outbox messages: %w", err)
	}
	return msgs, nil
}
