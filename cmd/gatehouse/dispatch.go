package main

import (
	"context"
	"strings"
)

// subcommand is one verb of a command group, such as create in "org create".
type subcommand struct {
	name string
	run  func(ctx context.Context, e *env, args []string) error
}

// dispatch runs the subcommand that args[0] names, or answers with a usage
// error that lists every subcommand of group, from the one table.
func dispatch(ctx context.Context, e *env, group string, subs []subcommand, args []string) error {
	names := make([]string, len(subs))
	for i, s := range subs {
		names[i] = s.name
	}
	list := strings.Join(names, ", ")
	if n := len(names); n > 1 {
		list = strings.Join(names[:n-1], ", ") + " or " + names[n-1]
	}
	if len(args) == 0 {
		return usageError("%s needs a subcommand: %s", group, list)
	}
	for _, s := range subs {
		if s.name == args[0] {
			return s.run(ctx, e, args[1:])
		}
	}
	return usageError("unknown %s subcommand %q (%s)", group, args[0], list)
}
