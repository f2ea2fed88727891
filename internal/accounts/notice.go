package accounts

import (
	"context"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// tellUser e-mails a user about an admin's change of their account (a
// stolen admin session then cannot quietly move a user's codes elsewhere).
// A failed delivery is logged; the change stands.
func (s *Service) tellUser(ctx context.Context, org *gatehouse.Organization, actor Actor, at time.Time, n gatehouse.Notice) {
	if s.msg == nil {
		return
	}
	n.OrgName, n.At, n.ClientIP = org.Name, at, actor.ClientIP
	if err := s.msg.Notify(ctx, n); err != nil {
		s.log.WarnContext(ctx, "notice to user failed", "kind", n.Kind, "field", n.Field, "org_id", org.ID, "error", err)
	}
}
