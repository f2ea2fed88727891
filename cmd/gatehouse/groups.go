package main

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/gatehousehq/gatehouse"
)

// groupCommands is the table of "gatehouse group": organization groups,
// whose admins administer every organization of the group.
func groupCommands() []subcommand {
	return []subcommand{
		{"create", "create an organization group", groupCreate},
		{"list", "list the groups with their organizations and admins", groupList},
		{"add-org", "put an organization in a group", groupAddOrg},
		{"remove-org", "take an organization out of its group", groupRemoveOrg},
		{"add-admin", "make an admin of one of the group's organizations an admin of the whole group", groupAddAdmin},
		{"remove-admin", "take a user's admin rights over a group away", groupRemoveAdmin},
	}
}

// withAdminApp parses the flags of an operator command, opens the store
// and its services, runs f and closes them.
func withAdminApp(ctx context.Context, e *env, fs *flag.FlagSet, args []string, check func() error, f func(a *app) error) error {
	var c Config
	if err := parse(fs, &c, userSettings, args, e); err != nil {
		return err
	}
	if err := check(); err != nil {
		return err
	}
	return runAdminApp(ctx, e, &c, adminWiring{}, f)
}

// runAdminApp opens the store and the services of an operator command
// with c, runs f and closes them.
func runAdminApp(ctx context.Context, e *env, c *Config, w adminWiring, f func(a *app) error) error {
	a, err := newAdminApp(ctx, c, newLogger(e, c), w)
	if err != nil {
		return err
	}
	defer a.store.Close()
	return f(a)
}

// needs checks, after parsing, that the named flags were given.
func needs(cmd string, flags map[string]*string) func() error {
	return func() error {
		var missing []string
		for name, v := range flags {
			if strings.TrimSpace(*v) == "" {
				missing = append(missing, "--"+name)
			}
		}
		if len(missing) > 0 {
			return usageError("%s needs %s", cmd, strings.Join(slices.Sorted(slices.Values(missing)), " and "))
		}
		return nil
	}
}

func groupCreate(ctx context.Context, e *env, args []string) error {
	var slug, name string
	fs := newFlagSet(e, "group create", "group create --slug S --name N")
	fs.StringVar(&slug, "slug", "", "the group's short name (required)")
	fs.StringVar(&name, "name", "", "the group's display name, such as the owner of the clinics (required)")
	return withAdminApp(ctx, e, fs, args, needs("group create", map[string]*string{"slug": &slug, "name": &name}), func(a *app) error {
		g, err := a.accounts.CreateGroup(ctx, slug, name, gatehouse.OperatorActor())
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "created group %s (%s), id %s\n", g.Slug, g.Name, g.ID)
		return nil
	})
}

func groupList(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "group list", "group list")
	return withAdminApp(ctx, e, fs, args, func() error { return nil }, func(a *app) error {
		groups, err := a.accounts.Groups(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "GROUP\tNAME\tORGANIZATIONS\tADMINS")
		for _, g := range groups {
			orgs := make([]string, len(g.Organizations))
			for i, o := range g.Organizations {
				orgs[i] = o.Slug
			}
			admins := make([]string, len(g.Admins))
			for i, u := range g.Admins {
				admins[i] = u.Email
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", g.Group.Slug, g.Group.Name, orNone(strings.Join(orgs, ",")), orNone(strings.Join(admins, ",")))
		}
		return tw.Flush()
	})
}

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func groupAddOrg(ctx context.Context, e *env, args []string) error {
	var group, org string
	fs := newFlagSet(e, "group add-org", "group add-org --group G --org S")
	fs.StringVar(&group, "group", "", "the group's slug (required)")
	fs.StringVar(&org, "org", "", "the organization's slug (required)")
	return withAdminApp(ctx, e, fs, args, needs("group add-org", map[string]*string{"group": &group, "org": &org}), func(a *app) error {
		if err := a.accounts.SetOrganizationGroup(ctx, org, group, gatehouse.OperatorActor()); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "organization %s is in group %s: the group's admins administer it\n", org, group)
		return nil
	})
}

func groupRemoveOrg(ctx context.Context, e *env, args []string) error {
	var org string
	fs := newFlagSet(e, "group remove-org", "group remove-org --org S")
	fs.StringVar(&org, "org", "", "the organization's slug (required)")
	return withAdminApp(ctx, e, fs, args, needs("group remove-org", map[string]*string{"org": &org}), func(a *app) error {
		if err := a.accounts.SetOrganizationGroup(ctx, org, "", gatehouse.OperatorActor()); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "organization %s is in no group\n", org)
		return nil
	})
}

func groupAddAdmin(ctx context.Context, e *env, args []string) error {
	return groupAdminCommand(ctx, e, args, "add-admin", true)
}

func groupRemoveAdmin(ctx context.Context, e *env, args []string) error {
	return groupAdminCommand(ctx, e, args, "remove-admin", false)
}

func groupAdminCommand(ctx context.Context, e *env, args []string, verb string, add bool) error {
	var group, org, email string
	name := "group " + verb
	fs := newFlagSet(e, name, name+" --group G --org S --email E")
	fs.StringVar(&group, "group", "", "the group's slug (required)")
	fs.StringVar(&org, "org", "", "the slug of the user's own organization, one of the group's (required)")
	fs.StringVar(&email, "email", "", "the user's e-mail address (required)")
	return withAdminApp(ctx, e, fs, args, needs(name, map[string]*string{"group": &group, "org": &org, "email": &email}), func(a *app) error {
		if _, _, err := findUser(ctx, a, org, email); err != nil {
			return err
		}
		if add {
			if err := a.accounts.AddGroupAdmin(ctx, group, org, email, gatehouse.OperatorActor()); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s administers every organization of group %s; their sign-in follows the strictest two-factor policy of the group\n", email, group)
			return nil
		}
		if err := a.accounts.RemoveGroupAdmin(ctx, group, org, email, gatehouse.OperatorActor()); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s no longer administers group %s\n", email, group)
		return nil
	})
}
