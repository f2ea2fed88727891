package signin

import (
	"bytes"
	"context"
	"net/netip"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/keyring"
)

func (s *Service) newSession(org *gatehouse.Organization, user *gatehouse.User, state string, ip netip.Addr, userAgent string, now time.Time) (string, *gatehouse.Session, error) {
	token, err := keyring.NewToken(s.rand)
	if err != nil {
		return "", nil, err
	}
	ua := truncate(userAgent, 512)
	return token, &gatehouse.Session{
		TokenHash:      s.hashToken(token),
		PublicID:       gatehouse.NewID(),
		UserID:         user.ID,
		OrgID:          org.ID,
		TwoFactorState: state,
		ClientIP:       ip,
		UserAgent:      ua,
		CreatedAt:      now,
		LastSeenAt:     now,
		ExpiresAt:      now.Add(s.absolute),
	}, nil
}

// Current is a checked session with its user and organization.
type Current struct {
	Session      *gatehouse.Session
	User         *gatehouse.User
	Organization *gatehouse.Organization
	// Managed, set by AdminOf, are the organizations the user administers
	// through organization groups; Organization is then the one being
	// administered, which may not be the user's own (User.OrgID).
	Managed []*gatehouse.Organization
}

// Authenticate checks a session token. Returns EUNAUTHORIZED when there is
// no such session, it has timed out, its user is disabled, or the
// organization's policy would no longer let it in without a code
// (stillPasses); EUNAVAILABLE
// when the database cannot be read.
func (s *Service) Authenticate(ctx context.Context, token string) (_ *Current, err error) {
	defer s.failure(&err, "Authenticate")
	unauth := &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Message: "You are not signed in."}
	if token == "" || len(token) > 128 {
		return nil, unauth
	}
	// One read under the current key gives the session with its
	// organization and user; a session under an old key is found and
	// re-keyed by findSession's way, and its organization and user read
	// after.
	hash := s.hashToken(token)
	if cur, ok := s.cache.get(hash, s.now()); ok {
		if now := s.now(); !cur.Session.Expired(now, s.idle) && now.Sub(cur.Session.LastSeenAt) < touchInterval {
			return cur, nil
		}
		// Past its idle time or due for a touch: the full check decides.
	}
	gen := s.cache.generation()
	sess, org, user, err := s.sessions.SessionAccount(ctx, hash)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		sess, err = s.findOldSession(ctx, token, hash, true)
	}
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, unauth
	} else if err != nil {
		return nil, s.unavailable("find session", err)
	}
	now := s.now()
	if sess.Expired(now, s.idle) {
		if err := s.sessions.DeleteSession(ctx, sess.TokenHash); err != nil {
			return nil, s.unavailable("end expired session", err)
		}
		return nil, unauth
	}
	var cur *Current
	if org != nil {
		cur, err = s.stillPassing(ctx, sess, org, user, now)
	} else {
		cur, err = s.stillValid(ctx, sess, now)
	}
	if err != nil {
		return nil, err
	}
	if now.Sub(sess.LastSeenAt) >= touchInterval {
		if err := s.sessions.TouchSession(ctx, sess.TokenHash, now); gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			return nil, unauth // signed out on another node meanwhile
		} else if err != nil {
			return nil, s.unavailable("touch session", err)
		}
		sess.LastSeenAt = now
	}
	s.cache.put(hash, cur, now, gen)
	return cur, nil
}

// CheckSession is Authenticate for the session an application's token
// came from, named by its public id: EUNAUTHORIZED when the session is
// gone or past its absolute timeout, its user is disabled, or the
// organization's policy would no longer let it in without a code (the
// session is then ended, as at its browser's next request). Idleness is
// the browser's, not the application's: a token in use does not keep the
// browser's session alive, and an idle browser does not end the tokens.
func (s *Service) CheckSession(ctx context.Context, publicID string) (_ *Current, err error) {
	defer s.failure(&err, "CheckSession")
	unauth := &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Message: "The session has ended."}
	if publicID == "" || len(publicID) > 64 {
		return nil, unauth
	}
	sess, org, user, err := s.sessions.SessionAccountByPublicID(ctx, publicID)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, unauth
	} else if err != nil {
		return nil, s.unavailable("find session", err)
	}
	now := s.now()
	if !now.Before(sess.ExpiresAt) {
		return nil, unauth
	}
	return s.stillPassing(ctx, sess, org, user, now)
}

// stillValid reads a live session's organization and user and ends the
// session (EUNAUTHORIZED) when the user is disabled or the policy would no
// longer let it in (stillPasses).
func (s *Service) stillValid(ctx context.Context, sess *gatehouse.Session, now time.Time) (*Current, error) {
	org, err := s.dir.OrganizationByID(ctx, sess.OrgID)
	if err != nil {
		return nil, s.unavailable("find session organization", err)
	}
	user, err := s.dir.UserByID(ctx, sess.OrgID, sess.UserID)
	if err != nil {
		return nil, s.unavailable("find session user", err)
	}
	return s.stillPassing(ctx, sess, org, user, now)
}

// stillPassing is stillValid for a session read with its organization and
// user.
func (s *Service) stillPassing(ctx context.Context, sess *gatehouse.Session, org *gatehouse.Organization, user *gatehouse.User, now time.Time) (*Current, error) {
	unauth := &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Message: "You are not signed in."}
	if user.Disabled {
		if err := s.sessions.DeleteUserSessions(ctx, org.ID, user.ID); err != nil {
			return nil, s.unavailable("end disabled user's sessions", err)
		}
		return nil, unauth
	}
	if !stillPasses(org, user, sess) {
		return nil, s.endFailingSession(ctx, sess, org, user, now)
	}
	return &Current{Session: sess, User: user, Organization: org}, nil
}

// endFailingSession ends a session that the policy no longer lets in,
// audited, and returns EUNAUTHORIZED (or the failure to end it).
func (s *Service) endFailingSession(ctx context.Context, sess *gatehouse.Session, org *gatehouse.Organization, user *gatehouse.User, now time.Time) error {
	if err := s.sessions.DeleteSession(ctx, sess.TokenHash); err != nil {
		return s.unavailable("end session the policy no longer lets in", err)
	}
	if err := s.audit(ctx, &gatehouse.AuditEvent{OrgID: org.ID, UserID: user.ID, Event: gatehouse.AuditSessionEnded,
		Reason: "two_factor_policy", At: now, Detail: map[string]string{"session": sess.PublicID, "two_factor_state": sess.TwoFactorState}}); err != nil {
		return err
	}
	return &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Message: "You are not signed in."}
}

// Logout ends the session of token; ending no session is not an error.
func (s *Service) Logout(ctx context.Context, token string, ip netip.Addr) (err error) {
	defer s.failure(&err, "Logout")
	if token == "" || len(token) > 128 {
		return nil
	}
	sess, err := s.findSession(ctx, token, false)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil
	} else if err != nil {
		return s.unavailable("find session", err)
	}
	if err := s.sessions.DeleteSession(ctx, sess.TokenHash); err != nil {
		return s.unavailable("end session", err)
	}
	return s.audit(ctx, &gatehouse.AuditEvent{OrgID: sess.OrgID, UserID: sess.UserID, Event: gatehouse.AuditLogout, ClientIP: ip, At: s.now()})
}

// hashToken is how a session token is stored: its keyed hash under the
// current key, with a purpose of its own (see internal/keyring).
func (s *Service) hashToken(token string) []byte { return s.keyed("session token", token) }

// findSession finds the session of a token under any key of the ring: one
// lookup under the current key, and when that finds nothing one query for
// every other form (so an unknown token costs two queries, whatever the
// number of keys). With rekey, a session found under an old key is re-keyed
// under the current one (returned with its new hash), so that the old key
// can be retired. Returns ENOTFOUND when there is none.
func (s *Service) findSession(ctx context.Context, token string, rekey bool) (*gatehouse.Session, error) {
	cur := s.hashToken(token)
	sess, err := s.sessions.SessionByTokenHash(ctx, cur)
	if gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		return sess, err
	}
	return s.findOldSession(ctx, token, cur, rekey)
}

// findOldSession is findSession once the lookup under the current key (of
// hash cur) has found nothing: the one query for every other form, then
// the re-keying. The other forms are hashed only here, so a session under
// the current key costs one keyed hash.
func (s *Service) findOldSession(ctx context.Context, token string, cur []byte, rekey bool) (*gatehouse.Session, error) {
	cands := s.candidates("session token", token)
	hashes := make([][]byte, len(cands))
	for i, c := range cands {
		hashes[i] = c.Hash
	}
	old, err := s.sessions.SessionTokenHashIn(ctx, hashes)
	if err != nil {
		return nil, err
	}
	if bytes.Equal(old, cur) {
		// Re-keyed on another node since the first lookup.
		return s.sessions.SessionByTokenHash(ctx, cur)
	}
	sess, err := s.sessions.SessionByTokenHash(ctx, old)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return s.sessions.SessionByTokenHash(ctx, cur) // re-keyed or ended meanwhile
	} else if err != nil || !rekey {
		return sess, err
	}
	err = s.sessions.RekeySession(ctx, old, cur)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return s.sessions.SessionByTokenHash(ctx, cur)
	} else if err != nil {
		return nil, err
	}
	sess.TokenHash = cur
	return sess, nil
}

// endSession ends the session of a token, under whichever key it was made.
func (s *Service) endSession(ctx context.Context, token string) error {
	sess, err := s.findSession(ctx, token, false)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	return s.sessions.DeleteSession(ctx, sess.TokenHash)
}
