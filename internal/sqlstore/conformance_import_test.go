package sqlstore

import (
	"context"
	"database/sql/driver"
	"fmt"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb/pgschema"
)

func imported(email string, edit func(*gatehouse.ImportedUser)) gatehouse.ImportedUser {
	u := gatehouse.ImportedUser{ID: gatehouse.NewID(), Email: email}
	if edit != nil {
		edit(&u)
	}
	return u
}

func sessionCount(t *testing.T, db *DB, u *gatehouse.User) int {
	t.Helper()
	s, err := db.ListUserSessions(t.Context(), u.OrgID, u.ID, t0, t0.Add(-time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	return len(s)
}

// TestImportUsers holds the bulk import's batch write to its contract, on
// PostgreSQL both with COPY and row by row (a connection that is not pgx's).
func TestImportUsers(t *testing.T) {
	forEachDB(t, testImportUsers)
	t.Run("Postgres row by row", func(t *testing.T) {
		pgschema.Base(t)
		testImportUsers(t, engine{url: func(t *testing.T) string { return pgschema.URL(t) },
			wrap: func(c driver.Connector) driver.Connector { return hidePgx{c} }})
	})
}

// hidePgx hides pgx behind the connections of a connector, as a wrapping
// driver (metrics, tracing) would: they do all database/sql asks of them.
type hidePgx struct{ driver.Connector }

func (h hidePgx) Connect(ctx context.Context) (driver.Conn, error) {
	c, err := h.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return plainConn{c.(sqlConn)}, nil
}

type sqlConn interface {
	driver.Conn
	driver.ExecerContext
	driver.QueryerContext
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.NamedValueChecker
}

// plainConn has the methods of sqlConn only: no Conn() *pgx.Conn.
type plainConn struct{ sqlConn }

func testImportUsers(t *testing.T, d engine) {
	{
		at := t0.Add(time.Hour)

		t.Run("new users are inserted with their fields, members without a role, invitable without a hash", func(t *testing.T) {
			db := d.fresh(t)
			org := newOrg(t, db, "clinic")
			full := imported("ann@example.com", func(u *gatehouse.ImportedUser) {
				u.Name, u.Phone, u.Role, u.PasswordHash = "Ann", "+358401234567", gatehouse.RoleAdmin, "$2b$04$x"
			})
			bare := imported("bob@example.com", nil)
			c, err := db.ImportUsers(t.Context(), gatehouse.ImportBatch{OrgID: org.ID, Users: []gatehouse.ImportedUser{full, bare}, At: at})
			if err != nil {
				t.Fatal(err)
			}
			checkEqual(t, "counts", c, gatehouse.ImportCounts{Inserted: 2, Invitable: []string{bare.ID}})
			got, err := db.UserByEmail(t.Context(), org.ID, "ann@example.com")
			if err != nil {
				t.Fatal(err)
			}
			checkEqual(t, "ann", got, &gatehouse.User{ID: full.ID, OrgID: org.ID, Email: full.Email, Name: "Ann", Phone: full.Phone,
				Role: gatehouse.RoleAdmin, PasswordHash: full.PasswordHash, CreatedAt: at, UpdatedAt: at})
			got, err = db.UserByEmail(t.Context(), org.ID, "bob@example.com")
			if err != nil {
				t.Fatal(err)
			}
			checkEqual(t, "bob", got, &gatehouse.User{ID: bare.ID, OrgID: org.ID, Email: bare.Email, Role: gatehouse.RoleMember, CreatedAt: at, UpdatedAt: at})
		})

		t.Run("existing e-mails are left alone and counted, in this organization only", func(t *testing.T) {
			db := d.fresh(t)
			org, other := newOrg(t, db, "clinic"), newOrg(t, db, "other")
			old := newUser(t, db, org.ID, "ann@example.com")
			newUser(t, db, other.ID, "bob@example.com")
			batch := []gatehouse.ImportedUser{
				imported("ann@example.com", func(u *gatehouse.ImportedUser) { u.Name = "Changed" }),
				imported("bob@example.com", nil),
			}
			c, err := db.ImportUsers(t.Context(), gatehouse.ImportBatch{OrgID: org.ID, Users: batch, At: at})
			if err != nil {
				t.Fatal(err)
			}
			checkEqual(t, "counts", c, gatehouse.ImportCounts{Inserted: 1, Existing: 1, Invitable: []string{batch[1].ID}})
			got, err := db.UserByEmail(t.Context(), org.ID, "ann@example.com")
			if err != nil {
				t.Fatal(err)
			}
			checkEqual(t, "ann, left alone", got, old)
		})

		t.Run("an update changes the given fields and ends the sign-ins of changed credentials only", func(t *testing.T) {
			db := d.fresh(t)
			org := newOrg(t, db, "clinic")
			phone, hash, name, same := newUser(t, db, org.ID, "phone@example.com"), newUser(t, db, org.ID, "hash@example.com"),
				newUser(t, db, org.ID, "name@example.com"), newUser(t, db, org.ID, "same@example.com")
			for i, u := range []*gatehouse.User{phone, hash, name, same} {
				newSession(t, db, u, codeHash(fmt.Sprint("session", i)))
			}
			batch := []gatehouse.ImportedUser{
				imported(phone.Email, func(u *gatehouse.ImportedUser) { u.Phone = "+358401234567" }),
				imported(hash.Email, func(u *gatehouse.ImportedUser) { u.PasswordHash = "$2b$04$new" }),
				imported(name.Email, func(u *gatehouse.ImportedUser) { u.Name, u.Role = "Nina", gatehouse.RoleAdmin }),
				imported(same.Email, func(u *gatehouse.ImportedUser) { u.PasswordHash = same.PasswordHash }),
				imported("new@example.com", nil),
			}
			c, err := db.ImportUsers(t.Context(), gatehouse.ImportBatch{OrgID: org.ID, Users: batch, Update: true, At: at})
			if err != nil {
				t.Fatal(err)
			}
			checkEqual(t, "counts", c, gatehouse.ImportCounts{Inserted: 1, Updated: 3, Existing: 1, Invitable: []string{batch[4].ID}})
			want := map[*gatehouse.User]func(u *gatehouse.User){
				phone: func(u *gatehouse.User) { u.Phone, u.UpdatedAt = "+358401234567", at },
				hash:  func(u *gatehouse.User) { u.PasswordHash, u.UpdatedAt = "$2b$04$new", at },
				name:  func(u *gatehouse.User) { u.Name, u.Role, u.UpdatedAt = "Nina", gatehouse.RoleAdmin, at },
				same:  func(u *gatehouse.User) {},
			}
			for u, edit := range want {
				w := *u
				edit(&w)
				got, err := db.UserByID(t.Context(), org.ID, u.ID)
				if err != nil {
					t.Fatal(err)
				}
				checkEqual(t, u.Email, got, &w)
			}
			for u, n := range map[*gatehouse.User]int{phone: 0, hash: 0, name: 1, same: 1} {
				if got := sessionCount(t, db, u); got != n {
					t.Errorf("%s has %d sessions, want %d", u.Email, got, n)
				}
			}
		})

		t.Run("a dry run counts and writes nothing", func(t *testing.T) {
			db := d.fresh(t)
			org := newOrg(t, db, "clinic")
			u := newUser(t, db, org.ID, "ann@example.com")
			newSession(t, db, u, codeHash("s"))
			batch := []gatehouse.ImportedUser{
				imported("ann@example.com", func(u *gatehouse.ImportedUser) { u.PasswordHash = "$2b$04$new" }),
				imported("bob@example.com", nil),
			}
			c, err := db.ImportUsers(t.Context(), gatehouse.ImportBatch{OrgID: org.ID, Users: batch, Update: true, DryRun: true, At: at})
			if err != nil {
				t.Fatal(err)
			}
			checkEqual(t, "counts", c, gatehouse.ImportCounts{Inserted: 1, Updated: 1, Invitable: []string{batch[1].ID}})
			users, err := db.ListUsers(t.Context(), org.ID, "", 10)
			if err != nil {
				t.Fatal(err)
			}
			checkEqual(t, "users", users, []*gatehouse.User{u})
			if n := sessionCount(t, db, u); n != 1 {
				t.Errorf("the dry run ended %d sessions", 1-n)
			}
		})

		t.Run("batches follow one another on the same connection", func(t *testing.T) {
			db := d.fresh(t)
			org := newOrg(t, db, "clinic")
			var total int
			for b := range 3 {
				var batch []gatehouse.ImportedUser
				for i := range 50 {
					batch = append(batch, imported(fmt.Sprintf("u%d-%d@example.com", b, i), nil))
				}
				c, err := db.ImportUsers(t.Context(), gatehouse.ImportBatch{OrgID: org.ID, Users: batch, At: at})
				if err != nil {
					t.Fatal(err)
				}
				total += c.Inserted
			}
			users, err := db.ListUsers(t.Context(), org.ID, "", 1000)
			if err != nil {
				t.Fatal(err)
			}
			if len(users) != 150 || total != 150 {
				t.Errorf("%d users, %d counted, want 150", len(users), total)
			}
		})

		t.Run("an unknown organization is ENOTFOUND", func(t *testing.T) {
			db := d.fresh(t)
			_, err := db.ImportUsers(t.Context(), gatehouse.ImportBatch{OrgID: gatehouse.NewID(), Users: []gatehouse.ImportedUser{imported("a@example.com", nil)}, At: at})
			checkCode(t, "ImportUsers", err, gatehouse.ENOTFOUND)
		})
	}
}
