package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
)

// Settings > Organization saves the name, time zone and country, names a
// bad field (in Finnish too), and the API does the same.
func TestTheOrganizationPage(t *testing.T) {
	e := newEnv(t, options{})
	org := e.addStrictOrg(nil)
	e.signInWithCode("admin@acme.test")
	doc := parseHTML(t, wantStatus(t, e.do("GET", "/settings/organization", "", ""), 200))
	for _, id := range []string{"name", "time_zone", "country"} {
		if findByID(doc, id) == nil || findLabelFor(doc, id) == nil {
			t.Fatalf("no labelled #%s", id)
		}
	}
	doc = parseHTML(t, wantStatus(t, e.form("/settings/organization", url.Values{"name": {"Acme"}, "time_zone": {"Mars/Base"}, "country": {"FI"}}, "Accept-Language", "fi"), 400))
	if attr(findByID(doc, "time_zone"), "aria-invalid") != "true" || !strings.Contains(text(doc), "”Mars/Base” ei ole aikavyöhyke") {
		t.Errorf("a bad time zone: %s", text(doc))
	}
	res := e.form("/settings/organization", url.Values{"name": {"Eläinklinikka Acme"}, "time_zone": {"Europe/Helsinki"}, "country": {"fi"}})
	if res.StatusCode != 303 || res.Header.Get("Location") != "/settings/organization?saved=1" {
		t.Fatalf("save: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	got, err := e.db.OrganizationByID(context.Background(), org.ID)
	if err != nil || got.Name != "Eläinklinikka Acme" || got.TimeZone != "Europe/Helsinki" || got.Country != "FI" {
		t.Errorf("saved %+v, %v", got, err)
	}
	b := wantStatus(t, e.do("PUT", "/api/v1/organizations/acme", "application/json", `{"name":"Acme","time_zone":"","country":"SE"}`), 200)
	if !strings.Contains(b, `"country":"SE"`) || !strings.Contains(b, `"time_zone":""`) {
		t.Errorf("PUT: %s", b)
	}
	if b := wantStatus(t, e.do("PUT", "/api/v1/organizations/acme", "application/json", `{"name":"Acme","country":"Sweden"}`), 400); !strings.Contains(b, `"field":"country"`) {
		t.Errorf("PUT a bad country: %s", b)
	}
	if b := wantStatus(t, e.do("GET", "/api/v1/organizations/acme", "", ""), 200); !strings.Contains(b, `"name":"Acme"`) {
		t.Errorf("GET: %s", b)
	}
}
