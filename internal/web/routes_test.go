package web_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// registration finds a route being registered: s.api, s.page or s.route
// with a pattern, or the mux itself.
var registration = regexp.MustCompile(`s\.(api|page|route)\(("|samlACSRoute)|\.mux\.Handle`)

// Every route is in the one table of routes.go, so that a reader (and
// openapi_test.go) sees them all in one place; server.go only holds the
// mux's single Handle call that every route goes through.
func TestRoutesAreRegisteredOnlyInTheTable(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") || name == "routes.go" {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		found := registration.FindAllString(string(src), -1)
		if name == "server.go" && len(found) == 1 && found[0] == ".mux.Handle" {
			continue
		}
		for _, f := range found {
			t.Errorf("%s registers a route (%s...) outside routes.go's table", name, f)
		}
	}
}
