package gatehouse

import (
	"context"
	"time"
)

// QueuedMail is a notice waiting in the outgoing-mail queue. Payload is the
// notice as the queue encoded it; it may hold a live password link, so the
// row is deleted once the message is sent.
type QueuedMail struct {
	ID        int64
	Kind      string
	To        string
	Payload   []byte
	Attempts  int // deliveries tried, the one being claimed included
	CreatedAt time.Time
}

// MailQueueStore is the durable queue of outgoing notices, drained by a
// worker on every node (internal/mailqueue).
type MailQueueStore interface {
	// EnqueueMail saves m (setting its ID) to be sent from now on, unless
	// the queue already holds max messages: then ok is false and nothing is
	// saved.
	EnqueueMail(ctx context.Context, m *QueuedMail, now time.Time, max int) (ok bool, err error)
	// ClaimMail takes up to limit messages due at now that no other claim
	// holds, holds them until now+lease and counts one attempt on each, in
	// one statement: two nodes never claim one message at once.
	ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*QueuedMail, error)
	// DeleteMail removes a message (sent, or given up on).
	DeleteMail(ctx context.Context, id int64) error
	// RetryMail gives up the claim on a message whose delivery failed; it
	// is due again at next.
	RetryMail(ctx context.Context, id int64, next time.Time) error
}
