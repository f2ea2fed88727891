package federation_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/federation"
	"github.com/gatehousehq/gatehouse/internal/keyring"
	"github.com/gatehousehq/gatehouse/internal/sqlstore"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

var (
	secretA = bytes.Repeat([]byte("A"), 32)
	secretB = bytes.Repeat([]byte("B"), 32)
	secretC = bytes.Repeat([]byte("C"), 32)
)

// legacySeal seals exactly as federation did before the keyring: AES-256-GCM
// under HMAC-SHA256(secret, "gatehouse federation sealing key"), the nonce
// in front, the organization and kind as additional data.
func legacySeal(t *testing.T, secret []byte, orgID, kind string, plain []byte) []byte {
	t.Helper()
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("gatehouse federation sealing key"))
	block, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		t.Fatal(err)
	}
	aead, _ := cipher.NewGCM(block)
	nonce := bytes.Repeat([]byte{9}, aead.NonceSize())
	return aead.Seal(nonce, nonce, plain, []byte(orgID+"\x00"+kind))
}

func node(t *testing.T, db *sqlstore.DB, secrets ...[]byte) *federation.Service {
	t.Helper()
	r, err := keyring.New(secrets...)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := federation.New(federation.Config{Store: db, Keys: r})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// TestSealedSetUpIsResealedUnderTheCurrentKey: an LDAP set-up sealed by the
// old release under A opens with keys B,A and is sealed again under B when
// read, so it still opens with B alone; a ring without A or B opens nothing,
// and another organization's row never opens as this one's.
func TestSealedSetUpIsResealedUnderTheCurrentKey(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testReseal(t, testdb.SQLite(t)) })
	t.Run("postgres", func(t *testing.T) {
		db, err := sqlstore.Open(context.Background(), testdb.PostgresURL(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if err := db.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		testReseal(t, db)
	})
}

func testReseal(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	now := time.Now()
	var orgs []*gatehouse.Organization
	for _, slug := range []string{"one", "two"} {
		o := &gatehouse.Organization{ID: gatehouse.NewID(), Slug: slug, Name: slug, Settings: gatehouse.DefaultPasswordSettings(), CreatedAt: now, UpdatedAt: now}
		if err := db.CreateOrganization(ctx, o); err != nil {
			t.Fatal(err)
		}
		orgs = append(orgs, o)
	}
	org := orgs[0]
	plain := []byte(`{"url":"ldaps://ldap.example.com","bind_dn_template":"uid={username},ou=people,dc=example,dc=com","service_password":"s3rvice"}`)
	old := legacySeal(t, secretA, org.ID, "ldap", plain)
	if err := db.SaveSignInConfig(ctx, &gatehouse.SignInConfig{OrgID: org.ID, LDAP: old, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	// The other organization holds a copy of the first one's sealed row.
	if err := db.SaveSignInConfig(ctx, &gatehouse.SignInConfig{OrgID: orgs[1].ID, LDAP: old, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}

	// The release with the keyring and the same single key A opens it.
	if cfg, err := node(t, db, secretA).LDAPConfig(ctx, org.ID); err != nil || cfg.ServicePassword != "s3rvice" {
		t.Fatalf("A opens the old release's seal: %+v %v", cfg, err)
	}
	afterA, _ := db.SignInConfig(ctx, org.ID)
	ringA, _ := keyring.New(secretA)
	if id, legacy := keyring.SealKeyID(afterA.LDAP); legacy || id != ringA.CurrentID() {
		t.Errorf("after a read under A the seal is %s (legacy %v), want A's new form", id, legacy)
	}

	ba := node(t, db, secretB, secretA)
	if cfg, err := ba.LDAPConfig(ctx, org.ID); err != nil || cfg.URL != "ldaps://ldap.example.com" {
		t.Fatalf("B,A: %+v %v", cfg, err)
	}
	afterBA, _ := db.SignInConfig(ctx, org.ID)
	ringB, _ := keyring.New(secretB)
	if id, _ := keyring.SealKeyID(afterBA.LDAP); id != ringB.CurrentID() {
		t.Errorf("after a read under B,A the seal names key %s, want B's %s", id, ringB.CurrentID())
	}
	if bytes.Contains(afterBA.LDAP, []byte("s3rvice")) {
		t.Error("the service password is stored in clear")
	}
	if cfg, err := node(t, db, secretB).LDAPConfig(ctx, org.ID); err != nil || cfg.ServicePassword != "s3rvice" {
		t.Errorf("B alone after the re-seal: %+v %v", cfg, err)
	}
	if _, err := node(t, db, secretC).LDAPConfig(ctx, org.ID); err == nil {
		t.Error("a ring without A or B opened the set-up")
	}
	// Cross-organization refusal: the sealed value is bound to its org.
	if _, err := ba.LDAPConfig(ctx, orgs[1].ID); err == nil {
		t.Error("organization one's sealed set-up opened as organization two's")
	}
	if got, _ := db.SignInConfig(ctx, orgs[1].ID); !bytes.Equal(got.LDAP, old) {
		t.Error("a value that did not open was rewritten")
	}
}
