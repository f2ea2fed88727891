package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// The flag package prints its own problems over several lines and does not
// say how to fix them. Here its output is silenced, and a problem becomes
// one line that says what to write instead (diagnose); --help prints the
// command's usage to standard output (printUsage).

// newFlagSet returns a FlagSet whose --help prints the usage of the
// command to standard output; parse reports its problems.
func newFlagSet(e *env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() { printUsage(e.stdout, fs, synopsis) }
	return fs
}

// parse parses args into c with the variables of settings as fallback:
// flag.ErrHelp after printing the usage for --help, a usage error of one
// line for anything wrong.
func parse(fs *flag.FlagSet, c *Config, settings []setting, args []string, e *env) error {
	return parseFlags(fs, c, settings, args, e.getenv)
}

// printUsage prints the synopsis and the command's own flags. The settings
// shared with other commands (database, hashing, logs, …) are described in
// full for a command of the first word (serve, migrate, …), where they are
// the point, and only named for a subcommand of a group, whose usage is
// about its own flags.
func printUsage(w io.Writer, fs *flag.FlagSet, synopsis string) {
	fmt.Fprintf(w, "Usage: gatehouse %s\n", synopsis)
	own := flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
	shared := flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
	var sharedNames []string
	fs.VisitAll(func(f *flag.Flag) {
		if _, ok := settingNamed(f.Name); ok {
			shared.Var(f.Value, f.Name, f.Usage)
			sharedNames = append(sharedNames, "--"+f.Name)
			return
		}
		own.Var(f.Value, f.Name, f.Usage)
	})
	for _, s := range []*flag.FlagSet{own, shared} {
		s.SetOutput(w)
		s.VisitAll(func(f *flag.Flag) { f.DefValue = fs.Lookup(f.Name).DefValue })
	}
	group := strings.Contains(fs.Name(), " ")
	if hasFlags(own) {
		fmt.Fprint(w, "\nFlags:\n")
		own.PrintDefaults()
	}
	if len(sharedNames) == 0 {
		return
	}
	if group {
		fmt.Fprintf(w, "\nShared settings, each also from its GATEHOUSE_* variable (see gatehouse serve --help):\n  %s\n",
			strings.Join(sharedNames, " "))
		return
	}
	fmt.Fprint(w, "\nSettings (a flag wins over its variable):\n")
	shared.PrintDefaults()
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// settingNamed finds the setting of a flag name.
func settingNamed(name string) (setting, bool) {
	for _, s := range concat(serverSettings, demoSettings) {
		if s.flag == name {
			return s, true
		}
	}
	return setting{}, false
}

// diagnose finds the first problem of args as fs would parse them and says
// it in one line with what to write instead; "" when it finds none.
func diagnose(fs *flag.FlagSet, args []string) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || len(a) < 2 || a[0] != '-' {
			return ""
		}
		body := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		if body == "" || body[0] == '-' || body[0] == '=' {
			return fmt.Sprintf("bad flag syntax %q: write --NAME or --NAME=VALUE", a)
		}
		name, value, hasValue := strings.Cut(body, "=")
		f := fs.Lookup(name)
		if f == nil {
			if name == "h" || name == "help" {
				return ""
			}
			var names []string
			fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
			if near := nearest(name, names); near != "" {
				return fmt.Sprintf("unknown flag --%s: did you mean --%s?", name, near)
			}
			return fmt.Sprintf("unknown flag --%s", name)
		}
		if isBoolFlag(f) {
			if hasValue {
				if _, err := strconv.ParseBool(value); err != nil {
					return fmt.Sprintf("--%s=%s: write --%s=true or --%s=false", name, value, name, name)
				}
			}
			continue
		}
		if !hasValue {
			if i+1 == len(args) {
				return fmt.Sprintf("--%s needs a value: %s", name, valueHint(f, ""))
			}
			i++
			value = args[i]
		}
		if !valueParses(f, value) {
			return fmt.Sprintf("--%s %q: %s", name, value, valueHint(f, value))
		}
	}
	return ""
}

// boolAhead explains a positional argument that follows a boolean flag,
// such as the false of "--enforce-2fa false": a boolean flag takes its
// value after "=". at is the index of the argument in args.
func boolAhead(fs *flag.FlagSet, args []string, at int) string {
	if at < 1 || at > len(args)-1 {
		return ""
	}
	prev := strings.TrimPrefix(strings.TrimPrefix(args[at-1], "-"), "-")
	if !strings.HasPrefix(args[at-1], "-") || strings.Contains(prev, "=") {
		return ""
	}
	f := fs.Lookup(prev)
	if f == nil || !isBoolFlag(f) {
		return ""
	}
	if _, err := strconv.ParseBool(args[at]); err != nil {
		return ""
	}
	return fmt.Sprintf("--%s takes its value after \"=\": write --%s=%s", prev, prev, args[at])
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// valueParses reports whether v is a value of f's kind, without setting it.
func valueParses(f *flag.Flag, v string) bool {
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return true
	}
	var err error
	switch g.Get().(type) {
	case time.Duration:
		_, err = time.ParseDuration(v)
	case bool:
		_, err = strconv.ParseBool(v)
	case int:
		_, err = strconv.ParseInt(v, 0, strconv.IntSize)
	case uint:
		_, err = strconv.ParseUint(v, 0, strconv.IntSize)
	}
	return err == nil
}

// valueHint says what kind of value f takes, with an example made from v
// when it helps.
func valueHint(f *flag.Flag, v string) string {
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return "see --help"
	}
	switch g.Get().(type) {
	case time.Duration:
		if _, err := strconv.ParseUint(v, 10, 32); err == nil {
			return fmt.Sprintf("a duration such as %sh (or %sm, %ss)", v, v, v)
		}
		return "a duration such as 12h, 30m or 90s"
	case bool:
		return "true or false"
	case int, uint:
		return "a whole number"
	}
	return "see --help"
}
