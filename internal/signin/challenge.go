package signin

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
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
	token, err := keyring.NewToken(s.rand)
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
	if err := s.codes.CreateChallenge(ctx, c); err != nil {
		return nil, s.unavailable("save pending sign-in", err)
	}
	if err := s.passwordStillHolds(ctx, user, req.ClientIP, now, func() error { return s.codes.DeleteChallenge(ctx, c.ID) }); err != nil {
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
	now, err := s.dir.UserByID(ctx, user.OrgID, user.ID)
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
	reservation, _, ok, err := s.codes.ReserveSend(ctx, gatehouse.SendRecord{UserID: user.ID, Destination: c.Destination, ClientIP: ip, At: now},
		now.Add(-gatehouse.SendWindow), gatehouse.DefaultSendCaps())
	if err != nil {
		return s.unavailable("reserve send", err)
	}
	if !ok {
		return &gatehouse.Error{Code: gatehouse.ERESENDTOOSOON, Reason: gatehouse.ReasonSendCapped, Args: []any{gatehouse.SendWindow}, RetryAfter: gatehouse.SendWindow,
			Message: fmt.Sprintf("Too many codes were sent in the last %d minutes. Try again later.", int(gatehouse.SendWindow.Minutes()))}
	}
	ok, prev, next, err := s.codes.ClaimSend(ctx, c.ID, now, gatehouse.ResendGap)
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
	if err := s.codes.AddCode(ctx, c.ID, hash, now, expires); err != nil {
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
		if derr := s.codes.DeleteCode(ctx, c.ID, hash); derr != nil {
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
	if err := s.codes.CancelSend(ctx, id); err != nil {
		s.log.ErrorContext(ctx, "could not cancel a reserved send", "error", err)
	}
}

func (s *Service) releaseSend(ctx context.Context, id string, prev time.Time) {
	if err := s.codes.ReleaseSend(ctx, id, prev); err != nil {
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
	org, err := s.dir.OrganizationByID(ctx, c.OrgID)
	if err != nil {
		return nil, nil, nil, s.unavailable("find organization", err)
	}
	user, err := s.dir.UserByID(ctx, c.OrgID, c.UserID)
	if err != nil {
		return nil, nil, nil, s.unavailable("find user", err)
	}
	if user.Disabled {
		return nil, nil, nil, loginExpired()
	}
	return c, org, user, nil
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

// challengeByToken finds the challenge of a pending-sign-in token under any
// key of the ring. A pending sign-in lives minutes, so it is not re-keyed.
func (s *Service) challengeByToken(ctx context.Context, token string) (*gatehouse.Challenge, error) {
	for _, cand := range s.candidates("pending token", token) {
		c, err := s.codes.ChallengeByTokenHash(ctx, cand.Hash)
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			continue
		}
		return c, err
	}
	return nil, &gatehouse.Error{Code: gatehouse.ENOTFOUND, Message: "Pending sign-in not found."}
}
