// Command gatehouse-bench measures the figures of issue 12 (docs/design.md
// §8) on this machine: it starts the real gatehouse server on a temporary
// database, seeds it, and sets each rate of the product beside a reference
// taken in the same round (raw argon2id with the same parameters; a bare
// net/http handler behind the same client), as medians over rounds. Rounds
// that other load on the machine disturbed are repeated.
//
//	go run ./cmd/gatehouse-bench [-users 1000] [-postgres URL] [-rounds 5] [-seconds 5] [-clients 4]
//
// The server runs as a subprocess of the gatehouse binary (built with
// go build unless -gatehouse names one), in dev mode so that codes land in
// the outbox; the bare handler is this binary run again as a subprocess,
// so both ends of both comparisons are separate processes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gatehousehq/gatehouse/internal/password"
)

func main() {
	if os.Getenv(bareEnv) == "1" {
		os.Exit(serveBare(os.Stdout, os.Stderr))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// options are the flags of one run.
type options struct {
	users       int
	postgres    string
	rounds      int
	seconds     time.Duration
	clients     int
	flood       int
	codes       int
	argonMemory uint
	argonTime   uint
	gatehouse   string
	disturbed   float64
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	d := password.DefaultParams()
	var o options
	var seconds float64
	fs := flag.NewFlagSet("gatehouse-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: go run ./cmd/gatehouse-bench [flags]

Starts the gatehouse server on a temporary database (SQLite, or a scratch
database on the PostgreSQL server of -postgres), seeds it with -users users
in users/100 organizations, and prints for each figure of issue 12 the
product's rate, the reference's rate in the same round and their ratio, as
medians over -rounds rounds of -seconds seconds with -clients clients.
Progress goes to stderr, the table to stdout.

Flags:
`)
		fs.PrintDefaults()
	}
	fs.IntVar(&o.users, "users", 1000, "users to seed, in users/100 organizations (at least 2: half enforce 2FA by e-mail, half do not)")
	fs.StringVar(&o.postgres, "postgres", "", "PostgreSQL server URL (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable): a scratch database gatehouse_bench_<random> is created on it and dropped at the end; empty: a temporary SQLite file")
	fs.IntVar(&o.rounds, "rounds", 5, "rounds per figure; the figure is the median")
	fs.Float64Var(&seconds, "seconds", 5, "seconds of each side of a round")
	fs.IntVar(&o.clients, "clients", 4, "concurrent clients (and concurrent raw hashes)")
	fs.IntVar(&o.flood, "flood", 1000, "simultaneous sign-ins of the peak-memory figure")
	fs.IntVar(&o.codes, "codes", 2000, "pending sign-ins prepared per round of the code figure; the round ends early when they are used up")
	fs.UintVar(&o.argonMemory, "argon2-memory", uint(d.Memory), "argon2id memory in KiB, of the server and of the seeded hash (the server's default)")
	fs.UintVar(&o.argonTime, "argon2-time", uint(d.Time), "argon2id passes, of the server and of the seeded hash (the server's default)")
	fs.StringVar(&o.gatehouse, "gatehouse", "", "gatehouse binary to run; empty: go build ./cmd/gatehouse into a temporary folder")
	fs.Float64Var(&o.disturbed, "disturbed", 0.15, "a round is disturbed when the machine spent more CPU than this benchmark's processes by this many cores; it is repeated (at most 2x rounds in all)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	o.seconds = time.Duration(seconds * float64(time.Second))
	switch {
	case o.users < 2:
		return o, errors.New("-users must be at least 2")
	case o.rounds < 1, o.clients < 1, o.flood < 1, o.codes < 1:
		return o, errors.New("-rounds, -clients, -flood and -codes must be at least 1")
	case o.seconds < 100*time.Millisecond:
		return o, errors.New("-seconds must be at least 0.1")
	case o.disturbed <= 0:
		return o, errors.New("-disturbed must be positive")
	}
	return o, nil
}

// run is the whole benchmark; it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "gatehouse-bench: %v\n", err)
		return 2
	}
	if err := bench(ctx, o, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "gatehouse-bench: %v\n", err)
		return 1
	}
	return 0
}
