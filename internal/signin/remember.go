package signin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/keyring"
)

// RememberedBrowsers lists the signed-in user's remembered browsers.
func (s *Service) RememberedBrowsers(ctx context.Context, cur *Current) (_ []*gatehouse.RememberedBrowser, err error) {
	defer s.failure(&err, "RememberedBrowsers")
	list, err := s.browsers.ListRememberedBrowsers(ctx, cur.Organization.ID, cur.User.ID, s.now())
	if err != nil {
		return nil, s.unavailable("list remembered browsers", err)
	}
	return list, nil
}

// RevokeBrowser forgets one of the signed-in user's remembered browsers, or
// all of them when id is "". Returns ENOTFOUND for an id that is not theirs.
func (s *Service) RevokeBrowser(ctx context.Context, cur *Current, id string, ip netip.Addr) (err error) {
	defer s.failure(&err, "RevokeBrowser")
	org, user := cur.Organization, cur.User
	detail := map[string]string{}
	if id == "" {
		n, err := s.browsers.DeleteUserRememberedBrowsers(ctx, org.ID, user.ID)
		if err != nil {
			return s.unavailable("revoke remembered browsers", err)
		}
		detail["revoked"] = fmt.Sprint(n)
	} else {
		err := s.browsers.DeleteRememberedBrowser(ctx, org.ID, user.ID, id)
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			return &gatehouse.Error{Code: gatehouse.ENOTFOUND, Reason: gatehouse.ReasonNoSuchBrowser, Message: "No such remembered browser."}
		} else if err != nil {
			return s.unavailable("revoke remembered browser", err)
		}
		detail["remembered_browser"] = id
	}
	return s.audit(ctx, &gatehouse.AuditEvent{OrgID: org.ID, UserID: user.ID, ActorID: user.ID, Event: gatehouse.AuditBrowserRevoked,
		ClientIP: ip, At: s.now(), Detail: detail})
}

// ReauthWindow is how recent a sign-in must be for changes that ask for it
// (gatehouse.Actor.RequireRecent).
const ReauthWindow = gatehouse.ReauthWindow

// RecentlyAuthenticated reports whether the session's user gave the
// password within ReauthWindow.
func (s *Service) RecentlyAuthenticated(cur *Current) bool {
	return s.now().Sub(cur.Session.LastAuthenticated()) <= ReauthWindow
}

// reauthPassword checks the signed-in user's password again (StartReauth
// records it). Returns EINVALIDCREDENTIALS for a wrong password (counted
// against the session and the client address, not the account, so that
// failures elsewhere do not hold a signed-in owner back), ETOOMANYATTEMPTS
// while backing off, EBUSY.
func (s *Service) reauthPassword(ctx context.Context, cur *Current, password string, ip netip.Addr, now time.Time) error {
	ok, err := s.checkPassword(ctx, now, []gatehouse.ThrottleKey{s.sessionKey(cur.Session), s.addressKey(ip)},
		func(ctx context.Context) (bool, error) {
			match, err := s.hasher.Verify(ctx, cur.User.PasswordHash, truncate(password, MaxPasswordInput))
			return match && cur.User.PasswordHash != "", err
		})
	if err != nil {
		return wrongPasswords(err)
	}
	if !ok {
		return &gatehouse.Error{Code: gatehouse.EINVALIDCREDENTIALS, Field: "password", Message: "The password is incorrect."}
	}
	return nil
}

// wrongPasswords words checkPassword's throttled answer for a signed-in
// user, who is not signing in.
func wrongPasswords(err error) error {
	var ge *gatehouse.Error
	if errors.As(err, &ge) && ge.Code == gatehouse.ETOOMANYATTEMPTS {
		return &gatehouse.Error{Code: gatehouse.ETOOMANYATTEMPTS, Reason: gatehouse.ReasonWrongPasswords, Args: []any{ge.RetryAfter},
			RetryAfter: ge.RetryAfter, Message: "Too many wrong passwords. Wait a moment and try again."}
	}
	return err
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
		b, err = s.browsers.FindRememberedBrowser(ctx, org.ID, user.ID, hashes, now)
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
	if err := s.browsers.TouchRememberedBrowser(ctx, b.ID, now); err != nil {
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
		err := s.browsers.RekeyRememberedBrowser(ctx, b.ID, b.TokenHash, cur)
		if err != nil && gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			return err
		}
		b.TokenHash = cur
		return nil
	}
	return nil
}
