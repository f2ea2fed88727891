package web_test

import (
	"os"
	"strings"
	"testing"
)

// TestOpenAPILoginDocumentsSSORequired: the password API answers
// 409 sso_required with a location for SAML2 organizations (the end-to-end
// test in cmd/gatehouse checks the code); the documentation says so instead
// of calling it reserved.
func TestOpenAPILoginDocumentsSSORequired(t *testing.T) {
	b, err := os.ReadFile(openAPIFile)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start := strings.Index(doc, "\n  /api/v1/login:\n")
	if start < 0 {
		t.Fatal("no /api/v1/login in docs/openapi.yaml")
	}
	section := doc[start+1:]
	if end := strings.Index(section[len("  /api/v1/login:\n"):], "\n  /"); end >= 0 {
		section = section[:len("  /api/v1/login:\n")+end]
	}
	if strings.Contains(section, "reserved") {
		t.Error("POST /api/v1/login still calls a 409 reserved")
	}
	for _, want := range []string{"409 `sso_required`", "error.location", "/saml/{slug}/login"} {
		if !strings.Contains(section, want) {
			t.Errorf("POST /api/v1/login does not document %q", want)
		}
	}
}
