package accounts_test

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/accounts"
	"github.com/gatehousehq/gatehouse/internal/keyring"
)

func TestAPITokens(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	ringA, _ := keyring.New(bytes.Repeat([]byte("A"), 32))
	svc, db := newService(t, withKeys(ringA), withNow(clock))

	if _, _, err := svc.CreateAPIToken(ctx, "crm", []string{gatehouse.ScopeUsersWrite}, 0, accounts.Actor{UserID: "u", Role: gatehouse.RoleAdmin}); gatehouse.ErrorCode(err) != gatehouse.EFORBIDDEN {
		t.Errorf("an admin made an API token: %v", err)
	}
	for _, bad := range []struct {
		name   string
		scopes []string
		life   time.Duration
		field  string
	}{{"CRM Sync", []string{"users:write"}, 0, "name"}, {"crm", nil, 0, "scope"}, {"crm", []string{"users:delete"}, 0, "scope"},
		{"crm", []string{"users:write"}, 6 * 365 * 24 * time.Hour, "expires"}} {
		if _, _, err := svc.CreateAPIToken(ctx, bad.name, bad.scopes, bad.life, gatehouse.OperatorActor()); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
			t.Errorf("%+v: %v, want EINVALID on %s", bad, err, bad.field)
		} else if ge := err.(*gatehouse.Error); ge.Field != bad.field {
			t.Errorf("%+v: field %q, want %q", bad, ge.Field, bad.field)
		}
	}
	token, tok, err := svc.CreateAPIToken(ctx, "crm", []string{"users:write", "orgs:read", "users:write"}, 24*time.Hour, gatehouse.OperatorActor())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(token, gatehouse.APITokenPrefix) || bytes.Contains(tok.TokenHash, []byte(token)) || len(tok.Scopes) != 2 {
		t.Errorf("the token %q, stored as %+v", token, tok)
	}
	got, err := svc.AuthenticateAPIToken(ctx, token)
	if err != nil || got.Name != "crm" || !got.Has(gatehouse.ScopeUsersRead) || got.Has(gatehouse.ScopeOrgsWrite) {
		t.Fatalf("AuthenticateAPIToken = %+v, %v", got, err)
	}
	for _, wrong := range []string{"", token[:len(token)-1], strings.TrimPrefix(token, gatehouse.APITokenPrefix), token + "x"} {
		if _, err := svc.AuthenticateAPIToken(ctx, wrong); gatehouse.ErrorCode(err) != gatehouse.EUNAUTHORIZED {
			t.Errorf("token %q: %v, want EUNAUTHORIZED", wrong, err)
		}
	}

	// After a key rotation (B first, A still held) the token works and is
	// moved to B, so that it still works once A is gone.
	ringBA, _ := keyring.New(bytes.Repeat([]byte("B"), 32), bytes.Repeat([]byte("A"), 32))
	if _, err := newAccounts(t, db, withKeys(ringBA), withNow(clock)).AuthenticateAPIToken(ctx, token); err != nil {
		t.Fatalf("with B,A: %v", err)
	}
	ringB, _ := keyring.New(bytes.Repeat([]byte("B"), 32))
	onlyB := newAccounts(t, db, withKeys(ringB), withNow(clock))
	if _, err := onlyB.AuthenticateAPIToken(ctx, token); err != nil {
		t.Fatalf("with B alone after the move: %v", err)
	}

	now = now.Add(24 * time.Hour)
	if _, err := onlyB.AuthenticateAPIToken(ctx, token); gatehouse.ErrorCode(err) != gatehouse.EUNAUTHORIZED {
		t.Errorf("an expired token: %v", err)
	}
	if err := onlyB.RevokeAPIToken(ctx, "crm", gatehouse.TokenActor("crm", netip.Addr{})); gatehouse.ErrorCode(err) != gatehouse.EFORBIDDEN {
		t.Errorf("an API token revoked a token: %v", err)
	}
	if err := onlyB.RevokeAPIToken(ctx, "crm", gatehouse.OperatorActor()); err != nil {
		t.Fatal(err)
	}
	if err := onlyB.RevokeAPIToken(ctx, "crm", gatehouse.OperatorActor()); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
		t.Errorf("revoking twice: %v", err)
	}
	if tokens, err := onlyB.APITokens(ctx); err != nil || len(tokens) != 0 {
		t.Errorf("after the revocation: %v, %v", tokens, err)
	}
}
