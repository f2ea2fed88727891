package signin

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/keyring"
)

// Pending is a sign-in waiting for a code or a phone number.
type Pending struct {
	// Token is the pending sign-in's cookie value, set when it is new.
	Token string
	// Status is "code_sent" or "phone_required".
	Status string
	Method gatehouse.OTPMethod
	// Destination is where the code went, masked ("" before a phone).
	Destination string
	// CodeExpiresAt, ResendAt: when the newest code expires and when the
	// next send is allowed; ExpiresAt: when the pending sign-in ends.
	CodeExpiresAt time.Time
	ResendAt      time.Time
	ExpiresAt     time.Time
	// NotSent, when set, is why this step's code did not go out
	// (EDELIVERYFAILED: the provider failed; ERESENDTOOSOON: a send cap
	// is reached). The step lives on and nothing was counted against the
	// user, so a resend may work; the caller answers with NotSent.
	NotSent *gatehouse.Error
}

// Undelivered is p's NotSent as an error, nil when the code went out (or p
// is nil).
func (p *Pending) Undelivered() error {
	if p == nil || p.NotSent == nil {
		return nil
	}
	return p.NotSent
}

const (
	StatusCodeSent      = "code_sent"
	StatusPhoneRequired = "phone_required"
)

// startChallenge begins the code step of a sign-in whose password was right.
// A failed delivery is the result's Pending.NotSent, so the browser gets its
// pending cookie and can resend; a reached send cap is an error (no pending
// sign-in).
func (s *Service) startChallenge(ctx context.Context, org *gatehouse.Organization, user *gatehouse.User, d Decision, req LoginRequest, now time.Time) (*LoginResult, error) {
	if wait, locked := gatehouse.OTPWait(user.OTPFailures, user.OTPLastFailureAt, now); locked || wait > 0 {
		return nil, otpLocked(wait, locked)
	}
	if req.PreviousPending != "" {
		if err := s.endPending(ctx, req.PreviousPending); err != nil {
			return nil, s.unavailable("end previous pending sign-in", err)
		}
	}
	token, err := NewToken(s.rand)
	if err != nil {
		return nil, s.unavailable("make pending token", err)
	}
	c := &gatehouse.Challenge{
		ID:        gatehouse.NewID(),
		TokenHash: s.keyed("pending token", token),
		Kind:      gatehouse.ChallengeLogin,
		OrgID:     org.ID,
		UserID:    user.ID,
		Channel:   org.Settings.OTPMethod,
		Step:      1,
		ClientIP:  req.ClientIP,
		UserAgent: truncate(req.UserAgent, 512),
		CreatedAt: now,
		ExpiresAt: now.Add(gatehouse.ChallengeLifetime),
	}
	switch {
	case d.Outcome == NeedPhone:
	case c.Channel == gatehouse.OTPSMS:
		c.Destination = user.Phone
	default:
		c.Destination = user.Email
	}
	if err := s.store.CreateChallenge(ctx, c); err != nil {
		return nil, s.unavailable("save pending sign-in", err)
	}
	if err := s.passwordStillHolds(ctx, user, req.ClientIP, now, func() error { return s.store.DeleteChallenge(ctx, c.ID) }); err != nil {
		return nil, err
	}
	res := &LoginResult{User: user, Organization: org, Decision: d,
		Pending: &Pending{Token: token, Method: c.Channel, ExpiresAt: c.ExpiresAt}}
	if d.Outcome == NeedPhone {
		res.Pending.Status = StatusPhoneRequired
		if err := s.audit(ctx, &gatehouse.AuditEvent{OrgID: org.ID, UserID: user.ID, Event: gatehouse.AuditLoginPhoneRequired,
			Reason: "sms_without_phone", ClientIP: req.ClientIP, At: now}); err != nil {
			return nil, err
		}
		return res, nil
	}
	if err := s.sendFirst(ctx, c, org, user, req.ClientIP, now, res.Pending); err != nil {
		return nil, err
	}
	if n := res.Pending.NotSent; n != nil && n.Code == gatehouse.ERESENDTOOSOON {
		return nil, n
	}
	return res, nil
}

// passwordStillHolds looks at the user again once what their password
// check started (a pending sign-in, a session) is saved. A password change
// (or disable) ends the user's pending sign-ins and sessions, but one whose
// password check ran while the change was being made is saved after that:
// it finds the new hash here and undoes itself, so a sign-in with the old
// password never outlives the change.
func (s *Service) passwordStillHolds(ctx context.Context, user *gatehouse.User, ip netip.Addr, at time.Time, undo func() error) error {
	now, err := s.store.UserByID(ctx, user.OrgID, user.ID)
	if err == nil && now.PasswordHash == user.PasswordHash && !now.Disabled {
		return nil
	}
	if uerr := undo(); uerr != nil {
		return s.unavailable("undo sign-in", uerr)
	}
	if err != nil && gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		return s.unavailable("find user", err)
	}
	s.auditLogged(ctx, &gatehouse.AuditEvent{OrgID: user.OrgID, UserID: user.ID, Event: gatehouse.AuditLoginFailed,
		Reason: "password_changed", ClientIP: ip, At: at})
	return &gatehouse.Error{Code: gatehouse.EINVALIDCREDENTIALS, Message: "The e-mail address or password is incorrect."}
}

// sendCode makes a new code for a live challenge and delivers it, within
// the send caps. A failed delivery is undone entirely: it counts against
// nobody and the user may try again at once.
func (s *Service) sendCode(ctx context.Context, c *gatehouse.Challenge, org *gatehouse.Organization, user *gatehouse.User,
	ip netip.Addr, now time.Time, p *Pending) error {
	// The send is reserved under the caps, atomically, before anything is
	// delivered: racing sign-ins on any node cannot all pass a check that
	// only a later write would have closed.
	reservation, _, ok, err := s.store.ReserveSend(ctx, gatehouse.SendRecord{UserID: user.ID, Destination: c.Destination, ClientIP: ip, At: now},
		now.Add(-gatehouse.SendWindow), gatehouse.DefaultSendCaps())
	if err != nil {
		return s.unavailable("reserve send", err)
	}
	if !ok {
		return &gatehouse.Error{Code: gatehouse.ERESENDTOOSOON, Reason: gatehouse.ReasonSendCapped, Args: []any{gatehouse.SendWindow}, RetryAfter: gatehouse.SendWindow,
			Message: fmt.Sprintf("Too many codes were sent in the last %d minutes. Try again later.", int(gatehouse.SendWindow.Minutes()))}
	}
	ok, prev, next, err := s.store.ClaimSend(ctx, c.ID, now, gatehouse.ResendGap)
	if err != nil || !ok {
		s.cancelSend(ctx, reservation)
	}
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return loginExpired()
	} else if err != nil {
		return s.unavailable("claim send", err)
	}
	if !ok {
		return &gatehouse.Error{Code: gatehouse.ERESENDTOOSOON, RetryAfter: max(next.Sub(now), time.Second),
			Message: "A code was sent a moment ago. Wait before asking for another."}
	}
	code, err := newCode(s.rand)
	if err != nil {
		s.releaseSend(ctx, c.ID, prev)
		s.cancelSend(ctx, reservation)
		return s.unavailable("make code", err)
	}
	hash := s.codeHash(c, code)
	expires := now.Add(gatehouse.CodeLifetime)
	if err := s.store.AddCode(ctx, c.ID, hash, now, expires); err != nil {
		s.releaseSend(ctx, c.ID, prev)
		s.cancelSend(ctx, reservation)
		return s.unavailable("save code", err)
	}
	dctx, cancel := context.WithTimeout(ctx, s.deliver)
	err = s.msg.SendCode(dctx, gatehouse.CodeMessage{Channel: c.Channel, To: c.Destination, OrgName: org.Name, Code: code,
		Lifetime: gatehouse.CodeLifetime, Change: c.Kind == gatehouse.ChallengeChangePhone || c.Kind == gatehouse.ChallengeChangeEmail})
	cancel()
	if err != nil {
		s.log.WarnContext(ctx, "code delivery failed", "channel", c.Channel, "org_id", c.OrgID, "user_id", c.UserID, "error", err)
		s.observeD(string(c.Channel), "failed")
		if derr := s.store.DeleteCode(ctx, c.ID, hash); derr != nil {
			s.log.ErrorContext(ctx, "could not drop undelivered code", "error", derr)
		}
		s.releaseSend(ctx, c.ID, prev)
		s.cancelSend(ctx, reservation)
		s.auditLogged(ctx, &gatehouse.AuditEvent{OrgID: c.OrgID, UserID: c.UserID, Event: gatehouse.AuditCodeDeliveryFailed,
			Reason: string(c.Channel), ClientIP: ip, At: now, Detail: map[string]string{"destination": Mask(c.Channel, c.Destination)}})
		what, reason := "e-mail", gatehouse.ReasonDeliveryEmail
		if c.Channel == gatehouse.OTPSMS {
			what, reason = "text message", gatehouse.ReasonDeliverySMS
		}
		return &gatehouse.Error{Code: gatehouse.EDELIVERYFAILED, Reason: reason,
			Message: "We could not send the " + what + " with your code. Try again in a moment."}
	}
	s.observeD(string(c.Channel), "sent")
	if err := s.audit(ctx, &gatehouse.AuditEvent{OrgID: c.OrgID, UserID: c.UserID, Event: gatehouse.AuditCodeSent,
		Reason: string(c.Channel), ClientIP: ip, At: now, Detail: map[string]string{"destination": Mask(c.Channel, c.Destination)}}); err != nil {
		return err
	}
	p.Status = StatusCodeSent
	p.Method = c.Channel
	p.Destination = Mask(c.Channel, c.Destination)
	p.CodeExpiresAt = expires
	p.ResendAt = now.Add(gatehouse.ResendGap)
	p.ExpiresAt = c.ExpiresAt
	return nil
}

// sendFirst sends the first code of a step that lives on without it (a
// pending sign-in, a contact change, a re-authentication): a failed
// delivery or a reached send cap becomes p.NotSent; any other failure is
// the error.
func (s *Service) sendFirst(ctx context.Context, c *gatehouse.Challenge, org *gatehouse.Organization, user *gatehouse.User,
	ip netip.Addr, now time.Time, p *Pending) error {
	err := s.sendCode(ctx, c, org, user, ip, now, p)
	var ge *gatehouse.Error
	if errors.As(err, &ge) && (ge.Code == gatehouse.EDELIVERYFAILED || ge.Code == gatehouse.ERESENDTOOSOON) {
		p.NotSent = ge
		return nil
	}
	return err
}

// cancelSend gives back a reserved send that was not delivered. If that
// fails the reservation stays and counts: closed, not open.
func (s *Service) cancelSend(ctx context.Context, id int64) {
	if err := s.store.CancelSend(ctx, id); err != nil {
		s.log.ErrorContext(ctx, "could not cancel a reserved send", "error", err)
	}
}

func (s *Service) releaseSend(ctx context.Context, id string, prev time.Time) {
	if err := s.store.ReleaseSend(ctx, id, prev); err != nil {
		s.log.ErrorContext(ctx, "could not release a send", "error", err)
	}
}

// pending finds the live challenge of a pending-sign-in token together with
// its organization and user. Returns ENOPENDINGLOGIN when there is none and
// ELOGINEXPIRED when it is over.
func (s *Service) pending(ctx context.Context, token string, now time.Time) (*gatehouse.Challenge, *gatehouse.Organization, *gatehouse.User, error) {
	if token == "" || len(token) > 128 {
		return nil, nil, nil, noPending()
	}
	c, err := s.challengeByToken(ctx, token)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, nil, nil, noPending()
	} else if err != nil {
		return nil, nil, nil, s.unavailable("find pending sign-in", err)
	}
	if c.Kind != gatehouse.ChallengeLogin {
		return nil, nil, nil, noPending()
	}
	if !now.Before(c.ExpiresAt) || c.Failures >= gatehouse.ChallengeMaxFailures {
		return nil, nil, nil, loginExpired()
	}
	org, err := s.store.OrganizationByID(ctx, c.OrgID)
	if err != nil {
		return nil, nil, nil, s.unavailable("find organization", err)
	}
	user, err := s.store.UserByID(ctx, c.OrgID, c.UserID)
	if err != nil {
		return nil, nil, nil, s.unavailable("find user", err)
	}
	if user.Disabled {
		return nil, nil, nil, loginExpired()
	}
	return c, org, user, nil
}

// VerifyRequest is a code typed for a pending sign-in.
type VerifyRequest struct {
	PendingToken    string
	Code            string
	ClientIP        netip.Addr
	UserAgent       string
	PreviousSession string
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
	if err := s.store.DeleteChallenge(ctx, c.ID); err != nil {
		return nil, s.unavailable("end pending sign-in", err)
	}
	res, err := s.signIn(ctx, org, user, Decision{Outcome: gatehouse.TwoFactorVerified}, req.ClientIP, req.UserAgent, req.PreviousSession, now)
	if err != nil {
		return nil, err
	}
	if days := org.Settings.RememberDays; days > 0 {
		token, err := NewToken(s.rand)
		if err != nil {
			return nil, s.unavailable("make remember token", err)
		}
		b := &gatehouse.RememberedBrowser{ID: gatehouse.NewID(), TokenHash: s.keyed("remember token", token), OrgID: org.ID, UserID: user.ID,
			ClientIP: req.ClientIP, UserAgent: truncate(req.UserAgent, 512), CreatedAt: now, LastUsedAt: now,
			ExpiresAt: now.Add(time.Duration(days) * 24 * time.Hour)}
		if err := s.store.CreateRememberedBrowser(ctx, b); err != nil {
			return nil, s.unavailable("remember browser", err)
		}
		res.RememberToken, res.RememberedUntil = token, b.ExpiresAt
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
	a, err := s.store.TakeCode(ctx, org.ID, user.ID, c.ID, s.codeHash(c, code), now, gatehouse.ChallengeMaxFailures)
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
	if err := s.store.ChangeCredentials(ctx, gatehouse.CredentialChange{OrgID: org.ID, UserID: user.ID, At: now,
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
	phone, err := s.phone(rawPhone, "")
	if err != nil {
		return nil, err
	}
	if err := s.store.SetChallengeDestination(ctx, c.ID, gatehouse.OTPSMS, phone, phone, c.Step, now); gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
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
	return s.store.DeleteChallenge(ctx, c.ID)
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

// remembered returns the id of an unexpired remembered browser of the user
// among the browser's tokens, checking expiry against the organization's
// current setting too (it may have been shortened).
func (s *Service) remembered(ctx context.Context, org *gatehouse.Organization, user *gatehouse.User, tokens []string, now time.Time) (string, error) {
	var live []string
	for _, t := range tokens {
		if t != "" && len(t) <= 128 && len(live) < gatehouse.MaxRememberedPerBrowser {
			live = append(live, t)
		}
	}
	if len(live) == 0 {
		return "", nil
	}
	// One lookup per way a key of the ring may have hashed the tokens, the
	// current key's first: usually the only one.
	var forms [][]keyring.Candidate
	for _, t := range live {
		forms = append(forms, s.candidates("remember token", t))
	}
	var b *gatehouse.RememberedBrowser
	// The current key's form is tried last again: another node may re-key
	// the browser between the first lookup and the old key's.
	for _, i := range append(indexes(len(forms[0])), 0) {
		hashes := make([][]byte, len(live))
		for j := range live {
			hashes[j] = forms[j][i].Hash
		}
		var err error
		b, err = s.store.FindRememberedBrowser(ctx, org.ID, user.ID, hashes, now)
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			b = nil
			continue
		} else if err != nil {
			return "", err
		}
		if !forms[0][i].Current {
			if err := s.rekeyBrowser(ctx, b, live, forms, i); err != nil {
				return "", err
			}
		}
		break
	}
	if b == nil {
		return "", nil
	}
	if !now.Before(b.CreatedAt.Add(time.Duration(org.Settings.RememberDays) * 24 * time.Hour)) {
		return "", nil
	}
	if err := s.store.TouchRememberedBrowser(ctx, b.ID, now); err != nil {
		return "", err
	}
	return b.ID, nil
}

func indexes(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// rekeyBrowser stores a remembered browser found under an old key (form i)
// with the current key's hash of its token, so it keeps working once the
// old key is removed. The cookie stays as it is: the token is random and no
// key made it. Losing the race to another node that re-keyed it is fine.
func (s *Service) rekeyBrowser(ctx context.Context, b *gatehouse.RememberedBrowser, live []string, forms [][]keyring.Candidate, i int) error {
	for j, t := range live {
		if !bytes.Equal(forms[j][i].Hash, b.TokenHash) {
			continue
		}
		cur := s.keyed("remember token", t)
		err := s.store.RekeyRememberedBrowser(ctx, b.ID, b.TokenHash, cur)
		if err != nil && gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			return err
		}
		b.TokenHash = cur
		return nil
	}
	return nil
}

func (s *Service) notify(ctx context.Context, n gatehouse.Notice) {
	dctx, cancel := context.WithTimeout(ctx, s.deliver)
	defer cancel()
	if err := s.msg.Notify(dctx, n); err != nil {
		s.observeD("notice", "failed")
		s.log.WarnContext(ctx, "notice delivery failed", "kind", n.Kind, "error", err)
		return
	}
	s.observeD("notice", "sent")
}

// codeHash is how a code is stored: keyed and bound to its challenge, so the
// same digits in two challenges never match. It is keyed like the
// challenge's own token, so a sign-in begun under an old key still takes its
// codes after a rotation.
func (s *Service) codeHash(c *gatehouse.Challenge, code string) []byte {
	if h, ok := s.keys.HashLike(c.TokenHash, "code", "code", c.ID, code); ok {
		return h
	}
	return s.keyed("code", c.ID, code)
}

// challengeByToken finds the challenge of a pending-sign-in token under any
// key of the ring. A pending sign-in lives minutes, so it is not re-keyed.
func (s *Service) challengeByToken(ctx context.Context, token string) (*gatehouse.Challenge, error) {
	for _, cand := range s.candidates("pending token", token) {
		c, err := s.store.ChallengeByTokenHash(ctx, cand.Hash)
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			continue
		}
		return c, err
	}
	return nil, &gatehouse.Error{Code: gatehouse.ENOTFOUND, Message: "Pending sign-in not found."}
}

// newCode returns 6 decimal digits, uniform: values of 32 random bits at or
// above the largest multiple of 10^6 are drawn again, so there is no modulo
// bias.
func newCode(r io.Reader) (string, error) {
	const n = 1_000_000
	const limit = (1 << 32) / n * n
	var b [4]byte
	for {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return "", err
		}
		if v := binary.BigEndian.Uint32(b[:]); v < limit {
			return fmt.Sprintf("%06d", v%n), nil
		}
	}
}

// normalizeCode drops the spaces and dashes people type or paste.
func normalizeCode(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\u00a0' {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
}

func validCode(s string) bool {
	if len(s) != gatehouse.CodeDigits {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Mask hides most of a destination: "a•••@clinic.test", "+358•••••67".
func Mask(ch gatehouse.OTPMethod, dest string) string {
	if dest == "" {
		return ""
	}
	if ch == gatehouse.OTPSMS {
		if len(dest) <= 6 {
			return strings.Repeat("•", len(dest))
		}
		return dest[:4] + strings.Repeat("•", len(dest)-6) + dest[len(dest)-2:]
	}
	local, domain, ok := strings.Cut(dest, "@")
	if !ok || local == "" {
		return "•••"
	}
	return local[:1] + "•••@" + domain
}

func otpLocked(wait time.Duration, locked bool) error {
	if locked {
		// The lock lasts until an admin unlocks the user or the password
		// is reset; Retry-After tells clients not to come back sooner than
		// the longest back-off.
		return &gatehouse.Error{Code: gatehouse.ETOOMANYATTEMPTS, Reason: gatehouse.ReasonLocked, RetryAfter: gatehouse.OTPMaxWait,
			Message: "Too many wrong codes: your account is locked. Ask your admin to unlock it, or reset your password."}
	}
	wait = max(wait, time.Second)
	return &gatehouse.Error{Code: gatehouse.ETOOMANYATTEMPTS, Reason: gatehouse.ReasonWrongCodes, Args: []any{wait}, RetryAfter: wait,
		Message: "Too many wrong codes. Wait a moment and try again."}
}

func noPending() error {
	return &gatehouse.Error{Code: gatehouse.ENOPENDINGLOGIN, Message: "There is no sign-in waiting for a code in this browser. Sign in with your password."}
}

func loginExpired() error {
	return &gatehouse.Error{Code: gatehouse.ELOGINEXPIRED, Message: "This sign-in has expired. Sign in again with your password."}
}
