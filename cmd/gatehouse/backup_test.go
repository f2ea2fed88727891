package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/internal/sqlstore"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

// serveUntil starts `gatehouse serve` like testEnv.serve and returns its
// base URL and a function that stops it and waits for a clean exit, so a
// test can stop a server and start another on the same database.
func (te *testEnv) serveUntil(args ...string) (string, func()) {
	te.t.Helper()
	return te.serveNode(nil, args...)
}

// serveNode is serveUntil on a node whose clock the test sets.
func (te *testEnv) serveNode(clock *clockOptions, args ...string) (string, func()) {
	te.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan net.Addr, 1)
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, &env{args: append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), stdin: strings.NewReader(""),
			stdout: io.Discard, stderr: te.logs, getenv: func(k string) string { return te.vars[k] },
			listening: func(a net.Addr) { addr <- a }, clock: clock})
	}()
	select {
	case a := <-addr:
		var once sync.Once
		stop := func() {
			once.Do(func() {
				cancel()
				if code := <-done; code != 0 {
					te.t.Errorf("serve exited %d after shutdown", code)
				}
			})
		}
		te.t.Cleanup(stop)
		return "http://" + a.String(), stop
	case code := <-done:
		cancel()
		te.t.Fatalf("serve exited %d before listening", code)
	case <-time.After(30 * time.Second):
		cancel()
		te.t.Fatal("serve did not start listening")
	}
	return "", nil
}

// writeLoad signs in and fails to sign in from workers until stopped, so
// sessions and password failures are written all the while. It returns once
// the workers have made 20 requests, with a function that stops them and
// says how many requests they made.
func writeLoad(t *testing.T, base, org, email, password string, workers int) func() int64 {
	var n, wrongs atomic.Int64
	stop := make(chan struct{})
	warm := make(chan struct{})
	var warmOnce sync.Once
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Timeout: 10 * time.Second}
			for j := 0; ; j++ {
				select {
				case <-stop:
					return
				default:
				}
				// A few failures, for an address nobody has: enough to
				// write throttle rows, too few (with the attempts in
				// flight, which count until they are given back) to hold
				// back the sign-in the drill checks after the restore.
				who, pw := email, password
				if (i+j)%3 == 0 && wrongs.Add(1) <= 3 {
					who, pw = "nobody@"+org+".test", "not the passphrase"
				}
				body := fmt.Sprintf(`{"organization":%q,"email":%q,"password":%q}`, org, who, pw)
				res, err := c.Post(base+"/api/v1/login", "application/json", strings.NewReader(body))
				if err != nil {
					continue
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if n.Add(1) == 20 {
					warmOnce.Do(func() { close(warm) })
				}
			}
		}()
	}
	select {
	case <-warm:
	case <-time.After(30 * time.Second):
		t.Fatal("the write load made no requests")
	}
	return func() int64 {
		close(stop)
		wg.Wait()
		return n.Load()
	}
}

// TestBackupAndRestoreDrillSQLite performs the restore drill of
// docs/operations.md: serve with SQLite, sign in, back up while the server
// is under write load, stop, put the backup in place, serve again.
func TestBackupAndRestoreDrillSQLite(t *testing.T) {
	te := newTestEnv(t)
	dbPath := filepath.Join(te.dir, "gatehouse.db")
	te.mustCLI("", "org", "create", "--slug", "drill", "--name", "Drill", "--enforce-2fa=false")
	te.mustCLI("a long enough passphrase\n", "user", "create", "--org", "drill", "--email", "nurse@drill.test")
	te.mustCLI("another long passphrase\n", "user", "create", "--org", "drill", "--email", "doctor@drill.test", "--admin")
	want, err := sqlstore.CheckSQLite(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}

	base, stop := te.serveUntil()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	login := `{"organization":"drill","email":"nurse@drill.test","password":"a long enough passphrase"}`
	if status, body := post(t, c, base+"/api/v1/login", login); status != 200 {
		t.Fatalf("login: %d %s", status, body)
	}
	session := jar.Cookies(mustURL(t, base))

	stopLoad := writeLoad(t, base, "drill", "doctor@drill.test", "another long passphrase", 4)
	backup := filepath.Join(te.dir, "backups", "gatehouse-backup.db")
	if err := os.MkdirAll(filepath.Dir(backup), 0o700); err != nil {
		t.Fatal(err)
	}
	out := te.mustCLI("", "backup", "--to", backup)
	if !strings.Contains(out, "schema version "+fmt.Sprint(want)) || !strings.Contains(out, "integrity ok") {
		t.Errorf("backup said %q", out)
	}
	// A second backup to the same file is refused; --force replaces it.
	code, _, errOut := te.cli("", "backup", "--to", backup)
	if code != 2 || !strings.Contains(errOut, "--force") {
		t.Errorf("backup over an existing file: exit %d %q, want 2 naming --force", code, errOut)
	}
	te.mustCLI("", "backup", "--to", backup, "--force")
	requests := stopLoad()
	if requests < 10 {
		t.Errorf("the write load made only %d requests", requests)
	}
	// After the backup: a user the backup cannot know.
	te.mustCLI("a third long passphrase\n", "user", "create", "--org", "drill", "--email", "late@drill.test")
	stop()

	fi, err := os.Stat(backup)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("backup file mode %04o, want 0600", perm)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(backup), ".*partial")); len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if _, err := os.Stat(backup + suffix); err == nil {
			t.Errorf("the backup has a %s file beside it: it must be one self-contained file", suffix)
		}
	}

	// Restore: move the database and its WAL away, copy the backup in.
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(dbPath + suffix); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	copyFile(t, backup, dbPath)
	got, err := sqlstore.CheckSQLite(context.Background(), dbPath)
	if err != nil {
		t.Fatalf("integrity check of the restored database: %v", err)
	}
	if got != want {
		t.Errorf("restored schema version %d, want %d", got, want)
	}

	base, _ = te.serveUntil()
	c = &http.Client{Timeout: 10 * time.Second}
	if status, body := post(t, c, base+"/api/v1/login", login); status != 200 {
		t.Errorf("login after the restore: %d %s", status, body)
	}
	if status, body := post(t, c, base+"/api/v1/login", `{"organization":"drill","email":"doctor@drill.test","password":"another long passphrase"}`); status != 200 && status != 429 {
		// The load's wrong passwords may have throttled the doctor;
		// what matters is that the account and its hash came back.
		t.Errorf("the second user after the restore: %d %s", status, body)
	}
	if status := getWith(t, base+"/api/v1/session", session); status != 200 {
		t.Errorf("the session signed in before the backup: %d after the restore, want 200", status)
	}
	if out := te.mustCLI("", "user", "list", "--org", "drill"); !strings.Contains(out, "nurse@drill.test") || !strings.Contains(out, "doctor@drill.test") || strings.Contains(out, "late@drill.test") {
		t.Errorf("users after the restore: %q, want the two from before the backup only", out)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestBackupOnlyReads: backup never creates, migrates or changes a database,
// refuses to write over the database itself and names pg_dump for
// PostgreSQL.
func TestBackupOnlyReads(t *testing.T) {
	te := newTestEnv(t)
	missing := filepath.Join(te.dir, "missing.db")
	code, _, errOut := te.cli("", "backup", "--to", filepath.Join(te.dir, "b.db"), "--database-url", "sqlite:"+missing)
	if code != 2 || !strings.Contains(errOut, missing) {
		t.Errorf("backup of a missing database: exit %d %q", code, errOut)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("backup created the database it was asked to copy: %v", err)
	}
	if _, err := os.Stat(filepath.Join(te.dir, "b.db")); !os.IsNotExist(err) {
		t.Errorf("a failed backup left a file: %v", err)
	}

	// An empty SQLite file that is no Gatehouse database is not migrated.
	empty := filepath.Join(te.dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = te.cli("", "backup", "--to", filepath.Join(te.dir, "b.db"), "--database-url", "sqlite:"+empty)
	if code == 0 || !strings.Contains(errOut, "not a Gatehouse database") {
		t.Errorf("backup of an empty file: exit %d %q", code, errOut)
	}
	if fi, err := os.Stat(empty); err != nil || fi.Size() != 0 {
		t.Errorf("backup changed the empty file: %v %v", fi, err)
	}

	te.mustCLI("", "migrate")
	dbPath := filepath.Join(te.dir, "gatehouse.db")
	before, err := os.ReadFile(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	code, _, errOut = te.cli("", "backup", "--to", dbPath, "--force")
	if code == 0 || !strings.Contains(errOut, "database itself") {
		t.Errorf("backup onto the database itself: exit %d %q", code, errOut)
	}
	code, _, errOut = te.cli("", "backup")
	if code != 2 || !strings.Contains(errOut, "--to") {
		t.Errorf("backup without --to: exit %d %q", code, errOut)
	}
	te.mustCLI("", "backup", "--to", filepath.Join(te.dir, "ok.db"))
	after, err := os.ReadFile(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	if string(before) != string(after) {
		t.Error("backup changed the source database file")
	}

	code, _, errOut = te.cli("", "backup", "--to", filepath.Join(te.dir, "pg.dump"), "--database-url", "postgres://postgres@127.0.0.1:5432/test")
	if code != 2 || !strings.Contains(errOut, "pg_dump") || !strings.Contains(errOut, "pg_restore") {
		t.Errorf("backup of PostgreSQL: exit %d %q, want 2 naming pg_dump and pg_restore", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(te.dir, "pg.dump")); !os.IsNotExist(err) {
		t.Errorf("backup of PostgreSQL wrote a file: %v", err)
	}
}

// TestBackupAndRestoreDrillPostgres performs the PostgreSQL drill of
// docs/operations.md with the real pg_dump and pg_restore: dump while
// serving under write load, restore into a new database, serve from it.
func TestBackupAndRestoreDrillPostgres(t *testing.T) {
	pgDump, err1 := exec.LookPath("pg_dump")
	pgRestore, err2 := exec.LookPath("pg_restore")
	if err1 != nil || err2 != nil {
		t.Skip("pg_dump and pg_restore are not installed: the PostgreSQL restore drill needs them")
	}
	te := newTestEnv(t)
	schemaURL := testdb.PostgresURL(t)
	te.useDatabase(schemaURL)
	te.mustCLI("", "org", "create", "--slug", "drill", "--name", "Drill", "--enforce-2fa=false")
	te.mustCLI("a long enough passphrase\n", "user", "create", "--org", "drill", "--email", "nurse@drill.test")
	te.mustCLI("another long passphrase\n", "user", "create", "--org", "drill", "--email", "doctor@drill.test")
	want := pgSchemaVersion(t, schemaURL)

	// libpq takes no search_path in a URL: dump the schema by name.
	u, _ := url.Parse(schemaURL)
	schema := u.Query().Get("search_path")
	plain := *u
	q := plain.Query()
	q.Del("search_path")
	plain.RawQuery = q.Encode()

	base, stop := te.serveUntil()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	login := `{"organization":"drill","email":"nurse@drill.test","password":"a long enough passphrase"}`
	if status, body := post(t, c, base+"/api/v1/login", login); status != 200 {
		t.Fatalf("login: %d %s", status, body)
	}
	session := jar.Cookies(mustURL(t, base))
	stopLoad := writeLoad(t, base, "drill", "doctor@drill.test", "another long passphrase", 4)
	dump := filepath.Join(te.dir, "gatehouse.dump")
	if out, err := exec.Command(pgDump, "-Fc", "-n", schema, "-f", dump, plain.String()).CombinedOutput(); err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, out)
	}
	if n := stopLoad(); n == 0 {
		t.Error("the write load made no requests")
	}
	stop()

	// Restore into a new, empty database.
	restored := "gh_restore_" + strings.ToLower(schema[len("gh_"):])
	admin, err := sql.Open("pgx", plain.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	if _, err := admin.Exec("CREATE DATABASE " + restored); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP DATABASE " + restored + " WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", restored, err)
		}
	})
	target := plain
	target.Path = "/" + restored
	if out, err := exec.Command(pgRestore, "--no-owner", "--exit-on-error", "-d", target.String(), dump).CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v\n%s", err, out)
	}
	q = target.Query()
	q.Set("search_path", schema)
	target.RawQuery = q.Encode()
	if got := pgSchemaVersion(t, target.String()); got != want {
		t.Errorf("restored schema version %d, want %d", got, want)
	}

	te.vars["GATEHOUSE_DATABASE_URL"] = target.String()
	base, _ = te.serveUntil()
	c = &http.Client{Timeout: 10 * time.Second}
	if status, body := post(t, c, base+"/api/v1/login", login); status != 200 {
		t.Errorf("login after the restore: %d %s", status, body)
	}
	if status := getWith(t, base+"/api/v1/session", session); status != 200 {
		t.Errorf("the session signed in before the dump: %d after the restore, want 200", status)
	}
}

func pgSchemaVersion(t *testing.T, databaseURL string) int {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	v, err := db.SchemaVersion(context.Background())
	if err != nil || v == 0 {
		t.Fatalf("schema version %d: %v", v, err)
	}
	return v
}
