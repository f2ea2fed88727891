package signin_test

import (
	"context"
	"net/netip"
	"slices"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/password"
	"github.com/gatehousehq/gatehouse/internal/phone"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

// TestSAML2SignInsAreCountedInTheMetrics: a SAML2 sign-in reaches the
// sign-in outcome metric like a password one, success and refusal alike.
func TestSAML2SignInsAreCountedInTheMetrics(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	s := gatehouse.DefaultPasswordSettings()
	s.EnforceTwoFactor, s.AuthMethod = false, gatehouse.AuthSAML2
	f.addOrg("idp", s)
	h, err := password.NewHasher(password.HasherConfig{Params: password.TestParams()})
	if err != nil {
		t.Fatal(err)
	}
	var outcomes []string
	svc, err := signin.New(signin.Config{Store: f.db, Hasher: h, Secret: make([]byte, 32), Now: f.clock.Now,
		Messenger: f.inbox, NormalizePhone: phone.Normalize, Observe: func(o string) { outcomes = append(outcomes, o) }})
	if err != nil {
		t.Fatal(err)
	}
	org, err := f.db.OrganizationBySlug(ctx, "idp")
	if err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr("203.0.113.9")
	id := signin.Identity{Email: "ada@idp.test", Name: "Ada", ExternalID: "ada-1"}
	if _, err := svc.FederatedLogin(ctx, org, id, ip, "test", ""); err != nil {
		t.Fatal(err)
	}
	u, err := f.db.UserByEmail(ctx, org.ID, "ada@idp.test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.PatchUser(ctx, org.ID, u.ID, gatehouse.UserPatch{Disabled: new(true)}, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	_, err = svc.FederatedLogin(ctx, org, id, ip, "test", "")
	wantReason(t, wantCode(t, err, gatehouse.EINVALIDCREDENTIALS), gatehouse.ReasonAccountDisabled)
	if want := []string{"authenticated", "invalid_credentials"}; !slices.Equal(outcomes, want) {
		t.Errorf("outcomes observed %q, want %q", outcomes, want)
	}
}
