// Command gatehouse is the Gatehouse sign-in server and its admin CLI:
// serve, migrate, demo, backup, version and the groups org, user, client
// and keys (the tables of dispatch.go). It is the only package that imports
// all the others; it reads flags and GATEHOUSE_* variables into one Config
// and wires the pieces together explicitly.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	_ "time/tzdata" // organizations' time zones, also where the system has none

	"golang.org/x/term"

	"github.com/gatehousehq/gatehouse/internal/forwardauth"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, &env{
		args:   os.Args[1:],
		stdin:  os.Stdin,
		stdout: os.Stdout,
		stderr: os.Stderr,
		getenv: os.Getenv,
	}))
}

// env is the outside world of one run, so tests can run the real main.
type env struct {
	args   []string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	// listening, when set, is told the address the server listens on
	// (tests listen on port 0).
	listening func(net.Addr)
	// clock, when set, replaces this machine's clock in serve (tests run
	// a node whose clock is off).
	clock *clockOptions
	// assertions, when set, signs forward-auth's Remote-Assertion in
	// serve instead of the OpenID Connect provider's keys (tests).
	assertions forwardauth.Signer
}

// run runs one command and returns the exit status: 0 on success and for
// help, 2 for bad input (one line on stderr), 1 for anything else.
func run(ctx context.Context, e *env) int {
	if len(e.args) == 0 {
		usage(e.stderr)
		return 2
	}
	name, rest := e.args[0], e.args[1:]
	switch {
	case isHelp(name):
		if len(rest) > 0 {
			// "gatehouse help org" is "gatehouse org --help".
			return run(ctx, &env{args: append(slices.Clone(rest), "--help"), stdin: e.stdin, stdout: e.stdout, stderr: e.stderr, getenv: e.getenv})
		}
		usage(e.stdout)
		return 0
	case name == "--version" || name == "-version":
		name = "version"
	}
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
		if c.name != name {
			continue
		}
		if c.subs != nil {
			return exitStatus(e, dispatch(ctx, e, c.name, c.subs(), rest))
		}
		return exitStatus(e, c.run(ctx, e, rest))
	}
	if near := nearest(name, names); near != "" {
		fmt.Fprintf(e.stderr, "gatehouse: unknown command %q: did you mean %q? (gatehouse --help lists them)\n", name, near)
	} else {
		fmt.Fprintf(e.stderr, "gatehouse: unknown command %q (gatehouse --help lists them)\n", name)
	}
	return 2
}

// usage is the help of the binary: every command and subcommand with one
// line each, read from the tables of dispatch.go so that it cannot drift.
func usage(w io.Writer) {
	fmt.Fprint(w, "Gatehouse: a sign-in server with organization-wide two-factor authentication.\n\n"+
		"Usage: gatehouse COMMAND [SUBCOMMAND] [flags]\n\nCommands:\n")
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	for _, c := range commands() {
		if c.subs == nil {
			fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
			continue
		}
		for _, s := range c.subs() {
			fmt.Fprintf(tw, "  %s %s\t%s\n", c.name, s.name, s.summary)
		}
	}
	tw.Flush()
	fmt.Fprint(w, `
Run "gatehouse COMMAND --help" (or "gatehouse GROUP SUBCOMMAND --help") for
the flags of one; every setting can also be given by the GATEHOUSE_*
variable named in its help, and a flag wins over its variable. Passwords are
read from a prompt, or from the first line of standard input when it is not
a terminal; never from a flag.
`)
}

func exitStatus(e *env, err error) int {
	var ue *usageErr
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "gatehouse: %s\n", ue.msg)
		return 2
	default:
		if msg, ok := userMessage(err); ok {
			fmt.Fprintf(e.stderr, "gatehouse: %s\n", msg)
			return 2
		}
		fmt.Fprintf(e.stderr, "gatehouse: %v\n", err)
		return 1
	}
}

// newLogger logs as text on a terminal and as JSON otherwise.
func newLogger(e *env, c *Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(strings.ToUpper(c.LogLevel)))
	opts := &slog.HandlerOptions{Level: level}
	format := c.LogFormat
	if format == "auto" {
		format = "json"
		if f, ok := e.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			format = "text"
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(e.stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(e.stderr, opts))
}
