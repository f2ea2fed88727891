package signin

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/gatehousehq/gatehouse"
)

// RememberedBrowsers lists the signed-in user's remembered browsers.
func (s *Service) RememberedBrowsers(ctx context.Context, cur *Current) ([]*gatehouse.RememberedBrowser, error) {
	list, err := s.store.ListRememberedBrowsers(ctx, cur.Organization.ID, cur.User.ID, s.now())
	if err != nil {
		return nil, s.unavailable("list remembered browsers", err)
	}
	return list, nil
}

// RevokeBrowser forgets one of the signed-in user's remembered browsers, or
// all of them when id is "". Returns ENOTFOUND for an id that is not theirs.
func (s *Service) RevokeBrowser(ctx context.Context, cur *Current, id string, ip netip.Addr) error {
	org, user := cur.Organization, cur.User
	detail := map[string]string{}
	if id == "" {
		n, err := s.store.DeleteUserRememberedBrowsers(ctx, org.ID, user.ID)
		if err != nil {
			return s.unavailable("revoke remembered browsers", err)
		}
		detail["revoked"] = fmt.Sprint(n)
	} else {
		err := s.store.DeleteRememberedBrowser(ctx, org.ID, user.ID, id)
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			return &gatehouse.Error{Code: gatehouse.ENOTFOUND, Message: "No such remembered browser."}
		} else if err != nil {
			return s.unavailable("revoke remembered browser", err)
		}
		detail["remembered_browser"] = id
	}
	s.audit(ctx, &gatehouse.AuditEvent{OrgID: org.ID, UserID: user.ID, ActorID: user.ID, Event: gatehouse.AuditBrowserRevoked,
		ClientIP: ip, At: s.now(), Detail: detail})
	return nil
}
