package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for creating the scratch database
)

// proc is a subprocess of the benchmark: the server or the bare handler.
type proc struct {
	name string
	cmd  *exec.Cmd
	logs *tail
	done chan struct{}
}

// cpuTicks is the CPU the process has used so far, in clock ticks.
func (p *proc) cpuTicks() (int64, error) { return procCPU(strconv.Itoa(p.cmd.Process.Pid)) }

// stop ends the process: SIGTERM, then SIGKILL after 10 s.
func (p *proc) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

func (p *proc) exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited: %v\n%s", p.name, p.cmd.ProcessState, p.logs)
	default:
		return nil
	}
}

// start runs cmd with its stderr kept in a tail.
func start(name string, cmd *exec.Cmd) (*proc, error) {
	p := &proc{name: name, cmd: cmd, logs: &tail{max: 64 << 10}, done: make(chan struct{})}
	cmd.Stderr = p.logs
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { cmd.Wait(); close(p.done) }()
	return p, nil
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// environ is this process's environment without GATEHOUSE_* variables, so
// the server runs with the benchmark's settings only.
func environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GATEHOUSE_") {
			env = append(env, kv)
		}
	}
	return env
}

// buildGatehouse builds the server binary of this module into dir.
func buildGatehouse(ctx context.Context, dir string, stderr io.Writer) (string, error) {
	bin := filepath.Join(dir, "gatehouse")
	fmt.Fprintln(stderr, "building gatehouse (go build ./cmd/gatehouse) ...")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/gatehousehq/gatehouse/cmd/gatehouse")
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/gatehouse: %w (or give a built binary with -gatehouse)", err)
	}
	return bin, nil
}

// startGatehouse runs "gatehouse serve" in dev mode (codes go to the outbox
// in the database) on a free loopback port, trusting forwarding headers from
// loopback so the benchmark's clients can stand for many client addresses,
// and waits until it is ready.
func startGatehouse(ctx context.Context, bin, databaseURL, keyFile string, o options) (*proc, string, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	cmd := exec.Command(bin, "serve", "--dev", "--addr", addr, "--database-url", databaseURL,
		"--secret-key-file", keyFile, "--trusted-proxies", "127.0.0.1/32",
		"--argon2-memory", strconv.FormatUint(uint64(o.argonMemory), 10), "--argon2-time", strconv.FormatUint(uint64(o.argonTime), 10),
		"--log-format", "json", "--log-level", "warn")
	cmd.Env = environ()
	p, err := start("gatehouse", cmd)
	if err != nil {
		return nil, "", err
	}
	base := "http://" + addr
	if err := waitReady(ctx, p, base+"/readyz"); err != nil {
		p.stop()
		return nil, "", err
	}
	return p, base, nil
}

// bareEnv, set to 1, makes this binary serve the bare handler instead.
const bareEnv = "GATEHOUSE_BENCH_BARE"

// startBare runs this binary again as the bare handler and reads its
// address from its first line of output.
func startBare(ctx context.Context) (*proc, string, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, "", err
	}
	cmd := exec.Command(self)
	cmd.Env = append(environ(), bareEnv+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	p, err := start("bare handler", cmd)
	if err != nil {
		return nil, "", err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		p.stop()
		return nil, "", fmt.Errorf("bare handler: %w\n%s", err, p.logs)
	}
	base := "http://" + strings.TrimSpace(line)
	if err := waitReady(ctx, p, base+"/"); err != nil {
		p.stop()
		return nil, "", err
	}
	return p, base, nil
}

// serveBare is the reference of the HTTP figures: a handler that reads the
// request and answers a small JSON body, and nothing else.
func serveBare(stdout, stderr io.Writer) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintln(stdout, ln.Addr())
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"status":"ok"}`)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	fmt.Fprintln(stderr, srv.Serve(ln))
	return 1
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitReady(ctx context.Context, p *proc, u string) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		if err := p.exited(); err != nil {
			return err
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready at %s after 60 s\n%s", p.name, u, p.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// writeKey writes a new 32-byte server secret, readable by its owner only.
func writeKey(path string) ([]byte, error) {
	b := make([]byte, 32)
	rand.Read(b)
	return b, os.WriteFile(path, b, 0o600)
}

// scratch is a database of the benchmark's own on a PostgreSQL server.
type scratch struct {
	url, name, version string
	admin              *sql.DB
}

// scratchPostgres creates an empty database on the server of serverURL.
func scratchPostgres(ctx context.Context, serverURL string) (*scratch, error) {
	u, err := url.Parse(serverURL)
	if err != nil {
		return nil, fmt.Errorf("-postgres: %w", err)
	}
	admin, err := sql.Open("pgx", serverURL)
	if err != nil {
		return nil, fmt.Errorf("-postgres: %w", err)
	}
	s := &scratch{admin: admin}
	if err := admin.QueryRowContext(ctx, "SHOW server_version").Scan(&s.version); err != nil {
		admin.Close()
		return nil, fmt.Errorf("-postgres: %w", err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	s.name = "gatehouse_bench_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+s.name); err != nil {
		admin.Close()
		return nil, fmt.Errorf("-postgres: create database %s: %w", s.name, err)
	}
	u.Path = "/" + s.name
	s.url = u.String()
	return s, nil
}

// drop drops the database, whoever is still connected.
func (s *scratch) drop() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+s.name+" WITH (FORCE)")
	s.admin.Close()
}

// backendTicks is the CPU of the server's processes that serve this
// database now (the benchmark's work on a local server). A backend that
// ends within a round takes its CPU with it; the pools keep theirs open.
// On a remote server it reads nothing.
func (s *scratch) backendTicks(ctx context.Context) (int64, error) {
	rows, err := s.admin.QueryContext(ctx, "SELECT pid FROM pg_stat_activity WHERE datname = $1", s.name)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var sum int64
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			return 0, err
		}
		if t, err := procCPU(strconv.Itoa(pid)); err == nil {
			sum += t
		}
	}
	return sum, rows.Err()
}

// procCPU reads utime+stime of /proc/PID/stat ("self" for this process, all
// its threads: the clients, the raw hashes and the seeding).
func procCPU(pid string) (int64, error) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("unexpected /proc/" + pid + "/stat")
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state); utime is field 14, stime 15
	if len(f) < 13 {
		return 0, errors.New("unexpected /proc/" + pid + "/stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return ut + st, nil
}

// machineBusy reads the machine's busy CPU from /proc/stat's first line,
// in the same clock ticks: user, nice and system (guest time is inside
// user). Interrupts and softirqs are left out: loopback TCP's softirqs
// belong to no process, so the benchmark's own would count as others'.
func machineBusy() (int64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, errors.New("unexpected /proc/stat")
	}
	var busy int64
	for _, i := range []int{1, 2, 3} {
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0, err
		}
		busy += n
	}
	return busy, nil
}

// peakRSS reads a process's peak resident set (VmHWM) in bytes.
func peakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmHWM in /proc/PID/status")
}

// resetPeakRSS starts a new peak (Linux: 5 written to clear_refs).
func resetPeakRSS(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}
