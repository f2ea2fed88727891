package accounts_test

import (
	"context"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/accounts"
	"github.com/gatehousehq/gatehouse/internal/phone"
	"github.com/gatehousehq/gatehouse/internal/signin"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

// links keeps the reset links e-mailed.
type links struct {
	mu   sync.Mutex
	last string
}

func (l *links) SendCode(context.Context, gatehouse.CodeMessage) error { return nil }
func (l *links) Notify(_ context.Context, n gatehouse.Notice) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n.Link != "" {
		l.last = n.Link
	}
	return nil
}

// A new password ends the account's back-off: an attacker's failures held
// the owner out, and the owner now knows the only password that works
// (issue 8 item 2). Devices that proved the old password are forgotten.
func TestANewPasswordClearsTheAccountsFailures(t *testing.T) {
	for _, how := range []string{"a completed reset", "set-password"} {
		t.Run("after "+how, func(t *testing.T) {
			ctx := context.Background()
			db := testdb.SQLite(t)
			h := testHasher(t)
			now := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
			clock := func() time.Time { return now }
			mail := &links{}
			acc := newAccounts(t, db, withHasher(h), withNow(clock), withSecret(make([]byte, 32)),
				withMessenger(mail, "https://login.example.test"))
			off := false
			if _, err := acc.CreateOrganization(ctx, accounts.NewOrganization{Slug: "acme", Name: "Acme", EnforceTwoFactor: &off}, ""); err != nil {
				t.Fatal(err)
			}
			u, err := acc.CreateUser(ctx, accounts.NewUser{OrgSlug: "acme", Email: "ann@acme.test", Password: "the old long passphrase"}, "")
			if err != nil {
				t.Fatal(err)
			}
			svc, err := signin.New(signin.Config{Store: db, Hasher: h, Secret: make([]byte, 32), Now: clock, Messenger: mail, NormalizePhone: phone.Normalize})
			if err != nil {
				t.Fatal(err)
			}
			login := func(pw string, ip string) (*signin.LoginResult, error) {
				return svc.Login(ctx, signin.LoginRequest{Organization: "acme", Email: "ann@acme.test", Password: pw, ClientIP: netip.MustParseAddr(ip)})
			}
			if res, err := login("the old long passphrase", "192.0.2.1"); err != nil || res.DeviceToken == "" {
				t.Fatalf("first sign-in: %v, device token %q", err, res.DeviceToken)
			}
			for i := range 5 {
				if _, err := login("attacker guess", "203.0.113.9"); gatehouse.ErrorCode(err) != gatehouse.EINVALIDCREDENTIALS {
					t.Fatalf("guess %d: %v", i+1, err)
				}
			}
			if _, err := login("the new long passphrase", "192.0.2.1"); gatehouse.ErrorCode(err) != gatehouse.ETOOMANYATTEMPTS {
				t.Fatalf("before the new password: %v, want the account held", err)
			}

			switch how {
			case "a completed reset":
				if err := acc.ForgotPassword(ctx, "acme", "ann@acme.test", netip.MustParseAddr("192.0.2.1")); err != nil {
					t.Fatal(err)
				}
				link, err := url.Parse(mail.last)
				if err != nil || !strings.Contains(mail.last, "token=") {
					t.Fatalf("reset link %q: %v", mail.last, err)
				}
				if err := acc.ResetPassword(ctx, link.Query().Get("token"), "the new long passphrase", netip.MustParseAddr("192.0.2.1")); err != nil {
					t.Fatal(err)
				}
			case "set-password":
				if _, err := acc.SetPassword(ctx, "acme", "ann@acme.test", "the new long passphrase", ""); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := login("the new long passphrase", "192.0.2.1"); err != nil {
				t.Errorf("after %s the owner is still held back: %v", how, err)
			}
			// The one device left is the sign-in's just now: the one of the
			// old password is gone.
			if n, err := db.DeleteUserDevices(ctx, u.OrgID, u.ID); err != nil || n != 1 {
				t.Errorf("devices after %s and one sign-in: %d, %v; want 1", how, n, err)
			}
		})
	}
}
