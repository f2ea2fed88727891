package accounts

import (
	"context"

	"github.com/gatehousehq/gatehouse"
)

// forgetPasswordFailures follows a new password (a completed reset,
// set-password): the account's password failures are forgotten, so that a
// back-off an attacker built up no longer holds the owner, who now knows
// the only password that works; and the user's known devices are
// forgotten, since they proved the old password, not this one.
func (s *Service) forgetPasswordFailures(ctx context.Context, org *gatehouse.Organization, u *gatehouse.User) error {
	if err := s.Store.ClearFailures(ctx, gatehouse.AccountThrottleKey(org.Slug, u.Email)); err != nil {
		return err
	}
	_, err := s.Store.DeleteUserDevices(ctx, org.ID, u.ID)
	return err
}
