package accounts_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/accounts"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

// auditFails is a store whose audit writes fail.
type auditFails struct{ gatehouse.Store }

func (auditFails) AppendAudit(context.Context, *gatehouse.AuditEvent) error {
	return errors.New("disk full")
}

// An administrative change whose audit write fails answers EUNAVAILABLE:
// its caller is never told a change went through unrecorded.
func TestAFailedAuditWriteFailsTheChange(t *testing.T) {
	ctx := context.Background()
	db := testdb.SQLite(t)
	svc := newAccounts(t, auditFails{db})
	_, err := svc.CreateOrganization(ctx, accounts.NewOrganization{Slug: "acme", Name: "Acme"}, "")
	if code := gatehouse.ErrorCode(err); code != gatehouse.EUNAVAILABLE {
		t.Errorf("CreateOrganization with a failing audit log: code %q (%v), want %q", code, err, gatehouse.EUNAVAILABLE)
	}
}
