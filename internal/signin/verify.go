package signin

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/keyring"
)

// VerifyRequest is a code typed for a pending sign-in.
type VerifyRequest struct {
	PendingToken    string
	Code            string
	ClientIP        netip.Addr
	UserAgent       string
	PreviousSession string
	// SharedComputer, when set, signs in without remembering the browser
	// ("This is a shared computer"): the next sign-in there asks for a code
	// again.
	SharedComputer bool
}

// Verify checks a code for the pending sign-in and, when it is right,
// starts a session (a new id) and remembers the browser.
//
// Returns ENOPENDINGLOGIN, ELOGINEXPIRED (over, or 5 wrong codes),
// ECODEEXPIRED, EINVALIDCODE with AttemptsLeft, ETOOMANYATTEMPTS while the
// user backs off or is locked, EINVALID for input that is not 6 digits, and
// EUNAVAILABLE when anything on the way fails.
func (s *Service) Verify(ctx context.Context, req VerifyRequest) (_ *LoginResult, err error) {
	defer s.failure(&err, "Verify")
	now := s.now()
	code := normalizeCode(req.Code)
	c, org, user, err := s.pending(ctx, req.PendingToken, now)
	if err != nil {
		return nil, err
	}
	if !validCode(code) {
		return nil, &gatehouse.Error{Code: gatehouse.EINVALID, Field: "code", Message: "The code is the 6 digits we sent you."}
	}
	if c.Destination == "" {
		return nil, &gatehouse.Error{Code: gatehouse.EINVALID, Field: "phone", Reason: gatehouse.ReasonPhoneFirst, Message: "Enter your phone number first; we will send the code to it."}
	}
	if err := s.takeCode(ctx, c, org, user, code, req.ClientIP, now, loginExpired); err != nil {
		return nil, err
	}
	if c.NewValue != "" {
		if err := s.savePhone(ctx, org, user, c.NewValue, req.ClientIP, now); err != nil {
			return nil, err
		}
	}
	policy, _, _, err := s.policyFor(ctx, org, user)
	if err != nil {
		return nil, s.unavailable("find managed organizations", err)
	}
	start := gatehouse.SessionStart{EndChallenge: c.ID}
	var rememberToken string
	if days := policy.Settings.RememberDays; days > 0 && !req.SharedComputer {
		if rememberToken, err = keyring.NewToken(s.rand); err != nil {
			return nil, s.unavailable("make remember token", err)
		}
		start.Browser = &gatehouse.RememberedBrowser{ID: gatehouse.NewID(), TokenHash: s.keyed("remember token", rememberToken), OrgID: org.ID, UserID: user.ID,
			ClientIP: req.ClientIP, UserAgent: truncate(req.UserAgent, 512), CreatedAt: now, LastUsedAt: now,
			ExpiresAt: now.Add(time.Duration(days) * 24 * time.Hour)}
	}
	// The session, its audit, the end of the pending sign-in and the
	// remembered browser are one write.
	res, err := s.signIn(ctx, org, user, Decision{Outcome: gatehouse.TwoFactorVerified}, req.ClientIP, req.UserAgent, req.PreviousSession, now, start)
	if err != nil {
		return nil, err
	}
	if start.Browser != nil {
		res.RememberToken, res.RememberedUntil = rememberToken, start.Browser.ExpiresAt
	}
	return res, nil
}

// takeCode consumes a code of the challenge, within the user's back-off,
// and returns nil only when it was accepted; then the user's count of
// consecutive wrong codes starts again. over is the answer for a challenge
// that is no longer live.
func (s *Service) takeCode(ctx context.Context, c *gatehouse.Challenge, org *gatehouse.Organization, user *gatehouse.User,
	code string, ip netip.Addr, now time.Time, over func() error) error {
	if wait, locked := gatehouse.OTPWait(user.OTPFailures, user.OTPLastFailureAt, now); locked || wait > 0 {
		return otpLocked(wait, locked)
	}
	// The check above is only a fast refusal from an earlier read: TakeCode
	// checks the user's bound again in the same atomic step that counts.
	a, err := s.codes.TakeCode(ctx, org.ID, user.ID, c.ID, s.codeHash(c, code), now, gatehouse.ChallengeMaxFailures)
	if err != nil {
		return s.unavailable("take code", err)
	}
	switch a.Result {
	case gatehouse.CodeAccepted:
		return nil
	case gatehouse.CodeLocked:
		return otpLocked(a.Wait, a.Locked)
	case gatehouse.CodeOver:
		return over()
	case gatehouse.CodeExpired:
		return &gatehouse.Error{Code: gatehouse.ECODEEXPIRED, Message: "That code has expired. Ask for a new one."}
	case gatehouse.CodeWrong:
		return s.wrongCode(ctx, c, org, user, a.Failures, a.UserFailures, ip, now)
	default:
		return s.unavailable("take code", fmt.Errorf("unknown result %q", a.Result))
	}
}

// wrongCode reports a wrong code, already counted against the user (total
// consecutive, across sign-ins) by TakeCode, and tells the user by e-mail
// when a pending sign-in runs out of tries.
func (s *Service) wrongCode(ctx context.Context, c *gatehouse.Challenge, org *gatehouse.Organization, user *gatehouse.User,
	failures, total int, ip netip.Addr, now time.Time) error {
	s.auditLogged(ctx, &gatehouse.AuditEvent{OrgID: org.ID, UserID: user.ID, Event: gatehouse.AuditCodeWrong, ClientIP: ip, At: now,
		Detail: map[string]string{"attempt": fmt.Sprint(failures), "consecutive": fmt.Sprint(total)}})
	if total >= gatehouse.OTPLockFailures {
		s.auditLogged(ctx, &gatehouse.AuditEvent{OrgID: org.ID, UserID: user.ID, Event: gatehouse.AuditUserLocked, Reason: "wrong_codes", ClientIP: ip, At: now})
	}
	if failures >= gatehouse.ChallengeMaxFailures {
		s.notify(ctx, gatehouse.Notice{Kind: gatehouse.NoticeWrongCodes, To: user.Email, OrgName: org.Name, At: now, ClientIP: ip})
	}
	left := max(gatehouse.ChallengeMaxFailures-failures, 0)
	return &gatehouse.Error{Code: gatehouse.EINVALIDCODE, AttemptsLeft: &left,
		Message: fmt.Sprintf("That code is not right. %s", attemptsWords(left))}
}

func attemptsWords(left int) string {
	switch left {
	case 0:
		return "No tries are left: sign in again with your password."
	case 1:
		return "1 try is left."
	default:
		return fmt.Sprintf("%d tries are left.", left)
	}
}

// savePhone puts a phone number, now proven by its code, on the profile,
// revokes remembered browsers and ends the user's sessions (a change of
// phone) and tells the user by e-mail.
func (s *Service) savePhone(ctx context.Context, org *gatehouse.Organization, user *gatehouse.User, phone string, ip netip.Addr, now time.Time) error {
	u := *user
	u.Phone, u.UpdatedAt = phone, now
	// The number, the end of remembered browsers and the audit event are
	// saved together or not at all.
	if err := s.creds.ChangeCredentials(ctx, gatehouse.CredentialChange{OrgID: org.ID, UserID: user.ID, At: now,
		// A new sign-in factor: every session of the user so far ends
		// (this sign-in's session is made after).
		Phone: &u.Phone, EndRememberedBrowsers: true, EndSessions: true,
		Audit: &gatehouse.AuditEvent{OrgID: org.ID, UserID: user.ID, Event: gatehouse.AuditPhoneAdded, ClientIP: ip, At: now,
			Detail: map[string]string{"phone": Mask(gatehouse.OTPSMS, phone)}}}); err != nil {
		return s.unavailable("save phone", err)
	}
	*user = u
	s.notify(ctx, gatehouse.Notice{Kind: gatehouse.NoticePhoneAdded, To: user.Email, OrgName: org.Name, At: now, ClientIP: ip, NewValue: Mask(gatehouse.OTPSMS, phone)})
	return nil
}

// Resend sends a new code for the pending sign-in; the previous code stays
// valid. Returns ERESENDTOOSOON with RetryAfter, ENOPENDINGLOGIN,
// ELOGINEXPIRED, EDELIVERYFAILED.
func (s *Service) Resend(ctx context.Context, pendingToken string, ip netip.Addr) (_ *Pending, err error) {
	defer s.failure(&err, "Resend")
	now := s.now()
	c, org, user, err := s.pending(ctx, pendingToken, now)
	if err != nil {
		return nil, err
	}
	if c.Destination == "" {
		return nil, &gatehouse.Error{Code: gatehouse.EINVALID, Field: "phone", Reason: gatehouse.ReasonPhoneFirst, Message: "Enter your phone number first; we will send the code to it."}
	}
	p := &Pending{}
	if err := s.sendCode(ctx, c, org, user, ip, now, p); err != nil {
		return nil, err
	}
	return p, nil
}

// Phone takes the phone number of a user asked for one (SMS method, no
// phone on the profile), and sends a code to it. The number is saved only
// when that code is entered. A failed delivery is the result's NotSent.
// Returns EINVALIDPHONE, EPHONENOTEXPECTED, and what Resend returns.
func (s *Service) Phone(ctx context.Context, pendingToken, rawPhone string, ip netip.Addr) (_ *Pending, err error) {
	defer s.failure(&err, "Phone")
	now := s.now()
	c, org, user, err := s.pending(ctx, pendingToken, now)
	if err != nil {
		return nil, err
	}
	if c.Channel != gatehouse.OTPSMS || (c.Destination != "" && c.NewValue == "") {
		return nil, &gatehouse.Error{Code: gatehouse.EPHONENOTEXPECTED, Field: "phone", Message: "This sign-in does not need a phone number."}
	}
	phone, err := s.phone(rawPhone, org.Country)
	if err != nil {
		return nil, err
	}
	if err := s.codes.SetChallengeDestination(ctx, c.ID, gatehouse.OTPSMS, phone, phone, c.Step, now); gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, loginExpired()
	} else if err != nil {
		return nil, s.unavailable("set phone", err)
	}
	c.Destination, c.NewValue = phone, phone
	p := &Pending{}
	if err := s.sendFirst(ctx, c, org, user, ip, now, p); err != nil {
		return nil, err
	}
	switch {
	case p.NotSent == nil:
	case p.NotSent.Code == gatehouse.ERESENDTOOSOON:
		return nil, p.NotSent
	default:
		p.Status, p.Method, p.Destination, p.ExpiresAt = StatusCodeSent, gatehouse.OTPSMS, Mask(gatehouse.OTPSMS, phone), c.ExpiresAt
	}
	return p, nil
}

// Cancel ends the pending sign-in; ending none is not an error.
func (s *Service) Cancel(ctx context.Context, pendingToken string) (err error) {
	defer s.failure(&err, "Cancel")
	if err := s.endPending(ctx, pendingToken); err != nil {
		return s.unavailable("cancel pending sign-in", err)
	}
	return nil
}

func (s *Service) endPending(ctx context.Context, token string) error {
	if token == "" || len(token) > 128 {
		return nil
	}
	c, err := s.challengeByToken(ctx, token)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	return s.codes.DeleteChallenge(ctx, c.ID)
}

// PendingState describes the pending sign-in of a token, for the code page.
func (s *Service) PendingState(ctx context.Context, token string) (_ *Pending, _ *gatehouse.Organization, err error) {
	defer s.failure(&err, "PendingState")
	now := s.now()
	c, org, _, err := s.pending(ctx, token, now)
	if err != nil {
		return nil, nil, err
	}
	p := &Pending{Method: c.Channel, ExpiresAt: c.ExpiresAt, Destination: Mask(c.Channel, c.Destination), Status: StatusCodeSent}
	if c.Destination == "" {
		p.Status = StatusPhoneRequired
	}
	if !c.LastSentAt.IsZero() {
		p.ResendAt = c.LastSentAt.Add(gatehouse.ResendGap)
		p.CodeExpiresAt = c.LastSentAt.Add(gatehouse.CodeLifetime)
	}
	return p, org, nil
}
