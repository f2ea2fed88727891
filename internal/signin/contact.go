package signin

import (
	"context"
	"net/netip"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// ContactChange is a signed-in user's change of their own phone number or
// e-mail address in progress: the password, then a code to the current
// channel, then a code to the new one (docs/design.md §2).
type ContactChange struct {
	// ChallengeID names the change in the next call.
	ChallengeID string
	// Step is 1 while the code to the current channel is awaited, 2 while
	// the code to the new one is; Done when the change is saved.
	Step    int
	Done    bool
	Pending Pending
}

// StartContactChange checks the user's password and sends a code to the
// current channel: the current phone for a phone change (the e-mail address
// when there is none yet), the current e-mail address for an e-mail change.
//
// kind is gatehouse.ChallengeChangePhone or ChallengeChangeEmail. Returns
// EINVALIDCREDENTIALS for a wrong password, EINVALIDPHONE / EINVALID for the
// new value, ECONFLICT for an e-mail address taken in the organization, and
// what sending a code returns.
func (s *Service) StartContactChange(ctx context.Context, cur *Current, kind, value, password string, ip netip.Addr, userAgent string) (_ *ContactChange, err error) {
	defer s.failure(&err, "StartContactChange")
	now := s.now()
	org, user := cur.Organization, cur.User
	var newValue string
	switch kind {
	case gatehouse.ChallengeChangePhone:
		if newValue, err = s.phone(value, org.Country); err != nil {
			return nil, err
		}
		if newValue == user.Phone {
			return nil, gatehouse.FieldReason("phone", gatehouse.ReasonPhoneSame, "That is already your phone number.")
		}
	case gatehouse.ChallengeChangeEmail:
		if newValue, err = gatehouse.NormalizeEmail(value); err != nil {
			return nil, err
		}
		if newValue == user.Email {
			return nil, gatehouse.FieldReason("email", gatehouse.ReasonEmailSame, "That is already your e-mail address.")
		}
		if _, err := s.dir.UserByEmail(ctx, org.ID, newValue); err == nil {
			return nil, &gatehouse.Error{Code: gatehouse.ECONFLICT, Field: "email", Message: "Another user of this organization has that e-mail address."}
		} else if gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			return nil, s.unavailable("check e-mail", err)
		}
	default:
		return nil, gatehouse.FieldReason("kind", gatehouse.ReasonKindInvalid, "kind must be \"phone\" or \"email\".")
	}
	if org.Settings.AuthMethod != gatehouse.AuthPassword {
		return nil, gatehouse.FieldReason("kind", gatehouse.ReasonContactFromDirectory, "Contact details of this organization's users come from its directory or identity provider.")
	}
	if wait, locked := gatehouse.OTPWait(user.OTPFailures, user.OTPLastFailureAt, now); locked || wait > 0 {
		return nil, otpLocked(wait, locked)
	}
	ok, err := s.checkPassword(ctx, now, []gatehouse.ThrottleKey{s.sessionKey(cur.Session), s.addressKey(ip)},
		func(ctx context.Context) (bool, error) {
			match, err := s.hasher.Verify(ctx, user.PasswordHash, truncate(password, MaxPasswordInput))
			return match && user.PasswordHash != "", err
		})
	if err != nil {
		return nil, wrongPasswords(err)
	}
	if !ok {
		return nil, &gatehouse.Error{Code: gatehouse.EINVALIDCREDENTIALS, Field: "password", Message: "The password is incorrect."}
	}
	c := &gatehouse.Challenge{ID: gatehouse.NewID(), Kind: kind, OrgID: org.ID, UserID: user.ID, NewValue: newValue, Step: 1,
		ClientIP: ip, UserAgent: truncate(userAgent, 512), CreatedAt: now, ExpiresAt: now.Add(gatehouse.ChallengeLifetime)}
	c.Channel, c.Destination = gatehouse.OTPEmail, user.Email
	if kind == gatehouse.ChallengeChangePhone && user.Phone != "" {
		c.Channel, c.Destination = gatehouse.OTPSMS, user.Phone
	}
	if err := s.codes.CreateChallenge(ctx, c); err != nil {
		return nil, s.unavailable("save change", err)
	}
	ch := &ContactChange{ChallengeID: c.ID, Step: 1}
	if err := s.sendFirst(ctx, c, org, user, ip, now, &ch.Pending); err != nil {
		return nil, err
	}
	return ch, nil
}

// change finds a live change of the signed-in user.
func (s *Service) change(ctx context.Context, cur *Current, id string, now time.Time) (*gatehouse.Challenge, error) {
	if id == "" || len(id) > 64 {
		return nil, gatehouse.FieldReason("challenge", gatehouse.ReasonChangeMissing, "The change to confirm is missing.")
	}
	c, err := s.codes.ChallengeByID(ctx, cur.Organization.ID, cur.User.ID, id)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, changeExpired()
	} else if err != nil {
		return nil, s.unavailable("find change", err)
	}
	if c.Kind != gatehouse.ChallengeChangePhone && c.Kind != gatehouse.ChallengeChangeEmail {
		return nil, changeExpired()
	}
	if !now.Before(c.ExpiresAt) || c.Failures >= gatehouse.ChallengeMaxFailures {
		return nil, changeExpired()
	}
	return c, nil
}

// VerifyContactChange checks a code of a change. After the first step it
// sends a code to the new phone or address; after the second it saves the
// change, revokes the user's remembered browsers, ends the user's other
// sessions and tells both the old and
// the new address (or, for a phone, the e-mail address).
func (s *Service) VerifyContactChange(ctx context.Context, cur *Current, id, code string, ip netip.Addr) (_ *ContactChange, err error) {
	defer s.failure(&err, "VerifyContactChange")
	now := s.now()
	c, err := s.change(ctx, cur, id, now)
	if err != nil {
		return nil, err
	}
	code = normalizeCode(code)
	if !validCode(code) {
		return nil, &gatehouse.Error{Code: gatehouse.EINVALID, Field: "code", Message: "The code is the 6 digits we sent you."}
	}
	org, user := cur.Organization, cur.User
	if err := s.takeCode(ctx, c, org, user, code, ip, now, changeExpired); err != nil {
		return nil, err
	}
	if err := s.codes.DeleteChallenge(ctx, c.ID); err != nil {
		return nil, s.unavailable("end change step", err)
	}
	if c.Step == 1 {
		next := *c
		next.ID, next.Step, next.Failures, next.Sends, next.LastSentAt, next.CreatedAt = gatehouse.NewID(), 2, 0, 0, time.Time{}, now
		next.ExpiresAt = now.Add(gatehouse.ChallengeLifetime)
		next.Channel, next.Destination = gatehouse.OTPEmail, c.NewValue
		if c.Kind == gatehouse.ChallengeChangePhone {
			next.Channel = gatehouse.OTPSMS
		}
		if err := s.codes.CreateChallenge(ctx, &next); err != nil {
			return nil, s.unavailable("save change", err)
		}
		ch := &ContactChange{ChallengeID: next.ID, Step: 2}
		if err := s.sendFirst(ctx, &next, org, user, ip, now, &ch.Pending); err != nil {
			return nil, err
		}
		return ch, nil
	}

	// Step 2: the new phone or address is proven. Save it.
	u := *user
	u.UpdatedAt = now
	notices := []gatehouse.Notice{}
	switch c.Kind {
	case gatehouse.ChallengeChangePhone:
		old := Mask(gatehouse.OTPSMS, u.Phone)
		u.Phone = c.NewValue
		notices = append(notices, gatehouse.Notice{Kind: gatehouse.NoticePhoneChanged, To: u.Email, OldValue: old, NewValue: Mask(gatehouse.OTPSMS, c.NewValue)})
	case gatehouse.ChallengeChangeEmail:
		old := u.Email
		u.Email = c.NewValue
		for _, to := range []string{old, c.NewValue} {
			notices = append(notices, gatehouse.Notice{Kind: gatehouse.NoticeEmailChanged, To: to, OldValue: old, NewValue: c.NewValue})
		}
	}
	// One transaction: the new value is saved, the user's other sessions,
	// remembered browsers and unused reset links end, and the audit event
	// is written, or none of it.
	change := gatehouse.CredentialChange{OrgID: org.ID, UserID: user.ID, At: now,
		EndSessions: true, KeepSession: cur.Session.TokenHash, EndRememberedBrowsers: true,
		Audit: &gatehouse.AuditEvent{OrgID: org.ID, UserID: user.ID, ActorID: user.ID, Event: gatehouse.AuditContactChanged,
			Reason: c.Kind, ClientIP: ip, At: now}}
	switch c.Kind {
	case gatehouse.ChallengeChangePhone:
		change.Phone = &u.Phone
	case gatehouse.ChallengeChangeEmail:
		change.Email = &u.Email
		change.VoidResetLinks = true // a link sent to the old address dies with it
	}
	if err := s.creds.ChangeCredentials(ctx, change); err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
			return nil, err
		}
		return nil, s.unavailable("save contact", err)
	}
	*user = u
	for _, n := range notices {
		n.OrgName, n.At, n.ClientIP = org.Name, now, ip
		s.notify(ctx, n)
	}
	return &ContactChange{ChallengeID: c.ID, Step: 2, Done: true}, nil
}

// ResendContactChange sends another code for the current step of a change.
func (s *Service) ResendContactChange(ctx context.Context, cur *Current, id string, ip netip.Addr) (_ *ContactChange, err error) {
	defer s.failure(&err, "ResendContactChange")
	now := s.now()
	c, err := s.change(ctx, cur, id, now)
	if err != nil {
		return nil, err
	}
	ch := &ContactChange{ChallengeID: c.ID, Step: c.Step}
	if err := s.sendCode(ctx, c, cur.Organization, cur.User, ip, now, &ch.Pending); err != nil {
		return nil, err
	}
	return ch, nil
}

func changeExpired() error {
	return &gatehouse.Error{Code: gatehouse.ELOGINEXPIRED, Reason: gatehouse.ReasonChangeExpired, Message: "This change has expired. Start it again."}
}

// ContactState describes a live change of the signed-in user, for its page.
func (s *Service) ContactState(ctx context.Context, cur *Current, id string) (_ *ContactChange, _ string, err error) {
	defer s.failure(&err, "ContactState")
	now := s.now()
	c, err := s.change(ctx, cur, id, now)
	if err != nil {
		return nil, "", err
	}
	ch := &ContactChange{ChallengeID: c.ID, Step: c.Step, Pending: Pending{Status: StatusCodeSent, Method: c.Channel,
		Destination: Mask(c.Channel, c.Destination), ExpiresAt: c.ExpiresAt}}
	if !c.LastSentAt.IsZero() {
		ch.Pending.ResendAt = c.LastSentAt.Add(gatehouse.ResendGap)
		ch.Pending.CodeExpiresAt = c.LastSentAt.Add(gatehouse.CodeLifetime)
	}
	return ch, c.Kind, nil
}
