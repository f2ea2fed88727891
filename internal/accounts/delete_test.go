package accounts_test

import (
	"context"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

func TestDeleteUser(t *testing.T) {
	ctx := context.Background()
	t.Run("a deleted user is gone and the audit log keeps who they were", func(t *testing.T) {
		g := newGuarded(t, testdb.SQLite(t))
		alive := remember(t, g.db, g.org, g.member)
		if err := g.svc.DeleteUser(ctx, "acme", g.member.ID, freshActor(g.org, g.admin, g.now)); err != nil {
			t.Fatal(err)
		}
		if _, err := g.db.UserByID(ctx, g.org.ID, g.member.ID); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Errorf("the deleted user: %v, want not_found", err)
		}
		if alive() {
			t.Error("the deleted user's remembered browser still works")
		}
		events, err := g.db.ListAudit(ctx, g.org.ID, 0, 1)
		if err != nil || len(events) != 1 {
			t.Fatalf("audit: %v, %v", events, err)
		}
		e := events[0]
		if e.Event != gatehouse.AuditUserDeleted || e.UserID != g.member.ID || e.ActorID != g.admin.ID ||
			e.Detail["email"] != "a@acme.test" || e.Detail["role"] != "member" || !e.ClientIP.IsValid() {
			t.Errorf("audit event = %+v, want %s of the member by the admin with the e-mail and role", e, gatehouse.AuditUserDeleted)
		}
	})
	t.Run("an admin cannot delete themselves", func(t *testing.T) {
		g := newGuarded(t, testdb.SQLite(t))
		err := g.svc.DeleteUser(ctx, "acme", g.admin.ID, freshActor(g.org, g.admin, g.now))
		if gatehouse.ErrorCode(err) != gatehouse.EINVALID {
			t.Errorf("deleting oneself: %v, want invalid_input", err)
		}
	})
	t.Run("the operator cannot delete the last admin", func(t *testing.T) {
		g := newGuarded(t, testdb.SQLite(t))
		err := g.svc.DeleteUser(ctx, "acme", g.admin.ID, gatehouse.OperatorActor())
		if gatehouse.ErrorCode(err) != gatehouse.ECONFLICT {
			t.Errorf("deleting the last admin: %v, want conflict", err)
		}
		if _, err := g.db.UserByID(ctx, g.org.ID, g.admin.ID); err != nil {
			t.Errorf("the last admin is gone: %v", err)
		}
	})
	t.Run("an unknown user is not found", func(t *testing.T) {
		g := newGuarded(t, testdb.SQLite(t))
		if err := g.svc.DeleteUser(ctx, "acme", gatehouse.NewID(), gatehouse.OperatorActor()); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Errorf("got %v, want not_found", err)
		}
	})
}
