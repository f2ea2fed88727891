package sqlstore

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// userTrail is everything the store keeps of one user, as made by
// newUserTrail, to check that DeleteUser takes all of it or none.
type userTrail struct {
	user    *gatehouse.User
	session []byte
	browser string
	chal    *gatehouse.Challenge
	reset   string
	device  []byte
	request string
}

// newUserTrail gives u a session, a remembered browser, a pending sign-in
// with a code, a password link, a known device, a federated link and a
// pending authorization of an application.
func newUserTrail(t *testing.T, db *DB, u *gatehouse.User) *userTrail {
	t.Helper()
	ctx := t.Context()
	tr := &userTrail{user: u, session: codeHash("session " + u.ID), browser: "browser " + u.ID,
		reset: "reset " + u.ID, device: codeHash("device " + u.ID), request: "req-" + u.ID}
	newSession(t, db, u, tr.session)
	newBrowser(t, db, u, tr.browser, t0)
	tr.chal = newChallenge(t, db, u, nil)
	addCode(t, db, tr.chal.ID, "123456", t0)
	newReset(t, db, u, tr.reset)
	if err := db.CreateDevice(ctx, &gatehouse.Device{ID: gatehouse.NewID(), TokenHash: tr.device, OrgID: u.OrgID, UserID: u.ID,
		CreatedAt: t0, LastUsedAt: t0, ExpiresAt: t0.Add(90 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := db.LinkFederatedIdentity(ctx, &gatehouse.FederatedIdentity{OrgID: u.OrgID, Provider: "ldap",
		ExternalID: "uuid:" + u.ID, UserID: u.ID, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateAuthRequest(ctx, &gatehouse.OAuthAuthRequest{ID: tr.request, ClientID: "app", RedirectURI: "https://app.example/cb",
		ResponseType: "code", Scopes: []string{"openid"}, CodeChallenge: "ch", CodeChallengeMethod: "S256",
		CreatedAt: t0, ExpiresAt: t0.Add(15 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	s, err := db.SessionByTokenHash(ctx, tr.session)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CompleteAuthRequest(ctx, tr.request, gatehouse.AuthRequestDone{UserID: u.ID, OrgID: u.OrgID, SessionID: s.PublicID,
		AuthTime: t0, AMR: []string{"pwd"}, TwoFactorState: gatehouse.TwoFactorVerified, At: t0}); err != nil {
		t.Fatal(err)
	}
	g := gatehouse.OAuthGrant{ClientID: "app", UserID: u.ID, OrgID: u.OrgID, SessionID: s.PublicID, AuthRequestID: tr.request,
		FamilyID: "family-" + u.ID, Scopes: []string{"openid"}, AuthTime: t0, AMR: []string{"pwd"}, TwoFactorState: gatehouse.TwoFactorVerified}
	if err := db.CreateOAuthToken(ctx,
		&gatehouse.OAuthToken{IDHash: []byte("access " + u.ID), OAuthGrant: g, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)},
		&gatehouse.OAuthRefreshToken{TokenHash: []byte("refresh " + u.ID), OAuthGrant: g, CreatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	return tr
}

// left lists what of the trail the store still holds.
func (tr *userTrail) left(t *testing.T, db *DB) []string {
	t.Helper()
	ctx := t.Context()
	u := tr.user
	var left []string
	check := func(what string, err error) {
		t.Helper()
		switch gatehouse.ErrorCode(err) {
		case "":
			left = append(left, what)
		case gatehouse.ENOTFOUND:
		default:
			t.Fatalf("%s: %v", what, err)
		}
	}
	_, err := db.UserByID(ctx, u.OrgID, u.ID)
	check("user", err)
	_, err = db.SessionByTokenHash(ctx, tr.session)
	check("session", err)
	_, err = db.FindRememberedBrowser(ctx, u.OrgID, u.ID, [][]byte{codeHash(tr.browser)}, t0)
	check("remembered browser", err)
	_, err = db.ChallengeByID(ctx, u.OrgID, u.ID, tr.chal.ID)
	check("pending sign-in", err)
	_, err = db.PasswordResetByTokenHash(ctx, codeHash(tr.reset), t0)
	check("password link", err)
	_, err = db.FindDevice(ctx, u.OrgID, u.ID, [][]byte{tr.device}, t0)
	check("known device", err)
	_, err = db.FederatedUserID(ctx, u.OrgID, "ldap", "uuid:"+u.ID)
	check("federated link", err)
	_, err = db.AuthRequestByID(ctx, tr.request, t0)
	check("pending authorization", err)
	_, err = db.OAuthTokenByIDHash(ctx, []byte("access "+u.ID), t0)
	check("access token", err)
	var codes int
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM challenge_codes WHERE challenge_id = $1`, tr.chal.ID).Scan(&codes); err != nil {
		t.Fatal(err)
	}
	if codes > 0 {
		left = append(left, "codes")
	}
	return left
}

func newAdmin(t *testing.T, db *DB, orgID, email string, disabled bool) *gatehouse.User {
	t.Helper()
	u := &gatehouse.User{ID: gatehouse.NewID(), OrgID: orgID, Email: email, Role: gatehouse.RoleAdmin, Disabled: disabled,
		PasswordHash: "$argon2id$" + email, CreatedAt: t0, UpdatedAt: t0}
	if err := db.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// TestDeleteUser holds DeleteUser to its contract on both databases.
func TestDeleteUser(t *testing.T) {
	all := []string{"user", "session", "remembered browser", "pending sign-in", "password link", "known device",
		"federated link", "pending authorization", "access token", "codes"}
	forEachDB(t, func(t *testing.T, d engine) {
		t.Run("a deleted user goes with everything of theirs, and nobody else's", func(t *testing.T) {
			db := d.fresh(t)
			ctx := t.Context()
			org := newOrg(t, db, "clinic")
			newAdmin(t, db, org.ID, "boss@example.com", false)
			c := &gatehouse.OAuthClient{ID: "app", Name: "App", SecretHash: []byte("h"), RedirectURIs: []string{"https://app.example/cb"},
				OrgIDs: []string{org.ID}, SigningAlg: gatehouse.SigningES256, BackChannelLogoutURI: "https://app.example/logout", CreatedAt: t0, UpdatedAt: t0}
			if err := db.CreateOAuthClient(ctx, c); err != nil {
				t.Fatal(err)
			}
			gone := newUserTrail(t, db, newUser(t, db, org.ID, "ann@example.com"))
			kept := newUserTrail(t, db, newUser(t, db, org.ID, "bob@example.com"))
			if got := gone.left(t, db); !slices.Equal(got, all) {
				t.Fatalf("before: the trail holds %v, want %v", got, all)
			}
			ev := &gatehouse.AuditEvent{OrgID: org.ID, UserID: gone.user.ID, Event: gatehouse.AuditUserDeleted, At: t0,
				Detail: map[string]string{"email": gone.user.Email}}
			if err := db.DeleteUser(ctx, org.ID, gone.user.ID, ev); err != nil {
				t.Fatal(err)
			}
			if got := gone.left(t, db); len(got) > 0 {
				t.Errorf("after deleting the user the store still holds their %v", got)
			}
			if got := kept.left(t, db); !slices.Equal(got, all) {
				t.Errorf("another user's trail holds %v after the deletion, want %v", got, all)
			}
			// The application is told of the ended session (one logout
			// queued: the deleted user's, not the other's) and its tokens go.
			if queued, _, err := db.TakeEndedGrants(ctx, t0, 100); err != nil || queued != 1 {
				t.Errorf("TakeEndedGrants queued %d, %v; want the deleted user's one logout", queued, err)
			}
			var tokens int
			if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM oauth_tokens WHERE user_id = $1`, gone.user.ID).Scan(&tokens); err != nil || tokens != 0 {
				t.Errorf("%d access tokens of the deleted user left after TakeEndedGrants (%v), want 0", tokens, err)
			}
			events, err := db.ListAudit(ctx, org.ID, 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"email": "ann@example.com", "sessions_ended": "1", "remembered_browsers_revoked": "1",
				"pending_sign_ins_ended": "1", "federated_links_removed": "1"}
			if len(events) != 1 || events[0].Event != gatehouse.AuditUserDeleted || events[0].UserID != gone.user.ID {
				t.Fatalf("audit = %s, want one %s", dump(events), gatehouse.AuditUserDeleted)
			}
			checkEqual(t, "the audit event's detail", events[0].Detail, want)
			checkCode(t, "deleting them again", db.DeleteUser(ctx, org.ID, gone.user.ID, nil), gatehouse.ENOTFOUND)
			other := newOrg(t, db, "other")
			checkCode(t, "deleting a user through another organization", db.DeleteUser(ctx, other.ID, kept.user.ID, nil), gatehouse.ENOTFOUND)
			if got := kept.left(t, db); !slices.Equal(got, all) {
				t.Errorf("a refused deletion took %v of the trail, want all of %v kept", got, all)
			}
		})

		t.Run("the last admin who can sign in is never deleted", func(t *testing.T) {
			db := d.fresh(t)
			ctx := t.Context()
			org := newOrg(t, db, "clinic")
			only := newAdmin(t, db, org.ID, "only@example.com", false)
			ev := &gatehouse.AuditEvent{OrgID: org.ID, UserID: only.ID, Event: gatehouse.AuditUserDeleted, At: t0}
			checkCode(t, "deleting the only admin", db.DeleteUser(ctx, org.ID, only.ID, ev), gatehouse.ECONFLICT)
			newAdmin(t, db, org.ID, "disabled@example.com", true)
			newUser(t, db, org.ID, "member@example.com")
			checkCode(t, "deleting the only admin beside a disabled one", db.DeleteUser(ctx, org.ID, only.ID, ev), gatehouse.ECONFLICT)
			if _, err := db.UserByID(ctx, org.ID, only.ID); err != nil {
				t.Errorf("the refused admin is gone: %v", err)
			}
			if events, _ := db.ListAudit(ctx, org.ID, 0, 10); len(events) != 0 {
				t.Errorf("a refused deletion was audited: %s", dump(events))
			}
			second := newAdmin(t, db, org.ID, "second@example.com", false)
			if err := db.DeleteUser(ctx, org.ID, only.ID, ev); err != nil {
				t.Errorf("deleting an admin while another remains: %v", err)
			}
			checkCode(t, "deleting the admin left", db.DeleteUser(ctx, org.ID, second.ID, nil), gatehouse.ECONFLICT)
		})

		t.Run("the last admin who can sign in is never demoted nor disabled", func(t *testing.T) {
			db := d.fresh(t)
			ctx := t.Context()
			org := newOrg(t, db, "clinic")
			only := newAdmin(t, db, org.ID, "only@example.com", false)
			member, disabled, yes := gatehouse.RoleMember, true, true
			for what, p := range map[string]gatehouse.UserPatch{"demoting": {Role: &member}, "disabling": {Disabled: &disabled}} {
				if _, err := db.PatchUser(ctx, org.ID, only.ID, p, t0); !isLastAdmin(err) {
					t.Errorf("%s the only admin: %v, want ErrLastAdmin", what, err)
				}
			}
			if got, _ := db.UserByID(ctx, org.ID, only.ID); got.Role != gatehouse.RoleAdmin || got.Disabled {
				t.Errorf("a refused patch was saved: %+v", got)
			}
			m := newUser(t, db, org.ID, "member@example.com")
			if _, err := db.PatchUser(ctx, org.ID, m.ID, gatehouse.UserPatch{Disabled: &yes}, t0); err != nil {
				t.Errorf("disabling a member: %v", err)
			}
			second := newAdmin(t, db, org.ID, "second@example.com", false)
			if _, err := db.PatchUser(ctx, org.ID, only.ID, gatehouse.UserPatch{Role: &member}, t0); err != nil {
				t.Errorf("demoting an admin while another remains: %v", err)
			}
			checkCode(t, "disabling the admin left", func() error {
				_, err := db.PatchUser(ctx, org.ID, second.ID, gatehouse.UserPatch{Disabled: &disabled}, t0)
				return err
			}(), gatehouse.ECONFLICT)
		})

		t.Run("of two admins demoting each other at once on two nodes, one stays an admin", func(t *testing.T) {
			nodes := d.nodes(t, 2)
			org := newOrg(t, nodes[0], "clinic")
			admins := []*gatehouse.User{newAdmin(t, nodes[0], org.ID, "a@example.com", false), newAdmin(t, nodes[0], org.ID, "b@example.com", false)}
			member := gatehouse.RoleMember
			race(t, 20, func(i int) (bool, error) {
				_, err := nodes[i%2].PatchUser(t.Context(), org.ID, admins[(i/2)%2].ID, gatehouse.UserPatch{Role: &member}, t0)
				return wonUnless(gatehouse.ECONFLICT, err)
			})
			left := 0
			for _, a := range admins {
				u, err := nodes[1].UserByID(t.Context(), org.ID, a.ID)
				if err != nil {
					t.Fatal(err)
				}
				if u.Role == gatehouse.RoleAdmin {
					left++
				}
			}
			if left != 1 {
				t.Errorf("%d admins left after the race, want 1", left)
			}
		})

		t.Run("of two admins deleted at once on two nodes, one stays", func(t *testing.T) {
			nodes := d.nodes(t, 2)
			org := newOrg(t, nodes[0], "clinic")
			admins := []*gatehouse.User{newAdmin(t, nodes[0], org.ID, "a@example.com", false), newAdmin(t, nodes[0], org.ID, "b@example.com", false)}
			wins := race(t, 20, func(i int) (bool, error) {
				err := nodes[i%2].DeleteUser(t.Context(), org.ID, admins[(i/2)%2].ID, nil)
				if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
					return false, nil
				}
				return wonUnless(gatehouse.ECONFLICT, err)
			})
			if wins != 1 {
				t.Errorf("%d deletions won, want 1", wins)
			}
			left, err := nodes[1].ListUsers(t.Context(), org.ID, "", 10)
			if err != nil || len(left) != 1 {
				t.Errorf("users left: %s, %v; want one admin", dump(left), err)
			}
		})
	})
}

func isLastAdmin(err error) bool {
	var ge *gatehouse.Error
	return errors.As(err, &ge) && ge.Reason == gatehouse.ReasonLastAdmin
}
