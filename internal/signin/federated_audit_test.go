package signin_test

import (
	"context"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

// TestSAMLRefusalsAreAggregated: junk posted to the ACS writes at most the
// first refusal of each minute and one counted event for the rest, per
// organization (issue 8 item 14), and nothing is lost from the count.
func TestSAMLRefusalsAreAggregated(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	s := gatehouse.DefaultPasswordSettings()
	s.EnforceTwoFactor, s.AuthMethod = false, gatehouse.AuthSAML2
	org := f.addOrg("sso", s)
	other := f.addOrg("sso-2", s)
	ip := netip.MustParseAddr("198.51.100.7")
	f.clock.t = f.clock.t.Truncate(time.Minute).Add(10 * time.Second)

	refusals := func() []*gatehouse.AuditEvent {
		t.Helper()
		events, err := f.db.ListAudit(ctx, org.ID, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		var out []*gatehouse.AuditEvent
		for _, e := range events {
			if e.Event == gatehouse.AuditLoginFailed {
				out = append(out, e)
			}
		}
		return out
	}

	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		reason := signin.SAMLResponseRefused
		if i%4 == 0 {
			reason = signin.SAMLWrongBrowser
		}
		wg.Go(func() { f.svc.FederatedFailed(ctx, org, reason, "junk "+strconv.Itoa(i), ip) })
	}
	wg.Wait()
	if got := refusals(); len(got) != 1 || got[0].Detail["why"] == "" || got[0].ClientIP != ip {
		t.Fatalf("after %d refusals in one minute: %d audit events %+v, want the first one, in full", n, len(got), got)
	}
	// Another organization has its own count.
	f.svc.FederatedFailed(ctx, other, signin.SAMLResponseRefused, "junk", ip)
	if events, _ := f.db.ListAudit(ctx, other.ID, 0, 10); len(events) != 1 {
		t.Errorf("the other organization has %d events, want 1", len(events))
	}

	f.clock.Add(time.Minute)
	f.svc.FederatedFailed(ctx, org, signin.SAMLResponseRefused, "the next one", ip)
	got := refusals()
	if len(got) != 3 {
		t.Fatalf("after the next minute's first refusal: %d events, want 3 (first, count, next)", len(got))
	}
	var summary *gatehouse.AuditEvent
	for _, e := range got {
		if e.Reason == signin.SAMLRefusalsCounted {
			summary = e
		}
	}
	if summary == nil {
		t.Fatalf("no %s event: %+v", signin.SAMLRefusalsCounted, got)
	}
	total := 0
	for _, r := range []string{signin.SAMLResponseRefused, signin.SAMLWrongBrowser} {
		c, _ := strconv.Atoi(summary.Detail[r])
		total += c
	}
	if total != n-1 || summary.Detail["from"] == "" || summary.Detail["to"] == "" {
		t.Errorf("counted %d (%v), want %d", total, summary.Detail, n-1)
	}

	// A quiet minute in between writes no count.
	f.clock.Add(2 * time.Minute)
	f.svc.FederatedFailed(ctx, org, signin.SAMLResponseRefused, "later", ip)
	if got := refusals(); len(got) != 4 {
		t.Errorf("%d events, want 4: one refusal alone in its minute needs no count", len(got))
	}
}
