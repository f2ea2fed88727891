// Package mailqueue sends notices (password and welcome links, "your phone
// was added", wrong codes, changes of contact details) through a durable
// queue in the database, drained by a worker on every node, so that no
// request waits for the mail server: how long a forgot-password request
// takes no longer tells whether the account exists, and a slow or failing
// mail server delays a notice instead of losing it.
//
// Sign-in codes are not queued: the user is waiting for them, and the
// sign-in reports a failed delivery at once. SendCode passes them straight
// to the messenger.
//
// The queue holds live reset and welcome links until they are sent: rows
// are deleted once delivered (or given up on), and the table is bounded.
package mailqueue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// Defaults of Config.
const (
	DefaultDeliveryTimeout = 10 * time.Second
	DefaultMaxQueued       = 10000
	DefaultPoll            = 5 * time.Second
	DefaultMaxAttempts     = 8
	// FirstRetry doubles after every failed attempt, up to MaxRetry: eight
	// attempts span about an hour, the life of a reset link.
	FirstRetry = 30 * time.Second
	MaxRetry   = 30 * time.Minute
)

// batch is how many messages one claim takes.
const batch = 10

// ErrFull is what Notify returns when the queue holds MaxQueued messages.
var ErrFull = errors.New("mailqueue: the outgoing-mail queue is full")

// Config is what a Queue needs; Store and Messenger are required.
type Config struct {
	Store gatehouse.MailQueueStore
	// Messenger delivers: codes at once, notices from the queue.
	Messenger gatehouse.Messenger
	Logger    *slog.Logger
	// Now is the clock of due times and claims; nil means time.Now.
	Now func() time.Time
	// DeliveryTimeout bounds one delivery; a claim lasts four times as
	// long, so no other node takes a message while it is being sent.
	DeliveryTimeout time.Duration
	// MaxQueued bounds the table (default 10,000).
	MaxQueued int
	// Poll is how often an idle worker looks for messages other nodes
	// queued or that are due again (default 5 s).
	Poll time.Duration
	// MaxAttempts failed deliveries drop a message (default 8).
	MaxAttempts int
	// ObserveDelivery, when set, is told "queued_notice" and "sent" or
	// "failed" for every delivery tried from the queue, for metrics.
	ObserveDelivery func(channel, result string)
}

// Queue is a gatehouse.Messenger that queues notices and delivers codes
// inline; Run drains the queue.
type Queue struct {
	cfg  Config
	log  *slog.Logger
	wake chan struct{}
}

var _ gatehouse.Messenger = (*Queue)(nil)

// New checks cfg and fills in its defaults.
func New(cfg Config) (*Queue, error) {
	if cfg.Store == nil || cfg.Messenger == nil {
		return nil, errors.New("mailqueue: Store and Messenger are required")
	}
	if cfg.DeliveryTimeout <= 0 {
		cfg.DeliveryTimeout = DefaultDeliveryTimeout
	}
	if cfg.MaxQueued <= 0 {
		cfg.MaxQueued = DefaultMaxQueued
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Queue{cfg: cfg, log: log, wake: make(chan struct{}, 1)}, nil
}

// SendCode delivers a code at once: the user is waiting for it.
func (q *Queue) SendCode(ctx context.Context, m gatehouse.CodeMessage) error {
	return q.cfg.Messenger.SendCode(ctx, m)
}

// Notify queues a notice and wakes this node's worker; it never waits for
// the mail server. Returns ErrFull when the queue is full.
func (q *Queue) Notify(ctx context.Context, n gatehouse.Notice) error {
	payload, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("mailqueue: encode notice: %w", err)
	}
	ok, err := q.cfg.Store.EnqueueMail(ctx, &gatehouse.QueuedMail{Kind: n.Kind, To: n.To, Payload: payload}, q.cfg.Now(), q.cfg.MaxQueued)
	if err != nil {
		return fmt.Errorf("mailqueue: %w", err)
	}
	if !ok {
		return ErrFull
	}
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return nil
}

// Run drains the queue until ctx ends: at once when this node queues a
// notice, and every Poll for what other nodes queued or what is due again.
// A delivery under way when ctx ends is finished first.
func (q *Queue) Run(ctx context.Context) {
	t := time.NewTicker(q.cfg.Poll)
	defer t.Stop()
	for {
		if _, err := q.Drain(ctx); err != nil && ctx.Err() == nil {
			q.log.ErrorContext(ctx, "outgoing mail queue failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-q.wake:
		case <-t.C:
		}
	}
}

// Drain delivers every message due now, until none is left or ctx ends,
// and returns how many it sent. A failed delivery is due again after a
// back-off; after MaxAttempts it is dropped and logged.
func (q *Queue) Drain(ctx context.Context) (int, error) {
	sent := 0
	for ctx.Err() == nil {
		// The store calls and deliveries of a claimed batch outlive ctx,
		// so that shutting down never strands a claim half-done.
		bctx := context.WithoutCancel(ctx)
		ms, err := q.cfg.Store.ClaimMail(bctx, q.cfg.Now(), 4*q.cfg.DeliveryTimeout, batch)
		if err != nil {
			return sent, fmt.Errorf("mailqueue: %w", err)
		}
		if len(ms) == 0 {
			return sent, nil
		}
		for _, m := range ms {
			ok, err := q.deliver(bctx, m)
			if err != nil {
				return sent, err
			}
			if ok {
				sent++
			}
		}
	}
	return sent, nil
}

// deliver sends one claimed message and deletes it, or schedules its retry.
func (q *Queue) deliver(ctx context.Context, m *gatehouse.QueuedMail) (bool, error) {
	var n gatehouse.Notice
	if err := json.Unmarshal(m.Payload, &n); err != nil {
		q.log.ErrorContext(ctx, "dropped an unreadable queued notice", "mail_id", m.ID, "kind", m.Kind, "error", err)
		return false, q.delete(ctx, m)
	}
	dctx, cancel := context.WithTimeout(ctx, q.cfg.DeliveryTimeout)
	err := q.cfg.Messenger.Notify(dctx, n)
	cancel()
	if err == nil {
		q.observe("sent")
		return true, q.delete(ctx, m)
	}
	q.observe("failed")
	if m.Attempts >= q.cfg.MaxAttempts {
		q.log.ErrorContext(ctx, "gave up on a notice", "mail_id", m.ID, "kind", m.Kind, "attempts", m.Attempts, "error", err)
		return false, q.delete(ctx, m)
	}
	next := q.cfg.Now().Add(Backoff(m.Attempts))
	q.log.WarnContext(ctx, "notice delivery failed; will retry", "mail_id", m.ID, "kind", m.Kind, "attempts", m.Attempts,
		"retry_at", next, "error", err)
	if err := q.cfg.Store.RetryMail(ctx, m.ID, next); err != nil {
		return false, fmt.Errorf("mailqueue: %w", err)
	}
	return false, nil
}

func (q *Queue) delete(ctx context.Context, m *gatehouse.QueuedMail) error {
	if err := q.cfg.Store.DeleteMail(ctx, m.ID); err != nil {
		return fmt.Errorf("mailqueue: %w", err)
	}
	return nil
}

func (q *Queue) observe(result string) {
	if q.cfg.ObserveDelivery != nil {
		q.cfg.ObserveDelivery("queued_notice", result)
	}
}

// Backoff is the wait after the given number of failed attempts.
func Backoff(attempts int) time.Duration {
	w := FirstRetry
	for i := 1; i < attempts && w < MaxRetry; i++ {
		w *= 2
	}
	return min(w, MaxRetry)
}
