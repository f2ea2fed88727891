package main

import (
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/internal/testdb"
)

// adminCommands are the commands that read or administer a database; none
// of them may create or migrate one.
var adminCommands = [][]string{
	{"org", "list"},
	{"org", "create", "--slug", "clinic", "--name", "Clinic"},
	{"org", "settings", "--org", "clinic"},
	{"user", "list", "--org", "clinic"},
	{"user", "create", "--org", "clinic", "--email", "nurse@clinic.test"},
	{"user", "unlock", "--org", "clinic", "--email", "nurse@clinic.test"},
	{"client", "list"},
	{"keys", "check"},
}

// TestAdminCommandsNeverCreateADatabase: in an empty folder, with the
// default --database-url, every admin command says the database does not
// exist and names gatehouse migrate, and leaves no file behind.
func TestAdminCommandsNeverCreateADatabase(t *testing.T) {
	te := newTestEnv(t)
	empty := t.TempDir()
	t.Chdir(empty)
	delete(te.vars, "GATEHOUSE_DATABASE_URL") // the default, sqlite:gatehouse.db
	for _, args := range adminCommands {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, _, errOut := te.cli("a long enough passphrase\n", args...)
			if code != 2 || !strings.Contains(errOut, "does not exist") || !strings.Contains(errOut, "gatehouse migrate") {
				t.Errorf("exit %d, %q; want 2, saying the database does not exist and naming gatehouse migrate", code, errOut)
			}
			if !strings.Contains(errOut, filepath.Join(empty, "gatehouse.db")) {
				t.Errorf("%q does not name the absolute path of the database", errOut)
			}
			if entries, _ := os.ReadDir(empty); len(entries) != 0 {
				t.Errorf("the empty folder now holds %v", entries)
			}
		})
	}
}

// TestAdminCommandsRefuseAnOutOfDateSchema: on both databases, a database
// one migration behind is refused by every admin command and by serve
// --no-migrate, each naming gatehouse migrate, and nothing is migrated;
// after gatehouse migrate they work.
func TestAdminCommandsRefuseAnOutOfDateSchema(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			te := newTestEnv(t)
			driver := "sqlite"
			dsn, _ := strings.CutPrefix(te.vars["GATEHOUSE_DATABASE_URL"], "sqlite:")
			if dialect == "postgres" {
				driver, dsn = "pgx", testdb.PostgresURL(t)
				te.useDatabase(dsn)
			}
			te.mustCLI("", "org", "create", "--slug", "clinic", "--name", "Clinic")
			db, err := sql.Open(driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var latest int
			if err := db.QueryRow(`SELECT MAX(version) FROM schema_migrations`).Scan(&latest); err != nil {
				t.Fatal(err)
			}
			// The schema stays as it is; only its record says one migration
			// behind, so a command that migrated would fail on it.
			if _, err := db.Exec(`DELETE FROM schema_migrations WHERE version = $1`, latest); err != nil {
				t.Fatal(err)
			}
			behind := []string{"serve", "--no-migrate", "--addr", "127.0.0.1:0"}
			for _, args := range append(adminCommands, behind) {
				code, _, errOut := te.cli("a long enough passphrase\n", args...)
				if code != 2 || !strings.Contains(errOut, "run gatehouse migrate") {
					t.Errorf("%s: exit %d, %q; want 2 naming gatehouse migrate", strings.Join(args, " "), code, errOut)
				}
			}
			var n int
			if err := db.QueryRow(`SELECT count(*) FROM schema_migrations WHERE version = $1`, latest).Scan(&n); err != nil || n != 0 {
				t.Errorf("a command migrated the database (%d rows of version %d, %v)", n, latest, err)
			}
			if _, err := db.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)`, latest); err != nil {
				t.Fatal(err)
			}
			if out := te.mustCLI("", "org", "list"); !strings.Contains(out, "clinic") {
				t.Errorf("org list at the current schema: %q", out)
			}
			te.serve("--no-migrate")
		})
	}
}

// TestServeNoMigrateNeverCreatesADatabase: serve --no-migrate on a file
// that does not exist refuses, naming gatehouse migrate, and makes none.
func TestServeNoMigrateNeverCreatesADatabase(t *testing.T) {
	te := newTestEnv(t)
	path := filepath.Join(t.TempDir(), "new.db")
	code, _, errOut := te.cli("", "serve", "--no-migrate", "--addr", "127.0.0.1:0", "--database-url", "sqlite:"+path)
	if code != 2 || !strings.Contains(errOut, "gatehouse migrate") {
		t.Errorf("exit %d, %q; want 2 naming gatehouse migrate", code, errOut)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("serve --no-migrate made %s (%v)", path, err)
	}
}

// TestServeNeverCreatesAFolder: a database in a folder that does not exist
// is an error for serve (in dev mode too, where the key would go beside it)
// and for migrate, and the folder is not made.
func TestServeNeverCreatesAFolder(t *testing.T) {
	te := newTestEnv(t)
	dir := filepath.Join(t.TempDir(), "no", "such", "dir")
	dbURL := "sqlite:" + filepath.Join(dir, "g.db")
	for _, args := range [][]string{
		{"serve", "--addr", "127.0.0.1:0", "--database-url", dbURL},
		{"serve", "--dev", "--addr", "127.0.0.1:0", "--secret-key-file", "", "--database-url", dbURL},
		{"migrate", "--database-url", dbURL},
	} {
		code, _, errOut := te.cli("", args...)
		if code == 0 || !strings.Contains(errOut, "no such file or directory") && !strings.Contains(errOut, "does not exist") {
			t.Errorf("%s: exit %d, %q; want an error about the missing folder", strings.Join(args, " "), code, errOut)
		}
		if _, err := os.Stat(filepath.Dir(dir)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s made the folder (%v)", strings.Join(args, " "), err)
		}
	}
}

// TestServeRefusesThePostgresMaintenanceDatabase: serve and migrate refuse
// the database named postgres, naming the flag that allows it, and make
// nothing there; with the flag, migrate uses it.
func TestServeRefusesThePostgresMaintenanceDatabase(t *testing.T) {
	te := newTestEnv(t)
	base, err := url.Parse(testdb.PostgresURL(t)) // skips without PostgreSQL
	if err != nil {
		t.Fatal(err)
	}
	base.Path = "/postgres"
	q := base.Query()
	q.Del("search_path")
	base.RawQuery = q.Encode()
	admin, err := sql.Open("pgx", base.String())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	schema := "gh_maint_" + strings.ToLower(rand.Text())
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Exec("DROP SCHEMA " + schema + " CASCADE") })
	q.Set("search_path", schema)
	base.RawQuery = q.Encode()
	maint := base.String()

	tables := func() int {
		var n int
		if err := admin.QueryRow(`SELECT count(*) FROM pg_tables WHERE schemaname = $1`, schema).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, args := range [][]string{
		{"serve", "--addr", "127.0.0.1:0", "--database-url", maint},
		{"migrate", "--database-url", maint},
	} {
		code, _, errOut := te.cli("", args...)
		if code != 2 || !strings.Contains(errOut, "--allow-postgres-database") || !strings.Contains(errOut, "maintenance database") {
			t.Errorf("%s: exit %d, %q; want 2 naming --allow-postgres-database", args[0], code, errOut)
		}
	}
	if n := tables(); n != 0 {
		t.Fatalf("the refused commands made %d tables in the postgres database", n)
	}
	te.mustCLI("", "migrate", "--database-url", maint, "--allow-postgres-database")
	if n := tables(); n == 0 {
		t.Error("migrate --allow-postgres-database made no tables")
	}
}

// TestServeAndMigrateLogTheDatabase: migrate and serve log where the
// database is (the absolute path; for PostgreSQL host, port and database,
// never the user's password), the schema version before and after, and the
// number of organizations.
func TestServeAndMigrateLogTheDatabase(t *testing.T) {
	te := newTestEnv(t)
	rel := filepath.Join("data", "fresh.db")
	t.Chdir(te.dir)
	if err := os.Mkdir(filepath.Join(te.dir, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	te.vars["GATEHOUSE_DATABASE_URL"] = "sqlite:" + rel
	code, out, errOut := te.cli("", "migrate")
	if code != 0 {
		t.Fatalf("migrate: exit %d, %s", code, errOut)
	}
	abs := filepath.Join(te.dir, rel)
	r := databaseLine(t, errOut)
	if r["database"] != abs || r["schema_version_before"] != 0.0 || r["schema_version_after"] == 0.0 || r["organizations"] != 0.0 {
		t.Errorf("migrate logged %v; want %s, from 0 to the latest, 0 organizations", r, abs)
	}
	if !strings.Contains(out, abs) {
		t.Errorf("migrate printed %q, want the absolute path", out)
	}
	latest := r["schema_version_after"]
	te.mustCLI("", "org", "create", "--slug", "clinic", "--name", "Clinic")
	te.serve()
	r = databaseLine(t, te.logs.String())
	if r["database"] != abs || r["schema_version_before"] != latest || r["schema_version_after"] != latest || r["organizations"] != 1.0 {
		t.Errorf("serve logged %v; want %s at %v, 1 organization", r, abs, latest)
	}

	t.Run("PostgreSQL", func(t *testing.T) {
		u, err := url.Parse(testdb.PostgresURL(t))
		if err != nil {
			t.Fatal(err)
		}
		// The test server trusts local connections, so a password in the
		// URL is sent to nobody; it must not reach the logs either.
		u.User = url.UserPassword(u.User.Username(), "pg-secret-password")
		te := newTestEnv(t)
		te.vars["GATEHOUSE_DATABASE_URL"] = u.String()
		code, _, errOut := te.cli("", "migrate")
		if code != 0 {
			t.Fatalf("migrate: exit %d, %s", code, errOut)
		}
		want := "postgres://" + u.Host + strings.TrimSuffix(u.Path, "/")
		if r := databaseLine(t, errOut); r["database"] != want {
			t.Errorf("migrate logged the database as %v, want %s", r["database"], want)
		}
		te.serve()
		if logs := te.logs.String() + errOut; strings.Contains(logs, "pg-secret-password") {
			t.Error("the database password is in the logs")
		}
	})
}

// databaseLine returns the last "database" log line of JSON logs.
func databaseLine(t *testing.T, logs string) map[string]any {
	t.Helper()
	var found map[string]any
	for _, line := range strings.Split(logs, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "database" {
			found = m
		}
	}
	if found == nil {
		t.Fatalf("no \"database\" line in the logs:\n%s", logs)
	}
	return found
}

// TestStartChecksSMTP: serve checks the SMTP server at start: reachable,
// it says so; down, it logs a warning naming the server and the error,
// never the password, and serves anyway.
func TestStartChecksSMTP(t *testing.T) {
	te := newTestEnv(t)
	te.serve()
	if !strings.Contains(te.logs.String(), `"msg":"SMTP server reachable","smtp_server":"`+te.mail.addr+`"`) {
		t.Errorf("no line saying the SMTP server answered:\n%s", te.logs.String())
	}

	te = newTestEnv(t)
	down := closedPort(t)
	te.vars["GATEHOUSE_SMTP_URL"] = "smtp://gatehouse:mail-password@" + down + "?tls=none"
	base := te.serve()
	if status := getWith(t, base+"/healthz", nil); status != 200 {
		t.Errorf("/healthz with the SMTP server down: %d, want 200 (serving)", status)
	}
	var warn map[string]any
	for _, line := range strings.Split(te.logs.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["level"] == "WARN" && m["smtp_server"] == down {
			warn = m
		}
	}
	if warn == nil || !strings.Contains(warn["error"].(string), down) {
		t.Errorf("no warning naming %s and the error:\n%s", down, te.logs.String())
	}
	if strings.Contains(te.logs.String(), "mail-password") {
		t.Error("the SMTP password is in the logs")
	}
}

// TestMailTest: gatehouse mail test sends one message through the
// configured SMTP server and says so; when it cannot, it exits 1 with the
// error, without the password.
func TestMailTest(t *testing.T) {
	te := newTestEnv(t)
	out := te.mustCLI("", "mail", "test", "--to", "it@clinic.test")
	if !strings.Contains(out, "sent to it@clinic.test") {
		t.Errorf("mail test printed %q", out)
	}
	if m := te.mail.waitFor(t, "it@clinic.test", "test"); m.Subject == "" {
		t.Error("no test message arrived")
	}

	te.vars["GATEHOUSE_SMTP_URL"] = "smtp://gatehouse:mail-password@" + closedPort(t) + "?tls=none"
	code, _, errOut := te.cli("", "mail", "test", "--to", "it@clinic.test")
	if code != 1 || !strings.Contains(errOut, "not sent") {
		t.Errorf("mail test to a server that is down: exit %d, %q; want 1 with the error", code, errOut)
	}
	if strings.Contains(errOut, "mail-password") {
		t.Error("mail test printed the SMTP password")
	}
	if code, _, errOut := te.cli("", "mail", "test"); code != 2 || !strings.Contains(errOut, "--to") {
		t.Errorf("mail test without --to: exit %d, %q", code, errOut)
	}
}

// closedPort returns a loopback address where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestAMissingPostgresDatabaseIsNamed: a PostgreSQL database that does not
// exist is named, with how to make it, by admin commands and by serve.
func TestAMissingPostgresDatabaseIsNamed(t *testing.T) {
	te := newTestEnv(t)
	u, err := url.Parse(testdb.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/gatehouse_no_such_database"
	te.vars["GATEHOUSE_DATABASE_URL"] = u.String()
	for _, args := range [][]string{{"org", "list"}, {"serve", "--addr", "127.0.0.1:0"}, {"migrate"}} {
		code, _, errOut := te.cli("", args...)
		if code != 2 || !strings.Contains(errOut, "gatehouse_no_such_database does not exist") || !strings.Contains(errOut, "createdb") {
			t.Errorf("%s: exit %d, %q; want 2 naming the database and createdb", args[0], code, errOut)
		}
	}
}

// TestServeWarnsOfADatabaseOthersCanRead: a SQLite file made before its
// mode was set (or widened since) is served, with a warning that names the
// file and the fix.
func TestServeWarnsOfADatabaseOthersCanRead(t *testing.T) {
	te := newTestEnv(t)
	path, _ := strings.CutPrefix(te.vars["GATEHOUSE_DATABASE_URL"], "sqlite:")
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	te.serve()
	if !strings.Contains(te.logs.String(), `"fix":"chmod 600 `+path+`"`) {
		t.Errorf("no warning about %s open to others:\n%s", path, te.logs.String())
	}
}
