package federation_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/federation"
	"github.com/gatehousehq/gatehouse/internal/ldap"
	"github.com/gatehousehq/gatehouse/internal/saml"
	"github.com/gatehousehq/gatehouse/internal/sqlstore"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

var now = time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)

func newFederation(t *testing.T) (*federation.Service, *sqlstore.DB, *gatehouse.Organization) {
	t.Helper()
	db := testdb.SQLite(t)
	org := &gatehouse.Organization{ID: gatehouse.NewID(), Slug: "dir", Name: "Dir", Settings: gatehouse.DefaultPasswordSettings(), CreatedAt: now, UpdatedAt: now}
	if err := db.CreateOrganization(context.Background(), org); err != nil {
		t.Fatal(err)
	}
	svc, err := federation.New(federation.Config{Store: db, Secret: bytes.Repeat([]byte("k"), 32), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return svc, db, org
}

func admin(org *gatehouse.Organization, at time.Time) gatehouse.Actor {
	return gatehouse.Actor{UserID: "admin-1", OrgID: org.ID, Role: gatehouse.RoleAdmin, AuthenticatedAt: at}
}

// capture is a plain-text LDAP server stand-in that only records what each
// client sends (a bind carries its password in clear over ldap:// without
// TLS) and then hangs up.
type capture struct {
	ln   net.Listener
	mu   sync.Mutex
	seen []byte
	wg   sync.WaitGroup
}

func newCapture(t *testing.T) *capture {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &capture{ln: ln}
	c.wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.SetReadDeadline(time.Now().Add(time.Second))
			b, _ := io.ReadAll(io.LimitReader(conn, 4096))
			conn.Close()
			c.mu.Lock()
			c.seen = append(c.seen, b...)
			c.mu.Unlock()
		}
	})
	t.Cleanup(func() { ln.Close(); c.wg.Wait() })
	return c
}

func (c *capture) url() string { return "ldap://" + c.ln.Addr().String() }

func (c *capture) got(secret string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Contains(c.seen, []byte(secret))
}

func searchConfig(url string) ldap.Config {
	return ldap.Config{URL: url, InsecureNoTLS: true, ServiceDN: "cn=gatehouse,dc=example,dc=test", ServicePassword: "service-s3cret",
		SearchBase: "ou=people,dc=example,dc=test", SearchFilter: "(mail={username})", Timeout: time.Second}
}

func TestTheSavedServicePasswordGoesOnlyWhereItWasSavedFor(t *testing.T) {
	ctx := context.Background()
	const secret = "service-s3cret"
	cases := []struct {
		name string
		edit func(c *ldap.Config, newURL string)
		keep bool
	}{
		{"the same URL, TLS and service DN keep it", func(c *ldap.Config, _ string) { c.SearchFilter = "(uid={username})" }, true},
		{"a new URL needs it again", func(c *ldap.Config, u string) { c.URL = u }, false},
		{"a new service DN needs it again", func(c *ldap.Config, _ string) { c.ServiceDN = "cn=other,dc=example,dc=test" }, false},
		{"turning TLS on needs it again", func(c *ldap.Config, _ string) { c.InsecureNoTLS, c.URL = false, "ldaps://127.0.0.1:1" }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc, _, org := newFederation(t)
			old, attacker := newCapture(t), newCapture(t)
			if err := svc.SetLDAP(ctx, org.ID, searchConfig(old.url()), admin(org, now)); err != nil {
				t.Fatal(err)
			}
			next := searchConfig(old.url())
			next.ServicePassword = ""
			tc.edit(&next, attacker.url())
			err := svc.SetLDAP(ctx, org.ID, next, admin(org, now))
			if tc.keep {
				if err != nil {
					t.Fatalf("kept password refused: %v", err)
				}
				if cfg, _ := svc.LDAPConfig(ctx, org.ID); cfg.ServicePassword != secret {
					t.Error("the saved password was not kept")
				}
				return
			}
			if ge, ok := err.(*gatehouse.Error); !ok || ge.Code != gatehouse.EINVALID || ge.Field != "service_password" ||
				ge.Reason != gatehouse.ReasonServicePasswordAgain {
				t.Errorf("SetLDAP = %v, want invalid_input naming service_password, for its reason", err)
			}
			// Whatever is saved now, a sign-in must not carry the secret to
			// the new server.
			if dir, derr := svc.Directory(ctx, org); derr == nil {
				dir.Authenticate(ctx, "ada@example.test", "ada-password")
			}
			if attacker.got(secret) {
				t.Fatal("the saved service password was sent to the new server")
			}
			if cfg, _ := svc.LDAPConfig(ctx, org.ID); cfg.URL != old.url() {
				t.Errorf("the refused set-up was saved: %s", cfg.URL)
			}
			// Given again, it is saved.
			next.ServicePassword = "another-secret"
			if next.InsecureNoTLS || next.URL == old.url() || next.URL == attacker.url() {
				if err := svc.SetLDAP(ctx, org.ID, next, admin(org, now)); err != nil {
					t.Errorf("with the password given again: %v", err)
				}
			}
		})
	}
}

func TestSetUpChangesNeedARecentAuthentication(t *testing.T) {
	ctx := context.Background()
	svc, _, org := newFederation(t)
	cfg := searchConfig("ldap://127.0.0.1:1")
	stale := admin(org, now.Add(-gatehouse.ReauthWindow-time.Second))
	member := admin(org, now)
	member.Role = gatehouse.RoleMember
	for name, actor := range map[string]gatehouse.Actor{"stale": stale, "member": member, "zero": {}} {
		want := gatehouse.EREAUTHREQUIRED
		if name != "stale" {
			want = gatehouse.EFORBIDDEN
		}
		if err := svc.SetLDAP(ctx, org.ID, cfg, actor); gatehouse.ErrorCode(err) != want {
			t.Errorf("SetLDAP by %s: %v, want %s", name, err, want)
		}
		if err := svc.SetSAML(ctx, org.ID, saml.Config{IdPMetadataXML: "<x/>"}, saml.FetchPolicy{}, actor); gatehouse.ErrorCode(err) != want {
			t.Errorf("SetSAML by %s: %v, want %s", name, err, want)
		}
	}
	if ok, _ := svc.Configured(ctx, org.ID, gatehouse.AuthLDAP); ok {
		t.Fatal("a refused set-up was saved")
	}
	if err := svc.SetLDAP(ctx, org.ID, cfg, admin(org, now)); err != nil {
		t.Fatalf("fresh admin: %v", err)
	}
	if err := svc.SetLDAP(ctx, org.ID, cfg, gatehouse.OperatorActor()); err != nil {
		t.Fatalf("operator: %v", err)
	}
}
