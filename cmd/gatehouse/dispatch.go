package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// The commands of the binary are two tables: commands (the first word) and,
// for a group such as org, its subcommands (the second word). Dispatch,
// the help of a group and the list of "gatehouse --help" are all read from
// them, so a command cannot be runnable and missing from the help.

// command is the first word of a command line: one that runs (serve), or a
// group of subcommands (org).
type command struct {
	name    string
	summary string
	// run runs a command that is not a group.
	run func(ctx context.Context, e *env, args []string) error
	// subs are the subcommands of a group.
	subs func() []subcommand
}

// subcommand is one verb of a command group, such as create in "org create".
type subcommand struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

// commands is the table of the first word.
func commands() []command {
	return []command{
		{name: "serve", summary: "run the server", run: cmdServe},
		{name: "migrate", summary: "apply database migrations and print the schema version", run: cmdMigrate},
		{name: "demo", summary: "run with a demo organization on an embedded database", run: cmdDemo},
		{name: "backup", summary: "copy a SQLite database while it serves", run: cmdBackup},
		{name: "version", summary: "print the version, commit, Go version and schema version", run: cmdVersion},
		{name: "org", summary: "organizations and their sign-in settings", subs: orgCommands},
		{name: "user", summary: "the users of an organization", subs: userCommands},
		{name: "group", summary: "organization groups: one admin for several organizations", subs: groupCommands},
		{name: "token", summary: "API tokens for provisioning organizations and users through the JSON API", subs: tokenCommands},
		{name: "client", summary: "applications that sign in through Gatehouse (OpenID Connect)", subs: clientCommands},
		{name: "keys", summary: "the server's secret keys and signing keys", subs: keysCommands},
		{name: "mail", summary: "check the outgoing e-mail", subs: mailCommands},
	}
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	switch arg {
	case "help", "-h", "-help", "--help":
		return true
	}
	return false
}

// dispatch runs the subcommand that args[0] names, prints the group's help
// for "help", "-h" or "--help", or answers with a usage error that suggests
// the nearest subcommand.
func dispatch(ctx context.Context, e *env, group string, subs []subcommand, args []string) error {
	names := make([]string, len(subs))
	for i, s := range subs {
		names[i] = s.name
	}
	if len(args) == 0 {
		return usageError("%s needs a subcommand: %s (gatehouse %s --help says what each does)", group, orList(names), group)
	}
	if isHelp(args[0]) {
		groupHelp(e.stdout, group, subs)
		return nil
	}
	for _, s := range subs {
		if s.name == args[0] {
			return s.run(ctx, e, args[1:])
		}
	}
	if near := nearest(args[0], names); near != "" {
		return usageError("unknown %s subcommand %q: did you mean %q? (gatehouse %s --help lists them)", group, args[0], near, group)
	}
	return usageError("unknown %s subcommand %q: use %s", group, args[0], orList(names))
}

// groupHelp prints a group's subcommands, one line each.
func groupHelp(w io.Writer, group string, subs []subcommand) {
	fmt.Fprintf(w, "Usage: gatehouse %s SUBCOMMAND [flags]\n\nSubcommands:\n", group)
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	for _, s := range subs {
		fmt.Fprintf(tw, "  %s %s\t%s\n", group, s.name, s.summary)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nRun \"gatehouse %s SUBCOMMAND --help\" for the flags of one.\n", group)
}

func orList(names []string) string {
	if n := len(names); n > 1 {
		return strings.Join(names[:n-1], ", ") + " or " + names[n-1]
	}
	return strings.Join(names, "")
}

// nearest returns the candidate closest to word in edit distance, when it
// is close enough to be a slip (one edit in a short word, up to two of
// five letters, three from eight), or one that word is the start of; ""
// otherwise.
func nearest(word string, candidates []string) string {
	best, bestDist := "", 0
	for _, c := range candidates {
		d := editDistance(word, c)
		if best == "" || d < bestDist {
			best, bestDist = c, d
		}
	}
	if best != "" && bestDist <= max(1, min(3, len([]rune(word))*2/5)) {
		return best
	}
	for _, c := range candidates {
		if len(word) >= 2 && strings.HasPrefix(c, word) {
			return c
		}
	}
	return ""
}

// editDistance is the edit distance of a and b in runes, counting the swap
// of two neighbours as one edit ("lsit" is one from "list"): the optimal
// string alignment distance.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
