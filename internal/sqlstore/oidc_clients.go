package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// The OpenID Connect provider's state (migration 0011): clients here,
// authorize requests in oidc_requests.go, tokens in oidc_tokens.go, signing
// keys in oidc_keys.go.

// jsonList stores a list of strings as a JSON array; nil as [].
func jsonList(l []string) string {
	if l == nil {
		l = []string{}
	}
	b, _ := json.Marshal(l) // a []string always marshals
	return string(b)
}

// fromJSONLists decodes stored lists, given as pairs of the stored text and
// where it goes; an empty array reads back as nil.
func fromJSONLists(pairs ...any) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		var l []string
		if err := json.Unmarshal([]byte(pairs[i].(string)), &l); err != nil {
			return err
		}
		if len(l) == 0 {
			l = nil
		}
		*pairs[i+1].(*[]string) = l
	}
	return nil
}

const clientColumns = `id, name, secret_hash, public, redirect_uris, post_logout_uris, org_ids, signing_alg,
	backchannel_logout_uri, created_at, updated_at`

// CreateOAuthClient saves a new client. Returns ECONFLICT if the ID is taken.
func (db *DB) CreateOAuthClient(ctx context.Context, c *gatehouse.OAuthClient) error {
	_, err := db.write.ExecContext(ctx, `INSERT INTO oauth_clients (`+clientColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		c.ID, c.Name, nullableBytes(c.SecretHash), c.Public, jsonList(c.RedirectURIs), jsonList(c.PostLogoutRedirectURIs),
		jsonList(c.OrgIDs), c.SigningAlg, c.BackChannelLogoutURI, millis(c.CreatedAt), millis(c.UpdatedAt))
	if violated(err) == uniqueViolation {
		return gatehouse.Errorf(gatehouse.ECONFLICT, "The client already exists.")
	}
	if err != nil {
		return fmt.Errorf("sqlstore: create oauth client: %w", err)
	}
	return nil
}

func scanClient(row scanner) (*gatehouse.OAuthClient, error) {
	var (
		c                        gatehouse.OAuthClient
		redirects, logouts, orgs string
		created, updated         int64
	)
	if err := row.Scan(&c.ID, &c.Name, &c.SecretHash, &c.Public, &redirects, &logouts, &orgs, &c.SigningAlg,
		&c.BackChannelLogoutURI, &created, &updated); err != nil {
		return nil, err
	}
	if err := fromJSONLists(redirects, &c.RedirectURIs, logouts, &c.PostLogoutRedirectURIs, orgs, &c.OrgIDs); err != nil {
		return nil, fmt.Errorf("client %s: %w", c.ID, err)
	}
	c.CreatedAt, c.UpdatedAt = fromMillis(created), fromMillis(updated)
	return &c, nil
}

// OAuthClientByID returns ENOTFOUND if there is no such client.
func (db *DB) OAuthClientByID(ctx context.Context, id string) (*gatehouse.OAuthClient, error) {
	c, err := scanClient(db.read.QueryRowContext(ctx, `SELECT `+clientColumns+` FROM oauth_clients WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Client")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: oauth client by id: %w", err)
	}
	return c, nil
}

// ListOAuthClients returns every client ordered by name, then ID.
func (db *DB) ListOAuthClients(ctx context.Context) ([]*gatehouse.OAuthClient, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+clientColumns+` FROM oauth_clients ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list oauth clients: %w", err)
	}
	defer rows.Close()
	var out []*gatehouse.OAuthClient
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: list oauth clients: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list oauth clients: %w", err)
	}
	return out, nil
}

// DeleteOAuthClient removes a client; its requests and tokens go with it
// (ON DELETE CASCADE). Returns ENOTFOUND if there is no such client.
func (db *DB) DeleteOAuthClient(ctx context.Context, id string) error {
	res, err := db.write.ExecContext(ctx, `DELETE FROM oauth_clients WHERE id = $1`, id)
	return oneRow(res, err, "delete oauth client", "Client")
}

// SetOAuthClientSecret replaces a confidential client's secret hash.
// Returns ENOTFOUND if there is no such client.
func (db *DB) SetOAuthClientSecret(ctx context.Context, id string, hash []byte, at time.Time) error {
	res, err := db.write.ExecContext(ctx, `UPDATE oauth_clients SET secret_hash = $2, updated_at = $3 WHERE id = $1`,
		id, nullableBytes(hash), millis(at))
	return oneRow(res, err, "set oauth client secret", "Client")
}

// oneRow turns the result of a write that must touch a row into ENOTFOUND
// (what) when it touched none.
func oneRow(res sql.Result, err error, op, what string) error {
	if err != nil {
		return fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	if n == 0 {
		return notFound(what)
	}
	return nil
}
