package sqlstore

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// keepDefault is the retention the server purges with.
var keepDefault = gatehouse.Retention{Sends: gatehouse.SendRetention, Throttle: 24 * time.Hour}

// TestCleanUp holds the clean-up of expired rows to removing exactly what
// has expired, across the stores.
func TestCleanUp(t *testing.T) {
	forEachDB(t, func(t *testing.T, d engine) {
		t.Run("the throttle's window decides how long failure counts are kept", func(t *testing.T) {
			db := d.fresh(t)
			ctx := t.Context()
			const window = 48 * time.Hour
			if _, err := db.RecordFailure(ctx, "acct:slow", t0, window); err != nil {
				t.Fatal(err)
			}
			now := t0.Add(36 * time.Hour)
			if _, err := db.Purge(ctx, now, gatehouse.Retention{Sends: gatehouse.SendRetention, Throttle: window}); err != nil {
				t.Fatal(err)
			}
			if th, err := db.Throttle(ctx, "acct:slow"); err != nil || th.Failures != 1 {
				t.Errorf("a failure 36 h old under a 48 h window after the clean-up = %+v, %v; want it kept", th, err)
			}
			if _, err := db.Purge(ctx, now, gatehouse.Retention{Sends: gatehouse.SendRetention, Throttle: 24 * time.Hour}); err != nil {
				t.Fatal(err)
			}
			if th, err := db.Throttle(ctx, "acct:slow"); err != nil || th.Failures != 0 {
				t.Errorf("the same failure under a 24 h window = %+v, %v; want it gone", th, err)
			}
		})

		t.Run("a retention shorter than the windows is refused and removes nothing", func(t *testing.T) {
			db := d.fresh(t)
			ctx := t.Context()
			u := newUser(t, db, newOrg(t, db, "clinic").ID, "ann@example.com")
			if err := db.RecordSend(ctx, gatehouse.SendRecord{UserID: u.ID, Destination: u.Email, At: t0}); err != nil {
				t.Fatal(err)
			}
			for _, keep := range []gatehouse.Retention{
				{Sends: gatehouse.SendWindow - time.Second, Throttle: time.Hour},
				{Sends: gatehouse.SendRetention},
			} {
				if n, err := db.Purge(ctx, t0.Add(gatehouse.SendWindow), keep); err == nil || n != 0 {
					t.Errorf("Purge with %+v = %d, %v; want a refusal", keep, n, err)
				}
			}
			if c, err := db.CountSends(ctx, u.ID, u.Email, netip.Addr{}, t0); err != nil || c.User != 1 {
				t.Errorf("after the refused clean-ups the send counts %+v, %v; want the send kept", c, err)
			}
		})

		t.Run("the clean-up removes expired remembered browsers, used or expired reset links and stale failure counts", func(t *testing.T) {
			db := d.fresh(t)
			ctx := t.Context()
			u := newUser(t, db, newOrg(t, db, "clinic").ID, "ann@example.com")
			now := t0.Add(30 * 24 * time.Hour) // newBrowser's lifetime from t0

			newBrowser(t, db, u, "expired", t0) // expires at now
			liveBrowser := newBrowser(t, db, u, "live", t0.Add(time.Millisecond))

			for _, r := range []struct {
				token           string
				expires, usedAt time.Time // usedAt zero: never used
			}{
				{"expired", now, time.Time{}},
				{"used", now.Add(time.Hour), now.Add(-time.Minute)},
				{"used-and-expired", now.Add(-time.Millisecond), now.Add(-time.Hour)},
				{"live", now.Add(time.Millisecond), time.Time{}},
			} {
				// One live link per user: each link is another user's.
				owner := newUser(t, db, u.OrgID, r.token+"@example.com")
				if err := db.CreatePasswordReset(ctx, &gatehouse.PasswordReset{TokenHash: codeHash(r.token),
					OrgID: u.OrgID, UserID: owner.ID, Email: owner.Email, CreatedAt: t0, ExpiresAt: r.expires}); err != nil {
					t.Fatal(err)
				}
				if !r.usedAt.IsZero() {
					if _, err := db.ConsumePasswordReset(ctx, codeHash(r.token), r.usedAt); err != nil {
						t.Fatalf("ConsumePasswordReset(%s): %v", r.token, err)
					}
				}
			}

			const window = 24 * time.Hour
			for _, f := range []struct {
				key string
				at  time.Time
			}{
				{"ip:old", now.Add(-window - time.Millisecond)},
				{"ip:edge", now.Add(-window)}, // still within the window: a failure at now counts on
				{"acct:recent", now.Add(-time.Hour)},
				{"acct:recent", now.Add(-time.Hour)},
			} {
				if _, err := db.RecordFailure(ctx, f.key, f.at, window); err != nil {
					t.Fatal(err)
				}
			}

			keep := gatehouse.Retention{Sends: window, Throttle: window}
			n, err := db.Purge(ctx, now, keep)
			if err != nil {
				t.Fatal(err)
			}
			if n != 5 {
				t.Errorf("Purge removed %d, want 5 (a browser, three reset links and a failure count)", n)
			}
			if n, err := db.Purge(ctx, now, keep); err != nil || n != 0 {
				t.Errorf("Purge again = %d, %v; want 0, nil", n, err)
			}

			column := func(query string) []string {
				t.Helper()
				rows, err := db.read.QueryContext(ctx, query)
				if err != nil {
					t.Fatal(err)
				}
				defer rows.Close()
				var got []string
				for rows.Next() {
					var v string
					if err := rows.Scan(&v); err != nil {
						t.Fatal(err)
					}
					got = append(got, v)
				}
				if err := rows.Err(); err != nil {
					t.Fatal(err)
				}
				return got
			}
			if got := column(`SELECT id FROM remembered_browsers`); !slices.Equal(got, []string{liveBrowser.ID}) {
				t.Errorf("remembered_browsers keeps %v, want only the live one %s", got, liveBrowser.ID)
			}
			if got, err := db.FindRememberedBrowser(ctx, u.OrgID, u.ID, [][]byte{codeHash("live")}, now); err != nil || got.ID != liveBrowser.ID {
				t.Errorf("FindRememberedBrowser(live) after the clean-up = %v, %v; want %s", got, err, liveBrowser.ID)
			}
			var resets int
			if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM password_resets`).Scan(&resets); err != nil || resets != 1 {
				t.Errorf("password_resets keeps %d links (%v), want only the live one", resets, err)
			}
			if _, err := db.PasswordResetByTokenHash(ctx, codeHash("live"), now); err != nil {
				t.Errorf("PasswordResetByTokenHash(live) after the clean-up: %v", err)
			}
			if got := column(`SELECT key FROM login_throttle ORDER BY key`); !slices.Equal(got, []string{"acct:recent", "ip:edge"}) {
				t.Errorf("login_throttle keeps %v, want [acct:recent ip:edge]", got)
			}
			if th, err := db.Throttle(ctx, "acct:recent"); err != nil || th.Failures != 2 {
				t.Errorf("Throttle(acct:recent) after the clean-up = %+v, %v; want 2 failures", th, err)
			}
			// The row at the window's edge had to stay: it still counts.
			if th, err := db.RecordFailure(ctx, "ip:edge", now, window); err != nil || th.Failures != 2 {
				t.Errorf("RecordFailure(ip:edge) at now = %+v, %v; want 2 failures", th, err)
			}

			if db.Dialect() == "sqlite" {
				// Every statement of the clean-up searches an index: none walks
				// a whole table.
				for _, c := range cleanups {
					var args []any
					if c.arg != nil {
						args = append(args, millis(now))
					}
					plan := sqlitePlan(t, db, c.query, args...)
					for step := range strings.SplitSeq(plan, "\n") {
						if !strings.Contains(step, " INDEX ") {
							t.Errorf("%s: plan\n%s\nwant every step on an index", c.query, plan)
							break
						}
					}
				}
			}
		})
	})
}
