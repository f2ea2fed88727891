package signin_test

import (
	"context"
	"net/netip"
	"testing"

	"github.com/gatehousehq/gatehouse"
)

// A change a call makes is never left unaudited with the caller told it
// worked: when the audit write fails, the call answers EUNAVAILABLE. A
// refusal is still the refusal (its audit failure is only logged).
func TestAFailedAuditWriteFailsTheChangeNotTheRefusal(t *testing.T) {
	ctx := context.Background()
	ip := netip.MustParseAddr("198.51.100.7")
	t.Run("logout", func(t *testing.T) {
		f := newFixture(t)
		res, err := f.login("clinic", "staff@clinic.test", testPassword)
		if err != nil {
			t.Fatal(err)
		}
		f.store.fail["AppendAudit"] = true
		wantCode(t, f.svc.Logout(ctx, res.SessionToken, ip), gatehouse.EUNAVAILABLE)
	})
	t.Run("ending the other sessions", func(t *testing.T) {
		f := newFixture(t)
		res, err := f.login("clinic", "staff@clinic.test", testPassword)
		if err != nil {
			t.Fatal(err)
		}
		cur, err := f.svc.Authenticate(ctx, res.SessionToken)
		if err != nil {
			t.Fatal(err)
		}
		f.store.fail["AppendAudit"] = true
		_, err = f.svc.EndOtherSessions(ctx, cur, ip)
		wantCode(t, err, gatehouse.EUNAVAILABLE)
	})
	t.Run("a wrong password", func(t *testing.T) {
		f := newFixture(t)
		f.store.fail["AppendAudit"] = true
		_, err := f.login("clinic", "staff@clinic.test", "not the password")
		wantCode(t, err, gatehouse.EINVALIDCREDENTIALS)
	})
}
