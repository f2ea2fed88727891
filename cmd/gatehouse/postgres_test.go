package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/internal/testdb"
)

// TestTwoNodesShareOnePostgres runs two servers on one PostgreSQL database:
// a session made on one is good on the other, a sign-out on one ends it on
// both, and password failures counted on one throttle the other.
func TestTwoNodesShareOnePostgres(t *testing.T) {
	te := newTestEnv(t)
	te.useDatabase(testdb.PostgresURL(t))
	te.mustCLI("", "org", "create", "--slug", "pg", "--name", "PG", "--enforce-2fa=false")
	te.mustCLI("a long enough passphrase\n", "user", "create", "--org", "pg", "--email", "nurse@pg.test")
	a, b := te.serve(), te.serve()

	jar, _ := cookiejar.New(nil) // cookies ignore ports: both nodes see the same jar
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	if status, body := post(t, c, a+"/api/v1/login", `{"organization":"pg","email":"nurse@pg.test","password":"a long enough passphrase"}`); status != 200 {
		t.Fatalf("login on node A: %d %s", status, body)
	}
	if status := get(t, c, b+"/api/v1/session"); status != 200 {
		t.Errorf("node B does not know node A's session: %d", status)
	}
	old := slices.DeleteFunc(jar.Cookies(mustURL(t, a)), func(c *http.Cookie) bool { return c.Name == "gh_device" })
	if len(old) != 1 {
		t.Fatalf("cookies after login: %v, want the session (and gh_device)", old)
	}
	if status, _ := post(t, c, b+"/api/v1/logout", ""); status != 204 {
		t.Errorf("logout on node B: %d", status)
	}
	// The jar dropped the cookie on logout; present the old one to node A.
	if status := getWith(t, a+"/api/v1/session", old); status != 401 {
		t.Errorf("node A still takes the session signed out on node B: %d", status)
	}

	// This browser is a known device now: its failures count under the
	// device, on both nodes alike.
	for range 5 {
		post(t, c, a+"/api/v1/login", `{"organization":"pg","email":"nurse@pg.test","password":"not the passphrase"}`)
	}
	if status, body := post(t, c, b+"/api/v1/login", `{"organization":"pg","email":"nurse@pg.test","password":"a long enough passphrase"}`); status != 429 {
		t.Errorf("node B did not throttle after 5 failures on node A: %d %s", status, body)
	}
}

// TestSignInsFailClosedWhileTheDatabaseIsAwayAndRecover puts a TCP proxy
// between the server and PostgreSQL and cuts it: sign-ins answer 503 and
// readiness fails; when the proxy comes back, so does the server, with no
// restart.
func TestSignInsFailClosedWhileTheDatabaseIsAwayAndRecover(t *testing.T) {
	te := newTestEnv(t)
	pgURL := testdb.PostgresURL(t)
	te.useDatabase(pgURL)
	te.mustCLI("", "org", "create", "--slug", "pg", "--name", "PG", "--enforce-2fa=false")
	te.mustCLI("a long enough passphrase\n", "user", "create", "--org", "pg", "--email", "nurse@pg.test")

	u, _ := url.Parse(pgURL)
	p := newCutProxy(t, u.Host)
	u.Host = p.addr
	te.vars["GATEHOUSE_DATABASE_URL"] = u.String()
	base := te.serve()
	c := &http.Client{Timeout: 20 * time.Second}
	login := `{"organization":"pg","email":"nurse@pg.test","password":"a long enough passphrase"}`
	if status, body := post(t, c, base+"/api/v1/login", login); status != 200 {
		t.Fatalf("login before the cut: %d %s", status, body)
	}

	p.cut(true)
	status, body := post(t, c, base+"/api/v1/login", login)
	if status != 503 || !strings.Contains(body, `"code":"unavailable"`) {
		t.Errorf("login while the database is away: %d %s, want 503 unavailable", status, body)
	}
	if status := get(t, c, base+"/readyz"); status != 503 {
		t.Errorf("readyz while the database is away: %d, want 503", status)
	}

	p.cut(false)
	// The pool may still hold a connection that died in the cut; one
	// request may spend it. A handful of tries must bring the server back.
	ok := false
	for range 5 {
		if status, _ := post(t, c, base+"/api/v1/login", login); status == 200 {
			ok = true
			break
		}
	}
	if !ok {
		t.Error("the server did not recover after the database came back")
	}
}

func get(t *testing.T, c *http.Client, url string) int {
	t.Helper()
	res, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// cutProxy forwards TCP to a target until cut, when it closes every open
// connection and refuses new ones.
type cutProxy struct {
	addr   string
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]bool
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{addr: ln.Addr().String(), target: target, conns: map[net.Conn]bool{}}
	t.Cleanup(func() { ln.Close(); p.cut(true) })
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(in)
		}
	}()
	return p
}

func (p *cutProxy) serve(in net.Conn) {
	p.mu.Lock()
	if p.down {
		p.mu.Unlock()
		in.Close()
		return
	}
	p.mu.Unlock()
	out, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(context.Background(), "tcp", p.target)
	if err != nil {
		in.Close()
		return
	}
	p.mu.Lock()
	p.conns[in], p.conns[out] = true, true
	p.mu.Unlock()
	go func() { io.Copy(out, in); out.Close(); in.Close() }()
	io.Copy(in, out)
	in.Close()
	out.Close()
}

func (p *cutProxy) cut(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}
