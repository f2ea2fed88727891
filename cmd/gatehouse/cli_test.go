package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/sqlstore"
)

// The command line as an operator meets it: help, version, errors that
// say what to write, and the user commands of issue 11.

func TestHelpListsEveryCommand(t *testing.T) {
	te := newTestEnv(t)
	code, main, _ := te.cli("", "--help")
	if code != 0 {
		t.Fatalf("--help: exit %d, want 0", code)
	}
	// The list, so that a command dropped from the tables fails
	// here too.
	for _, want := range []string{"serve", "migrate", "demo", "backup", "version", "org create", "org list", "org settings",
		"org ldap", "org saml", "user create", "user import", "user list", "user edit", "user set-password", "user reset-2fa", "user unlock",
		"user disable", "user enable", "user delete", "user link", "client create", "client list", "client delete",
		"client rotate-secret", "keys check", "keys rotate"} {
		if !strings.Contains(main, "\n  "+want+" ") {
			t.Errorf("gatehouse --help does not list %q", want)
		}
	}
	for _, c := range commands() {
		if c.subs == nil {
			if !strings.Contains(main, "\n  "+c.name+" ") {
				t.Errorf("gatehouse --help does not list %s", c.name)
			}
			code, out, errOut := te.cli("", c.name, "--help")
			if code != 0 || !strings.Contains(out, "Usage: gatehouse "+c.name) {
				t.Errorf("%s --help: exit %d, stdout %q, stderr %q; want 0 and its usage", c.name, code, out, errOut)
			}
			continue
		}
		code, group, _ := te.cli("", c.name, "--help")
		if code != 0 {
			t.Errorf("%s --help: exit %d, want 0", c.name, code)
		}
		if code, out, _ := te.cli("", "help", c.name); code != 0 || out != group {
			t.Errorf("help %s: exit %d, %q; want 0 and what %s --help says", c.name, code, out, c.name)
		}
		if code, _, errOut := te.cli("", c.name); code != 2 || !strings.Contains(errOut, "needs a subcommand") {
			t.Errorf("%s alone: exit %d, %q; want 2 naming the subcommands", c.name, code, errOut)
		}
		for _, s := range c.subs() {
			line := "  " + c.name + " " + s.name + " "
			if !strings.Contains(main, line) || !strings.Contains(group, line) || s.summary == "" {
				t.Errorf("%s %s is missing from gatehouse --help or %s --help, or has no summary", c.name, s.name, c.name)
			}
			code, out, errOut := te.cli("", c.name, s.name, "--help")
			if code != 0 || !strings.HasPrefix(out, "Usage: gatehouse "+c.name+" "+s.name) || errOut != "" {
				t.Errorf("%s %s --help: exit %d, stdout %q, stderr %q; want 0 and its usage on stdout", c.name, s.name, code, out, errOut)
			}
			// The usage of a subcommand describes its own flags and only
			// names the shared settings.
			if strings.Contains(out, "argon2id memory in KiB") || strings.Contains(out, "sqlite:PATH or postgres") {
				t.Errorf("%s %s --help describes the shared settings:\n%s", c.name, s.name, out)
			}
		}
	}
	_, out, _ := te.cli("", "user", "edit", "--help")
	for _, f := range []string{"-org", "-email", "-name", "-new-email", "-phone", "-role"} {
		if !strings.Contains(out, "  "+f+" ") {
			t.Errorf("user edit --help does not describe %s:\n%s", f, out)
		}
	}
}

func TestVersionOpensNoDatabase(t *testing.T) {
	te := newTestEnv(t)
	fresh := filepath.Join(t.TempDir(), "gatehouse.db") // the test environment has migrated its own
	te.vars["GATEHOUSE_DATABASE_URL"] = "sqlite:" + fresh
	want, err := sqlstore.LatestSchemaVersion()
	if err != nil || want < 11 {
		t.Fatalf("LatestSchemaVersion = %d, %v", want, err)
	}
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, errOut := te.cli("", args...)
		if code != 0 {
			t.Fatalf("%s: exit %d, %s", args[0], code, errOut)
		}
		for _, line := range []string{"gatehouse ", "commit ", "go         " + runtime.Version(), fmt.Sprintf("schema     %d ", want)} {
			if !strings.Contains(out, line) {
				t.Errorf("%s says %q, want a line with %q", args[0], out, line)
			}
		}
	}
	if _, err := os.Stat(fresh); !os.IsNotExist(err) {
		t.Errorf("version touched the database: %v", err)
	}
}

func TestVersionOfTheBuild(t *testing.T) {
	cases := []struct {
		name          string
		bi            *debug.BuildInfo
		version, hash string
	}{
		{"no build information", nil, "devel", "unknown"},
		{"a build from a checkout", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123abc"}, {Key: "vcs.modified", Value: "false"}}}, "devel", "0123abc"},
		{"a checkout with changes", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123abc"}, {Key: "vcs.modified", Value: "true"}}}, "devel", "0123abc+dirty"},
		{"a released module", &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}}, "v1.4.0", "unknown"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := versionOf(tc.bi); got.version != tc.version || got.commit != tc.hash {
				t.Errorf("versionOf = %+v, want %s %s", got, tc.version, tc.hash)
			}
		})
	}
}

func TestErrorsSayWhatToWrite(t *testing.T) {
	te := newTestEnv(t)
	te.mustCLI("", "org", "create", "--slug", "acme", "--name", "Acme")
	te.mustCLI("a long enough passphrase\n", "user", "create", "--org", "acme", "--email", "taken@acme.test")
	cases := []struct {
		name  string
		stdin string
		args  []string
		vars  map[string]string
		says  string
	}{
		{"a bool flag and a separate word", "", []string{"org", "create", "--slug", "b", "--name", "B", "--enforce-2fa", "false"}, nil, "write --enforce-2fa=false"},
		{"a duration without its unit", "", []string{"serve", "--session-idle", "12"}, nil, "a duration such as 12h"},
		{"a variable's duration without its unit", "", []string{"serve"}, map[string]string{"GATEHOUSE_SESSION_IDLE": "12"}, "GATEHOUSE_SESSION_IDLE=\"12\": a duration such as 12h"},
		{"a port for an address", "", []string{"serve", "--addr", "8083"}, nil, "host:port, such as 127.0.0.1:8083"},
		{"a variable's port for an address", "", []string{"serve"}, map[string]string{"GATEHOUSE_ADDR": "8083"}, "GATEHOUSE_ADDR"},
		{"an unknown flag", "", []string{"org", "list", "--bogus"}, nil, "unknown flag --bogus"},
		{"a misspelt flag", "", []string{"org", "create", "--slug", "b", "--name", "B", "--enforce2fa=false"}, nil, "did you mean --enforce-2fa?"},
		{"a flag without its value", "", []string{"user", "list", "--org"}, nil, "--org needs a value"},
		{"a misspelt command", "", []string{"sever"}, nil, `did you mean "serve"?`},
		{"a misspelt subcommand", "", []string{"org", "lsit"}, nil, `did you mean "list"?`},
		{"a short subcommand", "", []string{"user", "delet"}, nil, `did you mean "delete"?`},
		{"an unknown organization", "", []string{"user", "reset-2fa", "--org", "nope", "--email", "ann@acme.test"}, nil, `no organization "nope"`},
		// Flags and values are checked before the password is read: with
		// nothing on standard input, a prompt would fail on the password.
		{"a bad flag of user create", "", []string{"user", "create", "--org", "acme", "--email", "a@acme.test", "--bogus"}, nil, "unknown flag --bogus"},
		{"a bad phone of user create", "", []string{"user", "create", "--org", "acme", "--email", "a@acme.test", "--phone", "12"}, nil, "12"},
		{"a taken e-mail of user create", "", []string{"user", "create", "--org", "acme", "--email", "Taken@acme.test"}, nil, "already exists"},
		{"an unknown organization of user create", "", []string{"user", "create", "--org", "nope", "--email", "a@acme.test"}, nil, `no organization "nope"`},
		{"a bad role", "", []string{"user", "edit", "--org", "acme", "--email", "taken@acme.test", "--role", "boss"}, nil, "write --role member or --role admin"},
		{"an edit of nothing", "", []string{"user", "edit", "--org", "acme", "--email", "taken@acme.test"}, nil, "at least one of"},
	}
	for _, verb := range []string{"reset-2fa", "unlock", "disable", "enable", "delete", "edit", "set-password"} {
		args := []string{"user", verb, "--org", "acme", "--email", "Ann@Acme.test"}
		switch verb {
		case "delete":
			args = append(args, "--yes")
		case "edit":
			args = append(args, "--name", "Ann")
		}
		cases = append(cases, struct {
			name  string
			stdin string
			args  []string
			vars  map[string]string
			says  string
		}{"user " + verb + " of an unknown user", "", args, nil, "no user ann@acme.test in acme"})
	}
	cases = append(cases, struct {
		name  string
		stdin string
		args  []string
		vars  map[string]string
		says  string
	}{"user link of an unknown user", "", []string{"user", "link", "--org", "acme", "--email", "ann@acme.test", "--provider", "ldap", "--external-id", "uuid:1"}, nil, "no user ann@acme.test in acme"})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.vars {
				te.vars[k] = v
			}
			defer func() {
				for k := range tc.vars {
					delete(te.vars, k)
				}
			}()
			code, out, errOut := te.cli(tc.stdin, tc.args...)
			lines := strings.Split(strings.TrimSpace(errOut), "\n")
			if code != 2 || len(lines) != 1 || !strings.Contains(errOut, tc.says) {
				t.Errorf("exit %d, stderr %q; want 2 and one line with %q", code, errOut, tc.says)
			}
			if strings.Contains(errOut, "password") || out != "" {
				t.Errorf("stdout %q, stderr %q: want nothing printed or asked for", out, errOut)
			}
		})
	}
	if out := te.mustCLI("", "org", "list"); strings.Contains(out, "\nb ") {
		t.Errorf("a refused org create was saved: %q", out)
	}
	if out := te.mustCLI("", "user", "list", "--org", "acme"); strings.Contains(out, "a@acme.test") {
		t.Errorf("a refused user was saved: %q", out)
	}
}

func TestAddressInUseNamesTheFlag(t *testing.T) {
	te := newTestEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	code, _, errOut := te.cli("", "serve", "--addr", ln.Addr().String())
	if code != 2 || !strings.Contains(errOut, "--addr") || !strings.Contains(errOut, "GATEHOUSE_ADDR") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Errorf("exit %d, stderr %q; want 2 and one line naming --addr and GATEHOUSE_ADDR", code, errOut)
	}
}

func TestConfirmTyped(t *testing.T) {
	var prompt strings.Builder
	if err := confirmTyped(strings.NewReader(" Ann@Acme.test\n"), &prompt, "ann@acme.test"); err != nil {
		t.Errorf("the address typed: %v", err)
	}
	if !strings.Contains(prompt.String(), "Type the e-mail address") {
		t.Errorf("prompt = %q", prompt.String())
	}
	for _, typed := range []string{"y\n", "\n", "", "bob@acme.test\n"} {
		if err := confirmTyped(strings.NewReader(typed), &prompt, "ann@acme.test"); err == nil {
			t.Errorf("typed %q: confirmed, want refused", typed)
		}
	}
}

func TestUserDisableEnableEditDelete(t *testing.T) {
	te := newTestEnv(t)
	te.mustCLI("", "org", "create", "--slug", "acme", "--name", "Acme", "--enforce-2fa=false")
	te.mustCLI("a long enough passphrase\n", "user", "create", "--org", "acme", "--email", "boss@acme.test", "--admin")
	te.mustCLI("another long passphrase\n", "user", "create", "--org", "acme", "--email", "ann@acme.test", "--name", "Ann", "--phone", "+358401234567")
	base := te.serve()
	login := func() (int, []*http.Cookie) {
		t.Helper()
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
		status, _ := post(t, c, base+"/api/v1/login", `{"organization":"acme","email":"ann@acme.test","password":"another long passphrase"}`)
		return status, jar.Cookies(mustURL(t, base))
	}
	session := func(cookies []*http.Cookie) int { return getWith(t, base+"/api/v1/session", cookies) }

	status, held := login()
	if status != 200 || session(held) != 200 {
		t.Fatalf("sign-in before: %d", status)
	}
	te.mustCLI("", "user", "disable", "--org", "acme", "--email", "ann@acme.test")
	if s := withinSessionCache(func() int { return session(held) }, 401); s != 401 {
		t.Errorf("the disabled user's session: %d, want 401", s)
	}
	if status, _ := login(); status != 401 {
		t.Errorf("the disabled user signs in: %d, want 401", status)
	}
	te.mustCLI("", "user", "enable", "--org", "acme", "--email", "ann@acme.test")
	status, held = login()
	if status != 200 {
		t.Errorf("the enabled user signs in: %d, want 200", status)
	}

	// Only the flags given change.
	te.mustCLI("", "user", "edit", "--org", "acme", "--email", "ann@acme.test", "--name", "Ann Andersson", "--role", "admin")
	out := te.mustCLI("", "user", "list", "--org", "acme")
	if !strings.Contains(out, "Ann Andersson") || !strings.Contains(out, "+358401234567") || !lineHolds(out, "ann@acme.test", "admin") {
		t.Errorf("after the edit: %q, want the new name and role and the phone kept", out)
	}
	if session(held) != 200 {
		t.Error("a change of name and role ended the session")
	}
	te.mustCLI("", "user", "edit", "--org", "acme", "--email", "ann@acme.test", "--role", "member")

	// Deleting needs --yes when nobody can type the confirmation.
	code, _, errOut := te.cli("", "user", "delete", "--org", "acme", "--email", "ann@acme.test")
	if code != 2 || !strings.Contains(errOut, "--yes") {
		t.Errorf("delete without --yes: exit %d, %q; want 2 asking for --yes", code, errOut)
	}
	if session(held) != 200 {
		t.Fatal("a refused delete ended the session")
	}
	te.mustCLI("", "user", "delete", "--org", "acme", "--email", "ann@acme.test", "--yes")
	if s := withinSessionCache(func() int { return session(held) }, 401); s != 401 {
		t.Errorf("the deleted user's session: %d, want 401", s)
	}
	if status, _ := login(); status != 401 {
		t.Errorf("the deleted user signs in: %d, want 401", status)
	}
	if out := te.mustCLI("", "user", "list", "--org", "acme"); strings.Contains(out, "ann@acme.test") {
		t.Errorf("the deleted user is listed: %q", out)
	}
	events := samlAudit(t, te, "acme")
	var kinds []string
	var deleted *gatehouse.AuditEvent
	for _, e := range events {
		kinds = append(kinds, e.Event)
		if e.Event == gatehouse.AuditUserDeleted {
			deleted = e
		}
	}
	if deleted == nil || deleted.Detail["email"] != "ann@acme.test" || deleted.Detail["sessions_ended"] != "1" {
		t.Errorf("audit %v, deleted %+v; want user.deleted keeping the e-mail, one session ended", kinds, deleted)
	}
	for _, want := range []string{gatehouse.AuditUserDisabledChanged, gatehouse.AuditUserEdited} {
		if !strings.Contains(strings.Join(kinds, " "), want) {
			t.Errorf("audit %v has no %s", kinds, want)
		}
	}

	// The last admin stays.
	code, _, errOut = te.cli("", "user", "delete", "--org", "acme", "--email", "boss@acme.test", "--yes")
	if code != 2 || !strings.Contains(errOut, "last admin") {
		t.Errorf("deleting the last admin: exit %d, %q; want 2 saying why", code, errOut)
	}
	if out := te.mustCLI("", "user", "list", "--org", "acme"); !strings.Contains(out, "boss@acme.test") {
		t.Errorf("the last admin is gone: %q", out)
	}
}

// lineHolds reports whether a line of out holds all of words.
func lineHolds(out string, words ...string) bool {
	for _, line := range strings.Split(out, "\n") {
		all := true
		for _, w := range words {
			all = all && strings.Contains(line, w)
		}
		if all {
			return true
		}
	}
	return false
}

func TestNearest(t *testing.T) {
	names := []string{"serve", "migrate", "demo", "backup", "version", "org", "user", "client", "keys"}
	for _, tc := range []struct{ word, want string }{
		{"sever", "serve"}, {"serv", "serve"}, {"usr", "user"}, {"migrat", "migrate"}, {"verison", "version"},
		{"clinet", "client"}, {"xyzzy", ""}, {"o", ""}, {"frobnicate", ""},
	} {
		if got := nearest(tc.word, names); got != tc.want {
			t.Errorf("nearest(%q) = %q, want %q", tc.word, got, tc.want)
		}
	}
}

// org create and org edit take a time zone and a country; a national
// phone number is then read in the organization's country.
func TestOrganizationsTimeZoneAndCountryOnTheCommandLine(t *testing.T) {
	te := newTestEnv(t)
	if code, _, errOut := te.cli("", "org", "create", "--slug", "kallio", "--name", "Kallio", "--time-zone", "Europe/Nowhere"); code != 2 || !strings.Contains(errOut, "Europe/Nowhere") {
		t.Errorf("a bad time zone: exit %d, %q", code, errOut)
	}
	te.mustCLI("", "org", "create", "--slug", "kallio", "--name", "Kallio", "--time-zone", "Europe/Helsinki", "--country", "fi")
	te.mustCLI("a long enough passphrase\n", "user", "create", "--org", "kallio", "--email", "vet@kallio.test", "--phone", "040 123 4567")
	if out := te.mustCLI("", "user", "list", "--org", "kallio"); !strings.Contains(out, "+358401234567") {
		t.Errorf("the national number was not read as Finnish: %s", out)
	}
	out := te.mustCLI("", "org", "edit", "--org", "kallio", "--name", "Eläinklinikka Kallio", "--country", "")
	if !strings.Contains(out, `"Eläinklinikka Kallio"`) || !strings.Contains(out, "Europe/Helsinki") || !strings.Contains(out, "country none") {
		t.Errorf("org edit: %s", out)
	}
}
