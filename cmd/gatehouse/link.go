package main

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// userLink links a user to a federated identity explicitly: the one way a
// local admin (a user with a Gatehouse password) is signed in through LDAP
// or SAML2, and the way to move a user to a new identity. The provider and
// external ID are in the audit event of the refused sign-in
// (federated_admin_not_linked or federated_identity_mismatch).
func userLink(ctx context.Context, e *env, args []string) error {
	var c Config
	var slug, email string
	var replace bool
	var l gatehouse.FederatedIdentity
	fs := newFlagSet(e, "user link", "user link --org S --email E --provider P --external-id X [--replace]")
	fs.StringVar(&slug, "org", "", "the organization's slug (required)")
	fs.StringVar(&email, "email", "", "the user's e-mail address (required)")
	fs.StringVar(&l.Provider, "provider", "", `"ldap", or "saml2:" and the IdP's entity ID, as the audit log shows it (required)`)
	fs.StringVar(&l.ExternalID, "external-id", "", `the LDAP "uuid:…" or "dn:…", or the SAML2 persistent NameID, as the audit log shows it (required)`)
	fs.BoolVar(&replace, "replace", false, "drop the user's link at the provider first (a new directory, or an identity that moved)")
	if err := parse(fs, &c, userSettings, args, e); err != nil {
		return err
	}
	if slug == "" || email == "" || l.Provider == "" || l.ExternalID == "" {
		return usageError("user link needs --org, --email, --provider and --external-id")
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
	l.OrgID, l.UserID, l.CreatedAt = org.ID, u.ID, time.Now()
	if replace {
		if _, err := a.store.UnlinkFederatedIdentity(ctx, org.ID, l.Provider, u.ID); err != nil {
			return err
		}
	}
	if err := a.store.LinkFederatedIdentity(ctx, &l); err != nil {
		return err
	}
	// The link is saved; a failed audit write is still the command's
	// failure, so the operator knows it went unrecorded.
	if err := a.store.AppendAudit(ctx, &gatehouse.AuditEvent{OrgID: org.ID, UserID: u.ID, Event: gatehouse.AuditUserEdited,
		Reason: "federated_identity_linked", At: l.CreatedAt, Detail: map[string]string{"provider": l.Provider, "external_id": l.ExternalID}}); err != nil {
		return fmt.Errorf("linked, but the audit write failed: %w", err)
	}
	fmt.Fprintf(e.stdout, "%s: linked to %s at %s; that identity now signs in as this user\n", u.Email, l.ExternalID, l.Provider)
	return nil
}
