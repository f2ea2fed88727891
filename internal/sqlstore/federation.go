package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// SignInConfig returns the organization's LDAP and SAML set-up; ENOTFOUND
// when it has none. A part not set up is nil.
func (db *DB) SignInConfig(ctx context.Context, orgID string) (*gatehouse.SignInConfig, error) {
	c := gatehouse.SignInConfig{OrgID: orgID}
	var updatedAt int64
	err := db.read.QueryRowContext(ctx, `
		SELECT ldap, saml, saml_key, saml_cert, updated_at FROM org_sign_in WHERE org_id = $1`, orgID).
		Scan(&c.LDAP, &c.SAML, &c.SAMLKey, &c.SAMLCert, &updatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Sign-in configuration")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: sign-in config: %w", err)
	}
	// NULL scans as nil already; a zero-length value is never written, but
	// would mean "not set up" just the same.
	for _, b := range []*[]byte{&c.LDAP, &c.SAML, &c.SAMLKey, &c.SAMLCert} {
		if len(*b) == 0 {
			*b = nil
		}
	}
	c.UpdatedAt = fromMillis(updatedAt)
	return &c, nil
}

// SaveSignInConfig inserts or replaces the organization's row as a whole,
// in one upsert. An empty part is stored as NULL, "not set up", and reads
// back as nil. Returns ENOTFOUND if the organization does not exist.
func (db *DB) SaveSignInConfig(ctx context.Context, c *gatehouse.SignInConfig) error {
	_, err := db.write.ExecContext(ctx, `
		INSERT INTO org_sign_in (org_id, ldap, saml, saml_key, saml_cert, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (org_id) DO UPDATE SET
			ldap = excluded.ldap, saml = excluded.saml, saml_key = excluded.saml_key,
			saml_cert = excluded.saml_cert, updated_at = excluded.updated_at`,
		c.OrgID, nullableBytes(c.LDAP), nullableBytes(c.SAML), nullableBytes(c.SAMLKey),
		nullableBytes(c.SAMLCert), millis(c.UpdatedAt))
	if violated(err) == foreignKeyViolation {
		return notFound("Organization")
	}
	if err != nil {
		return fmt.Errorf("sqlstore: save sign-in config: %w", err)
	}
	return nil
}

// IssueSAMLRequest remembers an AuthnRequest id of the organization until
// it expires, with the hash of the browser binding nonce (never the nonce).
// Returns ECONFLICT if the id is already issued there, EINVALID for an
// empty hash (a request no browser could answer).
func (db *DB) IssueSAMLRequest(ctx context.Context, orgID, id string, browserHash []byte, until time.Time) error {
	if len(browserHash) == 0 {
		return gatehouse.Errorf(gatehouse.EINVALID, "A SAML request needs a browser binding.")
	}
	_, err := db.write.ExecContext(ctx, `
		INSERT INTO saml_requests (org_id, id, browser_hash, expires_at) VALUES ($1, $2, $3, $4)`,
		orgID, id, browserHash, millis(until))
	if violated(err) == uniqueViolation { // random ids never collide: a caller bug
		return gatehouse.Errorf(gatehouse.ECONFLICT, "The SAML request already exists.")
	}
	if err != nil {
		return fmt.Errorf("sqlstore: issue saml request: %w", err)
	}
	return nil
}

// ConsumeSAMLRequest takes an issued request id of the organization that is
// unexpired at now, once, and returns the browser hash it was issued with:
// false when it is unknown, already taken or expired. A row from before
// migration 0010 has an empty hash, which no browser matches. It is one conditional DELETE: on PostgreSQL a racing DELETE
// waits for the row lock and then finds the row gone, and on SQLite writes
// take turns, so exactly one of any number of callers gets the row back.
// An expired id is left for Purge.
func (db *DB) ConsumeSAMLRequest(ctx context.Context, orgID, id string, now time.Time) ([]byte, bool, error) {
	var hash []byte
	err := db.write.QueryRowContext(ctx, `
		DELETE FROM saml_requests WHERE org_id = $1 AND id = $2 AND expires_at > $3
		RETURNING browser_hash`, orgID, id, millis(now)).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("sqlstore: consume saml request: %w", err)
	}
	return hash, true, nil
}

// rememberAssertion inserts the assertion's id, or takes over the row of an
// earlier assertion with that id whose record expired at $4; RETURNING
// gives a row back only then. An upsert is one atomic decision on both
// databases: PostgreSQL's ON CONFLICT either inserts or, failing that,
// locks the conflicting row and evaluates the DO UPDATE's WHERE on its
// latest version, so a racing caller waits and then sees the new
// expires_at; SQLite runs one write at a time. Either way exactly one of
// any number of callers is fresh. (A DELETE of the expired row and then
// an INSERT … DO NOTHING would take two statements in a transaction for
// the same answer.)
const rememberAssertion = `
	INSERT INTO saml_assertions (org_id, id, expires_at) VALUES ($1, $2, $3)
	ON CONFLICT (org_id, id) DO UPDATE SET expires_at = excluded.expires_at
	WHERE saml_assertions.expires_at <= $4
	RETURNING id`

// RememberAssertion records an assertion id of the organization until it
// expires; fresh is false when the id was seen before and its record has
// not expired (a replay), on any node. A record past its until no longer
// counts: the assertion itself is refused by then, and an id must not be
// blocked forever by a row the clean-up has not reached yet. The interface
// passes no time, so expiry is judged by the node's clock (db.now).
func (db *DB) RememberAssertion(ctx context.Context, orgID, id string, until time.Time) (fresh bool, err error) {
	var got string
	err = db.write.QueryRowContext(ctx, rememberAssertion, orgID, id, millis(until), millis(db.clock())).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("sqlstore: remember assertion: %w", err)
	}
	return true, nil
}
