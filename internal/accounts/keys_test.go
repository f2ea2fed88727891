package accounts_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/accounts"
	"github.com/gatehousehq/gatehouse/internal/keyring"
	"github.com/gatehousehq/gatehouse/internal/sqlstore"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

// TestPasswordLinksSurviveAKeyRotation: a link the old release stored
// (HMAC under the single secret A) and one made under A by this release both
// still work with keys B,A, once each; with B alone A's links no longer
// work. On both databases.
func TestPasswordLinksSurviveAKeyRotation(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		svc, db := newService(t)
		testLinksRotation(t, svc, db)
	})
	t.Run("postgres", func(t *testing.T) {
		db, err := sqlstore.Open(context.Background(), testdb.PostgresURL(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if err := db.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		testLinksRotation(t, newAccounts(t, db), db)
	})
}

func testLinksRotation(t *testing.T, svc *accounts.Service, db *sqlstore.DB) {
	ctx := context.Background()
	secretA, secretB := bytes.Repeat([]byte("A"), 32), bytes.Repeat([]byte("B"), 32)
	ringA, _ := keyring.New(secretA)
	ringBA, _ := keyring.New(secretB, secretA)
	ringB, _ := keyring.New(secretB)
	org, err := svc.CreateOrganization(ctx, accounts.NewOrganization{Slug: "acme", Name: "Acme"}, "")
	if err != nil {
		t.Fatal(err)
	}
	u, err := svc.CreateUser(ctx, accounts.NewUser{OrgSlug: "acme", Email: "a@acme.test"}, "")
	if err != nil {
		t.Fatal(err)
	}
	link := func(hash []byte) {
		t.Helper()
		now := time.Now()
		if err := db.CreatePasswordReset(ctx, &gatehouse.PasswordReset{TokenHash: hash, OrgID: org.ID, UserID: u.ID, Email: u.Email,
			CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	m := hmac.New(sha256.New, secretA)
	m.Write([]byte("gatehouse password reset\x00old-release-link"))
	// A user has one live link at a time: each is made in turn.
	hashes := map[string][]byte{"old-release-link": m.Sum(nil), "a-link": ringA.Hash("password reset", "a-link"),
		"a-link-2": ringA.Hash("password reset", "a-link-2")}

	with := func(r *keyring.Ring) *accounts.Service { return newAccounts(t, db, withKeys(r)) }
	ba := with(ringBA)
	for _, tok := range []string{"old-release-link", "a-link"} {
		link(hashes[tok])
		if _, _, err := ba.PasswordResetUser(ctx, tok); err != nil {
			t.Errorf("B,A: link %s: %v", tok, err)
		}
		if err := ba.ResetPassword(ctx, tok, "a long enough passphrase "+tok, netip.Addr{}); err != nil {
			t.Errorf("B,A: reset through %s: %v", tok, err)
		}
		if err := ba.ResetPassword(ctx, tok, "another long passphrase "+tok, netip.Addr{}); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Errorf("B,A: link %s spent twice: %v", tok, err)
		}
	}
	link(hashes["a-link-2"])
	if _, _, err := with(ringB).PasswordResetUser(ctx, "a-link-2"); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		t.Errorf("B alone takes A's link: %v", err)
	}
	if _, _, err := with(ringBA).PasswordResetUser(ctx, "a-link-2"); err != nil {
		t.Errorf("B,A: %v", err)
	}
}

type linkInbox struct{ links []string }

func (b *linkInbox) SendCode(context.Context, gatehouse.CodeMessage) error { return nil }
func (b *linkInbox) Notify(_ context.Context, n gatehouse.Notice) error {
	b.links = append(b.links, n.Link)
	return nil
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("no entropy") }

// TestResetLinksUseTheInjectedRandomSourceAndTheCurrentKey: the link token
// comes from Rand (one token helper for signin and accounts), its stored
// hash is the current key's, and a failing source sends no link and saves
// none (fail closed).
func TestResetLinksUseTheInjectedRandomSourceAndTheCurrentKey(t *testing.T) {
	ctx := context.Background()
	ring, _ := keyring.New(bytes.Repeat([]byte("B"), 32), bytes.Repeat([]byte("A"), 32))
	box := &linkInbox{}
	// Each random source is its own service on the one store.
	random := func(r io.Reader) option {
		return func(c *accounts.Config) {
			withKeys(ring)(c)
			withMessenger(box, "https://login.example.com")(c)
			c.Rand = r
		}
	}
	svc, db := newService(t, random(nil))
	if _, err := svc.CreateOrganization(ctx, accounts.NewOrganization{Slug: "acme", Name: "Acme"}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateUser(ctx, accounts.NewUser{OrgSlug: "acme", Email: "a@acme.test"}, ""); err != nil {
		t.Fatal(err)
	}
	svc = newAccounts(t, db, random(bytes.NewReader(bytes.Repeat([]byte{7}, 32))))
	if err := svc.ForgotPassword(ctx, "acme", "a@acme.test", netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	want, _ := keyring.NewToken(bytes.NewReader(bytes.Repeat([]byte{7}, 32)))
	if len(box.links) != 1 || !strings.HasSuffix(box.links[0], "token="+want) {
		t.Fatalf("links %v, want one with token %s", box.links, want)
	}
	if _, err := db.PasswordResetByTokenHash(ctx, ring.Hash("password reset", want), time.Now()); err != nil {
		t.Errorf("the link is not stored under the current key: %v", err)
	}

	svc = newAccounts(t, db, random(failingReader{}))
	if err := svc.ForgotPassword(ctx, "acme", "a@acme.test", netip.Addr{}); gatehouse.ErrorCode(err) != gatehouse.EUNAVAILABLE {
		t.Errorf("a failing random source: %v, want unavailable", err)
	}
	if len(box.links) != 1 {
		t.Errorf("a link was sent without randomness: %v", box.links)
	}
}
