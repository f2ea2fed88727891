package federation

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/keyring"
	"github.com/gatehousehq/gatehouse/internal/ldap"
	"github.com/gatehousehq/gatehouse/internal/sqlstore"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

// What binds a sealed secret to its place is the additional data of the
// AEAD: the organization's ID and the kind of part (ldap, saml, saml key).
// These tests hold seal and open to that, and to refusing any change of the
// sealed bytes, apart from the key rotation covered in keys_test.go.

var sealT0 = time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)

// sealing returns a Service over db sealing under the ring of secrets,
// and two organizations in db.
func sealing(t *testing.T, secrets ...[]byte) (*Service, *sqlstore.DB, [2]*gatehouse.Organization) {
	t.Helper()
	db := testdb.SQLite(t)
	ring, err := keyring.New(secrets...)
	if err != nil {
		t.Fatal(err)
	}
	var orgs [2]*gatehouse.Organization
	for i, slug := range []string{"north", "south"} {
		orgs[i] = &gatehouse.Organization{ID: gatehouse.NewID(), Slug: slug, Name: slug,
			Settings: gatehouse.DefaultPasswordSettings(), CreatedAt: sealT0, UpdatedAt: sealT0}
		if err := db.CreateOrganization(t.Context(), orgs[i]); err != nil {
			t.Fatal(err)
		}
	}
	svc, err := New(Config{Store: db, Keys: ring, Now: func() time.Time { return sealT0 }})
	if err != nil {
		t.Fatal(err)
	}
	return svc, db, orgs
}

var sealKey = bytes.Repeat([]byte("k"), 32)

func TestSealOpensOnlyWhereItWasSealed(t *testing.T) {
	s, _, orgs := sealing(t, sealKey)
	ctx := context.Background()
	a, b := orgs[0].ID, orgs[1].ID
	plain := []byte(`{"service_password":"s3rvice"}`)
	kinds := []string{"ldap", "saml", "saml key"}

	t.Run("what is sealed opens to the same bytes, and is not stored in clear", func(t *testing.T) {
		for _, kind := range kinds {
			sealed := s.seal(a, kind, plain)
			if bytes.Contains(sealed, []byte("s3rvice")) {
				t.Errorf("sealed %s holds the secret in clear", kind)
			}
			got, err := s.open(ctx, a, kind, sealed)
			if err != nil || !bytes.Equal(got, plain) {
				t.Errorf("open(seal(%s)) = %q, %v; want %q, nil", kind, got, err, plain)
			}
		}
	})

	t.Run("sealing the same bytes twice gives two different values", func(t *testing.T) {
		if x, y := s.seal(a, "ldap", plain), s.seal(a, "ldap", plain); bytes.Equal(x, y) {
			t.Error("two seals are equal: the nonce is not fresh")
		}
	})

	t.Run("a part sealed for one organization does not open as another's", func(t *testing.T) {
		for _, kind := range kinds {
			if got, err := s.open(ctx, b, kind, s.seal(a, kind, plain)); err == nil {
				t.Errorf("%s sealed for %s opened as %s: %q", kind, a, b, got)
			}
		}
	})

	t.Run("a part sealed as one kind does not open as another", func(t *testing.T) {
		for _, from := range kinds {
			for _, as := range kinds {
				if from == as {
					continue
				}
				if got, err := s.open(ctx, a, as, s.seal(a, from, plain)); err == nil {
					t.Errorf("a sealed %s opened as %s: %q", from, as, got)
				}
			}
		}
	})

	t.Run("any changed, cut or lengthened sealed value is refused", func(t *testing.T) {
		sealed := s.seal(a, "ldap", plain)
		for i := range sealed {
			bad := bytes.Clone(sealed)
			bad[i] ^= 0x01
			if got, err := s.open(ctx, a, "ldap", bad); err == nil {
				t.Errorf("byte %d of %d flipped: opened to %q", i, len(sealed), got)
			} else if !errors.Is(err, keyring.ErrOpen) {
				t.Errorf("byte %d flipped: %v, want keyring.ErrOpen", i, err)
			}
		}
		for _, bad := range [][]byte{nil, {}, sealed[:len(sealed)-1], sealed[:len(sealed)/2], append(bytes.Clone(sealed), 0)} {
			if got, err := s.open(ctx, a, "ldap", bad); err == nil {
				t.Errorf("a sealed value of %d bytes (of %d) opened to %q", len(bad), len(sealed), got)
			}
		}
	})

	t.Run("another key does not open it", func(t *testing.T) {
		other, _, _ := sealing(t, bytes.Repeat([]byte("o"), 32))
		if got, err := other.open(ctx, a, "ldap", s.seal(a, "ldap", plain)); err == nil {
			t.Errorf("opened under another key: %q", got)
		}
	})
}

// The same bindings hold for the stored set-up: a sealed LDAP row copied to
// another organization, or changed in the database, does not open, and is
// not rewritten by the attempt.
func TestStoredSetUpOpensOnlyForItsOrganization(t *testing.T) {
	s, db, orgs := sealing(t, sealKey)
	ctx := context.Background()
	a, b := orgs[0], orgs[1]
	cfg := ldap.Config{URL: "ldap://127.0.0.1:1", InsecureNoTLS: true, ServiceDN: "cn=gatehouse,dc=example,dc=test",
		ServicePassword: "service-s3cret", SearchBase: "ou=people,dc=example,dc=test", SearchFilter: "(uid={username})"}
	actor := gatehouse.Actor{UserID: "admin-1", OrgID: a.ID, Role: gatehouse.RoleAdmin, AuthenticatedAt: sealT0}
	if err := s.SetLDAP(ctx, a.ID, cfg, actor); err != nil {
		t.Fatal(err)
	}
	got, err := s.LDAPConfig(ctx, a.ID)
	if err != nil || got.ServicePassword != cfg.ServicePassword {
		t.Fatalf("LDAPConfig after SetLDAP = %+v, %v; want the service password back", got, err)
	}
	row, err := db.SignInConfig(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(row.LDAP, []byte(cfg.ServicePassword)) {
		t.Error("the stored LDAP set-up holds the service password in clear")
	}

	t.Run("copied to another organization", func(t *testing.T) {
		if err := db.SaveSignInConfig(ctx, &gatehouse.SignInConfig{OrgID: b.ID, LDAP: row.LDAP, UpdatedAt: sealT0}); err != nil {
			t.Fatal(err)
		}
		if got, err := s.LDAPConfig(ctx, b.ID); err == nil {
			t.Errorf("organization %s's sealed LDAP set-up opened as %s's: %+v", a.Slug, b.Slug, got)
		}
		if after, _ := db.SignInConfig(ctx, b.ID); !bytes.Equal(after.LDAP, row.LDAP) {
			t.Error("a copied value that did not open was rewritten")
		}
	})

	t.Run("changed in the database", func(t *testing.T) {
		bad := bytes.Clone(row.LDAP)
		bad[len(bad)-1] ^= 0x80
		if err := db.SaveSignInConfig(ctx, &gatehouse.SignInConfig{OrgID: a.ID, LDAP: bad, UpdatedAt: sealT0}); err != nil {
			t.Fatal(err)
		}
		if got, err := s.LDAPConfig(ctx, a.ID); err == nil {
			t.Errorf("a changed sealed set-up opened: %+v", got)
		}
		if after, _ := db.SignInConfig(ctx, a.ID); !bytes.Equal(after.LDAP, bad) {
			t.Error("a changed value that did not open was rewritten")
		}
	})
}
