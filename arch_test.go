package gatehouse_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/gatehousehq/gatehouse"

// TestImportsPointOneWay keeps the direction of imports that the README's
// architecture paragraph describes: cmd → web → services → root, with the
// adapters beside the services and never above them.
func TestImportsPointOneWay(t *testing.T) {
	imports := moduleImports(t)
	services := []string{"internal/signin", "internal/accounts", "internal/federation"}
	adapters := []string{"internal/sqlstore", "internal/password", "internal/mail", "internal/sms",
		"internal/mailqueue", "internal/ldap", "internal/saml", "internal/keyring", "internal/clientip",
		"internal/phone", "internal/metrics", "internal/dbclock"}
	for pkg, deps := range imports {
		for _, dep := range deps {
			switch {
			case pkg == "":
				t.Errorf("the root package imports %s: the domain imports nothing of this module", dep)
			case strings.HasPrefix(dep, "cmd/"):
				t.Errorf("%s imports %s: nothing imports a command", pkg, dep)
			case dep == "internal/sqlstore" && pkg != "cmd/gatehouse" && pkg != "cmd/gatehouse-bench" && pkg != "internal/testdb":
				// The benchmark is a command too: it seeds the store and
				// prepares pending sign-ins on it, beside the server it runs.
				t.Errorf("%s imports internal/sqlstore: only the wiring in cmd/gatehouse (and the benchmark's seeding) knows the store", pkg)
			case dep == "internal/web" && !strings.HasPrefix(pkg, "cmd/"):
				t.Errorf("%s imports internal/web: only a command serves pages", pkg)
			case dep == "internal/forwardauth" && !strings.HasPrefix(pkg, "cmd/"):
				t.Errorf("%s imports internal/forwardauth: a front door is wired only by a command", pkg)
			case slices.Contains(adapters, pkg) && slices.Contains(services, dep):
				t.Errorf("%s imports %s: an adapter never calls a service", pkg, dep)
			}
		}
	}
	for _, want := range append(services, "internal/web", "internal/forwardauth", "cmd/gatehouse") {
		if _, ok := imports[want]; !ok {
			t.Errorf("package %s not found: the test reads the wrong tree", want)
		}
	}
}

// moduleImports maps each package directory of the module (relative, "" for
// the root) to the module packages its non-test files import.
func moduleImports(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != "." && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		if dir == "." {
			dir = ""
		}
		deps := out[dir]
		for _, spec := range f.Imports {
			p, err := strconv.Unquote(spec.Path.Value)
			if err != nil {
				return err
			}
			if rel, ok := strings.CutPrefix(p, module+"/"); ok && !slices.Contains(deps, rel) {
				deps = append(deps, rel)
			}
		}
		out[dir] = deps
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
