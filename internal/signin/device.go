package signin

import (
	"context"
	"crypto/subtle"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/keyring"
)

// knownDevice returns the device among the browser's tokens that this user
// has given their correct password on before, or nil. The tokens are
// looked up by their keyed hash; only the first MaxDevicesPerBrowser count.
func (s *Service) knownDevice(ctx context.Context, org *gatehouse.Organization, user *gatehouse.User, tokens []string) (*gatehouse.Device, string, error) {
	if org == nil || user == nil {
		return nil, "", nil
	}
	var hashes [][]byte
	var kept []string
	for _, t := range tokens {
		if t != "" && len(t) <= 128 && len(hashes) < gatehouse.MaxDevicesPerBrowser {
			hashes = append(hashes, s.deviceHash(t))
			kept = append(kept, t)
		}
	}
	if len(hashes) == 0 {
		return nil, "", nil
	}
	d, err := s.browsers.FindDevice(ctx, org.ID, user.ID, hashes, s.now())
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, "", nil
	} else if err != nil {
		return nil, "", err
	}
	for i, h := range hashes {
		if subtle.ConstantTimeCompare(h, d.TokenHash) == 1 {
			return d, kept[i], nil
		}
	}
	return nil, "", nil
}

// knowDevice records that the browser gave the user's correct password:
// the known device is kept for another DeviceLifetime, or a new one is made.
// It returns the token for the browser's device cookie and its expiry.
// Failing to save it only costs the browser its standing, so it is logged
// and the sign-in goes on.
func (s *Service) knowDevice(ctx context.Context, org *gatehouse.Organization, user *gatehouse.User, known *gatehouse.Device, token string, res *LoginResult) {
	if res == nil {
		return
	}
	now := s.now()
	until := now.Add(gatehouse.DeviceLifetime)
	if known != nil {
		if err := s.browsers.TouchDevice(ctx, known.ID, now, until); err == nil {
			res.DeviceToken, res.DeviceUntil = token, until
			return
		} else if gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			s.log.WarnContext(ctx, "could not keep the known device", "org_id", org.ID, "user_id", user.ID, "error", err)
			return
		}
	}
	token, err := keyring.NewToken(s.rand)
	if err != nil {
		s.log.WarnContext(ctx, "could not make a device token", "error", err)
		return
	}
	d := &gatehouse.Device{ID: gatehouse.NewID(), TokenHash: s.deviceHash(token), OrgID: org.ID, UserID: user.ID,
		CreatedAt: now, LastUsedAt: now, ExpiresAt: until}
	if err := s.browsers.CreateDevice(ctx, d); err != nil {
		s.log.WarnContext(ctx, "could not save a known device", "org_id", org.ID, "user_id", user.ID, "error", err)
		return
	}
	res.DeviceToken, res.DeviceUntil = token, until
}

func (s *Service) deviceHash(token string) []byte { return s.keyed("device token", token) }
