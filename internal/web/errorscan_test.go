package web

import (
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
)

// errorSourceDirs are the packages whose *gatehouse.Error values a page can
// show, relative to this package.
var errorSourceDirs = []string{"../..", "../accounts", "../signin", "../federation", "../ldap", "../saml", "../password", "../phone", "."}

// errorConstructors are the root package's functions that make an *Error
// from their arguments; the scan checks their calls, not their bodies.
var errorConstructors = []string{"Errorf", "FieldError", "Reasoned", "FieldReason"}

// errorMade is one place in the source that makes a *gatehouse.Error.
type errorMade struct {
	pos     string // file:line
	where   string // file (relative to the module) and the Message as written: the allow-list's key
	code    string // "" when not a constant
	field   string // "" for none; "?" when not a constant
	reasons bool   // a Reason is set
	reason  string // the Reason, when it is a constant
	message string
}

// stringConsts are the string constants declared in the files, by name.
func stringConsts(files []*ast.File) map[string]string {
	consts := make(map[string]string)
	for _, f := range files {
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						if s, err := strconv.Unquote(lit.Value); err == nil {
							consts[name.Name] = s
						}
					}
				}
			}
		}
	}
	return consts
}

// errorsMade finds every *gatehouse.Error the non-test files of
// errorSourceDirs make: Errorf and FieldError calls, Reasoned and
// FieldReason calls, and Error composite literals.
func errorsMade(t *testing.T) []errorMade {
	t.Helper()
	fset := token.NewFileSet()
	var files []*ast.File
	for _, dir := range errorSourceDirs {
		names, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(names) == 0 {
			t.Fatalf("no Go files in %s: %v", dir, err)
		}
		for _, name := range names {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, name, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
	}
	consts := stringConsts(files)
	value := func(e ast.Expr) (string, bool) {
		switch e := e.(type) {
		case *ast.BasicLit:
			if e.Kind == token.STRING {
				s, err := strconv.Unquote(e.Value)
				return s, err == nil
			}
		case *ast.Ident:
			s, ok := consts[e.Name]
			return s, ok
		case *ast.SelectorExpr:
			if pkg, ok := e.X.(*ast.Ident); ok && pkg.Name == "gatehouse" {
				s, ok := consts[e.Sel.Name]
				return s, ok
			}
		}
		return "", false
	}
	source := func(e ast.Expr) string {
		if s, ok := e.(*ast.BasicLit); ok && s.Kind == token.STRING {
			v, _ := strconv.Unquote(s.Value)
			return v
		}
		var b strings.Builder
		if err := printer.Fprint(&b, fset, e); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	// isErrorName reports whether e names the root package's identifier
	// name: gatehouse.name outside it, name inside it.
	isErrorName := func(f *ast.File, e ast.Expr, name string) bool {
		switch e := e.(type) {
		case *ast.Ident:
			return f.Name.Name == "gatehouse" && e.Name == name
		case *ast.SelectorExpr:
			pkg, ok := e.X.(*ast.Ident)
			return ok && pkg.Name == "gatehouse" && e.Sel.Name == name
		}
		return false
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	var made []errorMade
	for _, f := range files {
		abs, err := filepath.Abs(fset.Position(f.Pos()).Filename)
		if err != nil {
			t.Fatal(err)
		}
		file, err := filepath.Rel(root, abs)
		if err != nil {
			t.Fatal(err)
		}
		file = filepath.ToSlash(file)
		ast.Inspect(f, func(n ast.Node) bool {
			var m errorMade
			switch n := n.(type) {
			case *ast.FuncDecl:
				// The constructors themselves make what their callers ask.
				return !(f.Name.Name == "gatehouse" && n.Recv == nil && slices.Contains(errorConstructors, n.Name.Name))
			case *ast.CallExpr:
				switch {
				case isErrorName(f, n.Fun, "Errorf") && len(n.Args) >= 2:
					m.code, _ = value(n.Args[0])
					m.message = source(n.Args[1])
				case isErrorName(f, n.Fun, "FieldError") && len(n.Args) >= 2:
					m.code = "invalid_input"
					if m.field, _ = value(n.Args[0]); m.field == "" {
						m.field = "?"
					}
					m.message = source(n.Args[1])
				case (isErrorName(f, n.Fun, "Reasoned") || isErrorName(f, n.Fun, "FieldReason")) && len(n.Args) >= 2:
					m.reasons = true
					m.reason, _ = value(n.Args[1])
				default:
					return true
				}
			case *ast.CompositeLit:
				if !isErrorName(f, n.Type, "Error") {
					return true
				}
				for _, elt := range n.Elts {
					kv, ok := elt.(*ast.KeyValueExpr)
					if !ok {
						continue
					}
					switch kv.Key.(*ast.Ident).Name {
					case "Code":
						m.code, _ = value(kv.Value)
					case "Field":
						if m.field, _ = value(kv.Value); m.field == "" {
							m.field = "?"
						}
					case "Reason":
						m.reasons = true
						m.reason, _ = value(kv.Value)
					case "Message":
						m.message = source(kv.Value)
					}
				}
			default:
				return true
			}
			pos := fset.Position(n.Pos())
			m.pos = file + ":" + strconv.Itoa(pos.Line)
			m.where = file + ": " + m.message
			made = append(made, m)
			return true
		})
	}
	return made
}

// TestEveryErrorMadeIsSaidInEveryLanguage walks the source of the packages
// whose errors reach the pages: every error made without a reason needs a
// catalog key for its code and field, or for its code, so that a page
// never falls back to its English Message. The few that no page can show
// are in errorsNoPageShows, with why. A reason must be one of
// gatehouse.Reasons(), whose texts TestEveryReasonIsSaidInEveryLanguage
// checks.
func TestEveryErrorMadeIsSaidInEveryLanguage(t *testing.T) {
	c := mustCatalog(t)
	made := errorsMade(t)
	if len(made) < 50 {
		t.Fatalf("the scan found only %d errors made", len(made))
	}
	allowed := make(map[string]bool)
	for where := range errorsNoPageShows {
		allowed[where] = false
	}
	for _, m := range made {
		if m.reason != "" && !slices.Contains(gatehouse.Reasons(), m.reason) {
			t.Errorf("%s: the reason %q is not in gatehouse.Reasons(), so no test checks it is said", m.pos, m.reason)
		}
		if m.reasons {
			continue
		}
		if _, ok := allowed[m.where]; ok {
			allowed[m.where] = true
			continue
		}
		var keys []string
		if m.code == "" {
			t.Errorf("%s: the code of %q is not a constant", m.pos, m.message)
			continue
		}
		if m.field != "" && m.field != "?" {
			keys = append(keys, "error."+m.code+"."+m.field)
		}
		keys = append(keys, "error."+m.code)
		if !slices.ContainsFunc(keys, func(k string) bool {
			for _, lang := range c.langs {
				if _, ok := c.messages[lang][k]; !ok {
					return false
				}
			}
			return true
		}) {
			t.Errorf("%s: %s %q (field %q) has no reason and no text in every language for %v", m.pos, m.code, m.message, m.field, keys)
		}
	}
	for where, used := range allowed {
		if !used {
			t.Errorf("errorsNoPageShows lists %q, which the scan no longer finds without a reason", where)
		}
	}
}

// errorsNoPageShows are the errors made without a reason or a key that no
// page can show, by file and Message as written, with why. A page's error
// does not belong here: give it a reason.
var errorsNoPageShows = map[string]string{
	// API tokens are made and revoked only at the operator's command line.
	"internal/accounts/apitokens.go: A token name is 1 to 63 lower-case letters, digits, dots, hyphens or underscores, such as crm-sync.": "gatehouse token create only",
	"internal/accounts/apitokens.go: Name at least one scope: %s.":                                                                        "gatehouse token create only",
	"internal/accounts/apitokens.go: %q is not a scope: use %s.":                                                                          "gatehouse token create only",
	"internal/accounts/apitokens.go: A token lives at most 5 years (or does not expire).":                                                 "gatehouse token create only",
	"internal/accounts/apitokens.go: There is no API token named %q.":                                                                     "gatehouse token revoke only",

	"internal/signin/challenge.go: Pending sign-in not found.": "challengeByToken's callers answer no_pending_login or nothing for it",

	// decodeJSON reads the JSON API's bodies; no page posts JSON.
	"internal/web/api.go: The request body must be JSON (Content-Type: application/json).": "decodeJSON, JSON API only",
	"internal/web/api.go: The request body is not valid JSON.":                             "decodeJSON, JSON API only",
	`internal/web/api.go: "The field \"" + typ.Field + "\" has the wrong type."`:           "decodeJSON, JSON API only",
	"internal/web/api.go: The request body is empty.":                                      "decodeJSON, JSON API only",
	"internal/web/api.go: The request body is not accepted: %s.":                           "decodeJSON, JSON API only",
	"internal/web/api.go: The request body must hold one JSON object.":                     "decodeJSON, JSON API only (twice)",
	"internal/web/api.go: %s must be a whole number from 1 to 200.":                        "the limit of the API's list calls",
	"internal/web/api.go: No such API call.":                                               "apiNotFound, under /api/ only",

	"internal/web/admin_org_page.go: The organization name is required.":                                    "apiPutOrganization: a missing JSON field; the page sends the name always",
	`internal/web/api_org_audit.go: before must be the "next" value of a previous page.`:                    "apiAudit",
	"internal/web/api_org_federation.go: LDAP is not set up for this organization.":                         "apiGetLDAP",
	"internal/web/api_org_federation.go: SAML2 is not set up for this organization.":                        "apiGetSAML (the page shows an empty form instead)",
	"internal/web/api_org_settings.go: The field %q is required.":                                           "apiPutSettings: a missing JSON field",
	`internal/web/api_org_users.go: The field "exempt" is required.`:                                        "apiExempt: a missing JSON field",
	`internal/web/api_org_users.go: The field "disabled" is required.`:                                      "apiDisabled: a missing JSON field",
	"internal/web/api_session_reauth.go: Send either the password or the challenge and its code, not both.": "apiReauthenticate: the page sends one or the other",
}
