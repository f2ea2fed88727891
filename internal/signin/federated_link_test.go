package signin_test

import (
	"context"
	"net/netip"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

const idp = "saml2:https://idp.sso.test/metadata"

func samlOrg(t *testing.T, f *fixture) *gatehouse.Organization {
	t.Helper()
	s := gatehouse.DefaultPasswordSettings()
	s.EnforceTwoFactor, s.AuthMethod = false, gatehouse.AuthSAML2
	return f.addOrg("sso", s)
}

func federatedAs(t *testing.T, f *fixture, org *gatehouse.Organization, id signin.Identity) (*gatehouse.User, error) {
	t.Helper()
	res, err := f.svc.FederatedLogin(context.Background(), org, id, netip.MustParseAddr("198.51.100.4"), "", "")
	if err != nil {
		return nil, err
	}
	return res.User, nil
}

func lastReason(t *testing.T, f *fixture, org *gatehouse.Organization) string {
	t.Helper()
	events, err := f.db.ListAudit(context.Background(), org.ID, 0, 1)
	if err != nil || len(events) == 0 {
		t.Fatalf("audit: %v, %v", events, err)
	}
	return events[0].Reason
}

// TestFederatedUsersAreLinkedByExternalID: a federated user is found by the
// identifier the IdP never reassigns, not by the e-mail address (issue 8,
// suspected: matching by a mutable attribute).
func TestFederatedUsersAreLinkedByExternalID(t *testing.T) {
	f := newFixture(t)
	org := samlOrg(t, f)

	first, err := federatedAs(t, f, org, signin.Identity{Email: "ada@sso.test", Provider: idp, ExternalID: "P-ada"})
	if err != nil {
		t.Fatal(err)
	}
	if id, err := f.db.FederatedUserID(context.Background(), org.ID, idp, "P-ada"); err != nil || id != first.ID {
		t.Fatalf("the first sign-in did not link the user: %q, %v", id, err)
	}

	t.Run("the same identity with a changed e-mail address is the same user", func(t *testing.T) {
		u, err := federatedAs(t, f, org, signin.Identity{Email: "ada.lovelace@sso.test", Provider: idp, ExternalID: "P-ada"})
		if err != nil || u.ID != first.ID {
			t.Fatalf("got %+v, %v; want ada's account", u, err)
		}
		if _, err := f.db.UserByEmail(context.Background(), org.ID, "ada.lovelace@sso.test"); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Errorf("a second user was made for the new address: %v", err)
		}
	})

	t.Run("another identity with ada's old address is refused, not given her account", func(t *testing.T) {
		_, err := federatedAs(t, f, org, signin.Identity{Email: "ada@sso.test", Provider: idp, ExternalID: "P-someone-else"})
		wantCode(t, err, gatehouse.EINVALIDCREDENTIALS)
		if got := lastReason(t, f, org); got != signin.FederatedIdentityMismatch {
			t.Errorf("audit reason %q, want %q", got, signin.FederatedIdentityMismatch)
		}
	})

	t.Run("a new IdP links by address again", func(t *testing.T) {
		u, err := federatedAs(t, f, org, signin.Identity{Email: "ada@sso.test", Provider: "saml2:https://new-idp.test", ExternalID: "N-ada"})
		if err != nil || u.ID != first.ID {
			t.Fatalf("got %+v, %v; want ada's account", u, err)
		}
	})
}

// TestFederatedSignInNeverTakesOverALocalAdmin: an admin with a Gatehouse
// password is not attached to a federated identity by e-mail address, with
// or without an external ID, until an explicit link exists.
func TestFederatedSignInNeverTakesOverALocalAdmin(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	org := samlOrg(t, f)
	admin := f.addUser(org, "boss@sso.test", testPassword)
	admin.Role = gatehouse.RoleAdmin
	if err := f.db.UpdateUser(ctx, admin); err != nil {
		t.Fatal(err)
	}
	member := f.addUser(org, "staff@sso.test", testPassword)

	for _, id := range []signin.Identity{
		{Email: "boss@sso.test", Provider: idp, ExternalID: "P-attacker"},
		{Email: "boss@sso.test", Provider: idp}, // a NameID that is not persistent
		{Email: "boss@sso.test"},
	} {
		_, err := federatedAs(t, f, org, id)
		wantCode(t, err, gatehouse.EINVALIDCREDENTIALS)
		if got := lastReason(t, f, org); got != signin.FederatedAdminNotLinked {
			t.Errorf("audit reason %q, want %q", got, signin.FederatedAdminNotLinked)
		}
	}
	if _, err := f.db.FederatedExternalID(ctx, org.ID, idp, admin.ID); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		t.Errorf("the refused sign-in linked the admin: %v", err)
	}

	// A member with a password from before the switch is linked at once.
	if u, err := federatedAs(t, f, org, signin.Identity{Email: "staff@sso.test", Provider: idp, ExternalID: "P-staff"}); err != nil || u.ID != member.ID {
		t.Fatalf("member: %+v, %v", u, err)
	}

	// After an explicit link (gatehouse user link), the admin signs in.
	if err := f.db.LinkFederatedIdentity(ctx, &gatehouse.FederatedIdentity{OrgID: org.ID, Provider: idp, ExternalID: "P-boss", UserID: admin.ID, CreatedAt: f.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	u, err := federatedAs(t, f, org, signin.Identity{Email: "boss@sso.test", Provider: idp, ExternalID: "P-boss"})
	if err != nil || u.ID != admin.ID || u.Role != gatehouse.RoleAdmin {
		t.Fatalf("linked admin: %+v, %v", u, err)
	}
	// The attacker's identity is still refused.
	_, err = federatedAs(t, f, org, signin.Identity{Email: "boss@sso.test", Provider: idp, ExternalID: "P-attacker"})
	wantCode(t, err, gatehouse.EINVALIDCREDENTIALS)
	// Without a persistent NameID the link to the provider is what counts.
	if u, err := federatedAs(t, f, org, signin.Identity{Email: "boss@sso.test", Provider: idp}); err != nil || u.ID != admin.ID {
		t.Fatalf("linked admin, no persistent NameID: %+v, %v", u, err)
	}
}
