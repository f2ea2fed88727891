package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/internal/keyring"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

// serveStoppable starts `gatehouse serve` like te.serve and returns a stop
// function that shuts it down and waits, so the test can restart it with
// other keys.
func (te *testEnv) serveStoppable() (string, func()) {
	te.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan net.Addr, 1)
	done := make(chan int, 1)
	vars := map[string]string{}
	for k, v := range te.vars {
		vars[k] = v
	}
	go func() {
		done <- run(ctx, &env{args: []string{"serve", "--addr", "127.0.0.1:0"}, stdin: strings.NewReader(""),
			stdout: io.Discard, stderr: te.logs, getenv: func(k string) string { return vars[k] },
			listening: func(a net.Addr) { addr <- a }})
	}()
	select {
	case a := <-addr:
		stopped := false
		stop := func() {
			if stopped {
				return
			}
			stopped = true
			cancel()
			if code := <-done; code != 0 {
				te.t.Errorf("serve exited %d after shutdown", code)
			}
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

func writeKey(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func keyID(t *testing.T, secret []byte) string {
	t.Helper()
	r, err := keyring.New(secret)
	if err != nil {
		t.Fatal(err)
	}
	return r.CurrentID()
}

// TestKeyRotationEndToEnd: serve with key A and sign in with "remember this
// browser"; restart with keys B,A: the browser still skips the code, the
// session still works, and both (and the sealed LDAP set-up) are re-keyed
// under B; keys check says so, before and after; restart with B alone: all
// of it still works. On SQLite and on PostgreSQL.
func TestKeyRotationEndToEnd(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testKeyRotationEndToEnd(t, newTestEnv(t)) })
	t.Run("postgres", func(t *testing.T) {
		te := newTestEnv(t)
		te.useDatabase(testdb.PostgresURL(t))
		testKeyRotationEndToEnd(t, te)
	})
}

func testKeyRotationEndToEnd(t *testing.T, te *testEnv) {
	keyA := te.vars["GATEHOUSE_SECRET_KEY_FILE"]
	secretA, _ := os.ReadFile(keyA)
	secretB := bytes.Repeat([]byte("B"), 40)
	keyB := filepath.Join(te.dir, "b.key")
	writeKey(t, keyB, secretB)
	idA, idB := keyID(t, secretA), keyID(t, secretB)

	te.mustCLI("", "org", "create", "--slug", "clinic", "--name", "North Clinic")
	te.mustCLI("a long enough passphrase\n", "user", "create", "--org", "clinic", "--email", "nurse@clinic.test")
	te.mustCLI("", "org", "ldap", "--org", "clinic", "--url", "ldaps://ldap.example.com", "--bind-dn-template", "uid={username},ou=people,dc=example,dc=com")
	login := `{"organization":"clinic","email":"nurse@clinic.test","password":"a long enough passphrase"}`

	// Key A: a sign-in with a code; the browser is remembered.
	base, stop := te.serveStoppable()
	c := newBrowser()
	if _, body := post(t, c, base+"/api/v1/login", login); status(t, body) != "code_sent" {
		t.Fatalf("login: %s", body)
	}
	if st, body := post(t, c, base+"/api/v1/login/verify", `{"code":"`+te.mail.lastCode(t, "nurse@clinic.test")+`"}`); st != 200 {
		t.Fatalf("verify: %d %s", st, body)
	}
	stop()

	out := te.mustCLI("", "keys", "check")
	for _, want := range []string{
		idA + "  current",
		"sessions:\n  1 under " + idA + " (current)",
		"remembered browsers:\n  1 under " + idA + " (current)",
		"organization clinic ldap: under " + idA + " (current)",
		"nothing depends on an old key",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("keys check under A lacks %q:\n%s", want, out)
		}
	}

	// Restart with B first and A old.
	te.vars["GATEHOUSE_SECRET_KEY_FILE"], te.vars["GATEHOUSE_OLD_SECRET_KEY_FILES"] = keyB, keyA
	out = te.mustCLI("", "keys", "check")
	for _, want := range []string{
		idB + "  current", idA + "  old",
		"sessions:\n  1 under " + idA + " (old)",
		"remembered browsers:\n  1 under " + idA + " (old)",
		"old key " + idA + " is still needed by: 1 sessions, 1 remembered browsers, organization clinic ldap",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("keys check under B,A before use lacks %q:\n%s", want, out)
		}
	}
	t.Logf("keys check under B,A before use:\n%s", out)
	base, stop = te.serveStoppable()
	if st := get(t, c, base+"/api/v1/session"); st != 200 {
		t.Errorf("the session made under A, under B,A: %d", st)
	}
	post(t, c, base+"/api/v1/logout", "")
	codes := mailCount(te)
	if _, body := post(t, c, base+"/api/v1/login", login); status(t, body) != "remembered" {
		t.Errorf("the browser remembered under A, under B,A: %s", body)
	}
	if mailCount(te) != codes {
		t.Error("a code was sent to a remembered browser")
	}
	stop()
	out = te.mustCLI("", "keys", "check")
	for _, want := range []string{
		"remembered browsers:\n  1 under " + idB + " (current)",
		"organization clinic ldap: under " + idB + " (current)",
		"nothing depends on an old key",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("keys check under B,A after use lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "under "+idA) {
		t.Errorf("something is still under A:\n%s", out)
	}

	// Restart with B alone.
	te.vars["GATEHOUSE_OLD_SECRET_KEY_FILES"] = ""
	base, stop = te.serveStoppable()
	if st := get(t, c, base+"/api/v1/session"); st != 200 {
		t.Errorf("the session signed in under B,A, under B: %d", st)
	}
	post(t, c, base+"/api/v1/logout", "")
	if _, body := post(t, c, base+"/api/v1/login", login); status(t, body) != "remembered" {
		t.Errorf("the browser remembered under A, re-keyed, under B: %s", body)
	}
	if _, body := post(t, newBrowser(), base+"/api/v1/login", login); status(t, body) != "code_sent" {
		t.Errorf("a new browser under B: %s", body)
	}
	stop()
	if strings.Contains(te.logs.String(), string(secretB)) || strings.Contains(te.logs.String(), string(secretA)) {
		t.Error("a key is in the logs")
	}
}

// TestKeyFilesAreCheckedAndKeysCheckOnlyReads: every key file readable by
// others is refused, a key list file works like the two files, and keys
// check creates no database.
func TestKeyFilesAreCheckedAndKeysCheckOnlyReads(t *testing.T) {
	te := newTestEnv(t)
	te.mustCLI("", "migrate")
	keyA := te.vars["GATEHOUSE_SECRET_KEY_FILE"]
	secretA, _ := os.ReadFile(keyA)
	old := filepath.Join(te.dir, "old.key")
	writeKey(t, old, bytes.Repeat([]byte("o"), 32))
	if err := os.Chmod(old, 0o644); err != nil {
		t.Fatal(err)
	}
	te.vars["GATEHOUSE_OLD_SECRET_KEY_FILES"] = old
	for _, args := range [][]string{{"serve", "--addr", "127.0.0.1:0"}, {"keys", "check"}} {
		code, _, errOut := te.cli("", args...)
		if code != 2 || !strings.Contains(errOut, old) || !strings.Contains(errOut, "0644") {
			t.Errorf("%s with an old key file readable by others: exit %d, %q", args[0], code, errOut)
		}
	}
	short := filepath.Join(te.dir, "short.key")
	writeKey(t, short, []byte("too short"))
	te.vars["GATEHOUSE_OLD_SECRET_KEY_FILES"] = short
	if code, _, errOut := te.cli("", "keys", "check"); code != 2 || !strings.Contains(errOut, "at least 32") {
		t.Errorf("a short old key: exit %d, %q", code, errOut)
	}
	te.vars["GATEHOUSE_OLD_SECRET_KEY_FILES"] = keyA + "," + keyA
	if code, _, errOut := te.cli("", "keys", "check"); code != 2 || !strings.Contains(errOut, "twice") {
		t.Errorf("a key given twice: exit %d, %q", code, errOut)
	}

	// One file listing B then A (text keys) is B current and A old.
	list := filepath.Join(te.dir, "list.key")
	textB, textA := strings.Repeat("b", 64), strings.Repeat("a", 64)
	writeKey(t, list, []byte("# gatehouse keys: the current one first\n"+textB+"\n\n# retiring:\n"+textA+"\n"))
	te.vars["GATEHOUSE_SECRET_KEY_FILE"], te.vars["GATEHOUSE_OLD_SECRET_KEY_FILES"] = list, ""
	out := te.mustCLI("", "keys", "check")
	if !strings.Contains(out, keyID(t, []byte(textB))+"  current  "+list+":2") || !strings.Contains(out, keyID(t, []byte(textA))+"  old      "+list+":5") {
		t.Errorf("keys check with a key list:\n%s", out)
	}
	if strings.Contains(out, textA) || strings.Contains(out, string(secretA)) {
		t.Error("keys check shows a key")
	}
	writeKey(t, list, []byte("# gatehouse keys, the current one first\nshort\n"))
	if code, _, errOut := te.cli("", "keys", "check"); code != 2 || !strings.Contains(errOut, "line 2") {
		t.Errorf("a short key in a list: exit %d, %q", code, errOut)
	}

	// keys check never creates a database.
	te.vars["GATEHOUSE_SECRET_KEY_FILE"] = keyA
	missing := filepath.Join(te.dir, "nothing-here.db")
	te.vars["GATEHOUSE_DATABASE_URL"] = "sqlite:" + missing
	if code, _, errOut := te.cli("", "keys", "check"); code != 2 || !strings.Contains(errOut, "does not exist") {
		t.Errorf("keys check on a missing database: exit %d, %q", code, errOut)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("keys check created a database")
	}
}

func mailCount(te *testEnv) int {
	te.mail.mu.Lock()
	defer te.mail.mu.Unlock()
	return len(te.mail.mails)
}
