package sqlstore

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// TestConsole holds the admin console's queries to their contract.
func TestConsole(t *testing.T) {
	forEachDB(t, func(t *testing.T, d engine) {
		// The console's reads are all scoped to one organization, so its subtests
		// share one database, each in organizations of its own: every fresh
		// PostgreSQL schema costs a migration.
		t.Run("the admin console", func(t *testing.T) {
			db := d.fresh(t)

			t.Run("users are searched by e-mail or name, ignoring case, a page at a time, in one organization", func(t *testing.T) {
				ctx := t.Context()
				a, b := newOrg(t, db, "search-a"), newOrg(t, db, "search-b")
				mk := func(orgID, email, name string) *gatehouse.User {
					t.Helper()
					u := &gatehouse.User{ID: gatehouse.NewID(), OrgID: orgID, Email: email, Name: name,
						Role: gatehouse.RoleMember, Locale: "fi", CreatedAt: t0, UpdatedAt: t0}
					if err := db.CreateUser(ctx, u); err != nil {
						t.Fatal(err)
					}
					return u
				}
				ann := mk(a.ID, "ann@example.com", "Ann Smith")
				bob := mk(a.ID, "bob@example.com", "Bob ANNAN")
				carl := mk(a.ID, "carl@annex.example", "Carl")
				dave := mk(a.ID, "dave@example.com", "Dave")
				under := mk(a.ID, "a_b@example.com", "Under Score")
				mk(a.ID, "axb@example.com", "Not Underscore")
				pct := mk(a.ID, "pct@example.com", "50% Off")
				mk(a.ID, "five@example.com", "500 Off")
				back := mk(a.ID, "back@example.com", `Back\Slash`)
				mk(a.ID, "backx@example.com", "BackXSlash")
				mk(b.ID, "ann@example.com", "Ann of B")
				mk(b.ID, "annie@example.com", "Annie of B")

				search := func(orgID, query string, limit int) []*gatehouse.User {
					t.Helper()
					var all []*gatehouse.User
					after := ""
					for {
						page, err := db.SearchUsers(ctx, orgID, query, after, limit)
						if err != nil {
							t.Fatal(err)
						}
						if len(page) > limit {
							t.Fatalf("SearchUsers(%q) gave a page of %d, want at most %d", query, len(page), limit)
						}
						if len(page) == 0 {
							return all
						}
						all = append(all, page...)
						after = page[len(page)-1].Email
					}
				}
				for _, c := range []struct {
					query string
					want  []*gatehouse.User
				}{
					{"ann", []*gatehouse.User{ann, bob, carl}},
					{"ANN", []*gatehouse.User{ann, bob, carl}},
					{"aNnAn", []*gatehouse.User{bob}},
					{"@ANNEX.", []*gatehouse.User{carl}},
					{"dave@example.com", []*gatehouse.User{dave}},
					{"a_b", []*gatehouse.User{under}},
					{"50%", []*gatehouse.User{pct}},
					{`k\s`, []*gatehouse.User{back}},
					{`\`, []*gatehouse.User{back}},
					{"%", []*gatehouse.User{pct}},
					{"_", []*gatehouse.User{under}},
					{"nobody", nil},
				} {
					for _, limit := range []int{2, 100} {
						checkEqual(t, fmt.Sprintf("SearchUsers(%q) by pages of %d", c.query, limit), search(a.ID, c.query, limit), c.want)
					}
				}
				if got := search(a.ID, "", 3); len(got) != 10 {
					t.Errorf("SearchUsers(\"\") found %d users, want all 10", len(got))
				}
				if got, err := db.SearchUsers(ctx, a.ID, "ann", "", 0); err != nil || got == nil || len(got) != 0 {
					t.Errorf("SearchUsers(limit 0) = %v, %v; want an empty list", got, err)
				}
				if got := search(b.ID, "smith", 10); len(got) != 0 {
					t.Errorf("SearchUsers through another organization found %d users, want none", len(got))
				}
				if got := search(gatehouse.NewID(), "", 10); len(got) != 0 {
					t.Errorf("SearchUsers of a missing organization found %d users, want none", len(got))
				}
			})

			t.Run("user stats count each condition in one organization", func(t *testing.T) {
				ctx := t.Context()
				a, b := newOrg(t, db, "stats-a"), newOrg(t, db, "stats-b")
				since := t0.Add(-24 * time.Hour)
				mk := func(orgID, email string, edit func(u *gatehouse.User)) *gatehouse.User {
					t.Helper()
					u := &gatehouse.User{ID: gatehouse.NewID(), OrgID: orgID, Email: email, Phone: "+358401234567",
						Role: gatehouse.RoleMember, CreatedAt: t0, UpdatedAt: t0}
					edit(u)
					if err := db.CreateUser(ctx, u); err != nil {
						t.Fatal(err)
					}
					return u
				}
				mk(a.ID, "verified-at-since@example.com", func(u *gatehouse.User) { u.LastVerifiedAt = since })
				mk(a.ID, "verified-before@example.com", func(u *gatehouse.User) {
					u.LastVerifiedAt, u.Phone, u.OTPFailures = since.Add(-time.Millisecond), "", gatehouse.OTPLockFailures
				})
				emptyPhone := mk(a.ID, "never-verified@example.com", func(u *gatehouse.User) {
					u.OTPFailures, u.TwoFactorExempt = gatehouse.OTPLockFailures-1, true
				})
				mk(a.ID, "verified-after@example.com", func(u *gatehouse.User) {
					u.LastVerifiedAt, u.Disabled, u.TwoFactorExempt, u.OTPFailures = t0, true, true, gatehouse.OTPLockFailures+5
				})
				mk(b.ID, "other@example.com", func(u *gatehouse.User) {
					u.LastVerifiedAt, u.Phone, u.OTPFailures, u.Disabled, u.TwoFactorExempt = t0, "", gatehouse.OTPLockFailures, true, true
				})
				// The store writes no phone as NULL; an empty string written by
				// hand counts as none too.
				if _, err := db.write.ExecContext(ctx, `UPDATE users SET phone = '' WHERE id = $1`, emptyPhone.ID); err != nil {
					t.Fatal(err)
				}

				got, err := db.UserStats(ctx, a.ID, since)
				if err != nil {
					t.Fatal(err)
				}
				want := gatehouse.UserStats{Total: 4, VerifiedSince: 2, WithoutPhone: 2, Locked: 2, Exempt: 2, Disabled: 1}
				checkEqual(t, "UserStats", got, want)

				got, err = db.UserStats(ctx, a.ID, time.Time{})
				if err != nil {
					t.Fatal(err)
				}
				want.VerifiedSince = 3 // never verified is not verified since the beginning
				checkEqual(t, "UserStats since the zero time", got, want)

				got, err = db.UserStats(ctx, newOrg(t, db, "stats-empty").ID, since)
				if err != nil {
					t.Fatal(err)
				}
				checkEqual(t, "UserStats of an organization without users", got, gatehouse.UserStats{})
			})

			t.Run("audit reasons are counted for one event since a moment, in one organization", func(t *testing.T) {
				ctx := t.Context()
				a, b := newOrg(t, db, "reasons-a"), newOrg(t, db, "reasons-b")
				for _, e := range []gatehouse.AuditEvent{
					{OrgID: a.ID, Event: gatehouse.AuditLoginSucceeded, Reason: gatehouse.TwoFactorNotEnforced, At: t0.Add(-time.Millisecond)},
					{OrgID: a.ID, Event: gatehouse.AuditLoginSucceeded, Reason: gatehouse.TwoFactorNotEnforced, At: t0},
					{OrgID: a.ID, Event: gatehouse.AuditLoginSucceeded, Reason: gatehouse.TwoFactorVerified, At: t0.Add(2 * time.Second)},
					{OrgID: a.ID, Event: gatehouse.AuditLoginSucceeded, Reason: gatehouse.TwoFactorVerified, At: t0.Add(time.Second)},
					{OrgID: a.ID, Event: gatehouse.AuditLoginSucceeded, Reason: gatehouse.TwoFactorRemembered, At: t0.Add(time.Hour)},
					{OrgID: a.ID, Event: gatehouse.AuditLoginFailed, Reason: "password", At: t0.Add(time.Second)},
					{OrgID: b.ID, Event: gatehouse.AuditLoginSucceeded, Reason: gatehouse.TwoFactorNotEnforced, At: t0.Add(time.Second)},
					{OrgID: "", Event: gatehouse.AuditLoginSucceeded, Reason: gatehouse.TwoFactorNotEnforced, At: t0.Add(time.Second)},
				} {
					if err := db.AppendAudit(ctx, &e); err != nil {
						t.Fatal(err)
					}
				}
				for _, c := range []struct {
					orgID, event string
					since        time.Time
					want         map[string]int
				}{
					{a.ID, gatehouse.AuditLoginSucceeded, t0, map[string]int{
						gatehouse.TwoFactorNotEnforced: 1, gatehouse.TwoFactorVerified: 2, gatehouse.TwoFactorRemembered: 1}},
					{a.ID, gatehouse.AuditLoginSucceeded, t0.Add(-time.Hour), map[string]int{
						gatehouse.TwoFactorNotEnforced: 2, gatehouse.TwoFactorVerified: 2, gatehouse.TwoFactorRemembered: 1}},
					{a.ID, gatehouse.AuditLoginSucceeded, t0.Add(time.Hour), map[string]int{gatehouse.TwoFactorRemembered: 1}},
					{a.ID, gatehouse.AuditLoginSucceeded, t0.Add(time.Hour + time.Millisecond), map[string]int{}},
					{a.ID, gatehouse.AuditLoginFailed, t0, map[string]int{"password": 1}},
					{b.ID, gatehouse.AuditLoginSucceeded, t0, map[string]int{gatehouse.TwoFactorNotEnforced: 1}},
					{gatehouse.NewID(), gatehouse.AuditLoginSucceeded, time.Time{}, map[string]int{}},
				} {
					got, err := db.CountAuditReasons(ctx, c.orgID, c.event, c.since)
					if err != nil {
						t.Fatal(err)
					}
					checkEqual(t, fmt.Sprintf("CountAuditReasons(%s since %v)", c.event, c.since), got, c.want)
				}
			})

			t.Run("the audit log is filtered by user, event and time, newest first, a page at a time, in one organization", func(t *testing.T) {
				ctx := t.Context()
				a, b := newOrg(t, db, "audit-a"), newOrg(t, db, "audit-b")
				users := []string{"ann", "bob", "cat"}
				events := []string{gatehouse.AuditLoginSucceeded, gatehouse.AuditLoginFailed, gatehouse.AuditCodeSent, gatehouse.AuditUserUnlocked}
				var all []*gatehouse.AuditEvent // every event appended, oldest first
				for i := range 40 {
					e := &gatehouse.AuditEvent{
						OrgID:  []string{a.ID, a.ID, a.ID, b.ID, ""}[i%5],
						UserID: users[i%3],
						Event:  events[i%4],
						Reason: fmt.Sprint("r", i),
						// Not in the order of the ids, as from nodes whose clocks
						// differ: the list is in id order all the same.
						At: t0.Add(time.Duration((i*7)%40) * time.Minute),
					}
					if i%6 == 0 {
						e.ActorID = "adm"
					}
					if i%7 == 0 {
						e.ActorID = "ann"
					}
					if i%2 == 0 {
						e.ClientIP, e.Detail = netip.MustParseAddr("203.0.113.9"), map[string]string{"i": fmt.Sprint(i)}
					}
					if err := db.AppendAudit(ctx, e); err != nil {
						t.Fatal(err)
					}
					all = append(all, e)
				}
				// matching is the filter's meaning, written plainly.
				matching := func(f gatehouse.AuditFilter) []*gatehouse.AuditEvent {
					var want []*gatehouse.AuditEvent
					for _, e := range slices.Backward(all) {
						if e.OrgID == f.OrgID &&
							(f.UserID == "" || e.UserID == f.UserID || e.ActorID == f.UserID) &&
							(f.Event == "" || e.Event == f.Event) &&
							(f.Since.IsZero() || !e.At.Before(f.Since)) &&
							(f.Until.IsZero() || e.At.Before(f.Until)) {
							want = append(want, e)
						}
					}
					return want
				}
				at := func(minutes int) time.Time { return t0.Add(time.Duration(minutes) * time.Minute) }
				for _, f := range []gatehouse.AuditFilter{
					{OrgID: a.ID},
					{OrgID: a.ID, UserID: "ann"}, // the subject, or the actor
					{OrgID: a.ID, UserID: "adm"}, // only ever the actor
					{OrgID: a.ID, UserID: "bob"},
					{OrgID: a.ID, Event: gatehouse.AuditLoginFailed},
					{OrgID: a.ID, Since: at(10)},
					{OrgID: a.ID, Until: at(10)},
					{OrgID: a.ID, Since: at(7), Until: at(21)},
					{OrgID: a.ID, Event: gatehouse.AuditCodeSent, Since: at(14)},
					{OrgID: a.ID, Event: gatehouse.AuditLoginSucceeded, Until: at(30)},
					{OrgID: a.ID, UserID: "ann", Event: gatehouse.AuditLoginSucceeded},
					{OrgID: a.ID, UserID: "ann", Since: at(5), Until: at(35)},
					{OrgID: a.ID, UserID: "adm", Event: gatehouse.AuditCodeSent, Since: at(1)},
					{OrgID: b.ID, UserID: "ann"},
					{OrgID: b.ID, Event: gatehouse.AuditLoginSucceeded, Since: at(3)},
					{OrgID: "", UserID: "cat"},
				} {
					want := matching(f)
					if len(want) == 0 {
						t.Fatalf("the filter %+v matches nothing: a useless case", f)
					}
					for _, limit := range []int{2, 3, 100} {
						var got []*gatehouse.AuditEvent
						f := f
						f.Limit = limit
						for range 50 {
							page, err := db.ListAuditFiltered(ctx, f)
							if err != nil {
								t.Fatal(err)
							}
							if len(page) > limit {
								t.Fatalf("%+v: a page of %d, want at most %d", f, len(page), limit)
							}
							if len(page) == 0 {
								break
							}
							got = append(got, page...)
							f.BeforeID = page[len(page)-1].ID
						}
						checkEqual(t, fmt.Sprintf("ListAuditFiltered(%+v) by pages of %d", f, limit), got, want)
					}
				}
				for _, f := range []gatehouse.AuditFilter{
					{OrgID: a.ID, Limit: 10, UserID: "nobody"},
					{OrgID: a.ID, Limit: 10, Event: "no.such.event"},
					{OrgID: a.ID, Limit: 10, Since: at(40)},
					{OrgID: a.ID, Limit: 10, Since: at(10), Until: at(10)},
					{OrgID: a.ID, Limit: 10, BeforeID: all[0].ID},
					{OrgID: gatehouse.NewID(), Limit: 10},
					{OrgID: a.ID, Limit: 0},
				} {
					if got, err := db.ListAuditFiltered(ctx, f); err != nil || got == nil || len(got) != 0 {
						t.Errorf("ListAuditFiltered(%+v) = %d events, %v; want an empty list", f, len(got), err)
					}
				}
			})

			t.Run("remembered browsers are counted per user, without the expired or another organization's", func(t *testing.T) {
				ctx := t.Context()
				a, b := newOrg(t, db, "remember-a"), newOrg(t, db, "remember-b")
				ann, bob := newUser(t, db, a.ID, "ann@example.com"), newUser(t, db, a.ID, "bob@example.com")
				cat := newUser(t, db, a.ID, "cat@example.com")
				dan := newUser(t, db, b.ID, "dan@example.com")
				old := newBrowser(t, db, ann, "ann-old", t0) // expires at t0+30d: now
				newBrowser(t, db, ann, "ann-1", t0.Add(24*time.Hour))
				newBrowser(t, db, ann, "ann-2", t0.Add(48*time.Hour))
				newBrowser(t, db, bob, "bob", t0.Add(24*time.Hour))
				newBrowser(t, db, dan, "dan", t0.Add(24*time.Hour))
				now := old.ExpiresAt

				got, err := db.CountRememberedBrowsers(ctx, a.ID, []string{ann.ID, bob.ID, cat.ID, dan.ID, gatehouse.NewID()}, now)
				if err != nil {
					t.Fatal(err)
				}
				checkEqual(t, "CountRememberedBrowsers", got, map[string]int{ann.ID: 2, bob.ID: 1})

				got, err = db.CountRememberedBrowsers(ctx, a.ID, []string{ann.ID}, now.Add(-time.Millisecond))
				if err != nil {
					t.Fatal(err)
				}
				checkEqual(t, "CountRememberedBrowsers just before the first expires", got, map[string]int{ann.ID: 3})

				got, err = db.CountRememberedBrowsers(ctx, b.ID, []string{ann.ID, bob.ID, dan.ID}, now)
				if err != nil {
					t.Fatal(err)
				}
				checkEqual(t, "CountRememberedBrowsers in the other organization", got, map[string]int{dan.ID: 1})

				for _, c := range []struct {
					org  string
					at   time.Time
					want int
				}{{a.ID, now, 3}, {a.ID, now.Add(-time.Millisecond), 4}, {b.ID, now, 1}, {gatehouse.NewID(), now, 0}} {
					if n, err := db.CountOrgRememberedBrowsers(ctx, c.org, c.at); err != nil || n != c.want {
						t.Errorf("CountOrgRememberedBrowsers(%s, %v) = %d, %v; want %d", c.org, c.at, n, err, c.want)
					}
				}

				for _, ids := range [][]string{nil, {}} {
					got, err := db.CountRememberedBrowsers(ctx, a.ID, ids, now)
					if err != nil || got == nil || len(got) != 0 {
						t.Errorf("CountRememberedBrowsers(%#v) = %v, %v; want an empty map", ids, got, err)
					}
				}

				// More ids than one query takes, with the users in different
				// batches.
				many := make([]string, 2*rememberedBatch+10)
				for i := range many {
					many[i] = gatehouse.NewID()
				}
				many[3], many[rememberedBatch+5], many[len(many)-1] = ann.ID, bob.ID, ann.ID
				got, err = db.CountRememberedBrowsers(ctx, a.ID, many, now)
				if err != nil {
					t.Fatal(err)
				}
				checkEqual(t, "CountRememberedBrowsers of many users", got, map[string]int{ann.ID: 2, bob.ID: 1})
			})

			t.Run("a session's re-authentication is recorded and read back", func(t *testing.T) {
				ctx := t.Context()
				u := newUser(t, db, newOrg(t, db, "reauth").ID, "ann@example.com")
				hash := []byte("reauth-session")
				newSession(t, db, u, hash)
				if s, err := db.SessionByTokenHash(ctx, hash); err != nil || !s.ReauthAt.IsZero() {
					t.Fatalf("a new session: %+v, %v; want a zero ReauthAt", s, err)
				}
				helsinki := time.FixedZone("EET", 2*60*60)
				for _, at := range []time.Time{
					time.Date(2026, 11, 27, 12, 0, 0, 456_789_000, helsinki),
					time.Date(2026, 11, 27, 13, 0, 0, 0, helsinki),
				} {
					if err := db.SetSessionReauth(ctx, hash, at); err != nil {
						t.Fatal(err)
					}
					s, err := db.SessionByTokenHash(ctx, hash)
					if err != nil {
						t.Fatal(err)
					}
					if want := at.Truncate(time.Millisecond).UTC(); s.ReauthAt != want {
						t.Errorf("after SetSessionReauth(%v): ReauthAt = %v, want %v", at, s.ReauthAt, want)
					}
					if s.CreatedAt != t0 || s.LastSeenAt != t0 {
						t.Errorf("SetSessionReauth moved the other times: %+v", s)
					}
				}
				checkCode(t, "SetSessionReauth of a missing session", db.SetSessionReauth(ctx, []byte("gone"), t0), gatehouse.ENOTFOUND)
			})

			t.Run("ten thousand users of one organization are searched and counted", func(t *testing.T) {
				ctx := t.Context()
				org := newOrg(t, db, "large")
				const n = 10_000
				since := t0.Add(-time.Hour)
				// One statement: a row generator inserts them in a fraction of a
				// second on both databases. The users vary as the loop below
				// expects.
				start := time.Now()
				if _, err := db.write.ExecContext(ctx, `
					WITH RECURSIVE seq (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < $2)
					INSERT INTO users (id, org_id, email, name, phone, role, disabled, two_factor_exempt,
						password_hash, otp_failures, otp_last_failure_at, last_verified_at, locale, created_at, updated_at)
					SELECT $1 || '-' || i, $1, 'user' || i || '@example.com', 'Person ' || i,
						CASE WHEN i % 3 = 0 THEN NULL WHEN i % 3 = 1 THEN '' ELSE '+35840' || i END,
						'member', i % 11 = 0, i % 13 = 0, NULL, i % 101, 0,
						CASE WHEN i % 5 = 0 THEN CAST($3 AS bigint) WHEN i % 5 = 1 THEN CAST($3 AS bigint) - 1 ELSE 0 END,
						'en', CAST($4 AS bigint), CAST($4 AS bigint)
					FROM seq`, org.ID, n, millis(since), millis(t0)); err != nil {
					t.Fatal(err)
				}
				t.Logf("inserted %d users in %v", n, time.Since(start))
				var want gatehouse.UserStats
				var wantEmails []string
				for i := 1; i <= n; i++ {
					want.Total++
					if i%5 == 0 {
						want.VerifiedSince++
					}
					if i%3 != 2 {
						want.WithoutPhone++
					}
					if i%101 >= gatehouse.OTPLockFailures {
						want.Locked++
					}
					if i%13 == 0 {
						want.Exempt++
					}
					if i%11 == 0 {
						want.Disabled++
					}
					if e := fmt.Sprintf("user%d@example.com", i); strings.Contains(e, "user12") {
						wantEmails = append(wantEmails, e)
					}
				}
				slices.Sort(wantEmails)

				start = time.Now()
				got, err := db.UserStats(ctx, org.ID, since)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("UserStats in %v", time.Since(start))
				checkEqual(t, "UserStats", got, want)

				start = time.Now()
				var emails []string
				after := ""
				for {
					page, err := db.SearchUsers(ctx, org.ID, "USER12", after, 50)
					if err != nil {
						t.Fatal(err)
					}
					if len(page) == 0 {
						break
					}
					for _, u := range page {
						emails = append(emails, u.Email)
					}
					after = page[len(page)-1].Email
				}
				t.Logf("SearchUsers: %d users in pages of 50 in %v", len(emails), time.Since(start))
				if !slices.Equal(emails, wantEmails) {
					t.Errorf("SearchUsers(USER12) found %d users %v…, want %d", len(emails), emails[:min(len(emails), 5)], len(wantEmails))
				}
				byName, err := db.SearchUsers(ctx, org.ID, "person 999", "", 50)
				if err != nil {
					t.Fatal(err)
				}
				if len(byName) != 11 { // 999 and 9990 to 9999
					t.Errorf("SearchUsers(person 999) found %d users, want 11", len(byName))
				}

				if db.Dialect() == "sqlite" {
					// Paging walks the (org_id, email) index: no sort of the
					// organization's users for each page.
					index := sqliteIndexOn(t, db, "users", "org_id", "email")
					plan := sqlitePlan(t, db, searchUsersQuery, org.ID, "user5@example.com", "%user12%", 50)
					if !strings.Contains(plan, "USING INDEX "+index+" (org_id=? AND email>?)") || strings.Contains(plan, "TEMP B-TREE") {
						t.Errorf("SearchUsers' plan:\n%s\nwant a search of %s on org_id and email, without a temporary b-tree", plan, index)
					}
				}
			})
		})
	})
}
