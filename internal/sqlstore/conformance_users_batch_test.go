package sqlstore

import (
	"fmt"
	"testing"

	"github.com/gatehousehq/gatehouse"
)

// TestCreateUsers: the batch saves every user, or none when one fails.
func TestCreateUsers(t *testing.T) {
	forEachDB(t, func(t *testing.T, d engine) {
		t.Run("every user of the batch is saved", func(t *testing.T) {
			db := d.fresh(t)
			org := newOrg(t, db, "batch")
			var users []*gatehouse.User
			for i := range 50 {
				users = append(users, &gatehouse.User{ID: gatehouse.NewID(), OrgID: org.ID, Email: fmt.Sprintf("u%02d@example.com", i),
					Role: gatehouse.RoleMember, PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", CreatedAt: t0, UpdatedAt: t0})
			}
			if err := db.CreateUsers(t.Context(), users); err != nil {
				t.Fatal(err)
			}
			for _, u := range users {
				got, err := db.UserByEmail(t.Context(), org.ID, u.Email)
				if err != nil {
					t.Fatal(err)
				}
				checkEqual(t, "UserByEmail", got, u)
			}
		})
		t.Run("a taken e-mail in the batch saves none of it", func(t *testing.T) {
			db := d.fresh(t)
			org := newOrg(t, db, "batch-conflict")
			taken := newUser(t, db, org.ID, "taken@example.com")
			fresh := &gatehouse.User{ID: gatehouse.NewID(), OrgID: org.ID, Email: "fresh@example.com", Role: gatehouse.RoleMember, CreatedAt: t0, UpdatedAt: t0}
			dup := &gatehouse.User{ID: gatehouse.NewID(), OrgID: org.ID, Email: taken.Email, Role: gatehouse.RoleMember, CreatedAt: t0, UpdatedAt: t0}
			checkCode(t, "CreateUsers with a taken e-mail", db.CreateUsers(t.Context(), []*gatehouse.User{fresh, dup}), gatehouse.ECONFLICT)
			_, err := db.UserByEmail(t.Context(), org.ID, fresh.Email)
			checkCode(t, "the batch's other user", err, gatehouse.ENOTFOUND)
		})
		t.Run("an unknown organization is ENOTFOUND", func(t *testing.T) {
			db := d.fresh(t)
			u := &gatehouse.User{ID: gatehouse.NewID(), OrgID: gatehouse.NewID(), Email: "a@example.com", Role: gatehouse.RoleMember, CreatedAt: t0, UpdatedAt: t0}
			checkCode(t, "CreateUsers in no organization", db.CreateUsers(t.Context(), []*gatehouse.User{u}), gatehouse.ENOTFOUND)
		})
	})
}
