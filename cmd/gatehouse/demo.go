package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/accounts"
)

// Demo sign-ins. Their passwords are new random ones at every start and are
// printed once; the demo listens on loopback by default.
const (
	demoSlug        = "demo"
	demoOrgName     = "Demo Clinic"
	demoAdminEmail  = "admin@demo.test"
	demoMemberEmail = "member@demo.test"
)

func cmdDemo(ctx context.Context, e *env, args []string) error {
	var c Config
	fs := newFlagSet(e, "demo", "demo [flags]")
	if err := parse(fs, &c, demoSettings, args, e); err != nil {
		return err
	}
	c.Dev = true
	if err := c.validate(); err != nil {
		return err
	}
	c.DatabaseURL = "sqlite:" + filepath.Join(c.DataDir, "gatehouse.db")
	c.SecretKeyFile = filepath.Join(c.DataDir, "gatehouse.key")
	log := newLogger(e, &c)
	// The demo's own folder is the one folder Gatehouse makes: serve and
	// migrate never create a missing folder.
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return fmt.Errorf("demo data folder: %w", err)
	}
	keys, _, err := loadKeys(&c, true)
	if err != nil {
		return err
	}
	return serve(ctx, e, &c, log, keys, func(ctx context.Context, a *app, base string) error {
		return seedDemo(ctx, e, a, base, c.DataDir)
	})
}

// seedDemo makes sure the demo organization and its two users exist, gives
// them fresh passwords, and prints how to sign in.
func seedDemo(ctx context.Context, e *env, a *app, base, dataDir string) error {
	org, err := a.store.OrganizationBySlug(ctx, demoSlug)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		// The product's defaults: two-factor authentication enforced,
		// codes by e-mail, which land in the outbox.
		org, err = a.accounts.CreateOrganization(ctx, accounts.NewOrganization{Slug: demoSlug, Name: demoOrgName}, "")
	}
	if err != nil {
		return fmt.Errorf("demo organization: %w", err)
	}
	users := []struct {
		email, name string
		admin       bool
		password    string
	}{
		{demoAdminEmail, "Ada Admin", true, ""},
		{demoMemberEmail, "Max Member", false, ""},
	}
	for i := range users {
		u := &users[i]
		u.password = demoPassword()
		_, err := a.store.UserByEmail(ctx, org.ID, u.email)
		switch gatehouse.ErrorCode(err) {
		case gatehouse.ENOTFOUND:
			_, err = a.accounts.CreateUser(ctx, accounts.NewUser{OrgSlug: demoSlug, Email: u.email, Name: u.name, Admin: u.admin, Password: u.password}, "")
		case "":
			_, err = a.accounts.SetPassword(ctx, demoSlug, u.email, u.password, "")
		}
		if err != nil {
			return fmt.Errorf("demo user %s: %w", u.email, err)
		}
	}
	fmt.Fprintf(e.stdout, `
Gatehouse demo is running. Open %[1]s/o/%[2]s/login

  Organization  %[2]s (%[3]s): two-factor authentication %[9]s
  Admin         %[4]s   password: %[5]s
  Member        %[6]s  password: %[7]s
  Outbox        %[1]s/dev/outbox
  Data          %[8]s

Codes and e-mails land in the outbox instead of being sent. The passwords
are new at every start. Stop with Ctrl+C.

`, base, demoSlug, org.Name, users[0].email, users[0].password, users[1].email, users[1].password, dataDir, twoFactorWords(org.Settings))
	return nil
}

// demoPassword returns a random password that passes the policy: four
// groups of five letters and digits (100 bits).
func demoPassword() string {
	t := strings.ToLower(rand.Text())
	return t[0:5] + "-" + t[5:10] + "-" + t[10:15] + "-" + t[15:20]
}

func twoFactorWords(s gatehouse.PasswordSettings) string {
	if !s.EnforceTwoFactor {
		return "not enforced"
	}
	return "enforced, codes by " + map[gatehouse.OTPMethod]string{gatehouse.OTPEmail: "e-mail", gatehouse.OTPSMS: "SMS"}[s.OTPMethod]
}
