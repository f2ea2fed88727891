package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/accounts"
)

// The commands that act on one user named by --org and --email. They go
// through the accounts service as the operator (gatehouse.OperatorActor),
// like the admin pages go through it as an admin, and are audited there.

// findOrg finds an organization by slug; an unknown one is a usage error
// naming the slug.
func findOrg(ctx context.Context, a *app, slug string) (*gatehouse.Organization, error) {
	org, err := a.accounts.Organization(ctx, slug)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, usageError("no organization %q (gatehouse org list shows them)", strings.TrimSpace(slug))
	}
	return org, err
}

// findUser finds a user by e-mail in an organization; an unknown one is a
// usage error naming the e-mail and the organization.
func findUser(ctx context.Context, a *app, slug, email string) (*gatehouse.Organization, *gatehouse.User, error) {
	org, err := findOrg(ctx, a, slug)
	if err != nil {
		return nil, nil, err
	}
	_, u, err := a.accounts.UserByEmail(ctx, org.Slug, email)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		if norm, nerr := gatehouse.NormalizeEmail(email); nerr == nil {
			email = norm
		}
		return nil, nil, usageError("no user %s in %s (gatehouse user list --org %s shows them)", email, org.Slug, org.Slug)
	}
	if err != nil {
		return nil, nil, err
	}
	return org, u, nil
}

// oneUser runs a command on the user named by --org and --email. more,
// when set, adds the command's own flags and returns the check of their
// values, which runs before the database is opened; act does the work and
// says what was done.
func oneUser(ctx context.Context, e *env, name, synopsis string, args []string,
	more func(fs *flag.FlagSet) (check func() error),
	act func(a *app, org *gatehouse.Organization, u *gatehouse.User) (string, error)) error {
	var c Config
	var slug, email string
	fs := newFlagSet(e, "user "+name, synopsis)
	fs.StringVar(&slug, "org", "", "the organization's slug (required)")
	fs.StringVar(&email, "email", "", "the user's e-mail address (required)")
	var check func() error
	if more != nil {
		check = more(fs)
	}
	if err := parse(fs, &c, userSettings, args, e); err != nil {
		return err
	}
	if slug == "" || email == "" {
		return usageError("user %s needs --org and --email", name)
	}
	if check != nil {
		if err := check(); err != nil {
			return err
		}
	}
	a, err := newAdminApp(ctx, &c, newLogger(e, &c), adminWiring{})
	if err != nil {
		return err
	}
	defer a.store.Close()
	org, u, err := findUser(ctx, a, slug, email)
	if err != nil {
		return err
	}
	msg, err := act(a, org, u)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: %s\n", u.Email, msg)
	return nil
}

func userReset2FA(ctx context.Context, e *env, args []string) error {
	return oneUser(ctx, e, "reset-2fa", "user reset-2fa --org S --email E", args, nil, func(a *app, org *gatehouse.Organization, u *gatehouse.User) (string, error) {
		n, err := a.accounts.ResetTwoFactor(ctx, org.Slug, u.ID, gatehouse.OperatorActor())
		return fmt.Sprintf("%d remembered browsers forgotten, the user signed out everywhere; the next sign-in asks for a code", n), err
	})
}

func userUnlock(ctx context.Context, e *env, args []string) error {
	return oneUser(ctx, e, "unlock", "user unlock --org S --email E", args, nil, func(a *app, org *gatehouse.Organization, u *gatehouse.User) (string, error) {
		return "wrong-code count cleared; the user may enter codes again", a.accounts.Unlock(ctx, org.Slug, u.ID, gatehouse.OperatorActor())
	})
}

func userDisable(ctx context.Context, e *env, args []string) error {
	return oneUser(ctx, e, "disable", "user disable --org S --email E", args, nil, func(a *app, org *gatehouse.Organization, u *gatehouse.User) (string, error) {
		if u.Disabled {
			return "already disabled", nil
		}
		_, err := a.accounts.SetDisabled(ctx, org.Slug, u.ID, true, gatehouse.OperatorActor())
		return "disabled; their sessions, remembered browsers, pending sign-ins and password links have ended", err
	})
}

func userEnable(ctx context.Context, e *env, args []string) error {
	return oneUser(ctx, e, "enable", "user enable --org S --email E", args, nil, func(a *app, org *gatehouse.Organization, u *gatehouse.User) (string, error) {
		if !u.Disabled {
			return "already enabled", nil
		}
		_, err := a.accounts.SetDisabled(ctx, org.Slug, u.ID, false, gatehouse.OperatorActor())
		return "enabled; they can sign in again", err
	})
}

// userEdit changes only the fields whose flags are given.
func userEdit(ctx context.Context, e *env, args []string) error {
	var name, newEmail, phone, role string
	given := map[string]bool{}
	return oneUser(ctx, e, "edit", "user edit --org S --email E [--name N] [--new-email E] [--phone NUMBER] [--role member|admin]", args,
		func(fs *flag.FlagSet) func() error {
			fs.StringVar(&name, "name", "", `the user's new name ("" removes it)`)
			fs.StringVar(&newEmail, "new-email", "", "the user's new e-mail address (their sessions and remembered browsers end)")
			fs.StringVar(&phone, "phone", "", `the user's new phone number in international form, e.g. +358401234567 ("" removes it; their sessions and remembered browsers end)`)
			fs.StringVar(&role, "role", "", "member or admin")
			return func() error {
				fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
				if !given["name"] && !given["new-email"] && !given["phone"] && !given["role"] {
					return usageError("user edit needs at least one of --name, --new-email, --phone or --role")
				}
				if given["role"] && !gatehouse.Role(role).Valid() {
					return usageError("--role %q: write --role member or --role admin", role)
				}
				if given["new-email"] && strings.TrimSpace(newEmail) == "" {
					return usageError("--new-email is empty: a user always has an e-mail address")
				}
				return nil
			}
		},
		func(a *app, org *gatehouse.Organization, u *gatehouse.User) (string, error) {
			in := accounts.UserEdit{Name: u.Name, Email: u.Email, Phone: u.Phone, Role: u.Role}
			if given["name"] {
				in.Name = name
			}
			if given["new-email"] {
				in.Email = newEmail
			}
			if given["phone"] {
				in.Phone = phone
			}
			if given["role"] {
				in.Role = gatehouse.Role(role)
			}
			saved, err := a.accounts.EditUser(ctx, org.Slug, u.ID, in, gatehouse.OperatorActor())
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("saved: name %s, e-mail %s, phone %s, role %s", dash(saved.Name), saved.Email, dash(saved.Phone), saved.Role), nil
		})
}

// userDelete deletes a user for good. On a terminal the operator types
// the e-mail address to confirm; otherwise --yes is the confirmation, so
// that a script says so in writing.
func userDelete(ctx context.Context, e *env, args []string) error {
	var yes bool
	return oneUser(ctx, e, "delete", "user delete --org S --email E [--yes]", args,
		func(fs *flag.FlagSet) func() error {
			fs.BoolVar(&yes, "yes", false, "delete without asking (required when standard input is not a terminal)")
			return func() error {
				if !yes && !isTerminal(e.stdin) {
					return usageError("user delete cannot be undone: add --yes to confirm when standard input is not a terminal")
				}
				return nil
			}
		},
		func(a *app, org *gatehouse.Organization, u *gatehouse.User) (string, error) {
			if !yes {
				fmt.Fprintf(e.stderr, "Deleting %s from %s cannot be undone: their sessions, remembered browsers and links go with them.\n", u.Email, org.Slug)
				if err := confirmTyped(e.stdin, e.stderr, u.Email); err != nil {
					return "", err
				}
			}
			if err := a.accounts.DeleteUser(ctx, org.Slug, u.ID, gatehouse.OperatorActor()); err != nil {
				return "", err
			}
			return fmt.Sprintf("deleted from %s with their sessions (and the applications' tokens of those), remembered browsers, pending sign-ins, password links, known devices and federated links; the audit log keeps the e-mail", org.Slug), nil
		})
}

// maxConfirmLine bounds the typed confirmation.
const maxConfirmLine = 1024

// confirmTyped asks for want to be typed and refuses anything else.
func confirmTyped(r io.Reader, w io.Writer, want string) error {
	fmt.Fprintf(w, "Type the e-mail address to confirm: ")
	line, err := bufio.NewReaderSize(io.LimitReader(r, maxConfirmLine), maxConfirmLine).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read confirmation: %w", err)
	}
	if !strings.EqualFold(strings.TrimSpace(line), want) {
		return usageError("not confirmed (typed %q, not %s): nothing was deleted", strings.TrimSpace(line), want)
	}
	return nil
}

func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
