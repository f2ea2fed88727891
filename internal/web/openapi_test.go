package web_test

import (
	"bufio"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// The OpenAPI file is read as text, without a YAML library: it keeps the
// conventional layout (path keys indented two spaces under "paths:", methods
// four), which these tests rely on.
const openAPIFile = "../../docs/openapi.yaml"

var (
	// apiCall finds every JSON route registered in routes().
	apiCall = regexp.MustCompile(`s\.api\("([^"]*)"`)
	// apiRoute is the form a documented route takes.
	apiRoute = regexp.MustCompile(`^(GET|POST|PUT|PATCH|DELETE) (/api/v1/[^"]+)$`)

	yamlPathKey   = regexp.MustCompile(`^  ["']?(/[^"':]*)["']?:\s*$`)
	yamlMethodKey = regexp.MustCompile(`^    (get|put|post|delete|options|head|patch|trace):\s*$`)
)

// registeredRoutes returns "METHOD /path" for every s.api route in
// routes.go, leaving out the catch-all "/api/".
func registeredRoutes(t *testing.T) []string {
	t.Helper()
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
	var routes []string
	for _, m := range apiCall.FindAllStringSubmatch(string(src), -1) {
		pattern := m[1]
		if pattern == "/api/" {
			continue
		}
		if !apiRoute.MatchString(pattern) {
			t.Errorf("route %q is not of the form \"METHOD /api/v1/...\"; teach this test (and docs/openapi.yaml) about it", pattern)
			continue
		}
		routes = append(routes, pattern)
	}
	if len(routes) == 0 {
		t.Fatal("found no s.api routes in routes.go; did routes() move?")
	}
	return routes
}

// documentedRoutes returns "METHOD /path" for every operation under
// "paths:" in the OpenAPI file.
func documentedRoutes(t *testing.T) map[string]bool {
	t.Helper()
	f, err := os.Open(openAPIFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ops := make(map[string]bool)
	inPaths, path := false, ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), " \t\r")
		if line == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		if !strings.HasPrefix(line, " ") {
			inPaths, path = line == "paths:", ""
			continue
		}
		if !inPaths {
			continue
		}
		if m := yamlPathKey.FindStringSubmatch(line); m != nil {
			path = m[1]
			continue
		}
		if strings.HasPrefix(line, "  ") && !strings.HasPrefix(line, "   ") {
			path = "" // another key at path level
			continue
		}
		if m := yamlMethodKey.FindStringSubmatch(line); m != nil && path != "" {
			ops[strings.ToUpper(m[1])+" "+path] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(ops) == 0 {
		t.Fatalf("found no operations under paths: in %s", openAPIFile)
	}
	return ops
}

func TestOpenAPIDocumentsEveryAPIRoute(t *testing.T) {
	documented := documentedRoutes(t)
	registered := make(map[string]bool)
	for _, r := range registeredRoutes(t) {
		registered[r] = true
		if !documented[r] {
			t.Errorf("%s is registered in routes() but not documented in docs/openapi.yaml", r)
		}
	}
	var stale []string
	for op := range documented {
		if strings.Contains(op, " /api/") && !registered[op] {
			stale = append(stale, op)
		}
	}
	sort.Strings(stale)
	for _, op := range stale {
		t.Errorf("%s is documented in docs/openapi.yaml but routes() does not register it", op)
	}
}

func TestOpenAPIListsEveryErrorCode(t *testing.T) {
	doc, err := os.ReadFile(openAPIFile)
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	// The domain's codes, and the two only the web layer produces.
	for file, re := range map[string]*regexp.Regexp{
		"../../error.go": regexp.MustCompile(`(?m)^\s+E[A-Z]+\s*=\s*"([a-z_]+)"`),
		"errors.go":      regexp.MustCompile(`(?m)^\s+code[A-Za-z]+\s*=\s*"([a-z_]+)"`),
	} {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		found := re.FindAllStringSubmatch(string(src), -1)
		if len(found) == 0 {
			t.Fatalf("found no error codes in %s", file)
		}
		for _, m := range found {
			codes = append(codes, m[1])
		}
	}
	for _, code := range codes {
		if !regexp.MustCompile(`(?m)^\s+- ` + code + `$`).Match(doc) {
			t.Errorf("error code %q is missing from the Error schema's enum in docs/openapi.yaml", code)
		}
	}
}
