package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/sqlstore"
)

// The vendor's provisioning story through the real server: the operator
// makes API tokens at the command line; one creates a clinic and its
// users, another may only read; every call is in the clinic's audit log
// under the token's name; a revoked token stops at once.
func TestProvisioningWithAnAPIToken(t *testing.T) {
	te := newTestEnv(t)
	writer := strings.TrimSpace(te.mustCLI("", "token", "create", "--name", "crm-sync", "--scope", "orgs:write,users:write", "--expires", "90d"))
	reader := strings.TrimSpace(te.mustCLI("", "token", "create", "--name", "reporting", "--scope", "users:read"))
	if !strings.HasPrefix(writer, gatehouse.APITokenPrefix) || len(writer) < 40 || writer == reader {
		t.Fatalf("token create printed %q", writer)
	}
	if code, _, errOut := te.cli("", "token", "create", "--name", "crm-sync", "--scope", "users:read"); code == 0 || !strings.Contains(errOut, "already exists") {
		t.Errorf("a second token of the same name: exit %d, %s", code, errOut)
	}
	if code, _, errOut := te.cli("", "token", "create", "--name", "x", "--scope", "users:rwx"); code == 0 || !strings.Contains(errOut, `"users:rwx" is not a scope`) {
		t.Errorf("an unknown scope: exit %d, %s", code, errOut)
	}
	list := te.mustCLI("", "token", "list")
	if !strings.Contains(list, "crm-sync") || !strings.Contains(list, "orgs:write,users:write") || strings.Contains(list, writer[4:]) {
		t.Errorf("token list: %s", list)
	}
	base := te.serve()

	call := func(token, method, path, body string) (int, string, http.Header) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b), res.Header
	}
	want := func(status int, token, method, path, body string) string {
		t.Helper()
		got, b, _ := call(token, method, path, body)
		if got != status {
			t.Fatalf("%s %s: %d %s, want %d", method, path, got, b, status)
		}
		return b
	}

	want(201, writer, "POST", "/api/v1/organizations", `{"slug":"new-vet","name":"New Vet","country":"FI","time_zone":"Europe/Helsinki"}`)
	b := want(201, writer, "POST", "/api/v1/organizations/new-vet/users", `{"email":"Nurse@New-Vet.test","phone":"040 123 4567"}`)
	user := decodeMap(t, b)
	if user["email"] != "nurse@new-vet.test" || user["phone"] != "+358401234567" || user["invitation_sent"] != true {
		t.Errorf("the new user: %s", b)
	}
	id, _ := user["id"].(string)
	deadline := time.Now().Add(10 * time.Second)
	for te.mail.lastSubjectTo("nurse@new-vet.test") == "" && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if te.mail.lastSubjectTo("nurse@new-vet.test") == "" {
		t.Error("the invited user got no welcome e-mail")
	}
	if b := want(200, writer, "PATCH", "/api/v1/organizations/new-vet/users/"+id, `{"name":"Nina Nurse","role":"admin"}`); !strings.Contains(b, `"role":"admin"`) || !strings.Contains(b, "Nina Nurse") {
		t.Errorf("patched: %s", b)
	}
	want(201, writer, "POST", "/api/v1/organizations/new-vet/users", `{"email":"temp@new-vet.test","invite":false}`)
	want(400, writer, "POST", "/api/v1/organizations/new-vet/users", `{"email":"not an address"}`)
	want(409, writer, "POST", "/api/v1/organizations/new-vet/users", `{"email":"nurse@new-vet.test"}`)
	want(404, writer, "POST", "/api/v1/organizations/no-such/users", `{"email":"a@b.test"}`)
	if b := want(200, reader, "GET", "/api/v1/organizations/new-vet/users", ""); !strings.Contains(b, "temp@new-vet.test") {
		t.Errorf("the reader's list: %s", b)
	}
	temp := ""
	for _, u := range decodeMap(t, want(200, writer, "GET", "/api/v1/organizations/new-vet/users", ""))["users"].([]any) {
		if u := u.(map[string]any); u["email"] == "temp@new-vet.test" {
			temp, _ = u["id"].(string)
		}
	}
	want(200, writer, "PUT", "/api/v1/organizations/new-vet/users/"+temp+"/disabled", `{"disabled":true}`)
	want(204, writer, "DELETE", "/api/v1/organizations/new-vet/users/"+temp, "")

	// The reader may not write, and a bad token is no token.
	code, b, h := call(reader, "POST", "/api/v1/organizations/new-vet/users", `{"email":"x@new-vet.test"}`)
	if code != 403 || !strings.Contains(h.Get("WWW-Authenticate"), "insufficient_scope") || !strings.Contains(b, "users:write") {
		t.Errorf("a write with a read token: %d %s %q", code, b, h.Get("WWW-Authenticate"))
	}
	code, _, h = call(gatehouse.APITokenPrefix+strings.Repeat("A", 43), "GET", "/api/v1/organizations", "")
	if code != 401 || !strings.Contains(h.Get("WWW-Authenticate"), "invalid_token") {
		t.Errorf("an unknown token: %d %q", code, h.Get("WWW-Authenticate"))
	}
	if b := want(200, writer, "GET", "/api/v1/organizations", ""); !strings.Contains(b, "new-vet") {
		t.Errorf("the organizations: %s", b)
	}

	// Every change is in the clinic's audit log under the token's name.
	db, err := sqlstore.Open(context.Background(), te.vars["GATEHOUSE_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	org, err := db.OrganizationBySlug(context.Background(), "new-vet")
	if err != nil {
		t.Fatal(err)
	}
	events, err := db.ListAudit(context.Background(), org.ID, 0, 50)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range events {
		if e.ActorID == gatehouse.AuditTokenPrefix+"crm-sync" {
			seen[e.Event] = true
		}
	}
	for _, ev := range []string{gatehouse.AuditOrgCreated, gatehouse.AuditUserCreated, gatehouse.AuditUserEdited, gatehouse.AuditUserDisabledChanged, gatehouse.AuditUserDeleted} {
		if !seen[ev] {
			t.Errorf("no %s by the token in the audit log (%v)", ev, seen)
		}
	}

	te.mustCLI("", "token", "revoke", "--name", "crm-sync")
	want(401, writer, "GET", "/api/v1/organizations", "")
	want(200, reader, "GET", "/api/v1/organizations/new-vet/users", "")
}

func decodeMap(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("not JSON: %s", s)
	}
	return m
}
