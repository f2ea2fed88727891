package signin

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/gatehousehq/gatehouse"
)

// SessionInfo is one of the signed-in user's sessions as the user may see
// it: never the token or its hash, only the session's public id.
type SessionInfo struct {
	*gatehouse.Session
	// Current marks the session the request came with ("this browser").
	Current bool
}

// Sessions lists the signed-in user's live sessions, the most recently used
// first, at most gatehouse.MaxListedSessions. Returns EUNAVAILABLE when the
// database cannot be read.
func (s *Service) Sessions(ctx context.Context, cur *Current) (_ []SessionInfo, err error) {
	defer s.failure(&err, "Sessions")
	now := s.now()
	list, err := s.sessions.ListUserSessions(ctx, cur.Organization.ID, cur.User.ID, now, now.Add(-s.idle), gatehouse.MaxListedSessions)
	if err != nil {
		return nil, s.unavailable("list sessions", err)
	}
	out := make([]SessionInfo, 0, len(list))
	for _, sess := range list {
		if stillPasses(cur.Organization, cur.User, sess) { // the others end at their next use
			out = append(out, SessionInfo{Session: sess, Current: sess.PublicID == cur.Session.PublicID})
		}
	}
	return out, nil
}

// EndSession ends one of the signed-in user's sessions by its public id
// (the current one too: that is signing out) and audits it. Returns
// ENOTFOUND for an id that is not one of the user's sessions.
func (s *Service) EndSession(ctx context.Context, cur *Current, publicID string, ip netip.Addr) (err error) {
	defer s.failure(&err, "EndSession")
	if publicID == "" || len(publicID) > 64 {
		return noSuchSession()
	}
	err = s.sessions.DeleteUserSession(ctx, cur.Organization.ID, cur.User.ID, publicID)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return noSuchSession()
	} else if err != nil {
		return s.unavailable("end session", err)
	}
	detail := map[string]string{"session": publicID}
	if publicID == cur.Session.PublicID {
		detail["current"] = "true"
	}
	return s.audit(ctx, &gatehouse.AuditEvent{OrgID: cur.Organization.ID, UserID: cur.User.ID, ActorID: cur.User.ID,
		Event: gatehouse.AuditSessionEnded, ClientIP: ip, At: s.now(), Detail: detail})
}

// EndOtherSessions ends every session of the signed-in user but the
// current one ("sign out everywhere else"), audits it and returns how many
// ended.
func (s *Service) EndOtherSessions(ctx context.Context, cur *Current, ip netip.Addr) (_ int64, err error) {
	defer s.failure(&err, "EndOtherSessions")
	n, err := s.sessions.DeleteOtherUserSessions(ctx, cur.Organization.ID, cur.User.ID, cur.Session.TokenHash)
	if err != nil {
		return 0, s.unavailable("end other sessions", err)
	}
	if err := s.audit(ctx, &gatehouse.AuditEvent{OrgID: cur.Organization.ID, UserID: cur.User.ID, ActorID: cur.User.ID,
		Event: gatehouse.AuditOtherSessionsEnded, ClientIP: ip, At: s.now(), Detail: map[string]string{"ended": fmt.Sprint(n)}}); err != nil {
		return 0, err
	}
	return n, nil
}

// stillPasses reports whether a session may go on under the
// organization's policy as it is now. Without enforcement every session
// may. With it, a session that passed a code (verified, remembered) may; one
// let in by the user's exemption only while the user is still exempt; one
// let in by a skip network only while its sign-in address is still in one;
// and one that never met an enforcing policy (not_enforced, federated, or
// a state this version does not know) may not. This is how a change that
// one node saves reaches the sessions every node checks, including a
// session started while the change was being saved.
func stillPasses(org *gatehouse.Organization, user *gatehouse.User, sess *gatehouse.Session) bool {
	st := org.Settings
	if !st.EnforceTwoFactor {
		return true
	}
	switch sess.TwoFactorState {
	case gatehouse.TwoFactorVerified, gatehouse.TwoFactorRemembered:
		return true
	case gatehouse.TwoFactorExempt:
		return user.TwoFactorExempt
	case gatehouse.TwoFactorAllowedNetwork:
		_, ok := gatehouse.SkipNetworkMatch(st.SkipNetworks, sess.ClientIP)
		return sess.ClientIP.IsValid() && ok
	}
	return false
}

func noSuchSession() error {
	return &gatehouse.Error{Code: gatehouse.ENOTFOUND, Reason: gatehouse.ReasonNoSuchSession, Message: "No such session."}
}
