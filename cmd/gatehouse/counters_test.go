package main

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"strings"
	"sync"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

// smsGate stands between the server and the Twilio stand-in and holds every
// SMS until each of total racers has either sent one or had its answer, so
// that the server's check of its send caps and its count of the send are as
// far apart as a slow provider can make them, without a sleep.
type smsGate struct {
	mu                       sync.Mutex
	total, entered, finished int
	opened                   bool
	open                     chan struct{}
}

func (g *smsGate) check() {
	if !g.opened && g.entered+g.finished >= g.total {
		g.opened = true
		close(g.open)
	}
}

func (g *smsGate) done() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.finished++
	g.check()
}

func startSMSGate(t *testing.T, to string, total int) (*smsGate, string) {
	t.Helper()
	g := &smsGate{total: total, open: make(chan struct{})}
	proxy := httputil.NewSingleHostReverseProxy(mustURL(t, to))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.entered++
		g.check()
		g.mu.Unlock()
		select {
		case <-g.open:
			proxy.ServeHTTP(w, r)
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	return g, srv.URL
}

// TestParallelPhonePromptsThroughTheAPI: 40 parallel POST
// /api/v1/login/phone of one pending sign-in, each naming the number to
// text (toll fraud), reach Twilio at most the per-user cap of times, on
// SQLite and on two PostgreSQL nodes.
func TestParallelPhonePromptsThroughTheAPI(t *testing.T) {
	const racers = 40
	for _, name := range []string{"sqlite", "two postgres nodes"} {
		t.Run(name, func(t *testing.T) {
			te := newTestEnv(t)
			if name != "sqlite" {
				te.useDatabase(testdb.PostgresURL(t))
			}
			tw := startTwilio(t)
			g, gateURL := startSMSGate(t, tw.URL, racers)
			te.vars["GATEHOUSE_SMS_PROVIDER"] = "twilio"
			te.vars["GATEHOUSE_TWILIO_ACCOUNT_SID"] = tw.sid
			te.vars["GATEHOUSE_TWILIO_AUTH_TOKEN"] = tw.token
			te.vars["GATEHOUSE_TWILIO_FROM"] = tw.from
			te.vars["GATEHOUSE_TWILIO_API_URL"] = gateURL
			te.mustCLI("", "org", "create", "--slug", "clinic", "--name", "North Clinic")
			te.mustCLI("", "org", "settings", "--org", "clinic", "--otp-method", "sms")
			te.mustCLI("a long enough passphrase\n", "user", "create", "--org", "clinic", "--email", "nurse@clinic.test")
			nodes := []string{te.serve()}
			if name != "sqlite" {
				nodes = append(nodes, te.serve())
			}
			c := newBrowser()
			_, body := post(t, c, nodes[0]+"/api/v1/login", `{"organization":"clinic","email":"nurse@clinic.test","password":"a long enough passphrase"}`)
			if got := status(t, body); got != "phone_required" {
				t.Fatalf("login: %s", body)
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			answers := map[int]int{}
			for i := range racers {
				node := nodes[i%len(nodes)]
				wg.Go(func() {
					defer g.done()
					req, _ := http.NewRequest("POST", node+"/api/v1/login/phone", strings.NewReader(`{"phone":"+358 40 123 4567"}`))
					req.Header.Set("Content-Type", "application/json")
					for _, ck := range c.Jar.Cookies(mustURL(t, nodes[0])) {
						req.AddCookie(ck)
					}
					res, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					res.Body.Close()
					mu.Lock()
					answers[res.StatusCode]++
					mu.Unlock()
				})
			}
			wg.Wait()
			tw.mu.Lock()
			sent := len(tw.sms)
			tw.mu.Unlock()
			if sent < 1 || sent > gatehouse.MaxSendsPerUser || answers[200] != sent || answers[429] != racers-sent {
				t.Errorf("%d parallel phone prompts sent %d SMS (answers %v); want 1 to %d, the rest 429",
					racers, sent, answers, gatehouse.MaxSendsPerUser)
			}
		})
	}
}
