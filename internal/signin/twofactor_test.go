package signin_test

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

// strict adds an organization that enforces 2FA by e-mail (the default)
// with one user, and returns a login request for them.
func (f *fixture) strict(mod func(*gatehouse.PasswordSettings)) (*gatehouse.Organization, *gatehouse.User, signin.LoginRequest) {
	f.t.Helper()
	s := gatehouse.DefaultPasswordSettings()
	if mod != nil {
		mod(&s)
	}
	org := f.addOrg("strict", s)
	u := f.addUser(org, "nurse@strict.test", testPassword)
	return org, u, signin.LoginRequest{Organization: "strict", Email: "nurse@strict.test", Password: testPassword,
		ClientIP: netip.MustParseAddr("203.0.113.9"), UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"}
}

func (f *fixture) verify(token, code string) (*signin.LoginResult, error) {
	return f.svc.Verify(context.Background(), signin.VerifyRequest{PendingToken: token, Code: code, ClientIP: netip.MustParseAddr("203.0.113.9")})
}

func wrongOf(code string) string {
	if code == "000000" {
		return "000001"
	}
	return "000000"
}

func TestACodeFinishesTheSignInAndTheBrowserIsRemembered(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	_, u, req := f.strict(nil)
	res, err := f.svc.Login(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Pending == nil || res.Pending.Status != signin.StatusCodeSent || res.SessionToken != "" {
		t.Fatalf("login = %+v, want a pending sign-in with a code sent and no session", res)
	}
	if res.Pending.Destination != "n•••@strict.test" || res.Pending.Method != gatehouse.OTPEmail {
		t.Errorf("destination %q method %q", res.Pending.Destination, res.Pending.Method)
	}
	if got, want := res.Pending.CodeExpiresAt.Sub(f.clock.Now()), 10*time.Minute; got != want {
		t.Errorf("code lives %v, want %v", got, want)
	}
	if got, want := res.Pending.ResendAt.Sub(f.clock.Now()), 30*time.Second; got != want {
		t.Errorf("resend after %v, want %v", got, want)
	}
	sent := f.inbox.lastCode(t)
	if sent.To != u.Email || len(sent.Code) != 6 || sent.Lifetime != 10*time.Minute || sent.OrgName != "strict" {
		t.Errorf("sent %+v", sent)
	}

	// A pending sign-in is not a session.
	if _, err := f.svc.Authenticate(ctx, res.Pending.Token); gatehouse.ErrorCode(err) != gatehouse.EUNAUTHORIZED {
		t.Errorf("the pending token works as a session: %v", err)
	}

	done, err := f.verify(res.Pending.Token, " "+sent.Code[:3]+" "+sent.Code[3:])
	if err != nil {
		t.Fatal(err)
	}
	if done.Decision.Outcome != gatehouse.TwoFactorVerified || done.SessionToken == "" || done.SessionToken == res.Pending.Token {
		t.Errorf("verify = %+v, want a new session, verified", done.Decision)
	}
	if got, want := done.RememberedUntil, f.clock.Now().Add(30*24*time.Hour); !got.Equal(want) {
		t.Errorf("remembered until %v, want %v", got, want)
	}
	if _, err := f.verify(res.Pending.Token, sent.Code); gatehouse.ErrorCode(err) != gatehouse.ENOPENDINGLOGIN {
		t.Errorf("the code was taken twice: %v", err)
	}
	got, err := f.db.UserByID(ctx, u.OrgID, u.ID)
	if err != nil || !got.LastVerifiedAt.Equal(f.clock.Now()) {
		t.Errorf("last verified = %v, %v", got.LastVerifiedAt, err)
	}

	// The same browser is not asked again for 30 days.
	f.clock.Add(29 * 24 * time.Hour)
	req.RememberTokens = []string{"unrelated-token", done.RememberToken}
	again, err := f.svc.Login(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if again.Pending != nil || again.Decision.Outcome != gatehouse.TwoFactorRemembered {
		t.Fatalf("second sign-in = %+v, want remembered", again.Decision)
	}
	codes, _ := f.inbox.count()

	// After 30 days it is.
	f.clock.Add(24*time.Hour + time.Second)
	later, err := f.svc.Login(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if later.Pending == nil {
		t.Errorf("after 30 days the browser is still remembered: %+v", later.Decision)
	}
	if n, _ := f.inbox.count(); n != codes+1 {
		t.Errorf("%d codes sent, want one more", n-codes)
	}
}

func TestARememberedBrowserIsOnlyForItsUser(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	org, _, req := f.strict(nil)
	f.addUser(org, "doctor@strict.test", testPassword)
	res, _ := f.svc.Login(ctx, req)
	done, err := f.verify(res.Pending.Token, f.inbox.lastCode(t).Code)
	if err != nil {
		t.Fatal(err)
	}
	other := req
	other.Email = "doctor@strict.test"
	other.RememberTokens = []string{done.RememberToken}
	res, err = f.svc.Login(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	if res.Pending == nil {
		t.Error("another user of the same browser skipped the code")
	}
}

func TestRememberDaysZeroAsksEveryTime(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	_, _, req := f.strict(func(s *gatehouse.PasswordSettings) { s.RememberDays = 0 })
	res, _ := f.svc.Login(ctx, req)
	done, err := f.verify(res.Pending.Token, f.inbox.lastCode(t).Code)
	if err != nil {
		t.Fatal(err)
	}
	if done.RememberToken != "" {
		t.Error("a browser was remembered with remember_days 0")
	}
}

func TestWrongCodes(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	_, u, req := f.strict(nil)
	res, _ := f.svc.Login(ctx, req)
	code := f.inbox.lastCode(t).Code
	for i := range 5 {
		_, err := f.verify(res.Pending.Token, wrongOf(code))
		ge := wantCode(t, err, gatehouse.EINVALIDCODE)
		if ge.AttemptsLeft == nil || *ge.AttemptsLeft != 4-i {
			t.Fatalf("wrong code %d: attempts_left %v, want %d", i+1, ge.AttemptsLeft, 4-i)
		}
	}
	_, err := f.verify(res.Pending.Token, code)
	wantCode(t, err, gatehouse.ELOGINEXPIRED)
	_, err = f.svc.Resend(ctx, res.Pending.Token, req.ClientIP)
	wantCode(t, err, gatehouse.ELOGINEXPIRED)

	_, notices := f.inbox.count()
	if notices != 1 || f.inbox.notices[0].Kind != gatehouse.NoticeWrongCodes || f.inbox.notices[0].To != u.Email {
		t.Errorf("notices = %+v, want one wrong-codes e-mail to the user", f.inbox.notices)
	}
	got, _ := f.db.UserByID(ctx, u.OrgID, u.ID)
	if got.OTPFailures != 5 {
		t.Errorf("user's consecutive wrong codes = %d, want 5", got.OTPFailures)
	}
}

func TestNotADigitCodeIsRefusedWithoutCounting(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	_, _, req := f.strict(nil)
	res, _ := f.svc.Login(ctx, req)
	for _, bad := range []string{"", "12345", "1234567", "abcdef", "12345６"} {
		_, err := f.verify(res.Pending.Token, bad)
		wantCode(t, err, gatehouse.EINVALID)
	}
	if _, err := f.verify(res.Pending.Token, f.inbox.lastCode(t).Code); err != nil {
		t.Errorf("the right code after malformed ones: %v", err)
	}
}

func TestConsecutiveWrongCodesBackOffAcrossSignInsAndLockAt100(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	org, u, req := f.strict(nil)
	for range 2 {
		res, err := f.svc.Login(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		code := f.inbox.lastCode(t).Code
		for range 5 {
			f.verify(res.Pending.Token, wrongOf(code))
		}
	}
	// 10 consecutive: a new sign-in (a new pending sign-in) still backs off.
	_, err := f.svc.Login(ctx, req)
	ge := wantCode(t, err, gatehouse.ETOOMANYATTEMPTS)
	if ge.RetryAfter != 30*time.Second {
		t.Errorf("RetryAfter = %v, want the first wait of 30 s", ge.RetryAfter)
	}
	wantReason(t, ge, gatehouse.ReasonWrongCodes, 30*time.Second)
	f.clock.Add(31 * time.Second)
	res, err := f.svc.Login(ctx, req)
	if err != nil {
		t.Fatalf("after the wait: %v", err)
	}
	if _, err := f.verify(res.Pending.Token, f.inbox.lastCode(t).Code); err != nil {
		t.Fatal(err)
	}
	got, _ := f.db.UserByID(ctx, org.ID, u.ID)
	if got.OTPFailures != 0 {
		t.Errorf("a right code left %d consecutive failures", got.OTPFailures)
	}

	for range 100 {
		if _, err := f.db.RecordOTPFailure(ctx, org.ID, u.ID, f.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	f.clock.Add(48 * time.Hour)
	_, err = f.svc.Login(ctx, req)
	ge = wantCode(t, err, gatehouse.ETOOMANYATTEMPTS)
	if ge.RetryAfter != time.Hour || !strings.Contains(ge.Message, "locked") {
		t.Errorf("a locked user is told %q, retry after %v; want the lock named and an hour", ge.Message, ge.RetryAfter)
	}
	wantReason(t, ge, gatehouse.ReasonLocked)
	f.clock.Add(24 * time.Hour)
	if _, err := f.svc.Login(ctx, req); gatehouse.ErrorCode(err) != gatehouse.ETOOMANYATTEMPTS {
		t.Errorf("the lock ended by itself: %v", err)
	}
}

// TestTheLongestBackOffIsNotALock: a wait of exactly OTPMaxWait (the
// failure this instant) is still a back-off; only the lock says "locked".
func TestTheLongestBackOffIsNotALock(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	org, u, req := f.strict(nil)
	for range gatehouse.OTPLockFailures - 1 {
		if _, err := f.db.RecordOTPFailure(ctx, org.ID, u.ID, f.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	_, err := f.svc.Login(ctx, req)
	ge := wantCode(t, err, gatehouse.ETOOMANYATTEMPTS)
	if ge.RetryAfter != gatehouse.OTPMaxWait {
		t.Fatalf("RetryAfter = %v, want the longest wait %v", ge.RetryAfter, gatehouse.OTPMaxWait)
	}
	wantReason(t, ge, gatehouse.ReasonWrongCodes, gatehouse.OTPMaxWait)
}

func TestResends(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	_, _, req := f.strict(nil)
	res, _ := f.svc.Login(ctx, req)
	first := f.inbox.lastCode(t).Code

	_, err := f.svc.Resend(ctx, res.Pending.Token, req.ClientIP)
	ge := wantCode(t, err, gatehouse.ERESENDTOOSOON)
	if ge.RetryAfter != 30*time.Second {
		t.Errorf("RetryAfter = %v, want 30s", ge.RetryAfter)
	}
	wantReason(t, ge, "") // the gap between two sends, not the caps
	f.clock.Add(30 * time.Second)
	p, err := f.svc.Resend(ctx, res.Pending.Token, req.ClientIP)
	if err != nil {
		t.Fatal(err)
	}
	if !p.ResendAt.Equal(f.clock.Now().Add(30 * time.Second)) {
		t.Errorf("resend_at = %v", p.ResendAt)
	}
	second := f.inbox.lastCode(t).Code
	f.clock.Add(30 * time.Second)
	if _, err := f.svc.Resend(ctx, res.Pending.Token, req.ClientIP); err != nil {
		t.Fatal(err)
	}
	third := f.inbox.lastCode(t).Code

	// At most two live codes: the first no longer works, the second does.
	if first != second && first != third {
		_, err = f.verify(res.Pending.Token, first)
		wantCode(t, err, gatehouse.EINVALIDCODE)
	}
	if _, err := f.verify(res.Pending.Token, second); err != nil {
		t.Errorf("the previous code stopped working after a resend: %v", err)
	}
}

func TestACodeExpiresAfterTenMinutesButCanBeResent(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	_, _, req := f.strict(nil)
	res, _ := f.svc.Login(ctx, req)
	code := f.inbox.lastCode(t).Code
	f.clock.Add(10 * time.Minute)
	_, err := f.verify(res.Pending.Token, code)
	wantCode(t, err, gatehouse.ECODEEXPIRED)
	if _, err := f.svc.Resend(ctx, res.Pending.Token, req.ClientIP); err != nil {
		t.Fatal(err)
	}
	if _, err := f.verify(res.Pending.Token, f.inbox.lastCode(t).Code); err != nil {
		t.Fatal(err)
	}
}

func TestAPendingSignInEndsAfterFifteenMinutes(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	_, _, req := f.strict(nil)
	res, _ := f.svc.Login(ctx, req)
	f.clock.Add(15 * time.Minute)
	_, err := f.verify(res.Pending.Token, f.inbox.lastCode(t).Code)
	wantCode(t, err, gatehouse.ELOGINEXPIRED)
}

func TestAtMostFiveCodesPerUserInFifteenMinutes(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	_, _, req := f.strict(nil)
	for i := range 5 {
		if _, err := f.svc.Login(ctx, req); err != nil {
			t.Fatalf("sign-in %d: %v", i+1, err)
		}
		f.clock.Add(time.Minute)
	}
	_, err := f.svc.Login(ctx, req)
	wantReason(t, wantCode(t, err, gatehouse.ERESENDTOOSOON), gatehouse.ReasonSendCapped, gatehouse.SendWindow)
	f.clock.Add(11 * time.Minute)
	if _, err := f.svc.Login(ctx, req); err != nil {
		t.Errorf("after the window: %v", err)
	}
}

func TestANewSignInReplacesThePendingOneInThatBrowser(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	_, _, req := f.strict(nil)
	first, _ := f.svc.Login(ctx, req)
	req.PreviousPending = first.Pending.Token
	second, err := f.svc.Login(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.verify(first.Pending.Token, f.inbox.lastCode(t).Code)
	wantCode(t, err, gatehouse.ENOPENDINGLOGIN)
	if _, err := f.verify(second.Pending.Token, f.inbox.lastCode(t).Code); err != nil {
		t.Error(err)
	}
}

func TestAFailedDeliveryCountsNothing(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	_, u, req := f.strict(nil)
	f.inbox.fail = true
	res, err := f.svc.Login(ctx, req)
	if err != nil {
		t.Fatalf("a failed delivery is a state of the result, not an error: %v", err)
	}
	if res == nil || res.Pending == nil || res.Pending.Token == "" {
		t.Fatal("a failed delivery left no pending sign-in to resend from")
	}
	wantReason(t, wantCode(t, res.Pending.Undelivered(), gatehouse.EDELIVERYFAILED), gatehouse.ReasonDeliveryEmail)
	counts, _ := f.db.CountSends(ctx, u.ID, u.Email, req.ClientIP, f.clock.Now().Add(-time.Hour))
	if counts.User != 0 {
		t.Errorf("a failed delivery counted %d sends", counts.User)
	}
	// The user may retry at once, and the retry works.
	f.inbox.fail = false
	if _, err := f.svc.Resend(ctx, res.Pending.Token, req.ClientIP); err != nil {
		t.Fatalf("retry after a failed delivery: %v", err)
	}
	if _, err := f.verify(res.Pending.Token, f.inbox.lastCode(t).Code); err != nil {
		t.Error(err)
	}
}

func TestSMSWithoutAPhoneAsksForOneAndSavesItOnlyWhenVerified(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	org, u, req := f.strict(func(s *gatehouse.PasswordSettings) { s.OTPMethod = gatehouse.OTPSMS })
	res, err := f.svc.Login(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Pending.Status != signin.StatusPhoneRequired {
		t.Fatalf("status %q, want phone_required", res.Pending.Status)
	}
	if n, _ := f.inbox.count(); n != 0 {
		t.Fatal("a code was sent before a phone number was given")
	}
	_, err = f.verify(res.Pending.Token, "123456")
	wantReason(t, wantCode(t, err, gatehouse.EINVALID), gatehouse.ReasonPhoneFirst)
	_, err = f.svc.Phone(ctx, res.Pending.Token, "not a phone", req.ClientIP)
	wantCode(t, err, gatehouse.EINVALIDPHONE)
	// A text message that does not go out leaves a result that says where
	// it was to go, for the code page's resend.
	f.inbox.fail = true
	p, err := f.svc.Phone(ctx, res.Pending.Token, "+358 40 123 4567", req.ClientIP)
	if err != nil {
		t.Fatalf("an undelivered code is a state of the result, not an error: %v", err)
	}
	wantReason(t, wantCode(t, p.Undelivered(), gatehouse.EDELIVERYFAILED), gatehouse.ReasonDeliverySMS)
	if p.Status != signin.StatusCodeSent || p.Destination != "+358•••••••67" {
		t.Errorf("after a failed delivery: %+v; want the code step and the masked number", p)
	}
	f.inbox.fail = false
	p, err = f.svc.Phone(ctx, res.Pending.Token, "+358 40 123 4567", req.ClientIP)
	if err != nil || p.NotSent != nil {
		t.Fatal(err, p.NotSent)
	}
	sent := f.inbox.lastCode(t)
	if sent.Channel != gatehouse.OTPSMS || sent.To != "+358401234567" || p.Destination != "+358•••••••67" {
		t.Errorf("sent %+v, destination %q", sent, p.Destination)
	}
	if got, _ := f.db.UserByID(ctx, org.ID, u.ID); got.Phone != "" {
		t.Fatal("the phone was saved before its code was entered")
	}
	// A wrong code does not save it either.
	f.verify(res.Pending.Token, wrongOf(sent.Code))
	if got, _ := f.db.UserByID(ctx, org.ID, u.ID); got.Phone != "" {
		t.Fatal("the phone was saved after a wrong code")
	}
	if _, err := f.verify(res.Pending.Token, sent.Code); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.db.UserByID(ctx, org.ID, u.ID); got.Phone != "+358401234567" {
		t.Errorf("phone = %q after the code, want it saved", got.Phone)
	}
	var told bool
	for _, n := range f.inbox.notices {
		if n.Kind == gatehouse.NoticePhoneAdded && n.To == u.Email && n.ClientIP == req.ClientIP && n.NewValue != "" {
			told = true
		}
	}
	if !told {
		t.Errorf("the user was not told by e-mail: %+v", f.inbox.notices)
	}
}

func TestOnlyOneOfTwentyConcurrentSubmissionsSucceeds(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	_, _, req := f.strict(nil)
	res, _ := f.svc.Login(ctx, req)
	code := f.inbox.lastCode(t).Code
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 20 {
		wg.Go(func() {
			if r, err := f.verify(res.Pending.Token, code); err == nil && r.SessionToken != "" {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d submissions of one code succeeded, want exactly 1", wins)
	}
}

func TestCodesAreUniformDigits(t *testing.T) {
	// The first draw is above the largest multiple of 10^6 below 2^32 and
	// must be drawn again; the second gives 000042.
	r := bytes.NewReader([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 42})
	code, err := signin.NewCodeForTest(r)
	if err != nil || code != "000042" {
		t.Errorf("code = %q, %v; want 000042 after a rejected draw", code, err)
	}
}

func TestContactChanges(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	org, u, req := f.strict(func(s *gatehouse.PasswordSettings) { s.EnforceTwoFactor = false })
	f.addUser(org, "taken@strict.test", testPassword)
	res, err := f.svc.Login(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	cur, err := f.svc.Authenticate(ctx, res.SessionToken)
	if err != nil {
		t.Fatal(err)
	}
	ip := req.ClientIP

	_, err = f.svc.StartContactChange(ctx, cur, gatehouse.ChallengeChangeEmail, "new@strict.test", "wrong password", ip, "")
	wantCode(t, err, gatehouse.EINVALIDCREDENTIALS)
	_, err = f.svc.StartContactChange(ctx, cur, gatehouse.ChallengeChangeEmail, "taken@strict.test", testPassword, ip, "")
	wantCode(t, err, gatehouse.ECONFLICT)

	ch, err := f.svc.StartContactChange(ctx, cur, gatehouse.ChallengeChangeEmail, "New@Strict.test", testPassword, ip, "")
	if err != nil {
		t.Fatal(err)
	}
	first := f.inbox.lastCode(t)
	if first.To != u.Email || !first.Change {
		t.Errorf("step 1 code went to %q (change %v), want the current address", first.To, first.Change)
	}
	ch, err = f.svc.VerifyContactChange(ctx, cur, ch.ChallengeID, first.Code, ip)
	if err != nil || ch.Done || ch.Step != 2 {
		t.Fatalf("after step 1: %+v, %v", ch, err)
	}
	second := f.inbox.lastCode(t)
	if second.To != "new@strict.test" {
		t.Errorf("step 2 code went to %q, want the new address", second.To)
	}
	if got, _ := f.db.UserByID(ctx, org.ID, u.ID); got.Email != u.Email {
		t.Fatal("the e-mail changed before the new address was proven")
	}
	ch, err = f.svc.VerifyContactChange(ctx, cur, ch.ChallengeID, second.Code, ip)
	if err != nil || !ch.Done {
		t.Fatalf("after step 2: %+v, %v", ch, err)
	}
	if got, _ := f.db.UserByID(ctx, org.ID, u.ID); got.Email != "new@strict.test" {
		t.Errorf("e-mail = %q, want the new one", got.Email)
	}
	to := map[string]bool{}
	for _, n := range f.inbox.notices {
		if n.Kind == gatehouse.NoticeEmailChanged {
			to[n.To] = true
		}
	}
	if !to[u.Email] || !to["new@strict.test"] {
		t.Errorf("change notices went to %v, want both addresses", to)
	}
}
