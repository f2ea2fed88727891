package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/accounts"
	"github.com/gatehousehq/gatehouse/internal/ldap"
	"github.com/gatehousehq/gatehouse/internal/saml"
)

func cmdMigrate(ctx context.Context, e *env, args []string) error {
	var c Config
	fs := newFlagSet(e, "migrate", "migrate [--database-url URL] [--allow-postgres-database]")
	if err := parse(fs, &c, migrateSettings, args, e); err != nil {
		return err
	}
	log := newLogger(e, &c)
	db, r, err := migrateStore(ctx, &c, log)
	if err != nil {
		return err
	}
	defer db.Close()
	r.log(log)
	fmt.Fprintf(e.stdout, "database %s is at schema version %d (was %d); %d organizations\n", r.where, r.after, r.before, r.organizations)
	return nil
}

// orgCommands is the table of "gatehouse org".
func orgCommands() []subcommand {
	return []subcommand{
		{"create", "create an organization (two-factor authentication on by e-mail unless told otherwise)", orgCreate},
		{"list", "list the organizations", orgList},
		{"edit", "change an organization's name, time zone or country", orgEdit},
		{"settings", "show or change an organization's sign-in settings", orgSettings},
		{"ldap", "set up sign-in through an LDAP directory", orgLDAP},
		{"saml", "set up sign-in through a SAML2 identity provider", orgSAML},
	}
}

func orgCreate(ctx context.Context, e *env, args []string) error {
	var c Config
	var slug, name, zone, country string
	enforce := true
	fs := newFlagSet(e, "org create", "org create --slug S --name N [--enforce-2fa=true|false] [--time-zone ZONE] [--country CC]")
	fs.StringVar(&slug, "slug", "", "the organization's short name in addresses (required)")
	fs.StringVar(&name, "name", "", "the organization's display name (required)")
	fs.BoolVar(&enforce, "enforce-2fa", true, "enforce two-factor authentication for all users (the default)")
	fs.StringVar(&zone, "time-zone", "", "the time zone its times are shown in, such as Europe/Helsinki (default: the server's)")
	fs.StringVar(&country, "country", "", "the country phone numbers without a country code are read in, such as FI")
	if err := parse(fs, &c, userSettings, args, e); err != nil {
		return err
	}
	if slug == "" || name == "" {
		return usageError("org create needs --slug and --name")
	}
	a, err := newAdminApp(ctx, &c, newLogger(e, &c), adminWiring{})
	if err != nil {
		return err
	}
	defer a.store.Close()
	org, err := a.accounts.CreateOrganization(ctx, accounts.NewOrganization{Slug: slug, Name: name, EnforceTwoFactor: &enforce,
		TimeZone: zone, Country: country}, "")
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "created organization %s (%s), id %s, two-factor %s by %s\n",
		org.Slug, org.Name, org.ID, onOff(org.Settings.EnforceTwoFactor), org.Settings.OTPMethod)
	return nil
}

func orgEdit(ctx context.Context, e *env, args []string) error {
	var c Config
	var slug string
	var name, zone, country optString
	fs := newFlagSet(e, "org edit", "org edit --org S [--name N] [--time-zone ZONE] [--country CC]")
	fs.StringVar(&slug, "org", "", "the organization's slug (required)")
	fs.Var(&name, "name", "the organization's display name")
	fs.Var(&zone, "time-zone", `the time zone its times are shown in, such as Europe/Helsinki ("" for the server's)`)
	fs.Var(&country, "country", `the country phone numbers without a country code are read in, such as FI ("" for none)`)
	if err := parse(fs, &c, userSettings, args, e); err != nil {
		return err
	}
	if slug == "" {
		return usageError("org edit needs --org")
	}
	a, err := newAdminApp(ctx, &c, newLogger(e, &c), adminWiring{})
	if err != nil {
		return err
	}
	defer a.store.Close()
	org, err := findOrg(ctx, a, slug)
	if err != nil {
		return err
	}
	in := accounts.OrgProfile{Name: name.or(org.Name), TimeZone: zone.or(org.TimeZone), Country: country.or(org.Country)}
	if org, err = a.accounts.EditOrganization(ctx, slug, in, gatehouse.OperatorActor()); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "organization %s: name %q, time zone %s, country %s\n", org.Slug, org.Name, cmp.Or(org.TimeZone, "the server's"), cmp.Or(org.Country, "none"))
	return nil
}

// optString is a string flag that knows whether it was given.
type optString struct {
	v   string
	set bool
}

func (o *optString) String() string     { return o.v }
func (o *optString) Set(v string) error { o.v, o.set = v, true; return nil }
func (o *optString) or(def string) string {
	if o.set {
		return o.v
	}
	return def
}

func orgList(ctx context.Context, e *env, args []string) error {
	var c Config
	fs := newFlagSet(e, "org list", "org list")
	if err := parse(fs, &c, dataSettings, args, e); err != nil {
		return err
	}
	db, err := openStore(ctx, c.DatabaseURL, c.Dev)
	if err != nil {
		return err
	}
	defer db.Close()
	orgs, err := db.ListOrganizations(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SLUG\tNAME\tID\t2FA\tMETHOD\tSIGN-IN")
	for _, o := range orgs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", o.Slug, o.Name, o.ID, onOff(o.Settings.EnforceTwoFactor), o.Settings.OTPMethod, o.Settings.AuthMethod)
	}
	return tw.Flush()
}

// userCommands is the table of "gatehouse user".
func userCommands() []subcommand {
	return []subcommand{
		{"create", "create a user (the password is asked for)", userCreate},
		{"import", "import users in bulk from CSV or JSON Lines (bcrypt and PBKDF2 hashes too)", userImport},
		{"list", "list the users of an organization", userList},
		{"edit", "change a user's name, e-mail, phone or role", userEdit},
		{"set-password", "set a user's password and end their sessions", userSetPassword},
		{"reset-2fa", "forget remembered browsers and sign the user out everywhere", userReset2FA},
		{"unlock", "clear a lock from wrong codes", userUnlock},
		{"disable", "stop a user from signing in and end their sessions", userDisable},
		{"enable", "let a disabled user sign in again", userEnable},
		{"delete", "delete a user with their sessions, browsers and links", userDelete},
		{"link", "let an LDAP or SAML2 identity sign in as this user", userLink},
	}
}

func userCreate(ctx context.Context, e *env, args []string) error {
	var c Config
	var in accounts.NewUser
	fs := newFlagSet(e, "user create", "user create --org S --email E [--name N] [--phone +E164] [--admin]")
	fs.StringVar(&in.OrgSlug, "org", "", "the organization's slug (required)")
	fs.StringVar(&in.Email, "email", "", "the user's e-mail address (required)")
	fs.StringVar(&in.Name, "name", "", "the user's name")
	fs.StringVar(&in.Phone, "phone", "", "the user's phone number in international form, e.g. +358401234567")
	fs.BoolVar(&in.Admin, "admin", false, "make the user an admin of the organization")
	if err := parse(fs, &c, userSettings, args, e); err != nil {
		return err
	}
	if in.OrgSlug == "" || in.Email == "" {
		return usageError("user create needs --org and --email")
	}
	a, err := newAdminApp(ctx, &c, newLogger(e, &c), adminWiring{})
	if err != nil {
		return err
	}
	defer a.store.Close()
	org, err := findOrg(ctx, a, in.OrgSlug)
	if err != nil {
		return err
	}
	// Everything but the password is checked before it is asked for.
	if err := a.accounts.CheckNewUser(ctx, in); err != nil {
		return err
	}
	// Users of LDAP and SAML2 organizations have no local password.
	if org.Settings.AuthMethod == gatehouse.AuthPassword {
		if in.Password, err = readPassword(e, "Password for "+in.Email); err != nil {
			return err
		}
	}
	u, err := a.accounts.CreateUser(ctx, in, "")
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "created %s %s in %s, id %s\n", u.Role, u.Email, in.OrgSlug, u.ID)
	return nil
}

func userList(ctx context.Context, e *env, args []string) error {
	var c Config
	var slug string
	fs := newFlagSet(e, "user list", "user list --org S")
	fs.StringVar(&slug, "org", "", "the organization's slug (required)")
	if err := parse(fs, &c, userSettings, args, e); err != nil {
		return err
	}
	if slug == "" {
		return usageError("user list needs --org")
	}
	a, err := newAdminApp(ctx, &c, newLogger(e, &c), adminWiring{})
	if err != nil {
		return err
	}
	defer a.store.Close()
	if _, err := findOrg(ctx, a, slug); err != nil {
		return err
	}
	_, users, err := a.accounts.ListUsers(ctx, slug)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EMAIL\tNAME\tROLE\tPHONE\tID\tSTATE")
	for _, u := range users {
		var state []string
		if u.Disabled {
			state = append(state, "disabled")
		}
		if u.TwoFactorExempt {
			state = append(state, "2fa-exempt")
		}
		if u.PasswordHash == "" {
			state = append(state, "no-password")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", u.Email, dash(u.Name), u.Role, dash(u.Phone), u.ID, dash(strings.Join(state, ",")))
	}
	return tw.Flush()
}

func userSetPassword(ctx context.Context, e *env, args []string) error {
	var c Config
	var slug, email string
	fs := newFlagSet(e, "user set-password", "user set-password --org S --email E")
	fs.StringVar(&slug, "org", "", "the organization's slug (required)")
	fs.StringVar(&email, "email", "", "the user's e-mail address (required)")
	if err := parse(fs, &c, userSettings, args, e); err != nil {
		return err
	}
	if slug == "" || email == "" {
		return usageError("user set-password needs --org and --email")
	}
	a, err := newAdminApp(ctx, &c, newLogger(e, &c), adminWiring{})
	if err != nil {
		return err
	}
	defer a.store.Close()
	if _, _, err := findUser(ctx, a, slug, email); err != nil {
		return err
	}
	pw, err := readPassword(e, "New password for "+email)
	if err != nil {
		return err
	}
	u, err := a.accounts.SetPassword(ctx, slug, email, pw, "")
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "password set for %s in %s; their sessions have ended\n", u.Email, slug)
	return nil
}

// orgSettings changes the flags given and prints the settings; with no
// flags it only prints them.
func orgSettings(ctx context.Context, e *env, args []string) error {
	var c Config
	var slug, method, networks, authMethod string
	var enforce bool
	var days int
	fs := newFlagSet(e, "org settings", "org settings --org S [--enforce-2fa=true|false] [--otp-method sms|email] [--skip-networks CIDR,CIDR] [--remember-days N] [--auth-method password|ldap|saml2]")
	fs.StringVar(&slug, "org", "", "the organization's slug (required)")
	fs.BoolVar(&enforce, "enforce-2fa", true, "enforce two-factor authentication for all users in this organization")
	fs.StringVar(&method, "otp-method", "", "one-time passcode retrieval method: sms or email")
	fs.StringVar(&networks, "skip-networks", "", "comma-separated networks in CIDR notation that skip two-factor verification (\"\" for none)")
	fs.IntVar(&days, "remember-days", 30, "days a verification is remembered on a browser (0: ask at every sign-in)")
	fs.StringVar(&authMethod, "auth-method", "", "sign-in method: password, ldap or saml2 (ldap and saml2 must be set up first)")
	// The SMS provider is read from serve's own flags and variables: codes
	// by SMS are refused here, as on the page, when serve could not send
	// them.
	if err := parse(fs, &c, concat(userSettings, []setting{sDev, sSMTP}, smsSettings), args, e); err != nil {
		return err
	}
	if slug == "" {
		return usageError("org settings needs --org")
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	provider, err := newSMSProvider(&c, nil)
	if err != nil {
		return err
	}
	if given["otp-method"] && gatehouse.OTPMethod(strings.ToLower(method)) == gatehouse.OTPSMS && provider == nil {
		return usageError("--otp-method sms: no SMS provider is configured, so no code could be sent and every sign-in of %s would fail; configure one as serve has it (--sms-provider twilio or webhook, or GATEHOUSE_SMS_PROVIDER with its settings) and give it to this command too", slug)
	}
	a, err := newAdminApp(ctx, &c, newLogger(e, &c), adminWiring{operator: true, sms: provider != nil})
	if err != nil {
		return err
	}
	defer a.store.Close()
	org, err := findOrg(ctx, a, slug)
	if err != nil {
		return err
	}
	next := org.Settings
	if given["enforce-2fa"] {
		next.EnforceTwoFactor = enforce
	}
	if given["otp-method"] {
		next.OTPMethod = gatehouse.OTPMethod(strings.ToLower(method))
	}
	if given["skip-networks"] {
		var entries []string
		if strings.TrimSpace(networks) != "" {
			entries = strings.Split(networks, ",")
		}
		if next.SkipNetworks, err = gatehouse.ParseSkipNetworks(entries); err != nil {
			return err
		}
	}
	if given["remember-days"] {
		next.RememberDays = days
	}
	if given["auth-method"] {
		next.AuthMethod = gatehouse.AuthMethod(strings.ToLower(authMethod))
		if next.AuthMethod != gatehouse.AuthPassword && !given["enforce-2fa"] {
			// 2FA is not available with LDAP or SAML2 (docs/design.md §2).
			next.EnforceTwoFactor = false
		}
	}
	if len(given) > 1 || (len(given) == 1 && !given["org"]) {
		// The operator is trusted, and naming --enforce-2fa=false is the
		// confirmation that the pages ask for.
		if org, err = a.accounts.UpdateSettings(ctx, slug, accounts.SettingsChange{Settings: next, ConfirmTwoFactorOff: true},
			gatehouse.OperatorActor()); err != nil {
			return err
		}
	}
	nets := make([]string, len(org.Settings.SkipNetworks))
	for i, p := range org.Settings.SkipNetworks {
		nets[i] = p.String()
	}
	fmt.Fprintf(e.stdout, "organization %s (%s)\n  enforce two-factor: %t\n  code method: %s\n  skip networks: %s\n  remember days: %d\n  sign-in method: %s\n",
		org.Slug, org.Name, org.Settings.EnforceTwoFactor, org.Settings.OTPMethod, dash(strings.Join(nets, ", ")), org.Settings.RememberDays, org.Settings.AuthMethod)
	return nil
}

// orgLDAP sets up an organization's LDAP sign-in. The service account's
// password is read like a user's password, never from a flag.
func orgLDAP(ctx context.Context, e *env, args []string) error {
	var c Config
	var slug, caFile string
	var lc ldap.Config
	fs := newFlagSet(e, "org ldap", "org ldap --org S --url ldaps://HOST [--ca-file F] (--bind-dn-template T | --service-dn DN --search-base B --search-filter F) [flags]")
	fs.StringVar(&slug, "org", "", "the organization's slug (required)")
	fs.StringVar(&lc.URL, "url", "", "ldaps://host:636, or ldap://host:389 (StartTLS is then required unless the host is loopback)")
	fs.StringVar(&caFile, "ca-file", "", "PEM file of the CA that signed the directory's certificate (default: the system's)")
	fs.BoolVar(&lc.InsecureNoTLS, "insecure-no-tls", false, "plain ldap:// without StartTLS; allowed only to a loopback host")
	fs.StringVar(&lc.BindDNTemplate, "bind-dn-template", "", "DN to bind as, with {username}, e.g. uid={username},ou=people,dc=example,dc=com")
	fs.StringVar(&lc.ServiceDN, "service-dn", "", "service account that searches for the user (its password is asked for)")
	fs.StringVar(&lc.SearchBase, "search-base", "", "where to search for users, e.g. ou=people,dc=example,dc=com")
	fs.StringVar(&lc.SearchFilter, "search-filter", "", "filter with {username}, e.g. (&(objectClass=person)(mail={username}))")
	fs.StringVar(&lc.EmailAttr, "email-attr", "", "attribute with the e-mail address (default mail)")
	fs.StringVar(&lc.NameAttr, "name-attr", "", "attribute with the name (default cn)")
	fs.StringVar(&lc.PhoneAttr, "phone-attr", "", "attribute with the phone number (default telephoneNumber)")
	fs.DurationVar(&lc.Timeout, "timeout", 0, "bound of every LDAP call (default 5s)")
	if err := parse(fs, &c, concat([]setting{sSecret, sOldSecrets}, userSettings), args, e); err != nil {
		return err
	}
	if slug == "" || lc.URL == "" {
		return usageError("org ldap needs --org and --url")
	}
	if c.SecretKeyFile == "" {
		return usageError("org ldap needs --secret-key-file (GATEHOUSE_SECRET_KEY_FILE): the set-up is sealed with the server secret")
	}
	keys, _, err := loadKeys(&c, false)
	if err != nil {
		return err
	}
	if caFile != "" {
		b, err := os.ReadFile(caFile)
		if err != nil {
			return usageError("--ca-file: %v", err)
		}
		lc.CACertPEM = string(b)
	}
	a, err := newAdminApp(ctx, &c, newLogger(e, &c), adminWiring{keys: keys})
	if err != nil {
		return err
	}
	defer a.store.Close()
	org, err := findOrg(ctx, a, slug)
	if err != nil {
		return err
	}
	if lc.ServiceDN != "" {
		if lc.ServicePassword, err = readPassword(e, "Password of "+lc.ServiceDN); err != nil {
			return err
		}
	}
	if err := a.federation.SetLDAP(ctx, org.ID, lc, gatehouse.OperatorActor()); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "LDAP is set up for %s; choose it with: gatehouse org settings --org %s --auth-method ldap\n", org.Slug, org.Slug)
	return nil
}

// orgSAML sets up an organization's SAML2 sign-in from the IdP's metadata,
// and prints the service provider's addresses to give the IdP.
func orgSAML(ctx context.Context, e *env, args []string) error {
	var c Config
	var slug, file string
	var sc saml.Config
	fs := newFlagSet(e, "org saml", "org saml --org S (--idp-metadata-file F | --idp-metadata-url URL) [--email-attr A] [--name-attr A] [--phone-attr A]")
	fs.StringVar(&slug, "org", "", "the organization's slug (required)")
	fs.StringVar(&file, "idp-metadata-file", "", "the IdP's SAML metadata XML")
	fs.StringVar(&sc.IdPMetadataURL, "idp-metadata-url", "", "where the IdP publishes its metadata (https to a public address; with --dev also loopback and private ones), fetched now")
	fs.StringVar(&sc.EmailAttr, "email-attr", "", "assertion attribute with the e-mail address (default: the common names, or the NameID)")
	fs.StringVar(&sc.NameAttr, "name-attr", "", "assertion attribute with the name")
	fs.StringVar(&sc.PhoneAttr, "phone-attr", "", "assertion attribute with the phone number")
	if err := parse(fs, &c, concat([]setting{sSecret, sOldSecrets, sPublicURL, sDev}, userSettings), args, e); err != nil {
		return err
	}
	if slug == "" || (file == "") == (sc.IdPMetadataURL == "") {
		return usageError("org saml needs --org and one of --idp-metadata-file or --idp-metadata-url")
	}
	if c.SecretKeyFile == "" || c.PublicURL == "" {
		return usageError("org saml needs --secret-key-file and --public-url (GATEHOUSE_SECRET_KEY_FILE, GATEHOUSE_PUBLIC_URL): the set-up is sealed with the secret, and the IdP is given addresses under the public URL")
	}
	public, err := publicURL(c.PublicURL, nil)
	if err != nil {
		return err
	}
	keys, _, err := loadKeys(&c, false)
	if err != nil {
		return err
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return usageError("--idp-metadata-file: %v", err)
		}
		sc.IdPMetadataXML = string(b)
	}
	a, err := newAdminApp(ctx, &c, newLogger(e, &c), adminWiring{keys: keys})
	if err != nil {
		return err
	}
	defer a.store.Close()
	org, err := findOrg(ctx, a, slug)
	if err != nil {
		return err
	}
	if err := a.federation.SetSAML(ctx, org.ID, sc, saml.FetchPolicy{AllowPrivate: c.Dev}, gatehouse.OperatorActor()); err != nil {
		return err
	}
	sp, err := a.federation.ServiceProvider(ctx, org, public)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "SAML2 is set up for %s. Give the identity provider:\n  metadata  %s\n  ACS       %s (HTTP-POST)\n  entity ID %s\nthen choose it with: gatehouse org settings --org %s --auth-method saml2\n",
		org.Slug, sp.MetadataURL(), sp.ACSURL(), sp.EntityID(), org.Slug)
	return nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
