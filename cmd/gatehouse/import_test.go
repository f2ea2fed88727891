package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/internal/userimport"
)

// user import as an operator runs it: from a file or standard input, the
// summary on stdout, every bad line on stderr, exit 2 and nothing written
// when a line is bad.
func TestUserImport(t *testing.T) {
	te := newTestEnv(t)
	te.mustCLI("", "org", "create", "--slug", "clinic", "--name", "Clinic", "--country", "FI")

	file := filepath.Join(te.dir, "users.jsonl")
	if err := os.WriteFile(file, []byte(`{"email":"ann@example.com","phone":"0401234567"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := te.mustCLI("", "user", "import", "--org", "clinic", "--file", file); !strings.HasPrefix(out, "imported 1, updated 0, skipped 0 existing in ") {
		t.Errorf("from a .jsonl file: %q", out)
	}
	in := "email,name\nann@example.com,Ann\nbob@example.com,Bob\n"
	if out := te.mustCLI(in, "user", "import", "--org", "clinic", "--dry-run"); !strings.HasPrefix(out, "dry run: would import 1, updated 0, skipped 1 existing in ") {
		t.Errorf("dry run: %q", out)
	}
	if out := te.mustCLI(in, "user", "import", "--org", "clinic", "--update"); !strings.HasPrefix(out, "imported 1, updated 1, skipped 0 existing in ") {
		t.Errorf("from stdin with --update: %q", out)
	}
	list := te.mustCLI("", "user", "list", "--org", "clinic")
	if !strings.Contains(list, "Ann") || !strings.Contains(list, "+358401234567") || !strings.Contains(list, "bob@example.com") {
		t.Errorf("user list after the imports:\n%s", list)
	}

	code, out, errOut := te.cli("email\ncarl@example.com\nnope\n", "user", "import", "--org", "clinic")
	if code != 2 || out != "" || errOut != "line 3: email: \"nope\" is not an e-mail address.\ngatehouse: 1 bad line: nothing was imported (--skip-bad imports the good ones)\n" {
		t.Errorf("a bad line: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if strings.Contains(te.mustCLI("", "user", "list", "--org", "clinic"), "carl@") {
		t.Error("a bad line did not stop the import")
	}
	code, out, _ = te.cli("email\ncarl@example.com\nnope\n", "user", "import", "--org", "clinic", "--skip-bad")
	if code != 0 || !strings.HasPrefix(out, "imported 1, updated 0, skipped 0 existing, 1 bad line skipped in ") {
		t.Errorf("--skip-bad: exit %d, %q", code, out)
	}

	for _, tt := range []struct {
		args []string
		says string
	}{
		{[]string{"user", "import"}, "user import needs --org"},
		{[]string{"user", "import", "--org", "clinic", "--format", "xml"}, `--format "xml": write --format csv or --format jsonl`},
		{[]string{"user", "import", "--org", "nowhere"}, `no organization "nowhere"`},
		{[]string{"user", "import", "--org", "clinic", "--file", filepath.Join(te.dir, "missing.csv")}, "cannot read --file"},
		{[]string{"user", "import", "--org", "clinic"}, "the input is empty"},
	} {
		if code, _, errOut := te.cli("", tt.args...); code != 2 || !strings.Contains(errOut, tt.says) {
			t.Errorf("%s: exit %d, %q; want 2 saying %q", strings.Join(tt.args, " "), code, errOut, tt.says)
		}
	}
}

func TestProgressText(t *testing.T) {
	if got := progressText(userimport.Progress{Done: 5000}, 2*time.Second); got != "checking: 5000 lines, 2500/s" {
		t.Errorf("checking: %q", got)
	}
	got := progressText(userimport.Progress{Writing: true, Done: 250, Total: 1000}, 10*time.Second)
	if want := "writing: [=======                       ] 250/1000  25% 25/s, 30s left"; got != want {
		t.Errorf("writing:\n got %q\nwant %q", got, want)
	}
}
