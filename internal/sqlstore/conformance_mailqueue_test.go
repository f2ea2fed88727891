package sqlstore

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
)

func TestMailQueue(t *testing.T) {
	forEachDB(t, func(t *testing.T, d engine) {
		enqueue := func(t *testing.T, db *DB, to string, at time.Time) *gatehouse.QueuedMail {
			t.Helper()
			m := &gatehouse.QueuedMail{Kind: gatehouse.NoticeWrongCodes, To: to, Payload: []byte(`{"to":"` + to + `"}`)}
			if ok, err := db.EnqueueMail(t.Context(), m, at, 1000); err != nil || !ok {
				t.Fatalf("EnqueueMail = %v, %v; want true, nil", ok, err)
			}
			return m
		}

		t.Run("a message is claimed once, retried when due, reclaimed after its lease, and gone once deleted", func(t *testing.T) {
			db := d.nodes(t, 1)[0]
			ctx := t.Context()
			m := enqueue(t, db, "ann@example.com", t0)
			got, err := db.ClaimMail(ctx, t0, time.Minute, 10)
			if err != nil || len(got) != 1 {
				t.Fatalf("ClaimMail = %v, %v; want the message", got, err)
			}
			want := &gatehouse.QueuedMail{ID: m.ID, Kind: m.Kind, To: m.To, Payload: m.Payload, Attempts: 1, CreatedAt: t0}
			checkEqual(t, "ClaimMail", got[0], want)
			if got, err := db.ClaimMail(ctx, t0.Add(59*time.Second), time.Minute, 10); err != nil || len(got) != 0 {
				t.Errorf("a claimed message was claimed again within its lease: %v, %v", got, err)
			}
			if got, err := db.ClaimMail(ctx, t0.Add(time.Minute), time.Minute, 10); err != nil || len(got) != 1 || got[0].Attempts != 2 {
				t.Errorf("after the lease ran out: %v, %v; want the message on its second attempt", got, err)
			}
			if err := db.RetryMail(ctx, m.ID, t0.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if got, err := db.ClaimMail(ctx, t0.Add(time.Hour-time.Millisecond), time.Minute, 10); err != nil || len(got) != 0 {
				t.Errorf("a message was claimed before it was due again: %v, %v", got, err)
			}
			if got, err := db.ClaimMail(ctx, t0.Add(time.Hour), time.Minute, 10); err != nil || len(got) != 1 {
				t.Errorf("a message due again was not claimed: %v, %v", got, err)
			}
			if err := db.DeleteMail(ctx, m.ID); err != nil {
				t.Fatal(err)
			}
			if n, err := db.CountMail(ctx); err != nil || n != 0 {
				t.Errorf("CountMail after the delete = %d, %v; want 0", n, err)
			}
		})

		t.Run("forty claimers on two nodes take each of forty messages exactly once", func(t *testing.T) {
			dbs := d.nodes(t, 2)
			const n = 40
			for i := range n {
				enqueue(t, dbs[0], fmt.Sprintf("user%d@example.com", i), t0)
			}
			claims := make([][]*gatehouse.QueuedMail, n)
			race(t, n, func(i int) (bool, error) {
				var err error
				claims[i], err = dbs[i%2].ClaimMail(t.Context(), t0.Add(time.Second), time.Minute, 3)
				return true, err
			})
			seen := map[int64]int{}
			for i := range n {
				for _, m := range claims[i] {
					seen[m.ID]++
				}
			}
			for id, k := range seen {
				if k != 1 {
					t.Errorf("message %d was claimed %d times", id, k)
				}
			}
			// Claimers that found every row taken get nothing; a second
			// round takes what the first left.
			rest, err := dbs[1].ClaimMail(t.Context(), t0.Add(time.Second), time.Minute, n)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range rest {
				if seen[m.ID]++; seen[m.ID] > 1 {
					t.Errorf("message %d was claimed again within its lease", m.ID)
				}
			}
			if len(seen) != n {
				t.Errorf("%d messages were claimed, want %d", len(seen), n)
			}
		})

		t.Run("forty messages queued at once on two nodes stop at the bound", func(t *testing.T) {
			dbs := d.nodes(t, 2)
			const n, bound = 40, 10
			got := race(t, n, func(i int) (bool, error) {
				return dbs[i%2].EnqueueMail(t.Context(), &gatehouse.QueuedMail{Kind: "k", To: "x@example.com", Payload: []byte("{}")}, t0, bound)
			})
			if got != bound {
				t.Errorf("%d messages were queued, want %d", got, bound)
			}
			if c, err := dbs[0].CountMail(t.Context()); err != nil || c != bound {
				t.Errorf("CountMail = %d, %v; want %d", c, err, bound)
			}
		})
	})
}

// TestOutbox holds the outbox of messages to its contract.
func TestOutbox(t *testing.T) {
	forEachDB(t, func(t *testing.T, d engine) {
		t.Run("the outbox lists messages newest first", func(t *testing.T) {
			db := d.fresh(t)
			ctx := t.Context()
			var msgs []*gatehouse.OutboxMessage
			for i, ch := range []string{"email", "sms", "email"} {
				m := &gatehouse.OutboxMessage{Channel: ch, To: fmt.Sprintf("to-%d", i), Subject: "Your code",
					Body: "Your code is 123456.\n\n@gatehouse.example #123456", CreatedAt: t0.Add(time.Duration(i) * time.Second)}
				if err := db.AddOutboxMessage(ctx, m); err != nil {
					t.Fatal(err)
				}
				msgs = append(msgs, m)
			}
			got, err := db.ListOutboxMessages(ctx, 2)
			if err != nil {
				t.Fatal(err)
			}
			checkEqual(t, "ListOutboxMessages", got, []*gatehouse.OutboxMessage{msgs[2], msgs[1]})
		})
	})
}
