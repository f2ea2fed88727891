package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gatehousehq/gatehouse/internal/keyring"
	"github.com/gatehousehq/gatehouse/internal/password"
	"github.com/gatehousehq/gatehouse/internal/sqlstore"
)

// runner is one benchmark's state: the servers, the data and the clients.
type runner struct {
	o      options
	params password.Params
	store  *sqlstore.DB
	pop    *population
	keys   *keyring.Ring
	base   string // the server
	bare   string // the bare handler
	server *proc
	client *http.Client
	meter  *meter
	// addrs hands out client addresses (X-Forwarded-For, and the pending
	// sign-ins prepared in process), one per sign-in that sends a code, so
	// the per-network send cap of docs/design.md §3 never answers instead.
	addrs atomic.Uint32
	log   io.Writer
}

func bench(ctx context.Context, o options, stdout, stderr io.Writer) error {
	p := password.DefaultParams()
	p.Memory, p.Time = uint32(o.argonMemory), uint32(o.argonTime)
	if err := p.Validate(); err != nil {
		return fmt.Errorf("-argon2-memory / -argon2-time: %w", err)
	}
	dir, err := os.MkdirTemp("", "gatehouse-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := o.gatehouse
	if bin == "" {
		if bin, err = buildGatehouse(ctx, dir, stderr); err != nil {
			return err
		}
	}
	databaseURL, database := "sqlite:"+filepath.Join(dir, "gatehouse.db"), "SQLite, a file in "+os.TempDir()
	var backends func() (int64, error)
	if o.postgres != "" {
		pg, err := scratchPostgres(ctx, o.postgres)
		if err != nil {
			return err
		}
		defer pg.drop()
		databaseURL, database = pg.url, fmt.Sprintf("PostgreSQL %s, scratch database %s", pg.version, pg.name)
		backends = func() (int64, error) { return pg.backendTicks(ctx) }
	}
	store, err := sqlstore.Open(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		return err
	}
	fmt.Fprintln(stderr, "hashing the seeded password once ...")
	phc, err := password.Hash(benchPassword, p, rand.Reader)
	if err != nil {
		return err
	}
	poolUsers := o.codes * ((2*o.rounds + 3) / 4) // each used at most 4 times: under the 5 sends per user of §3
	fmt.Fprintf(stderr, "seeding %d users and %d for the code figure ...\n", o.users, poolUsers)
	t0 := time.Now()
	pop, err := seed(ctx, store, o.users, poolUsers, phc)
	if err != nil {
		return err
	}
	seeded := time.Since(t0)
	secret, err := writeKey(filepath.Join(dir, "gatehouse.key"))
	if err != nil {
		return err
	}
	keys, err := keyring.New(secret)
	if err != nil {
		return err
	}
	fmt.Fprintln(stderr, "starting gatehouse and the bare handler ...")
	server, base, err := startGatehouse(ctx, bin, databaseURL, filepath.Join(dir, "gatehouse.key"), o)
	if err != nil {
		return err
	}
	defer server.stop()
	bare, bareBase, err := startBare(ctx)
	if err != nil {
		return err
	}
	defer bare.stop()
	r := &runner{o: o, params: p, store: store, pop: pop, keys: keys, base: base, bare: bareBase, server: server,
		client: newClient(max(o.clients, 1)), meter: &meter{procs: []*proc{server, bare}, extra: backends, threshold: o.disturbed}, log: stderr}

	var rep report
	rep.header = []string{
		"machine:  " + machine(),
		"database: " + database,
		fmt.Sprintf("seeded:   %d users in %d organizations (half enforce 2FA by e-mail, half do not) in %.1f s, through sqlstore in transactions of %d (not yet the bulk import), and %d users of bench-codes for the code figure",
			o.users, pop.orgs, seeded.Seconds(), seedBatch, poolUsers),
		fmt.Sprintf("hashes:   every seeded user has the same argon2id PHC string (m=%d KiB, t=%d, p=%d) of one password, hashed once and reused;", p.Memory, p.Time, p.Threads),
		"          bench-codes' users a hash of the cheap test parameters: it is checked only where this benchmark prepares their pending sign-ins, in process",
		fmt.Sprintf("rounds:   medians of %d rounds of %s a side, %d clients; a round is disturbed when the rest of the machine used more than %.2f cores, and is repeated (at most %d rounds a figure)",
			o.rounds, o.seconds, o.clients, o.disturbed, 2*o.rounds),
	}
	for _, f := range []func(context.Context, *report) error{r.signIns, r.sessions, r.codes, r.twoFactor, r.flood} {
		if err := f(ctx, &rep); err != nil {
			return err
		}
		if err := server.exited(); err != nil {
			return err
		}
	}
	rep.print(stdout)
	return nil
}

// machine is the CPU model, the cores and the Go version.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d cores, %s %s/%s", model, runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// nextAddr is a client address in a /24 of its own (the unit of the send
// caps), 10.0.1.1 and on.
func (r *runner) nextAddr() netip.Addr {
	n := r.addrs.Add(1)
	return netip.AddrFrom4([4]byte{10 + byte(n>>16), byte(n >> 8), byte(n), 1})
}

func jsonBody(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func (r *runner) loginCall(a account, forwarded string) call {
	return call{method: "POST", url: r.base + "/api/v1/login", forwarded: forwarded,
		body: jsonBody(map[string]string{"organization": a.org, "email": a.email, "password": benchPassword})}
}

// status reads the "status" of a JSON answer.
func status(res reply) string {
	var v struct {
		Status string `json:"status"`
	}
	json.Unmarshal(res.body, &v)
	return v.Status
}

func wantStatus(res reply, want string) error {
	if got := status(res); got != want {
		return fmt.Errorf("answer %s, want status %q", bytes.TrimSpace(res.body), want)
	}
	return nil
}

// failed turns a round's failures into the run's error.
func failed(what string, r rate) error {
	if r.failed == 0 {
		return nil
	}
	return fmt.Errorf("%s: %d of %d requests failed; the first: %v", what, r.failed, r.failed+r.ok, r.first)
}
