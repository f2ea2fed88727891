package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// maxHashesIn bounds the hashes of one SessionTokenHashIn: a keyring gives
// at most 16 forms of a token.
const maxHashesIn = 32

// SessionTokenHashIn returns which of hashes a session is stored under, in
// one query, so that a token is looked up under every key of the ring at
// the cost of one lookup; ENOTFOUND when none is.
func (db *DB) SessionTokenHashIn(ctx context.Context, hashes [][]byte) ([]byte, error) {
	if len(hashes) == 0 {
		return nil, notFound("Session")
	}
	if len(hashes) > maxHashesIn {
		return nil, fmt.Errorf("sqlstore: session token hash in: %d hashes, at most %d", len(hashes), maxHashesIn)
	}
	args := make([]any, len(hashes))
	marks := make([]string, len(hashes))
	for i, h := range hashes {
		args[i], marks[i] = h, "$"+strconv.Itoa(i+1)
	}
	var found []byte
	err := db.read.QueryRowContext(ctx, `SELECT token_hash FROM sessions WHERE token_hash IN (`+strings.Join(marks, ", ")+`) LIMIT 1`, args...).Scan(&found)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Session")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: session token hash in: %w", err)
	}
	return found, nil
}

// RekeySession replaces a session's stored token hash, made with an old
// key, by the current key's hash of the same token. It changes nothing when
// the session no longer has the old hash (re-keyed or ended meanwhile,
// perhaps on another node) and then returns ENOTFOUND.
func (db *DB) RekeySession(ctx context.Context, oldHash, newHash []byte) error {
	res, err := db.write.ExecContext(ctx, `UPDATE sessions SET token_hash = $2 WHERE token_hash = $1`, oldHash, newHash)
	return updated(res, err, "Session", "re-key session")
}

// RekeyRememberedBrowser replaces a remembered browser's stored token hash
// by the current key's hash of the same token, only while it still holds
// oldHash; ENOTFOUND otherwise.
func (db *DB) RekeyRememberedBrowser(ctx context.Context, id string, oldHash, newHash []byte) error {
	res, err := db.write.ExecContext(ctx, `UPDATE remembered_browsers SET token_hash = $3 WHERE id = $1 AND token_hash = $2`,
		id, oldHash, newHash)
	return updated(res, err, "Remembered browser", "re-key remembered browser")
}

// Sealed parts of an organization's sign-in set-up, by column.
const (
	SealedLDAP    = "ldap"
	SealedSAML    = "saml"
	SealedSAMLKey = "saml_key"
)

// ResealSignInConfig replaces one sealed part of the organization's set-up
// (SealedLDAP, SealedSAML or SealedSAMLKey) by the same value sealed with
// the current key, only while it still holds oldSealed: a change saved
// meanwhile is never undone. Returns ENOTFOUND when the part changed.
func (db *DB) ResealSignInConfig(ctx context.Context, orgID, part string, oldSealed, newSealed []byte) error {
	switch part {
	case SealedLDAP, SealedSAML, SealedSAMLKey:
	default:
		return fmt.Errorf("sqlstore: re-seal: unknown part %q", part)
	}
	// part is one of the constants above, never outside input.
	res, err := db.write.ExecContext(ctx, `UPDATE org_sign_in SET `+part+` = $3 WHERE org_id = $1 AND `+part+` = $2`,
		orgID, oldSealed, newSealed)
	return updated(res, err, "Sign-in configuration", "re-seal sign-in config")
}

// HashCount is how many stored hashes of one kind have a given length and
// first bytes (a keyring key ID when the length is keyring.HashLength).
type HashCount struct {
	Length int
	Prefix []byte
	Count  int
}

// KeyUse is what the database holds that a secret key made: the stored
// hashes of each kind by length and first 4 bytes, and every sealed part
// of the organizations' set-up. Only live rows are counted.
type KeyUse struct {
	Hashes map[string][]HashCount // by kind: sessions, remembered browsers, …
	Sealed []SealedPart
}

// SealedPart is one sealed value of an organization's set-up.
type SealedPart struct {
	OrgID, Slug, Part string
	Sealed            []byte
}

// KeyUse reads what depends on the server's keys, for `gatehouse keys
// check`. It only reads.
func (db *DB) KeyUse(ctx context.Context, now time.Time) (*KeyUse, error) {
	u := &KeyUse{Hashes: map[string][]HashCount{}}
	for _, q := range []struct{ kind, sql string }{
		{"sessions", `FROM sessions WHERE expires_at > $1`},
		{"remembered browsers", `FROM remembered_browsers WHERE expires_at > $1`},
		{"password links", `FROM password_resets WHERE used_at = 0 AND expires_at > $1`},
		{"pending sign-ins", `FROM challenges WHERE token_hash IS NOT NULL AND done_at = 0 AND expires_at > $1`},
		{"API tokens", `FROM api_tokens WHERE expires_at = 0 OR expires_at > $1`},
	} {
		rows, err := db.read.QueryContext(ctx, `SELECT length(token_hash), substr(token_hash, 1, 4), count(*) `+q.sql+` GROUP BY 1, 2 ORDER BY 1, 2`, millis(now))
		if err != nil {
			return nil, fmt.Errorf("sqlstore: key use of %s: %w", q.kind, err)
		}
		for rows.Next() {
			var c HashCount
			if err := rows.Scan(&c.Length, &c.Prefix, &c.Count); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlstore: key use of %s: %w", q.kind, err)
			}
			u.Hashes[q.kind] = append(u.Hashes[q.kind], c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sqlstore: key use of %s: %w", q.kind, err)
		}
	}
	sealed, err := db.SealedParts(ctx)
	if err != nil {
		return nil, err
	}
	u.Sealed = sealed
	return u, nil
}

// SealedParts returns every sealed part of the organizations' set-up, by
// organization slug, in one query: what a change of key re-seals.
func (db *DB) SealedParts(ctx context.Context) ([]SealedPart, error) {
	rows, err := db.read.QueryContext(ctx, `
		SELECT s.org_id, o.slug, s.ldap, s.saml, s.saml_key FROM org_sign_in s
		JOIN organizations o ON o.id = s.org_id ORDER BY o.slug`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: sealed parts: %w", err)
	}
	defer rows.Close()
	var out []SealedPart
	for rows.Next() {
		var org, slug string
		var ldap, saml, key []byte
		if err := rows.Scan(&org, &slug, &ldap, &saml, &key); err != nil {
			return nil, fmt.Errorf("sqlstore: sealed parts: %w", err)
		}
		for _, p := range []SealedPart{{org, slug, SealedLDAP, ldap}, {org, slug, SealedSAML, saml}, {org, slug, SealedSAMLKey, key}} {
			if len(p.Sealed) > 0 {
				out = append(out, p)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: sealed parts: %w", err)
	}
	return out, nil
}
