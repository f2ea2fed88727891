package signin_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

// reauthSession turns on enforcement by SMS, gives the fixture's user a
// phone and signs them in with a code: the session that re-authenticates
// is one whose sign-in asks for a code. (A session from before enforcement
// would end at its next use.)
func reauthSession(t *testing.T, f *fixture) (token string, cur *signin.Current) {
	t.Helper()
	ctx := context.Background()
	st := f.org.Settings
	st.EnforceTwoFactor, st.OTPMethod = true, gatehouse.OTPSMS
	if err := f.db.UpdatePasswordSettings(ctx, f.org.ID, st, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	phone := "+358401234567"
	if _, err := f.db.PatchUser(ctx, f.org.ID, f.user.ID, gatehouse.UserPatch{Phone: &phone}, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	res, err := f.login("clinic", "staff@clinic.test", testPassword)
	if err != nil || res.Pending == nil {
		t.Fatalf("login: %+v, %v", res, err)
	}
	done, err := f.svc.Verify(ctx, signin.VerifyRequest{PendingToken: res.Pending.Token, Code: f.inbox.lastCode(t).Code,
		ClientIP: netip.MustParseAddr("198.51.100.7")})
	if err != nil {
		t.Fatal(err)
	}
	cur, err = f.svc.Authenticate(ctx, done.SessionToken)
	if err != nil {
		t.Fatal(err)
	}
	return done.SessionToken, cur
}

func TestReauthenticationTakesAFreshCodeWhereSignInWould(t *testing.T) {
	ctx := context.Background()
	ip := netip.MustParseAddr("198.51.100.7")
	f := newFixture(t)
	token, cur := reauthSession(t, f)
	f.clock.Add(time.Hour)
	signedIn := cur.Session.LastAuthenticated()

	wantCode(t, func() error { _, err := f.svc.StartReauth(ctx, cur, "wrong password", ip); return err }(), gatehouse.EINVALIDCREDENTIALS)
	re, err := f.svc.StartReauth(ctx, cur, testPassword, ip)
	if err != nil {
		t.Fatal(err)
	}
	if re.Done || re.ChallengeID == "" || re.Pending.Method != gatehouse.OTPSMS {
		t.Fatalf("StartReauth = %+v, want a code by SMS", re)
	}
	sent := f.inbox.lastCode(t)
	if sent.Channel != gatehouse.OTPSMS || sent.To != "+358401234567" || sent.Change {
		t.Errorf("code sent %+v, want a sign-in code to the phone", sent)
	}
	if again, _ := f.svc.Authenticate(ctx, token); !again.Session.LastAuthenticated().Equal(signedIn) {
		t.Fatal("the password alone counted as a re-authentication")
	}

	t.Run("the code step belongs to its session", func(t *testing.T) {
		// The same user in another session (another browser, or a thief's
		// copy of the session without its cookie) cannot finish it.
		s := *cur.Session
		s.TokenHash = []byte("another session")
		other := &signin.Current{Session: &s, User: cur.User, Organization: cur.Organization}
		_, err := f.svc.VerifyReauth(ctx, other, re.ChallengeID, sent.Code, ip)
		wantCode(t, err, gatehouse.ELOGINEXPIRED)
	})

	wrong := "000000"
	if sent.Code == wrong {
		wrong = "111111"
	}
	_, err = f.svc.VerifyReauth(ctx, cur, re.ChallengeID, wrong, ip)
	if ge := wantCode(t, err, gatehouse.EINVALIDCODE); ge.AttemptsLeft == nil || *ge.AttemptsLeft != gatehouse.ChallengeMaxFailures-1 {
		t.Errorf("attempts left %v", ge.AttemptsLeft)
	}
	if u, _ := f.db.UserByID(ctx, f.org.ID, f.user.ID); u.OTPFailures != 1 {
		t.Errorf("a wrong re-authentication code counted %d against the user, want 1", u.OTPFailures)
	}
	if re, err = f.svc.VerifyReauth(ctx, cur, re.ChallengeID, sent.Code, ip); err != nil || !re.Done {
		t.Fatalf("right code: %+v, %v", re, err)
	}
	again, _ := f.svc.Authenticate(ctx, token)
	if !again.Session.LastAuthenticated().Equal(f.clock.Now()) {
		t.Errorf("last authenticated %v, want %v", again.Session.LastAuthenticated(), f.clock.Now())
	}
	if _, err := f.svc.VerifyReauth(ctx, cur, re.ChallengeID, sent.Code, ip); gatehouse.ErrorCode(err) != gatehouse.ELOGINEXPIRED {
		t.Errorf("the code step was taken twice: %v", err)
	}
}

func TestReauthenticationWithoutAPhoneSendsTheCodeByEmail(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	_, cur := reauthSession(t, f)
	cur.User.Phone = ""
	if _, err := f.svc.StartReauth(ctx, cur, testPassword, netip.MustParseAddr("198.51.100.7")); err != nil {
		t.Fatal(err)
	}
	if sent := f.inbox.lastCode(t); sent.Channel != gatehouse.OTPEmail || sent.To != "staff@clinic.test" {
		t.Errorf("code sent %+v, want e-mail", sent)
	}
}

func TestReauthenticationNeedsNoCodeWhereSignInAsksNone(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	res, err := f.login("clinic", "staff@clinic.test", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	cur, _ := f.svc.Authenticate(ctx, res.SessionToken)
	f.clock.Add(time.Hour)
	re, err := f.svc.StartReauth(ctx, cur, testPassword, netip.MustParseAddr("198.51.100.7"))
	if err != nil || !re.Done {
		t.Fatalf("StartReauth = %+v, %v; want done", re, err)
	}
	if codes, _ := f.inbox.count(); codes != 0 {
		t.Errorf("%d codes sent", codes)
	}
	if again, _ := f.svc.Authenticate(ctx, res.SessionToken); !again.Session.LastAuthenticated().Equal(f.clock.Now()) {
		t.Error("not recorded")
	}
}

func TestSAML2UsersReauthenticateBySigningInAgain(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	res, err := f.login("clinic", "staff@clinic.test", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	cur, _ := f.svc.Authenticate(ctx, res.SessionToken)
	cur.Organization.Settings.AuthMethod = gatehouse.AuthSAML2
	_, err = f.svc.StartReauth(ctx, cur, testPassword, netip.MustParseAddr("198.51.100.7"))
	if ge := wantCode(t, err, gatehouse.ESSOREQUIRED); ge.Location != "/saml/clinic/login" {
		t.Errorf("location %q", ge.Location)
	}
}

// TestReauthenticationRefusalsCarryTheirReasons: a signed-in user is told
// about wrong passwords, not failed sign-ins, with the wait as the
// argument, and a missing password is named.
func TestReauthenticationRefusalsCarryTheirReasons(t *testing.T) {
	ctx := context.Background()
	ip := netip.MustParseAddr("198.51.100.7")
	f := newFixture(t)
	_, cur := reauthSession(t, f)

	_, err := f.svc.StartReauth(ctx, cur, "", ip)
	wantReason(t, wantCode(t, err, gatehouse.EINVALID), gatehouse.ReasonPasswordRequired)
	for range 100 {
		_, err = f.svc.StartReauth(ctx, cur, "wrong password", ip)
		if gatehouse.ErrorCode(err) != gatehouse.EINVALIDCREDENTIALS {
			break
		}
	}
	ge := wantCode(t, err, gatehouse.ETOOMANYATTEMPTS)
	wantReason(t, ge, gatehouse.ReasonWrongPasswords, ge.RetryAfter)
	if ge.RetryAfter <= 0 {
		t.Errorf("RetryAfter = %v, want a wait", ge.RetryAfter)
	}
}

// TestSignedInRefusalsCarryTheirReasons: the refusals a signed-in user's
// own pages show carry the reasons the pages translate.
func TestSignedInRefusalsCarryTheirReasons(t *testing.T) {
	ctx := context.Background()
	ip := netip.MustParseAddr("198.51.100.7")
	f := newFixture(t)
	_, cur := reauthSession(t, f)
	refusal := func(_ *signin.ContactChange, err error) error { return err }
	cases := []struct {
		name   string
		err    error
		code   string
		reason string
	}{
		{"a change to the phone number the user has", refusal(f.svc.StartContactChange(ctx, cur, gatehouse.ChallengeChangePhone,
			"+358 40 123 4567", testPassword, ip, "test")), gatehouse.EINVALID, gatehouse.ReasonPhoneSame},
		{"a change to the e-mail address the user has", refusal(f.svc.StartContactChange(ctx, cur, gatehouse.ChallengeChangeEmail,
			cur.User.Email, testPassword, ip, "test")), gatehouse.EINVALID, gatehouse.ReasonEmailSame},
		{"a change that does not exist", refusal(f.svc.VerifyContactChange(ctx, cur, "no-such-change", "123456", ip)),
			gatehouse.ELOGINEXPIRED, gatehouse.ReasonChangeExpired},
		{"ending a session that does not exist", f.svc.EndSession(ctx, cur, "no-such-session", ip), gatehouse.ENOTFOUND, gatehouse.ReasonNoSuchSession},
		{"forgetting a browser that is not remembered", f.svc.RevokeBrowser(ctx, cur, "no-such-browser", ip), gatehouse.ENOTFOUND, gatehouse.ReasonNoSuchBrowser},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantReason(t, wantCode(t, tc.err, tc.code), tc.reason)
		})
	}
}
