package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse/internal/federation"
	"github.com/gatehousehq/gatehouse/internal/keyring"
	"github.com/gatehousehq/gatehouse/internal/sqlstore"
)

// keyListHeader starts a key file that holds a list of keys, one a line,
// the current one first. Any other file is one key, all of its bytes (the
// format of before, e.g. head -c 32 /dev/urandom), so existing files keep
// their meaning byte for byte.
const keyListHeader = "# gatehouse keys"

// keyFile is one key and where it came from, for messages.
type keyFile struct {
	path   string
	secret []byte
}

// loadKeys reads the server's keys: those of --secret-key-file first (its
// first is the current key), then those of each --old-secret-key-files
// file, in order. Every file must be readable by its owner (and group)
// only. With create (dev mode and the demo) a missing key file is made.
func loadKeys(c *Config, create bool) (*keyring.Ring, []keyFile, error) {
	first, err := loadSecret(c.SecretKeyFile, create)
	if err != nil {
		return nil, nil, err
	}
	files, err := parseKeyFile(c.SecretKeyFile, first)
	if err != nil {
		return nil, nil, err
	}
	for _, p := range strings.Split(c.OldSecretKeyFiles, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		b, err := loadSecret(p, false)
		if err != nil {
			return nil, nil, err
		}
		more, err := parseKeyFile(p, b)
		if err != nil {
			return nil, nil, err
		}
		files = append(files, more...)
	}
	secrets := make([][]byte, len(files))
	for i, f := range files {
		secrets[i] = f.secret
	}
	ring, err := keyring.New(secrets...)
	if err != nil {
		return nil, nil, usageError("secret keys (%s): %v", keyPaths(files), strings.TrimPrefix(err.Error(), "keyring: "))
	}
	return ring, files, nil
}

// parseKeyFile splits a key list into its keys; a file without the header
// is one key.
func parseKeyFile(path string, b []byte) ([]keyFile, error) {
	if !bytes.HasPrefix(b, []byte(keyListHeader)) {
		return []keyFile{{path, b}}, nil
	}
	var out []keyFile
	for n, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if len(line) < keyring.MinKeyLength {
			return nil, usageError("secret key file %s, line %d: a key needs at least %d characters (openssl rand -hex 32)", path, n+1, keyring.MinKeyLength)
		}
		out = append(out, keyFile{fmt.Sprintf("%s:%d", path, n+1), []byte(line)})
	}
	if len(out) == 0 {
		return nil, usageError("secret key file %s holds no key after its %q line", path, keyListHeader)
	}
	return out, nil
}

func keyPaths(files []keyFile) string {
	var ps []string
	for _, f := range files {
		ps = append(ps, f.path)
	}
	return strings.Join(ps, ", ")
}

// resealAll seals again, under the current key, every part of the
// organizations' set-up that an old key sealed, at start, so that an old key
// is not kept for an organization nobody signs in to. A part that fails is
// left as it is (it is tried again when read) and logged.
func resealAll(ctx context.Context, a *app, keys *keyring.Ring, log *slog.Logger) {
	parts, err := a.store.SealedParts(ctx)
	if err != nil {
		log.Warn("could not list the sealed set-up to re-seal it under the current key", "error", err)
		return
	}
	n := 0
	for _, p := range parts {
		if id, legacy := keyring.SealKeyID(p.Sealed); !legacy && id == keys.CurrentID() {
			continue
		}
		did, err := a.federation.Reseal(ctx, p.OrgID, p.Part, p.Sealed)
		if err != nil {
			log.Warn("sealed set-up does not open with the given keys", "org", p.Slug, "part", p.Part, "error", err)
			continue
		}
		if did {
			n++
		}
	}
	if n > 0 {
		log.Info("sealed set-up re-sealed under the current key", "parts", n, "key_id", keys.CurrentID())
	}
}

// keysCommands is the table of "gatehouse keys".
func keysCommands() []subcommand {
	return []subcommand{
		{"check", "what still depends on an old secret key", keysCheck},
		{"rotate", "new OpenID Connect signing keys (the old ones stay published)", keysRotate},
	}
}

func keysCheck(ctx context.Context, e *env, args []string) error {
	var c Config
	fs := newFlagSet(e, "keys check", "keys check [--database-url URL] [--secret-key-file F] [--old-secret-key-files F,F]")
	if err := parse(fs, &c, concat([]setting{sDatabase, sSecret, sOldSecrets}, logSettings), args, e); err != nil {
		return err
	}
	if c.SecretKeyFile == "" {
		return usageError("keys check needs --secret-key-file (GATEHOUSE_SECRET_KEY_FILE), and --old-secret-key-files for the keys being retired")
	}
	ring, files, err := loadKeys(&c, false)
	if err != nil {
		return err
	}
	db, err := openStore(ctx, c.DatabaseURL, false)
	if err != nil {
		return err
	}
	defer db.Close()
	use, err := db.KeyUse(ctx, time.Now())
	if err != nil {
		return err
	}
	return reportKeyUse(e.stdout, ring, files, use)
}

// reportKeyUse prints, per kind of stored value, how many each key made,
// and ends with what still needs an old key.
func reportKeyUse(w io.Writer, ring *keyring.Ring, files []keyFile, use *sqlstore.KeyUse) error {
	ids := ring.IDs()
	role := func(id string) string {
		switch {
		case id == ids[0]:
			return "current"
		case ring.Has(id):
			return "old"
		}
		return "not in the key files: these no longer work"
	}
	fmt.Fprintln(w, "keys (the first makes everything new):")
	for i, id := range ids {
		fmt.Fprintf(w, "  %s  %-7s  %s\n", id, role(id), files[i].path)
	}
	oldUse := map[string][]string{} // old key ID → what still needs it
	legacy := 0
	for _, kind := range []string{"sessions", "remembered browsers", "password links", "pending sign-ins", "API tokens"} {
		fmt.Fprintf(w, "%s:\n", kind)
		counts := map[string]int{}
		for _, h := range use.Hashes[kind] {
			switch h.Length {
			case keyring.HashLength:
				counts[fmt.Sprintf("%x", h.Prefix)] += h.Count
			case keyring.LegacyHashLength:
				counts["legacy"] += h.Count
			default:
				counts["unreadable"] += h.Count
			}
		}
		if len(counts) == 0 {
			fmt.Fprintln(w, "  none")
		}
		for _, id := range sortedKeys(counts) {
			n := counts[id]
			switch id {
			case "legacy":
				legacy += n
				fmt.Fprintf(w, "  %d made before key IDs, by the key that was the only one then (which one cannot be known without the token); re-keyed when used\n", n)
			case "unreadable":
				fmt.Fprintf(w, "  %d of an unknown form\n", n)
			default:
				fmt.Fprintf(w, "  %d under %s (%s)\n", n, id, role(id))
				if id != ids[0] && ring.Has(id) {
					oldUse[id] = append(oldUse[id], fmt.Sprintf("%d %s", n, kind))
				}
			}
		}
	}
	fmt.Fprintln(w, "sealed set-up (LDAP and SAML2):")
	if len(use.Sealed) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for _, p := range use.Sealed {
		o, err := federation.Inspect(ring, p.OrgID, p.Part, p.Sealed)
		switch {
		case err != nil:
			id, _ := keyring.SealKeyID(p.Sealed)
			if id == "" {
				id = "a key of before key IDs"
			}
			fmt.Fprintf(w, "  organization %s %s: sealed under %s, which no key given opens: it no longer works\n", p.Slug, p.Part, id)
		case o.Legacy:
			fmt.Fprintf(w, "  organization %s %s: sealed before key IDs, under %s (%s); re-sealed when read\n", p.Slug, p.Part, o.KeyID, role(o.KeyID))
			if o.KeyID != ids[0] {
				oldUse[o.KeyID] = append(oldUse[o.KeyID], "organization "+p.Slug+" "+p.Part)
			}
		default:
			fmt.Fprintf(w, "  organization %s %s: under %s (%s)\n", p.Slug, p.Part, o.KeyID, role(o.KeyID))
			if !o.Current {
				oldUse[o.KeyID] = append(oldUse[o.KeyID], "organization "+p.Slug+" "+p.Part)
			}
		}
	}
	fmt.Fprintln(w, "not counted: codes of pending sign-ins (they live 10 minutes) and anything a removed key made (it cannot be opened or told apart)")
	if len(oldUse) == 0 && legacy == 0 {
		fmt.Fprintln(w, "nothing depends on an old key")
		return nil
	}
	for _, id := range sortedKeys(oldUse) {
		fmt.Fprintf(w, "old key %s is still needed by: %s\n", id, strings.Join(oldUse[id], ", "))
	}
	if legacy > 0 {
		fmt.Fprintf(w, "%d hashed values made before key IDs still need the key that made them: keep every key of before until this count is 0\n", legacy)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
