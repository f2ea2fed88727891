package sqlstore

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// TestSessions holds the session store to its contract (the listing for
// the user is TestSessionListing).
func TestSessions(t *testing.T) {
	forEachDB(t, func(t *testing.T, d engine) {
		t.Run("a session cannot name a user of another organization", func(t *testing.T) {
			db := d.fresh(t)
			a, b := newOrg(t, db, "clinic-a"), newOrg(t, db, "clinic-b")
			u := newUser(t, db, a.ID, "ann@example.com")
			s := &gatehouse.Session{TokenHash: []byte("h"), UserID: u.ID, OrgID: b.ID, TwoFactorState: gatehouse.TwoFactorVerified,
				CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour)}
			checkCode(t, "CreateSession", db.CreateSession(t.Context(), s), gatehouse.ENOTFOUND)
		})

		t.Run("a sign-in's session, audit, end of its pending sign-in and remembered browser are one write", func(t *testing.T) {
			db := d.fresh(t)
			ctx := t.Context()
			a, b := newOrg(t, db, "clinic-a"), newOrg(t, db, "clinic-b")
			u := newUser(t, db, a.ID, "ann@example.com")
			pending := func() *gatehouse.Challenge {
				c := &gatehouse.Challenge{ID: gatehouse.NewID(), TokenHash: codeHash(gatehouse.NewID()), Kind: gatehouse.ChallengeLogin, OrgID: a.ID, UserID: u.ID,
					Channel: gatehouse.OTPEmail, Step: 1, CreatedAt: t0, ExpiresAt: t0.Add(gatehouse.ChallengeLifetime)}
				if err := db.CreateChallenge(ctx, c); err != nil {
					t.Fatal(err)
				}
				return c
			}
			start := func(orgID string, c *gatehouse.Challenge, token string) (gatehouse.SessionStart, error) {
				s := &gatehouse.Session{TokenHash: []byte(token), UserID: u.ID, OrgID: orgID, TwoFactorState: gatehouse.TwoFactorVerified,
					CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour)}
				st := gatehouse.SessionStart{EndChallenge: c.ID, Browser: &gatehouse.RememberedBrowser{ID: gatehouse.NewID(), TokenHash: []byte("b-" + token),
					OrgID: a.ID, UserID: u.ID, CreatedAt: t0, LastUsedAt: t0, ExpiresAt: t0.Add(time.Hour)}}
				return st, db.StartSession(ctx, s, &gatehouse.AuditEvent{OrgID: a.ID, UserID: u.ID, Event: gatehouse.AuditLoginSucceeded, At: t0}, st)
			}
			audits := func() int {
				events, err := db.ListAudit(ctx, a.ID, 0, 100)
				if err != nil {
					t.Fatal(err)
				}
				return len(events)
			}

			// A session that cannot be saved (its user is not of b) saves
			// nothing else either.
			c := pending()
			st, err := start(b.ID, c, "refused")
			checkCode(t, "StartSession for a user of another organization", err, gatehouse.ENOTFOUND)
			if _, err := db.ChallengeByID(ctx, a.ID, u.ID, c.ID); err != nil {
				t.Errorf("the pending sign-in ended without its session: %v", err)
			}
			if _, err := db.FindRememberedBrowser(ctx, a.ID, u.ID, [][]byte{st.Browser.TokenHash}, t0); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
				t.Errorf("the browser was remembered without the session: %v", err)
			}
			if n := audits(); n != 0 {
				t.Errorf("%d audit events without the session", n)
			}

			st, err = start(a.ID, c, "accepted")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.SessionByTokenHash(ctx, []byte("accepted")); err != nil {
				t.Errorf("the session: %v", err)
			}
			if _, err := db.ChallengeByID(ctx, a.ID, u.ID, c.ID); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
				t.Errorf("the pending sign-in outlives its session: %v", err)
			}
			if _, err := db.FindRememberedBrowser(ctx, a.ID, u.ID, [][]byte{st.Browser.TokenHash}, t0); err != nil {
				t.Errorf("the remembered browser: %v", err)
			}
			if n := audits(); n != 1 {
				t.Errorf("%d audit events, want the sign-in's one", n)
			}
		})

		t.Run("a session round-trips to the millisecond, in UTC", func(t *testing.T) {
			db := d.fresh(t)
			ctx := t.Context()
			u := newUser(t, db, newOrg(t, db, "clinic").ID, "ann@example.com")
			helsinki := time.FixedZone("EET", 2*60*60)
			created := time.Date(2026, 11, 27, 11, 30, 0, 123_456_789, helsinki)
			for _, ip := range []string{"203.0.113.9", "2001:db8::1", "fe80::1%eth0", ""} {
				hash := []byte("token-hash-" + ip)
				s := &gatehouse.Session{
					TokenHash: hash, UserID: u.ID, OrgID: u.OrgID, TwoFactorState: gatehouse.TwoFactorRemembered,
					UserAgent: "Mozilla/5.0", CreatedAt: created, LastSeenAt: created.Add(time.Minute),
					ExpiresAt: created.Add(7 * 24 * time.Hour),
				}
				if ip != "" { // and without an address, never re-authenticated: a zero ReauthAt
					s.ClientIP = netip.MustParseAddr(ip)
					s.ReauthAt = created.Add(2 * time.Minute)
				}
				if err := db.CreateSession(ctx, s); err != nil {
					t.Fatal(err)
				}
				got, err := db.SessionByTokenHash(ctx, hash)
				if err != nil {
					t.Fatal(err)
				}
				want := *s
				want.CreatedAt = s.CreatedAt.Truncate(time.Millisecond).UTC()
				want.LastSeenAt = s.LastSeenAt.Truncate(time.Millisecond).UTC()
				want.ExpiresAt = s.ExpiresAt.Truncate(time.Millisecond).UTC()
				if !s.ReauthAt.IsZero() {
					want.ReauthAt = s.ReauthAt.Truncate(time.Millisecond).UTC()
				}
				checkEqual(t, "SessionByTokenHash", got, &want)
			}
			_, err := db.SessionByTokenHash(ctx, []byte("no such token"))
			checkCode(t, "SessionByTokenHash of nothing", err, gatehouse.ENOTFOUND)
		})

		t.Run("touching a session moves its last activity forward only", func(t *testing.T) {
			db := d.fresh(t)
			ctx := t.Context()
			u := newUser(t, db, newOrg(t, db, "clinic").ID, "ann@example.com")
			hash := []byte("h")
			newSession(t, db, u, hash)
			for _, c := range []struct {
				touch, want time.Time
			}{
				{t0.Add(time.Minute), t0.Add(time.Minute)},
				{t0.Add(30 * time.Second), t0.Add(time.Minute)}, // late arrival from another node
				{t0.Add(time.Hour), t0.Add(time.Hour)},
			} {
				if err := db.TouchSession(ctx, hash, c.touch); err != nil {
					t.Fatal(err)
				}
				s, err := db.SessionByTokenHash(ctx, hash)
				if err != nil {
					t.Fatal(err)
				}
				if !s.LastSeenAt.Equal(c.want) {
					t.Errorf("after touching at %v: LastSeenAt = %v, want %v", c.touch, s.LastSeenAt, c.want)
				}
			}
			checkCode(t, "TouchSession of nothing", db.TouchSession(ctx, []byte("gone"), t0), gatehouse.ENOTFOUND)
		})

		t.Run("sessions end one at a time, by user, or by expiry", func(t *testing.T) {
			db := d.fresh(t)
			ctx := t.Context()
			org := newOrg(t, db, "clinic")
			ann, bob := newUser(t, db, org.ID, "ann@example.com"), newUser(t, db, org.ID, "bob@example.com")
			for _, h := range []string{"ann-1", "ann-2"} {
				newSession(t, db, ann, []byte(h))
			}
			newSession(t, db, bob, []byte("bob-1"))

			if err := db.DeleteSession(ctx, []byte("ann-1")); err != nil {
				t.Fatal(err)
			}
			if err := db.DeleteSession(ctx, []byte("ann-1")); err != nil {
				t.Errorf("ending a missing session: %v, want nil", err)
			}
			_, err := db.SessionByTokenHash(ctx, []byte("ann-1"))
			checkCode(t, "SessionByTokenHash after DeleteSession", err, gatehouse.ENOTFOUND)

			newSession(t, db, ann, []byte("ann-3"))
			if err := db.DeleteUserSessions(ctx, org.ID, ann.ID); err != nil {
				t.Fatal(err)
			}
			for _, h := range []string{"ann-2", "ann-3"} {
				_, err := db.SessionByTokenHash(ctx, []byte(h))
				checkCode(t, "SessionByTokenHash after DeleteUserSessions", err, gatehouse.ENOTFOUND)
			}
			if _, err := db.SessionByTokenHash(ctx, []byte("bob-1")); err != nil {
				t.Errorf("another user's session: %v, want it kept", err)
			}

			// newSession: created and last seen at t0, expires at t0+7d.
			now, idle := t0.Add(24*time.Hour), 12*time.Hour
			mk := func(h string, lastSeen, expires time.Time) {
				s := &gatehouse.Session{TokenHash: []byte(h), UserID: bob.ID, OrgID: org.ID, TwoFactorState: gatehouse.TwoFactorVerified,
					CreatedAt: t0, LastSeenAt: lastSeen, ExpiresAt: expires}
				if err := db.CreateSession(ctx, s); err != nil {
					t.Fatal(err)
				}
			}
			mk("live", now.Add(-time.Hour), now.Add(time.Hour))
			mk("past-absolute", now.Add(-time.Minute), now)
			mk("idle", now.Add(-idle), now.Add(time.Hour))
			if err := db.TouchSession(ctx, []byte("bob-1"), now.Add(-idle).Add(time.Millisecond)); err != nil {
				t.Fatal(err)
			}
			n, err := db.DeleteExpiredSessions(ctx, now, now.Add(-idle))
			if err != nil {
				t.Fatal(err)
			}
			if n != 2 {
				t.Errorf("DeleteExpiredSessions removed %d, want 2", n)
			}
			for h, kept := range map[string]bool{"live": true, "bob-1": true, "past-absolute": false, "idle": false} {
				_, err := db.SessionByTokenHash(ctx, []byte(h))
				if kept && err != nil || !kept && gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
					t.Errorf("session %q: %v; want kept %v", h, err, kept)
				}
			}
		})
	})
}

// The store's part of the user's list of sessions, ending one or all
// others, and ending an organization's sessions that did not pass
// two-factor authentication, on both databases.
func TestSessionListing(t *testing.T) {
	forEachDB(t, func(t *testing.T, d engine) { testSessionListing(t, d.fresh) })
}

var st0 = time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)

type sessionFixture struct {
	t  *testing.T
	db *DB
}

func (f *sessionFixture) user(orgID, email string) *gatehouse.User {
	f.t.Helper()
	u := &gatehouse.User{ID: gatehouse.NewID(), OrgID: orgID, Email: email, Role: gatehouse.RoleMember, CreatedAt: st0, UpdatedAt: st0}
	if err := f.db.CreateUser(context.Background(), u); err != nil {
		f.t.Fatal(err)
	}
	return u
}

func (f *sessionFixture) orgID(slug string) string {
	f.t.Helper()
	org := &gatehouse.Organization{ID: gatehouse.NewID(), Slug: slug, Name: slug, Settings: gatehouse.DefaultPasswordSettings(), CreatedAt: st0, UpdatedAt: st0}
	if err := f.db.CreateOrganization(context.Background(), org); err != nil {
		f.t.Fatal(err)
	}
	return org.ID
}

// session stores a session of u named name, last seen at seen.
func (f *sessionFixture) session(u *gatehouse.User, name, state string, seen, expires time.Time) *gatehouse.Session {
	f.t.Helper()
	s := &gatehouse.Session{TokenHash: []byte(fmt.Sprintf("%-32s", u.ID+"/"+name)), UserID: u.ID, OrgID: u.OrgID, TwoFactorState: state,
		UserAgent: name, CreatedAt: st0, LastSeenAt: seen, ExpiresAt: expires}
	if err := f.db.CreateSession(context.Background(), s); err != nil {
		f.t.Fatal(err)
	}
	return s
}

func (f *sessionFixture) kept(s *gatehouse.Session) bool {
	f.t.Helper()
	_, err := f.db.SessionByTokenHash(context.Background(), s.TokenHash)
	if err != nil && gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		f.t.Fatal(err)
	}
	return err == nil
}

func testSessionListing(t *testing.T, fresh func(t *testing.T) *DB) {
	ctx := context.Background()
	week := st0.Add(7 * 24 * time.Hour)

	t.Run("every session gets a public id of its own that is not its token hash", func(t *testing.T) {
		f := &sessionFixture{t: t, db: fresh(t)}
		u := f.user(f.orgID("clinic"), "ann@clinic.test")
		seen := map[string]bool{}
		for i := range 20 {
			s := f.session(u, fmt.Sprint("s", i), gatehouse.TwoFactorVerified, st0, week)
			if len(s.PublicID) < 26 || seen[s.PublicID] {
				t.Fatalf("public id %q: empty, short or repeated", s.PublicID)
			}
			seen[s.PublicID] = true
			if bytes.Contains(s.TokenHash, []byte(s.PublicID)) || strings.Contains(s.PublicID, hex.EncodeToString(s.TokenHash)[:16]) {
				t.Errorf("public id %q shows the token hash", s.PublicID)
			}
			got, err := f.db.SessionByTokenHash(ctx, s.TokenHash)
			if err != nil || got.PublicID != s.PublicID {
				t.Errorf("SessionByTokenHash gave public id %q, %v; want %q", got.PublicID, err, s.PublicID)
			}
		}
		// A public id the caller chose is kept; taking one twice conflicts.
		s := &gatehouse.Session{TokenHash: []byte("chosen-public-id-session-hash---"), PublicID: "chosenid", UserID: u.ID, OrgID: u.OrgID,
			TwoFactorState: gatehouse.TwoFactorVerified, CreatedAt: st0, LastSeenAt: st0, ExpiresAt: week}
		if err := f.db.CreateSession(ctx, s); err != nil || s.PublicID != "chosenid" {
			t.Fatalf("CreateSession with a public id: %v, id %q", err, s.PublicID)
		}
		again := *s
		again.TokenHash = []byte("another-session-same-public-id--")
		if err := f.db.CreateSession(ctx, &again); gatehouse.ErrorCode(err) != gatehouse.ECONFLICT {
			t.Errorf("a second session with the same public id: %v, want conflict", err)
		}
	})

	t.Run("the list holds the user's live sessions only, the most recently used first, bounded", func(t *testing.T) {
		f := &sessionFixture{t: t, db: fresh(t)}
		clinic, lab := f.orgID("clinic"), f.orgID("lab")
		ann, bob, annLab := f.user(clinic, "ann@clinic.test"), f.user(clinic, "bob@clinic.test"), f.user(lab, "ann@lab.test")
		now, idle := st0.Add(24*time.Hour), 12*time.Hour
		old := f.session(ann, "old", gatehouse.TwoFactorVerified, now.Add(-3*time.Hour), week)
		recent := f.session(ann, "recent", gatehouse.TwoFactorNotEnforced, now.Add(-time.Minute), week)
		middle := f.session(ann, "middle", gatehouse.TwoFactorRemembered, now.Add(-2*time.Hour), week)
		f.session(ann, "idle", gatehouse.TwoFactorVerified, now.Add(-idle), week)
		f.session(ann, "past the absolute timeout", gatehouse.TwoFactorVerified, now.Add(-time.Minute), now)
		f.session(bob, "bob's", gatehouse.TwoFactorVerified, now, week)
		f.session(annLab, "ann in another organization", gatehouse.TwoFactorVerified, now, week)

		list, err := f.db.ListUserSessions(ctx, clinic, ann.ID, now, now.Add(-idle), 10)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range list {
			got = append(got, s.UserAgent)
			if s.UserID != ann.ID || s.OrgID != clinic {
				t.Errorf("session %q belongs to %s/%s", s.UserAgent, s.OrgID, s.UserID)
			}
		}
		if want := []string{"recent", "middle", "old"}; strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("ListUserSessions = %v, want %v", got, want)
		}
		if len(list) == 3 {
			for i, want := range []*gatehouse.Session{recent, middle, old} {
				if list[i].PublicID != want.PublicID || list[i].TwoFactorState != want.TwoFactorState || !list[i].LastSeenAt.Equal(want.LastSeenAt) ||
					!list[i].CreatedAt.Equal(want.CreatedAt) || !list[i].ExpiresAt.Equal(want.ExpiresAt) {
					t.Errorf("session %d = %+v, want %+v", i, list[i], want)
				}
			}
		}
		if list, err := f.db.ListUserSessions(ctx, clinic, ann.ID, now, now.Add(-idle), 2); err != nil || len(list) != 2 {
			t.Errorf("ListUserSessions with limit 2 = %d sessions, %v", len(list), err)
		}
		if list, err := f.db.ListUserSessions(ctx, lab, ann.ID, now, now.Add(-idle), 10); err != nil || len(list) != 0 {
			t.Errorf("ann's sessions through another organization = %d, %v; want none", len(list), err)
		}
	})

	t.Run("one session ends by its public id, only for its own user", func(t *testing.T) {
		f := &sessionFixture{t: t, db: fresh(t)}
		clinic, lab := f.orgID("clinic"), f.orgID("lab")
		ann, bob := f.user(clinic, "ann@clinic.test"), f.user(clinic, "bob@clinic.test")
		annLab := f.user(lab, "ann@lab.test")
		a, b := f.session(ann, "a", gatehouse.TwoFactorVerified, st0, week), f.session(bob, "b", gatehouse.TwoFactorVerified, st0, week)
		l := f.session(annLab, "l", gatehouse.TwoFactorVerified, st0, week)

		if err := f.db.DeleteUserSession(ctx, clinic, ann.ID, b.PublicID); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Errorf("ending bob's session as ann: %v, want not found", err)
		}
		if err := f.db.DeleteUserSession(ctx, clinic, ann.ID, l.PublicID); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Errorf("ending a session of another organization: %v, want not found", err)
		}
		if !f.kept(b) || !f.kept(l) {
			t.Fatal("another user's session ended")
		}
		if err := f.db.DeleteUserSession(ctx, clinic, ann.ID, a.PublicID); err != nil {
			t.Fatal(err)
		}
		if f.kept(a) {
			t.Error("the session is still there")
		}
		if err := f.db.DeleteUserSession(ctx, clinic, ann.ID, a.PublicID); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Errorf("ending it again: %v, want not found", err)
		}
	})

	t.Run("ending the other sessions keeps the one named and every other user's", func(t *testing.T) {
		f := &sessionFixture{t: t, db: fresh(t)}
		clinic := f.orgID("clinic")
		ann, bob := f.user(clinic, "ann@clinic.test"), f.user(clinic, "bob@clinic.test")
		here := f.session(ann, "here", gatehouse.TwoFactorVerified, st0, week)
		var others []*gatehouse.Session
		for i := range 3 {
			others = append(others, f.session(ann, fmt.Sprint("other", i), gatehouse.TwoFactorVerified, st0, week))
		}
		bobs := f.session(bob, "bob", gatehouse.TwoFactorVerified, st0, week)
		n, err := f.db.DeleteOtherUserSessions(ctx, clinic, ann.ID, here.TokenHash)
		if err != nil || n != 3 {
			t.Errorf("DeleteOtherUserSessions = %d, %v; want 3", n, err)
		}
		for _, s := range others {
			if f.kept(s) {
				t.Errorf("session %q outlived ending the others", s.UserAgent)
			}
		}
		if !f.kept(here) || !f.kept(bobs) {
			t.Error("the kept session or another user's ended")
		}
		n, err = f.db.DeleteOtherUserSessions(ctx, clinic, ann.ID, nil)
		if err != nil || n != 1 || f.kept(here) {
			t.Errorf("DeleteOtherUserSessions keeping none = %d, %v (kept %v); want 1 ended", n, err, f.kept(here))
		}
	})

	t.Run("turning enforcement on ends the sessions that did not pass two-factor authentication, in that organization only", func(t *testing.T) {
		f := &sessionFixture{t: t, db: fresh(t)}
		clinic, lab := f.orgID("clinic"), f.orgID("lab")
		ann, annLab := f.user(clinic, "ann@clinic.test"), f.user(lab, "ann@lab.test")
		states := []string{gatehouse.TwoFactorNotEnforced, gatehouse.TwoFactorFederated, "", "unknown_state",
			gatehouse.TwoFactorVerified, gatehouse.TwoFactorRemembered, gatehouse.TwoFactorExempt, gatehouse.TwoFactorAllowedNetwork}
		var sessions []*gatehouse.Session
		for _, st := range states {
			sessions = append(sessions, f.session(ann, "state "+st, st, st0, week))
		}
		labs := f.session(annLab, "lab", gatehouse.TwoFactorNotEnforced, st0, week)
		n, err := f.db.DeleteOrgSessionsWithoutTwoFactor(ctx, clinic)
		if err != nil || n != 4 {
			t.Errorf("DeleteOrgSessionsWithoutTwoFactor = %d, %v; want 4", n, err)
		}
		for i, s := range sessions {
			if got, want := f.kept(s), gatehouse.PassedTwoFactorPolicy(states[i]); got != want {
				t.Errorf("a session in state %q kept = %v, want %v", states[i], got, want)
			}
		}
		if !f.kept(labs) {
			t.Error("another organization's session ended")
		}
	})
}

// TestSessionAccount holds SessionAccount and SessionAccountByPublicID, a
// session check's one read, to what its three single reads give.
func TestSessionAccount(t *testing.T) {
	forEachDB(t, func(t *testing.T, d engine) {
		// separate reads the same three things one at a time.
		separate := func(t *testing.T, db *DB, hash []byte) (*gatehouse.Session, *gatehouse.Organization, *gatehouse.User) {
			t.Helper()
			s, err := db.SessionByTokenHash(t.Context(), hash)
			if err != nil {
				t.Fatal(err)
			}
			o, err := db.OrganizationByID(t.Context(), s.OrgID)
			if err != nil {
				t.Fatal(err)
			}
			u, err := db.UserByID(t.Context(), s.OrgID, s.UserID)
			if err != nil {
				t.Fatal(err)
			}
			return s, o, u
		}

		t.Run("the session comes with its own organization and user, settings and all", func(t *testing.T) {
			db := d.fresh(t)
			ctx := t.Context()
			other := newOrg(t, db, "other")
			newSession(t, db, newUser(t, db, other.ID, "ann@example.com"), []byte("other-ann")) // same e-mail elsewhere
			org := newOrg(t, db, "clinic")
			settings := gatehouse.PasswordSettings{EnforceTwoFactor: true, OTPMethod: gatehouse.OTPSMS, RememberDays: 7,
				AuthMethod: gatehouse.AuthPassword, SkipNetworks: []netip.Prefix{
					netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("2001:db8:1::/48")}}
			if err := db.UpdatePasswordSettings(ctx, org.ID, settings, t0.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			newUser(t, db, org.ID, "bob@example.com") // first in the table: a join on the organization alone finds him
			u := &gatehouse.User{ID: gatehouse.NewID(), OrgID: org.ID, Email: "ann@example.com", Name: "Ann", Phone: "+358401234567",
				Role: gatehouse.RoleAdmin, TwoFactorExempt: true, PasswordHash: "$argon2id$ann", OTPFailures: 2,
				OTPLastFailureAt: t0.Add(time.Second), LastVerifiedAt: t0.Add(2 * time.Second), Locale: "fi", CreatedAt: t0, UpdatedAt: t0}
			if err := db.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			s := &gatehouse.Session{TokenHash: []byte("ann-1"), UserID: u.ID, OrgID: org.ID, TwoFactorState: gatehouse.TwoFactorAllowedNetwork,
				ClientIP: netip.MustParseAddr("203.0.113.9"), UserAgent: "Mozilla/5.0", CreatedAt: t0, LastSeenAt: t0.Add(time.Minute),
				ExpiresAt: t0.Add(time.Hour), ReauthAt: t0.Add(2 * time.Minute)}
			if err := db.CreateSession(ctx, s); err != nil {
				t.Fatal(err)
			}
			gotS, gotO, gotU, err := db.SessionAccount(ctx, []byte("ann-1"))
			if err != nil {
				t.Fatal(err)
			}
			wantS, wantO, wantU := separate(t, db, []byte("ann-1"))
			checkEqual(t, "session", gotS, wantS)
			checkEqual(t, "organization", gotO, wantO)
			checkEqual(t, "user", gotU, wantU)
			byID, byIDOrg, byIDUser, err := db.SessionAccountByPublicID(ctx, s.PublicID)
			if err != nil {
				t.Fatal(err)
			}
			checkEqual(t, "session by public id", byID, wantS)
			checkEqual(t, "organization by public id", byIDOrg, wantO)
			checkEqual(t, "user by public id", byIDUser, wantU)
			if gotO.ID != org.ID || gotU.ID != u.ID || gotS.PublicID != s.PublicID {
				t.Errorf("got organization %s, user %s, session %s; want %s, %s, %s", gotO.ID, gotU.ID, gotS.PublicID, org.ID, u.ID, s.PublicID)
			}
			checkEqual(t, "skip networks", gotO.Settings, settings)
			if gotU.Phone != u.Phone || gotU.OTPFailures != 2 || !gotU.LastVerifiedAt.Equal(u.LastVerifiedAt) || gotU.Locale != "fi" {
				t.Errorf("user = %+v, want the stored fields of %+v", gotU, u)
			}
		})

		t.Run("no such session is ENOTFOUND", func(t *testing.T) {
			db := d.fresh(t)
			newSession(t, db, newUser(t, db, newOrg(t, db, "clinic").ID, "ann@example.com"), []byte("ann-1"))
			_, _, _, err := db.SessionAccount(t.Context(), []byte("no such token"))
			checkCode(t, "SessionAccount of nothing", err, gatehouse.ENOTFOUND)
			_, _, _, err = db.SessionAccountByPublicID(t.Context(), "no such id")
			checkCode(t, "SessionAccountByPublicID of nothing", err, gatehouse.ENOTFOUND)
			if err := db.DeleteSession(t.Context(), []byte("ann-1")); err != nil {
				t.Fatal(err)
			}
			_, _, _, err = db.SessionAccount(t.Context(), []byte("ann-1"))
			checkCode(t, "SessionAccount after DeleteSession", err, gatehouse.ENOTFOUND)
		})

		t.Run("a disabled user and an expired session are returned, for the caller to end", func(t *testing.T) {
			db := d.fresh(t)
			ctx := t.Context()
			u := newUser(t, db, newOrg(t, db, "clinic").ID, "ann@example.com")
			s := &gatehouse.Session{TokenHash: []byte("ann-1"), UserID: u.ID, OrgID: u.OrgID, TwoFactorState: gatehouse.TwoFactorVerified,
				CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Minute)}
			if err := db.CreateSession(ctx, s); err != nil {
				t.Fatal(err)
			}
			disabled := true
			if _, err := db.PatchUser(ctx, u.OrgID, u.ID, gatehouse.UserPatch{Disabled: &disabled}, t0); err != nil {
				t.Fatal(err)
			}
			gotS, _, gotU, err := db.SessionAccount(ctx, []byte("ann-1"))
			if err != nil {
				t.Fatal(err)
			}
			if !gotU.Disabled {
				t.Errorf("user.Disabled = false, want true")
			}
			if !gotS.Expired(t0.Add(time.Hour), 12*time.Hour) {
				t.Errorf("the session is not past its expiry at %v: %+v", t0.Add(time.Hour), gotS)
			}
		})

		t.Run("after a re-key the new hash finds the session, the old one nothing", func(t *testing.T) {
			db := d.fresh(t)
			u := newUser(t, db, newOrg(t, db, "clinic").ID, "ann@example.com")
			newSession(t, db, u, []byte("old"))
			if err := db.RekeySession(t.Context(), []byte("old"), []byte("new")); err != nil {
				t.Fatal(err)
			}
			_, _, _, err := db.SessionAccount(t.Context(), []byte("old"))
			checkCode(t, "SessionAccount of the old hash", err, gatehouse.ENOTFOUND)
			s, _, got, err := db.SessionAccount(t.Context(), []byte("new"))
			if err != nil || got.ID != u.ID || !bytes.Equal(s.TokenHash, []byte("new")) {
				t.Errorf("SessionAccount of the new hash = %+v, %+v, %v", s, got, err)
			}
		})
	})
}
