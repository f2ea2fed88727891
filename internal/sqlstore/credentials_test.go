package sqlstore

import (
	"context"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
)

var credT0 = time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)

// credentialFixture is a user with everything a credential change may end:
// two sessions, a remembered browser, a pending sign-in, a live reset
// link and seven wrong codes.
type credentialFixture struct {
	db               *DB
	org              *gatehouse.Organization
	user             *gatehouse.User
	other            *gatehouse.User
	sessA, sessB     []byte
	link             []byte
	challengeTokenID []byte
}

func newCredentialFixture(t *testing.T, db *DB) *credentialFixture {
	t.Helper()
	ctx := t.Context()
	f := &credentialFixture{db: db}
	f.org = &gatehouse.Organization{ID: gatehouse.NewID(), Slug: "clinic", Name: "Clinic", Settings: gatehouse.DefaultPasswordSettings(), CreatedAt: credT0, UpdatedAt: credT0}
	must(t, db.CreateOrganization(ctx, f.org))
	f.user = &gatehouse.User{ID: gatehouse.NewID(), OrgID: f.org.ID, Email: "staff@clinic.test", Role: gatehouse.RoleMember, PasswordHash: "old-hash", CreatedAt: credT0, UpdatedAt: credT0}
	f.other = &gatehouse.User{ID: gatehouse.NewID(), OrgID: f.org.ID, Email: "taken@clinic.test", Role: gatehouse.RoleMember, PasswordHash: "x", CreatedAt: credT0, UpdatedAt: credT0}
	must(t, db.CreateUser(ctx, f.user))
	must(t, db.CreateUser(ctx, f.other))
	f.sessA, f.sessB = []byte("session-a-token-hash"), []byte("session-b-token-hash")
	for _, h := range [][]byte{f.sessA, f.sessB} {
		must(t, db.CreateSession(ctx, &gatehouse.Session{TokenHash: h, UserID: f.user.ID, OrgID: f.org.ID, TwoFactorState: gatehouse.TwoFactorVerified,
			CreatedAt: credT0, LastSeenAt: credT0, ExpiresAt: credT0.Add(time.Hour)}))
	}
	must(t, db.CreateRememberedBrowser(ctx, &gatehouse.RememberedBrowser{ID: gatehouse.NewID(), TokenHash: []byte("remembered"), OrgID: f.org.ID, UserID: f.user.ID,
		CreatedAt: credT0, LastUsedAt: credT0, ExpiresAt: credT0.Add(24 * time.Hour)}))
	f.challengeTokenID = []byte("pending-sign-in")
	must(t, db.CreateChallenge(ctx, &gatehouse.Challenge{ID: gatehouse.NewID(), TokenHash: f.challengeTokenID, Kind: gatehouse.ChallengeLogin, OrgID: f.org.ID, UserID: f.user.ID,
		Channel: gatehouse.OTPEmail, Destination: f.user.Email, CreatedAt: credT0, ExpiresAt: credT0.Add(15 * time.Minute)}))
	// A user has one live link at a time, bound to the address it went to.
	f.link = []byte("reset-link")
	must(t, db.CreatePasswordReset(ctx, &gatehouse.PasswordReset{TokenHash: f.link, OrgID: f.org.ID, UserID: f.user.ID, Email: f.user.Email,
		CreatedAt: credT0, ExpiresAt: credT0.Add(time.Hour)}))
	for range 7 {
		if _, err := db.RecordOTPFailure(ctx, f.org.ID, f.user.ID, credT0); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// state is what the fixture's user has left.
type credentialState struct {
	hash, email   string
	sessions      int
	remembered    int
	pending, link bool
	otpFailures   int
	audits        int
}

func (f *credentialFixture) state(t *testing.T) credentialState {
	t.Helper()
	ctx := context.Background()
	var s credentialState
	u, err := f.db.UserByID(ctx, f.org.ID, f.user.ID)
	must(t, err)
	s.hash, s.email, s.otpFailures = u.PasswordHash, u.Email, u.OTPFailures
	for _, h := range [][]byte{f.sessA, f.sessB} {
		if _, err := f.db.SessionByTokenHash(ctx, h); err == nil {
			s.sessions++
		}
	}
	bs, err := f.db.ListRememberedBrowsers(ctx, f.org.ID, f.user.ID, credT0)
	must(t, err)
	s.remembered = len(bs)
	_, err = f.db.ChallengeByTokenHash(ctx, f.challengeTokenID)
	s.pending = err == nil
	_, err = f.db.PasswordResetByTokenHash(ctx, f.link, credT0)
	s.link = err == nil
	evs, err := f.db.ListAudit(ctx, f.org.ID, 0, 100)
	must(t, err)
	s.audits = len(evs)
	return s
}

func TestChangeCredentials(t *testing.T) {
	t.Parallel()
	forEachDB(t, testChangeCredentials)
}

// testChangeCredentials holds ChangeCredentials to its contract on the
// database d.
func testChangeCredentials(t *testing.T, d engine) {
	before := credentialState{hash: "old-hash", email: "staff@clinic.test", sessions: 2, remembered: 1, pending: true, link: true, otpFailures: 7}
	everything := func(f *credentialFixture) gatehouse.CredentialChange {
		return gatehouse.CredentialChange{OrgID: f.org.ID, UserID: f.user.ID, At: credT0.Add(time.Minute),
			SpendReset: f.link, SetPassword: true, PasswordHash: "new-hash",
			EndSessions: true, EndRememberedBrowsers: true, EndPending: true, VoidResetLinks: true, ClearCodeLock: true,
			Audit: &gatehouse.AuditEvent{OrgID: f.org.ID, UserID: f.user.ID, Event: gatehouse.AuditPasswordReset, At: credT0.Add(time.Minute)}}
	}

	t.Run("a reset saves the password and ends everything of the old one, with its audit event", func(t *testing.T) {
		f := newCredentialFixture(t, d.fresh(t))
		if got := f.state(t); got != before {
			t.Fatalf("fixture %+v, want %+v", got, before)
		}
		must(t, f.db.ChangeCredentials(t.Context(), everything(f)))
		want := credentialState{hash: "new-hash", email: "staff@clinic.test", audits: 1}
		if got := f.state(t); got != want {
			t.Errorf("after the reset %+v, want %+v", got, want)
		}
	})

	t.Run("a spent or foreign link saves nothing", func(t *testing.T) {
		f := newCredentialFixture(t, d.fresh(t))
		c := everything(f)
		c.SpendReset = []byte("no such link")
		if err := f.db.ChangeCredentials(t.Context(), c); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Fatalf("unknown link: %v, want ENOTFOUND", err)
		}
		c = everything(f)
		c.UserID = f.other.ID // the link is not theirs
		c.Audit = nil
		if err := f.db.ChangeCredentials(t.Context(), c); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Fatalf("another user's link: %v, want ENOTFOUND", err)
		}
		if got := f.state(t); got != before {
			t.Errorf("after refused changes %+v, want %+v", got, before)
		}
	})

	t.Run("a taken e-mail address saves nothing, not even the ends", func(t *testing.T) {
		f := newCredentialFixture(t, d.fresh(t))
		taken := f.other.Email
		c := everything(f)
		c.SpendReset, c.SetPassword, c.Email = nil, false, &taken
		if err := f.db.ChangeCredentials(t.Context(), c); gatehouse.ErrorCode(err) != gatehouse.ECONFLICT {
			t.Fatalf("taken address: %v, want ECONFLICT", err)
		}
		if got := f.state(t); got != before {
			t.Errorf("after the refused change %+v, want %+v", got, before)
		}
	})

	t.Run("an e-mail change keeps the session it was made in", func(t *testing.T) {
		f := newCredentialFixture(t, d.fresh(t))
		addr := "new@clinic.test"
		must(t, f.db.ChangeCredentials(t.Context(), gatehouse.CredentialChange{OrgID: f.org.ID, UserID: f.user.ID, At: credT0,
			Email: &addr, EndSessions: true, KeepSession: f.sessA, EndRememberedBrowsers: true, VoidResetLinks: true}))
		want := credentialState{hash: "old-hash", email: addr, sessions: 1, pending: true, otpFailures: 7}
		if got := f.state(t); got != want {
			t.Errorf("after the change %+v, want %+v", got, want)
		}
		if _, err := f.db.SessionByTokenHash(t.Context(), f.sessA); err != nil {
			t.Errorf("the session the change was made in ended: %v", err)
		}
	})

	t.Run("forty resets on two nodes racing on one link: exactly one saves", func(t *testing.T) {
		nodes := d.nodes(t, 2)
		f := newCredentialFixture(t, nodes[0])
		wins := race(t, 40, func(i int) (bool, error) {
			return wonUnless(gatehouse.ENOTFOUND, nodes[i%2].ChangeCredentials(context.Background(), everything(f)))
		})
		if lost := 40 - wins; wins != 1 || lost != 39 {
			t.Errorf("%d resets saved and %d were refused; want 1 and 39", wins, lost)
		}
		if got := f.state(t); got.audits != 1 {
			t.Errorf("%d audit events, want 1", got.audits)
		}
	})
}
