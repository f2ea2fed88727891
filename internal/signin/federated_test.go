package signin_test

import (
	"context"
	"net/netip"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

// directory answers like internal/ldap: the real one is tested against
// slapd in internal/ldap and end to end in cmd/gatehouse.
type directory struct {
	users map[string]string // e-mail -> password
	down  bool
	asked int
}

func (d *directory) Authenticate(_ context.Context, username, pw string) (*signin.Identity, error) {
	d.asked++
	if d.down {
		return nil, &gatehouse.Error{Code: gatehouse.EUNAVAILABLE, Message: "directory down"}
	}
	if want, ok := d.users[username]; !ok || want != pw {
		return nil, &gatehouse.Error{Code: gatehouse.EINVALIDCREDENTIALS, Message: "invalid"}
	}
	return &signin.Identity{Email: username, Name: "Ada Lovelace", Phone: "+358 40 123 4567"}, nil
}

type federation struct{ d *directory }

func (f federation) Directory(context.Context, *gatehouse.Organization) (signin.Directory, error) {
	return f.d, nil
}

func ldapFixture(t *testing.T) (*fixture, *signin.Service, *directory) {
	f := newFixture(t)
	s := gatehouse.DefaultPasswordSettings()
	s.EnforceTwoFactor, s.AuthMethod = false, gatehouse.AuthLDAP
	f.addOrg("dir", s)
	d := &directory{users: map[string]string{"ada@dir.test": "directory password"}}
	svc := newNode(t, f.db, withSecret(make([]byte, 32)), withNow(f.clock.Now), withMessenger(f.inbox), withFederation(federation{d}))
	return f, svc, d
}

func TestLDAPSignInGoesThroughTheDirectory(t *testing.T) {
	ctx := context.Background()
	f, svc, _ := ldapFixture(t)
	req := signin.LoginRequest{Organization: "dir", Email: "Ada@Dir.test", Password: "directory password", ClientIP: netip.MustParseAddr("203.0.113.1")}
	res, err := svc.Login(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Decision.Outcome != gatehouse.TwoFactorFederated || res.Pending != nil {
		t.Errorf("decision %+v, want federated with no code", res.Decision)
	}
	org, _ := f.db.OrganizationBySlug(ctx, "dir")
	u, err := f.db.UserByEmail(ctx, org.ID, "ada@dir.test")
	if err != nil || u.Name != "Ada Lovelace" || u.Phone != "+358401234567" || u.PasswordHash != "" {
		t.Errorf("provisioned user = %+v, %v", u, err)
	}
	// A second sign-in finds the same user.
	if _, err := svc.Login(ctx, req); err != nil {
		t.Fatal(err)
	}
	users, _ := f.db.ListUsers(ctx, org.ID, "", 10)
	if len(users) != 1 {
		t.Errorf("%d users after two sign-ins, want 1", len(users))
	}
}

func TestLDAPFailuresAnswerLikeWrongPasswords(t *testing.T) {
	ctx := context.Background()
	_, svc, d := ldapFixture(t)
	for _, pw := range []string{"wrong", "wrong", "wrong", "wrong", "wrong"} {
		_, err := svc.Login(ctx, signin.LoginRequest{Organization: "dir", Email: "ada@dir.test", Password: pw})
		wantCode(t, err, gatehouse.EINVALIDCREDENTIALS)
	}
	asked := d.asked
	_, err := svc.Login(ctx, signin.LoginRequest{Organization: "dir", Email: "ada@dir.test", Password: "directory password"})
	wantCode(t, err, gatehouse.ETOOMANYATTEMPTS)
	if d.asked != asked {
		t.Error("a throttled sign-in still asked the directory")
	}
}

func TestLDAPDirectoryDownSignsNobodyIn(t *testing.T) {
	_, svc, d := ldapFixture(t)
	d.down = true
	_, err := svc.Login(context.Background(), signin.LoginRequest{Organization: "dir", Email: "ada@dir.test", Password: "directory password"})
	wantCode(t, err, gatehouse.EUNAVAILABLE)
}

func TestALeftoverLocalPasswordDoesNotBypassTheDirectory(t *testing.T) {
	ctx := context.Background()
	f, svc, _ := ldapFixture(t)
	org, _ := f.db.OrganizationBySlug(ctx, "dir")
	f.addUser(org, "old@dir.test", testPassword)
	_, err := svc.Login(ctx, signin.LoginRequest{Organization: "dir", Email: "old@dir.test", Password: testPassword})
	wantCode(t, err, gatehouse.EINVALIDCREDENTIALS)
}

func TestSAML2OrganizationsAskForSSO(t *testing.T) {
	f := newFixture(t)
	s := gatehouse.DefaultPasswordSettings()
	s.EnforceTwoFactor, s.AuthMethod = false, gatehouse.AuthSAML2
	org := f.addOrg("sso", s)
	f.addUser(org, "ada@sso.test", testPassword)
	_, err := f.svc.Login(context.Background(), signin.LoginRequest{Organization: "sso", Email: "ada@sso.test", Password: testPassword})
	ge := wantCode(t, err, gatehouse.ESSOREQUIRED)
	if ge.Location != "/saml/sso/login" {
		t.Errorf("location %q", ge.Location)
	}
	res, err := f.svc.FederatedLogin(context.Background(), org, signin.Identity{Email: "new@sso.test", Name: "New"}, netip.Addr{}, "", "")
	if err != nil || res.Decision.Outcome != gatehouse.TwoFactorFederated {
		t.Fatalf("federated login: %+v, %v", res, err)
	}
	if _, err := f.svc.FederatedLogin(context.Background(), f.org, signin.Identity{Email: "x@clinic.test"}, netip.Addr{}, "", ""); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
		t.Errorf("a password organization took a federated login: %v", err)
	}
}
