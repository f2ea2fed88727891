package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/keyring"
	"github.com/gatehousehq/gatehouse/internal/oidc"
)

// The applications that sign in through Gatehouse's OpenID Connect
// provider (docs/design.md §10.1): gatehouse client create|list|delete|rotate-secret,
// and gatehouse keys rotate for the provider's signing keys.

// clientSettings are what the client commands take: the secret keys hash
// client secrets.
var clientSettings = concat([]setting{sDatabase, sSecret, sOldSecrets}, logSettings)

// clientCommands is the table of "gatehouse client".
func clientCommands() []subcommand {
	return []subcommand{
		{"create", "register an application; prints its secret once", clientCreate},
		{"list", "list the registered applications", clientList},
		{"delete", "remove an application and end what it was given", clientDelete},
		{"rotate-secret", "give an application a new secret; prints it once", clientRotateSecret},
	}
}

// listFlag is a flag that may be given several times.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// checkRedirectURI accepts an absolute https:// URI, or http:// to a
// loopback host only (a redirect in clear elsewhere would hand the code to
// the network), without a fragment (RFC 6749 §3.1.2).
func checkRedirectURI(flag, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Fragment != "" || u.User != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return usageError("%s %q must be an absolute https:// address without a fragment", flag, raw)
	}
	if u.Scheme == "http" && !localHost(u.Hostname()) {
		return usageError("%s %q: http:// is allowed only for a loopback host (127.0.0.1, [::1], localhost); use https://", flag, raw)
	}
	return nil
}

// clientKeys loads the server's keys, which the client commands need.
func clientKeys(c *Config, cmd string) (*keyring.Ring, error) {
	if c.SecretKeyFile == "" {
		return nil, usageError("%s needs --secret-key-file (GATEHOUSE_SECRET_KEY_FILE): client secrets are stored as keyed hashes", cmd)
	}
	ring, _, err := loadKeys(c, false)
	return ring, err
}

func clientCreate(ctx context.Context, e *env, args []string) error {
	var (
		c                      Config
		name, alg, backChannel string
		public                 bool
		redirects, logouts     listFlag
		orgSlugs               listFlag
	)
	fs := newFlagSet(e, "client create", "client create --name N --redirect-uri URI [--redirect-uri URI…] [--post-logout-redirect-uri URI] [--public] [--org SLUG…]")
	fs.StringVar(&name, "name", "", "the application's name (required)")
	fs.Var(&redirects, "redirect-uri", "where the browser is sent back with the code, matched exactly (required; repeat for several)")
	fs.Var(&logouts, "post-logout-redirect-uri", "where /oauth2/logout may send the browser back to (repeat for several)")
	fs.BoolVar(&public, "public", false, "a public client (single-page or native app) without a secret: PKCE is required")
	fs.Var(&orgSlugs, "org", "limit the client to this organization (repeat for several; default: any)")
	fs.StringVar(&alg, "signing-alg", gatehouse.SigningES256, "ID token signing algorithm: ES256 or RS256")
	fs.StringVar(&backChannel, "back-channel-logout-uri", "", "where Gatehouse posts a logout token when a session the client signed in through ends (OIDC Back-Channel Logout)")
	if err := parse(fs, &c, clientSettings, args, e); err != nil {
		return err
	}
	if name == "" || len(redirects) == 0 {
		return usageError("client create needs --name and at least one --redirect-uri")
	}
	for _, u := range redirects {
		if err := checkRedirectURI("--redirect-uri", u); err != nil {
			return err
		}
	}
	for _, u := range logouts {
		if err := checkRedirectURI("--post-logout-redirect-uri", u); err != nil {
			return err
		}
	}
	if backChannel != "" {
		if err := checkRedirectURI("--back-channel-logout-uri", backChannel); err != nil {
			return err
		}
	}
	if alg != gatehouse.SigningES256 && alg != gatehouse.SigningRS256 {
		return usageError("--signing-alg %q: use ES256 or RS256", alg)
	}
	ring, err := clientKeys(&c, "client create")
	if err != nil {
		return err
	}
	db, err := openStore(ctx, c.DatabaseURL, c.Dev)
	if err != nil {
		return err
	}
	defer db.Close()
	now := time.Now()
	cl := &gatehouse.OAuthClient{ID: gatehouse.NewID(), Name: name, Public: public, RedirectURIs: redirects,
		PostLogoutRedirectURIs: logouts, SigningAlg: alg, BackChannelLogoutURI: backChannel, CreatedAt: now, UpdatedAt: now}
	for _, slug := range orgSlugs {
		org, err := db.OrganizationBySlug(ctx, slug)
		if err != nil {
			return err
		}
		cl.OrgIDs = append(cl.OrgIDs, org.ID)
	}
	var secret string
	if !public {
		if secret, err = keyring.NewToken(rand.Reader); err != nil {
			return err
		}
		cl.SecretHash = oidc.HashSecret(ring, cl.ID, secret)
	}
	if err := db.CreateOAuthClient(ctx, cl); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "created client %s\nclient_id: %s\n", cl.Name, cl.ID)
	if !public {
		fmt.Fprintf(e.stdout, "client_secret: %s\n(the secret is shown only now; it is stored hashed)\n", secret)
	}
	return nil
}

func clientList(ctx context.Context, e *env, args []string) error {
	var c Config
	fs := newFlagSet(e, "client list", "client list")
	if err := parse(fs, &c, dataSettings, args, e); err != nil {
		return err
	}
	db, err := openStore(ctx, c.DatabaseURL, c.Dev)
	if err != nil {
		return err
	}
	defer db.Close()
	clients, err := db.ListOAuthClients(ctx)
	if err != nil {
		return err
	}
	slugs := map[string]string{}
	if orgs, err := db.ListOrganizations(ctx); err == nil {
		for _, o := range orgs {
			slugs[o.ID] = o.Slug
		}
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT ID\tNAME\tTYPE\tALG\tORGANIZATIONS\tREDIRECT URIS")
	for _, cl := range clients {
		kind := "confidential"
		if cl.Public {
			kind = "public"
		}
		orgs := "any"
		if len(cl.OrgIDs) > 0 {
			var names []string
			for _, id := range cl.OrgIDs {
				names = append(names, cmp.Or(slugs[id], id))
			}
			orgs = strings.Join(names, ",")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", cl.ID, cl.Name, kind, cl.SigningAlg, orgs, strings.Join(cl.RedirectURIs, " "))
	}
	return tw.Flush()
}

func clientDelete(ctx context.Context, e *env, args []string) error {
	var c Config
	var id string
	fs := newFlagSet(e, "client delete", "client delete --id CLIENT_ID")
	fs.StringVar(&id, "id", "", "the client to delete, with every token it was given (required)")
	if err := parse(fs, &c, dataSettings, args, e); err != nil {
		return err
	}
	if id == "" {
		return usageError("client delete needs --id")
	}
	db, err := openStore(ctx, c.DatabaseURL, c.Dev)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.DeleteOAuthClient(ctx, id); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "deleted client %s and its tokens\n", id)
	return nil
}

func clientRotateSecret(ctx context.Context, e *env, args []string) error {
	var c Config
	var id string
	fs := newFlagSet(e, "client rotate-secret", "client rotate-secret --id CLIENT_ID")
	fs.StringVar(&id, "id", "", "the confidential client whose secret is replaced (required)")
	if err := parse(fs, &c, clientSettings, args, e); err != nil {
		return err
	}
	if id == "" {
		return usageError("client rotate-secret needs --id")
	}
	ring, err := clientKeys(&c, "client rotate-secret")
	if err != nil {
		return err
	}
	db, err := openStore(ctx, c.DatabaseURL, c.Dev)
	if err != nil {
		return err
	}
	defer db.Close()
	cl, err := db.OAuthClientByID(ctx, id)
	if err != nil {
		return err
	}
	if cl.Public {
		return usageError("client %s is public: it has no secret", id)
	}
	secret, err := keyring.NewToken(rand.Reader)
	if err != nil {
		return err
	}
	if err := db.SetOAuthClientSecret(ctx, id, oidc.HashSecret(ring, id, secret), time.Now()); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "client_id: %s\nclient_secret: %s\n(the old secret no longer works; this one is shown only now)\n", id, secret)
	return nil
}

// keysRotate is gatehouse keys rotate: a new signing key of each algorithm
// signs from now on; the old ones stay in the JWKS until their tokens
// expire.
func keysRotate(ctx context.Context, e *env, args []string) error {
	var c Config
	fs := newFlagSet(e, "keys rotate", "keys rotate [--database-url URL] --secret-key-file F")
	if err := parse(fs, &c, clientSettings, args, e); err != nil {
		return err
	}
	if c.SecretKeyFile == "" {
		return usageError("keys rotate needs --secret-key-file (GATEHOUSE_SECRET_KEY_FILE): signing keys are sealed with it")
	}
	ring, _, err := loadKeys(&c, false)
	if err != nil {
		return err
	}
	db, err := openStore(ctx, c.DatabaseURL, c.Dev)
	if err != nil {
		return err
	}
	defer db.Close()
	made, err := oidc.RotateKeys(ctx, db, ring)
	for _, k := range made {
		fmt.Fprintf(e.stdout, "new %s signing key %s\n", k.Algorithm, k.ID)
	}
	return err
}
