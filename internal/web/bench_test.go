package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/accounts"
	"github.com/gatehousehq/gatehouse/internal/clientip"
	"github.com/gatehousehq/gatehouse/internal/password"
	"github.com/gatehousehq/gatehouse/internal/phone"
	"github.com/gatehousehq/gatehouse/internal/signin"
	"github.com/gatehousehq/gatehouse/internal/sqlstore"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/web"
)

// BenchmarkAPISession, BenchmarkAPIVerify and BenchmarkAPIBareHandler run
// in one invocation so that the session check and the code verification
// can be set against a handler that does nothing, over the same loopback
// HTTP and the same client code, at the same moment (issue 12's figures;
// cmd/gatehouse-bench measures them on the real server):
//
//	go test -run '^$' -bench 'API' -benchtime 2s ./internal/web
func BenchmarkAPISession(b *testing.B) {
	bs := newBenchServer(b)
	res, err := bs.svc.Login(b.Context(), signin.LoginRequest{Organization: "open", Email: "open@bench.test", Password: testPassword, ClientIP: netip.MustParseAddr("192.0.2.1")})
	if err != nil {
		b.Fatal(err)
	}
	cookie := "gatehouse_session=" + res.SessionToken
	benchAPI(b, bs.srv.URL, func(int) (string, string, string) { return "GET", "/api/v1/session", cookie })
}

// BenchmarkAPIVerify verifies pending sign-ins prepared before the timer,
// each once, with its right code.
func BenchmarkAPIVerify(b *testing.B) {
	bs := newBenchServer(b)
	tokens, codes := bs.pending(b, b.N)
	benchAPI(b, bs.srv.URL, func(i int) (string, string, string) {
		return "POST /api/v1/login/verify", `{"code":"` + codes[i] + `"}`, "gatehouse_pending=" + tokens[i]
	})
}

func BenchmarkAPIBareHandler(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"ok"}`)
	}))
	b.Cleanup(srv.Close)
	benchAPI(b, srv.URL, func(int) (string, string, string) { return "GET", "/api/v1/session", "gatehouse_session=token" })
}

// benchAPI makes b.N requests from parallel clients over keep-alive
// loopback; req(i) gives the i-th request: a method (or "POST path" with
// a JSON body), the body or path, and the Cookie header. Every answer must
// be 200.
func benchAPI(b *testing.B, base string, req func(i int) (string, string, string)) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.Cleanup(client.CloseIdleConnections)
	var mu sync.Mutex
	next := 0
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mu.Lock()
			i := next
			next++
			mu.Unlock()
			method, x, cookie := req(i)
			var r *http.Request
			if m, path, ok := strings.Cut(method, " "); ok {
				r, _ = http.NewRequest(m, base+path, strings.NewReader(x))
				r.Header.Set("Content-Type", "application/json")
			} else {
				r, _ = http.NewRequest(method, base+x, nil)
			}
			r.Header.Set("Cookie", cookie)
			res, err := client.Do(r)
			if err != nil {
				b.Error(err)
				return
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				b.Errorf("%s: status %d, %s", method, res.StatusCode, body)
				return
			}
		}
	})
}

type benchServer struct {
	db   *sqlstore.DB
	svc  *signin.Service
	box  *benchCodes
	srv  *httptest.Server
	org  *gatehouse.Organization // "codes": 2FA by e-mail
	hash string                  // of testPassword
}

// newBenchServer is the web handler on a SQLite file, with the
// organization "open" (no 2FA, user open@bench.test) and "codes" (2FA by
// e-mail, users made by pending).
func newBenchServer(b *testing.B) *benchServer {
	ctx := context.Background()
	db := testdb.SQLite(b)
	h, err := password.NewHasher(password.HasherConfig{Params: password.TestParams()})
	if err != nil {
		b.Fatal(err)
	}
	box := &benchCodes{codes: map[string]string{}}
	svc, err := signin.New(signin.Config{Store: db, Hasher: h, Secret: make([]byte, 32), Messenger: box, NormalizePhone: phone.Normalize})
	if err != nil {
		b.Fatal(err)
	}
	s := gatehouse.DefaultPasswordSettings()
	s.EnforceTwoFactor = false
	open := &gatehouse.Organization{ID: gatehouse.NewID(), Slug: "open", Name: "Open", Settings: s}
	codes := &gatehouse.Organization{ID: gatehouse.NewID(), Slug: "codes", Name: "Codes", Settings: gatehouse.DefaultPasswordSettings()}
	for _, o := range []*gatehouse.Organization{open, codes} {
		if err := db.CreateOrganization(ctx, o); err != nil {
			b.Fatal(err)
		}
	}
	hash, _ := h.Hash(ctx, testPassword)
	if err := db.CreateUser(ctx, &gatehouse.User{ID: gatehouse.NewID(), OrgID: open.ID, Email: "open@bench.test", Role: gatehouse.RoleMember, PasswordHash: hash}); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	u, _ := url.Parse("http://" + srv.Listener.Addr().String())
	acc, err := accounts.New(accounts.Config{Store: db, Hasher: h, Policy: password.DefaultPolicy(), Phone: phone.Normalize, Secret: make([]byte, 32), PublicURL: u.String(), Messenger: box})
	if err != nil {
		b.Fatal(err)
	}
	handler, err := web.New(web.Config{SignIn: svc, Accounts: acc, Console: acc, Ready: &pinger{}, Orgs: db, ClientIP: clientip.New(nil), PublicURL: u})
	if err != nil {
		b.Fatal(err)
	}
	srv.Config.Handler = handler
	srv.Start()
	b.Cleanup(srv.Close)
	return &benchServer{db: db, svc: svc, box: box, srv: srv, org: codes, hash: hash}
}

// pending makes n pending sign-ins of as many new users of "codes", each
// from an address of its own (the send caps), and returns their cookie
// values and codes.
func (bs *benchServer) pending(b *testing.B, n int) (tokens, codes []string) {
	ctx := context.Background()
	users := make([]*gatehouse.User, n)
	for i := range users {
		users[i] = &gatehouse.User{ID: gatehouse.NewID(), OrgID: bs.org.ID, Email: fmt.Sprintf("c%d@bench.test", i), Role: gatehouse.RoleMember, PasswordHash: bs.hash}
	}
	if err := bs.db.CreateUsers(ctx, users); err != nil {
		b.Fatal(err)
	}
	for i, u := range users {
		ip := netip.AddrFrom4([4]byte{10 + byte(i>>16), byte(i >> 8), byte(i), 1})
		res, err := bs.svc.Login(ctx, signin.LoginRequest{Organization: "codes", Email: u.Email, Password: testPassword, ClientIP: ip})
		if err != nil {
			b.Fatal(err)
		}
		if res.Pending == nil {
			b.Fatalf("%s signed in without a code", u.Email)
		}
		tokens, codes = append(tokens, res.Pending.Token), append(codes, bs.box.take(u.Email))
	}
	return tokens, codes
}

// benchCodes keeps the last code sent to each address.
type benchCodes struct {
	mu    sync.Mutex
	codes map[string]string
}

func (c *benchCodes) SendCode(_ context.Context, m gatehouse.CodeMessage) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.codes[m.To] = m.Code
	return nil
}

func (c *benchCodes) Notify(context.Context, gatehouse.Notice) error { return nil }

func (c *benchCodes) take(to string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.codes[to]
}
