package sqlstore

import (
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
)

func TestOpen(t *testing.T) {
	t.Run("an unknown scheme is refused, naming the accepted forms but not the password", func(t *testing.T) {
		for _, u := range []string{"mysql://gate:s3cret@db/gatehouse", "postgress://gate:s3cret@db/gatehouse", "gatehouse.db", ""} {
			_, err := Open(t.Context(), u)
			if err == nil {
				t.Fatalf("Open(%q) succeeded", u)
			}
			msg := err.Error()
			if !strings.Contains(msg, "sqlite:PATH") || !strings.Contains(msg, "postgres://") {
				t.Errorf("Open(%q) = %q, want it to name sqlite:PATH and postgres://", u, msg)
			}
			if strings.Contains(msg, "s3cret") {
				t.Errorf("Open(%q) = %q, which shows the password", u, msg)
			}
		}
	})
	t.Run("sqlite without a path or with options is refused", func(t *testing.T) {
		for _, u := range []string{"sqlite:", "sqlite://", "sqlite::memory:", "sqlite:x.db?_pragma=foo"} {
			if _, err := Open(t.Context(), u); err == nil {
				t.Errorf("Open(%q) succeeded", u)
			}
		}
	})
	t.Run("sqlite in a missing folder is an error", func(t *testing.T) {
		_, err := Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "missing", "gatehouse.db"))
		if err == nil {
			t.Fatal("Open succeeded")
		}
	})
	t.Run("sqlite:// with an absolute path opens the file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "gatehouse.db")
		db, err := Open(t.Context(), "sqlite://"+path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if got := db.Dialect(); got != "sqlite" {
			t.Errorf("Dialect() = %q, want sqlite", got)
		}
		if _, err := os.Stat(path); err != nil {
			t.Error(err)
		}
	})
	t.Run("an unreachable postgres is an error", func(t *testing.T) {
		_, err := Open(t.Context(), "postgres://gate:s3cret@127.0.0.1:1/gatehouse?sslmode=disable")
		if err == nil {
			t.Fatal("Open succeeded")
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("error %q shows the password", err)
		}
	})
}

// The writer's settings are what make an acknowledged write durable and
// foreign keys hold, so they are checked rather than trusted.
func TestSQLiteConnections(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	db, err := Open(t.Context(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, c := range []struct{ pragma, want string }{
		{"journal_mode", "wal"},
		{"synchronous", "1"}, // NORMAL: durable through a killed process (TestAcknowledgedWritesSurviveAKill)
		{"foreign_keys", "1"},
		{"busy_timeout", "10000"},
	} {
		var got string
		if err := db.write.QueryRowContext(t.Context(), "PRAGMA "+c.pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("writer PRAGMA %s = %s, want %s", c.pragma, got, c.want)
		}
	}
	if _, err := db.read.ExecContext(t.Context(), "CREATE TABLE t (x INTEGER)"); err == nil {
		t.Error("a reader connection accepted a write")
	}

	// A transaction holds the write lock from BEGIN (IMMEDIATE), so another
	// process that does not wait finds the database busy before any write.
	tx, err := db.write.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	other, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.ExecContext(t.Context(), "CREATE TABLE t (x INTEGER)"); err == nil {
		t.Error("another connection wrote while a writer transaction was open")
	}
}

func TestMigrationsMatchAcrossDialects(t *testing.T) {
	names := func(dialect string) []string {
		ms, err := loadMigrations(dialect)
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, m := range ms {
			s = append(s, m.name)
		}
		return s
	}
	sqlite, postgres := names("sqlite"), names("postgres")
	if len(sqlite) == 0 || !slices.Equal(sqlite, postgres) {
		t.Errorf("sqlite migrations %v, postgres migrations %v: want the same non-empty list", sqlite, postgres)
	}
}

// The audit log grows without bound, so each of the console's queries on it
// is held to the index meant for it: a change of query or index that makes
// SQLite walk the whole log fails here, not in production. (PostgreSQL
// plans by its statistics of the data; see ListAuditFiltered.)
func TestSQLiteAuditPlans(t *testing.T) {
	db, err := Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	since, until := t0, t0.Add(24*time.Hour)
	for _, c := range []struct {
		filter  gatehouse.AuditFilter
		indexes []string
	}{
		{gatehouse.AuditFilter{}, []string{"audit_events_org_id"}},
		{gatehouse.AuditFilter{BeforeID: 1000}, []string{"audit_events_org_id"}},
		{gatehouse.AuditFilter{UserID: "u"}, []string{"audit_events_user", "audit_events_actor"}},
		{gatehouse.AuditFilter{UserID: "u", Event: gatehouse.AuditLoginFailed, Since: since, Until: until}, []string{"audit_events_user", "audit_events_actor"}},
		{gatehouse.AuditFilter{Event: gatehouse.AuditLoginFailed}, []string{"audit_events_event"}},
		{gatehouse.AuditFilter{Since: since}, []string{"audit_events_at"}},
		{gatehouse.AuditFilter{Since: since, Until: until, BeforeID: 1000}, []string{"audit_events_at"}},
		{gatehouse.AuditFilter{Event: gatehouse.AuditLoginFailed, Until: until}, []string{"audit_events_event_at"}},
	} {
		f := c.filter
		f.OrgID, f.Limit = "org", 50
		query, args := auditFilteredQuery(f)
		plan := sqlitePlan(t, db, query, args...)
		for _, index := range c.indexes {
			if !strings.Contains(plan, " INDEX "+index+" (") {
				t.Errorf("ListAuditFiltered(%+v): plan\n%s\nwant a search of %s", c.filter, plan, index)
			}
		}
		if strings.Contains(plan, "SCAN audit_events") {
			t.Errorf("ListAuditFiltered(%+v): plan\n%s\nwant no scan of the log", c.filter, plan)
		}
	}
	plan := sqlitePlan(t, db, countAuditReasonsQuery, "org", gatehouse.AuditLoginSucceeded, millis(since))
	if !strings.Contains(plan, "COVERING INDEX audit_events_event_at (") {
		t.Errorf("CountAuditReasons: plan\n%s\nwant a search of the covering index audit_events_event_at", plan)
	}
}
