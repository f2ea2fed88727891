package main

import (
	"math"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/internal/testdb"
)

// testClock is a machine's clock that moves only when the test says.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestNodesWithDriftingClocksAgreePostgres runs two nodes on one PostgreSQL
// schema, node B's clock two hours fast, and moves time on both: a code
// asked for on node A is taken by node B within its 10 minutes and refused
// by both after; a remembered browser is remembered by both until its last
// day ends; a session's idle limit ends it on both at once.
func TestNodesWithDriftingClocksAgreePostgres(t *testing.T) {
	te := newTestEnv(t)
	te.useDatabase(testdb.PostgresURL(t))
	te.mustCLI("", "org", "create", "--slug", "codes", "--name", "Codes")
	te.mustCLI("", "org", "settings", "--org", "codes", "--remember-days", "1")
	te.mustCLI("a long enough passphrase\n", "user", "create", "--org", "codes", "--email", "nurse@codes.test")
	te.mustCLI("", "org", "create", "--slug", "plain", "--name", "Plain", "--enforce-2fa=false")
	te.mustCLI("a long enough passphrase\n", "user", "create", "--org", "plain", "--email", "nurse@plain.test")

	clk := &testClock{t: time.Now()}
	// Measured once at start: the frozen clocks must not be re-measured
	// while the test moves them.
	a, _ := te.serveNode(&clockOptions{local: clk.now, every: 24 * time.Hour}, "--session-idle", "15m")
	b, _ := te.serveNode(&clockOptions{local: func() time.Time { return clk.now().Add(2 * time.Hour) }, every: 24 * time.Hour}, "--session-idle", "15m")
	// Each node logs its offset in milliseconds: A's about 0, B's about
	// -2 h (its clock is ahead of the database's). The local clocks are
	// frozen at the test's start, so each offset also holds the time since
	// then (seconds on a loaded machine); a minute tells milliseconds from
	// seconds or nanoseconds all the same.
	var offsets []float64
	lines := logLines(t, te.logs.String())
	for _, l := range lines {
		if l["msg"] != "database clock offset" {
			continue
		}
		off, ok1 := l["offset_ms"].(float64)
		_, ok2 := l["round_trip_ms"].(float64)
		_, ok3 := l["error_bound_ms"].(float64)
		if !ok1 || !ok2 || !ok3 {
			t.Errorf("database clock offset logged as %v, want numbers offset_ms, round_trip_ms and error_bound_ms", l)
		}
		offsets = append(offsets, off)
	}
	if len(offsets) != 2 || math.Abs(offsets[0]) > 60_000 || math.Abs(offsets[1]+2*3600*1000) > 60_000 {
		t.Errorf("the nodes logged offsets %v ms, want about 0 and -7200000", offsets)
	}
	noBareDurations(t, lines)
	codes := `{"organization":"codes","email":"nurse@codes.test","password":"a long enough passphrase"}`
	plain := `{"organization":"plain","email":"nurse@plain.test","password":"a long enough passphrase"}`

	// A code asked for on A, entered on B 9 minutes later.
	c := newBrowser()
	if _, body := post(t, c, a+"/api/v1/login", codes); status(t, body) != "code_sent" {
		t.Fatalf("login on A: %s", body)
	}
	code := te.mail.lastCode(t, "nurse@codes.test")
	clk.advance(9 * time.Minute)
	if st, body := post(t, c, b+"/api/v1/login/verify", `{"code":"`+code+`"}`); st != 200 || status(t, body) != "verified" {
		t.Errorf("9 minutes after node A sent a code, node B: %d %s, want it verified", st, body)
	}

	// A code 11 minutes old is refused by both.
	late := newBrowser()
	if _, body := post(t, late, a+"/api/v1/login", codes); status(t, body) != "code_sent" {
		t.Fatalf("second login on A: %s", body)
	}
	code = te.mail.lastCode(t, "nurse@codes.test")
	clk.advance(11 * time.Minute)
	for _, node := range []string{b, a} {
		if st, body := post(t, late, node+"/api/v1/login/verify", `{"code":"`+code+`"}`); st == 200 {
			t.Errorf("a code 11 minutes old was taken: %d %s", st, body)
		}
	}

	// The browser that verified on B (at +9 min) is remembered for one
	// day: by both nodes at +23 h, by neither after +24 h.
	post(t, c, a+"/api/v1/logout", "")
	clk.advance(23 * time.Hour)
	for _, node := range []string{b, a} {
		_, body := post(t, c, node+"/api/v1/login", codes)
		if got := status(t, body); got != "remembered" {
			t.Errorf("a browser remembered 23 hours ago, signing in on %s: %s, want remembered", nodeName(node, a), body)
		}
		post(t, c, node+"/api/v1/logout", "")
	}
	clk.advance(2 * time.Hour)
	for _, node := range []string{b, a} {
		_, body := post(t, c, node+"/api/v1/login", codes)
		if got := status(t, body); got != "code_sent" {
			t.Errorf("a browser remembered 25 hours ago, signing in on %s: %s, want code_sent", nodeName(node, a), body)
		}
	}

	// A session signed in on A, idle limit 15 minutes.
	s := newBrowser()
	if st, body := post(t, s, a+"/api/v1/login", plain); st != 200 {
		t.Fatalf("login on A: %d %s", st, body)
	}
	check := func(when string, want int) {
		t.Helper()
		for _, node := range []string{b, a} {
			if got := get(t, s, node+"/api/v1/session"); got != want {
				t.Errorf("%s, node %s answers the session with %d, want %d", when, nodeName(node, a), got, want)
			}
		}
	}
	check("just signed in on A", http.StatusOK)
	clk.advance(14 * time.Minute)
	check("14 minutes unused", http.StatusOK)
	clk.advance(16 * time.Minute)
	check("16 minutes unused", http.StatusUnauthorized)
}

func nodeName(node, a string) string {
	if node == a {
		return "A"
	}
	return "B"
}
