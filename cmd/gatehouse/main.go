// Command gatehouse is the Gatehouse sign-in server and its admin CLI:
// serve, migrate, demo, org and user. It is the only package that imports
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
	"strings"
	"syscall"

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

const usage = `Gatehouse: a sign-in server with organization-wide two-factor authentication.

Usage:
  gatehouse serve     [flags]   run the server
  gatehouse migrate   [flags]   apply database migrations
  gatehouse demo      [flags]   run with a demo organization on an embedded database
  gatehouse backup --to FILE [--force]   copy a SQLite database while it serves
  gatehouse org create --slug S --name N [--enforce-2fa=true|false]
  gatehouse org list
  gatehouse org settings --org S [--enforce-2fa=true|false] [--otp-method sms|email]
                         [--skip-networks CIDR,CIDR] [--remember-days N]
  gatehouse user create --org S --email E [--name N] [--phone +E164] [--admin]
  gatehouse user list --org S
  gatehouse user set-password --org S --email E
  gatehouse user reset-2fa --org S --email E    forget remembered browsers, sign the user out everywhere
  gatehouse user unlock --org S --email E       clear a lock from wrong codes
  gatehouse keys check                          what still depends on an old secret key
  gatehouse keys rotate                         new OpenID Connect signing keys (old ones stay published)
  gatehouse client create --name N --redirect-uri URI [--redirect-uri URI…]
                         [--post-logout-redirect-uri URI] [--public] [--org SLUG…]
  gatehouse client list | delete --id ID | rotate-secret --id ID
                         applications that sign in through Gatehouse (OpenID Connect)
  gatehouse user link --org S --email E --provider P --external-id X
                         let an LDAP or SAML2 identity sign in as this user
  gatehouse mail test --to ADDRESS              send a test message through the configured SMTP server

Passwords are read from a prompt, or from the first line of standard input
when it is not a terminal; never from a flag.
Run "gatehouse COMMAND --help" for the flags of a command; every flag can also
be set by the GATEHOUSE_* variable named in its help.
`

// run runs one command and returns the exit status: 0 on success, 2 for bad
// input (one line on stderr), 1 for anything else.
func run(ctx context.Context, e *env) int {
	if len(e.args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return 2
	}
	cmd, rest := e.args[0], e.args[1:]
	var err error
	switch cmd {
	case "serve":
		err = cmdServe(ctx, e, rest)
	case "demo":
		err = cmdDemo(ctx, e, rest)
	case "migrate":
		err = cmdMigrate(ctx, e, rest)
	case "backup":
		err = cmdBackup(ctx, e, rest)
	case "org":
		err = cmdOrg(ctx, e, rest)
	case "user":
		err = cmdUser(ctx, e, rest)
	case "keys":
		err = cmdKeys(ctx, e, rest)
	case "client":
		err = cmdClient(ctx, e, rest)
	case "mail":
		err = cmdMail(ctx, e, rest)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(e.stdout, usage)
		return 0
	default:
		fmt.Fprintf(e.stderr, "gatehouse: unknown command %q (try \"gatehouse help\")\n", cmd)
		return 2
	}
	return exitStatus(e, err)
}

func exitStatus(e *env, err error) int {
	var ue *usageErr
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errFlagParse):
		return 2 // the flag package has printed the problem
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

var errFlagParse = errors.New("bad flags")

// newFlagSet returns a FlagSet that prints its problems and usage to
// stderr and whose parse errors map to exit status 2.
func newFlagSet(e *env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: gatehouse %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse wraps parseFlags so that flag-package errors become errFlagParse.
func parse(fs *flag.FlagSet, c *Config, settings []setting, args []string, e *env) error {
	err := parseFlags(fs, c, settings, args, e.getenv)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		var ue *usageErr
		if !errors.As(err, &ue) {
			return errFlagParse
		}
	}
	return err
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
