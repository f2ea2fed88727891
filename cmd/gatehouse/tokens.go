package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// tokenCommands is the table of "gatehouse token": API tokens for the
// provisioning API.
func tokenCommands() []subcommand {
	return []subcommand{
		{"create", "create an API token and print it once", tokenCreate},
		{"list", "list the API tokens (never their secrets)", tokenList},
		{"revoke", "revoke an API token", tokenRevoke},
	}
}

// withKeyedApp is withAdminApp for commands that need the server's keys.
func withKeyedApp(ctx context.Context, e *env, cmd string, fs *flag.FlagSet, args []string, check func() error, f func(a *app) error) error {
	var c Config
	if err := parse(fs, &c, concat([]setting{sSecret, sOldSecrets}, userSettings), args, e); err != nil {
		return err
	}
	if err := check(); err != nil {
		return err
	}
	if c.SecretKeyFile == "" {
		return usageError("%s needs --secret-key-file (GATEHOUSE_SECRET_KEY_FILE): tokens are hashed with the server secret", cmd)
	}
	keys, _, err := loadKeys(&c, false)
	if err != nil {
		return err
	}
	return runAdminApp(ctx, e, &c, adminWiring{keys: keys}, f)
}

// parseLifetime reads --expires: a number of days such as 90d, a Go
// duration such as 12h, or "never".
func parseLifetime(v string) (time.Duration, error) {
	switch {
	case v == "" || v == "never":
		return 0, nil
	case strings.HasSuffix(v, "d"):
		n, err := strconv.Atoi(strings.TrimSuffix(v, "d"))
		if err != nil || n <= 0 {
			return 0, usageError("--expires %q: write a number of days such as 90d, a duration such as 12h, or never", v)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, usageError("--expires %q: write a number of days such as 90d, a duration such as 12h, or never", v)
	}
	return d, nil
}

func tokenCreate(ctx context.Context, e *env, args []string) error {
	var name, scope, expires string
	fs := newFlagSet(e, "token create", "token create --name N --scope SCOPE,SCOPE [--expires 90d|never]")
	fs.StringVar(&name, "name", "", "the token's name, as the audit log shows it (required)")
	fs.StringVar(&scope, "scope", "", "what it may do, comma-separated: "+strings.Join(gatehouse.APIScopes(), ", ")+" (required)")
	fs.StringVar(&expires, "expires", "never", "when it stops working: days such as 90d, a duration, or never")
	return withKeyedApp(ctx, e, "token create", fs, args, needs("token create", map[string]*string{"name": &name, "scope": &scope}), func(a *app) error {
		lifetime, err := parseLifetime(expires)
		if err != nil {
			return err
		}
		var scopes []string
		for _, s := range strings.Split(scope, ",") {
			if s = strings.TrimSpace(s); s != "" {
				scopes = append(scopes, s)
			}
		}
		token, t, err := a.accounts.CreateAPIToken(ctx, name, scopes, lifetime, gatehouse.OperatorActor())
		if err != nil {
			return err
		}
		until := "never expires"
		if !t.ExpiresAt.IsZero() {
			until = "expires " + t.ExpiresAt.Format(time.RFC3339)
		}
		fmt.Fprintf(e.stderr, "API token %s (%s), %s. It is shown this once; Gatehouse keeps only its hash:\n", t.Name, strings.Join(t.Scopes, ","), until)
		fmt.Fprintln(e.stdout, token)
		return nil
	})
}

func tokenList(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "token list", "token list")
	return withKeyedApp(ctx, e, "token list", fs, args, func() error { return nil }, func(a *app) error {
		tokens, err := a.accounts.APITokens(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tSCOPES\tCREATED\tEXPIRES\tLAST USED")
		for _, t := range tokens {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.Name, strings.Join(t.Scopes, ","), t.CreatedAt.Format(time.RFC3339), timeOr(t.ExpiresAt, "never"), timeOr(t.LastUsedAt, "-"))
		}
		return tw.Flush()
	})
}

func timeOr(t time.Time, none string) string {
	if t.IsZero() {
		return none
	}
	return t.Format(time.RFC3339)
}

func tokenRevoke(ctx context.Context, e *env, args []string) error {
	var name string
	fs := newFlagSet(e, "token revoke", "token revoke --name N")
	fs.StringVar(&name, "name", "", "the token's name (required)")
	return withKeyedApp(ctx, e, "token revoke", fs, args, needs("token revoke", map[string]*string{"name": &name}), func(a *app) error {
		if err := a.accounts.RevokeAPIToken(ctx, name, gatehouse.OperatorActor()); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "API token %s is revoked: its next call answers 401\n", name)
		return nil
	})
}
