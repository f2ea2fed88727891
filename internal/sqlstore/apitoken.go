package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// CreateAPIToken saves a new token; ECONFLICT if the name is taken.
func (db *DB) CreateAPIToken(ctx context.Context, t *gatehouse.APIToken) error {
	_, err := db.write.ExecContext(ctx, `
		INSERT INTO api_tokens (id, name, token_hash, scopes, created_at, expires_at, last_used_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		t.ID, t.Name, t.TokenHash, strings.Join(t.Scopes, ","), millis(t.CreatedAt), optMillis(t.ExpiresAt), optMillis(t.LastUsedAt))
	if violated(err) == uniqueViolation {
		return gatehouse.Errorf(gatehouse.ECONFLICT, "An API token named %q already exists.", t.Name)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: create api token: %w", err)
	}
	return nil
}

const apiTokenColumns = `id, name, token_hash, scopes, created_at, expires_at, last_used_at`

func scanAPIToken(row scanner) (*gatehouse.APIToken, error) {
	var t gatehouse.APIToken
	var scopes string
	var created, expires, used int64
	if err := row.Scan(&t.ID, &t.Name, &t.TokenHash, &scopes, &created, &expires, &used); err != nil {
		return nil, err
	}
	if scopes != "" {
		t.Scopes = strings.Split(scopes, ",")
	}
	t.CreatedAt, t.ExpiresAt, t.LastUsedAt = fromMillis(created), fromOptMillis(expires), fromOptMillis(used)
	return &t, nil
}

// APITokenByHash returns the token stored under hash, ENOTFOUND when there
// is none.
func (db *DB) APITokenByHash(ctx context.Context, hash []byte) (*gatehouse.APIToken, error) {
	t, err := scanAPIToken(db.read.QueryRowContext(ctx, `SELECT `+apiTokenColumns+` FROM api_tokens WHERE token_hash = $1`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("API token")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: api token: %w", err)
	}
	return t, nil
}

// ListAPITokens returns every token, by name.
func (db *DB) ListAPITokens(ctx context.Context) ([]*gatehouse.APIToken, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+apiTokenColumns+` FROM api_tokens ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list api tokens: %w", err)
	}
	defer rows.Close()
	out := []*gatehouse.APIToken{}
	for rows.Next() {
		t, err := scanAPIToken(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: list api tokens: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list api tokens: %w", err)
	}
	return out, nil
}

// DeleteAPIToken revokes the token of that name; ENOTFOUND if none.
func (db *DB) DeleteAPIToken(ctx context.Context, name string) error {
	res, err := db.write.ExecContext(ctx, `DELETE FROM api_tokens WHERE name = $1`, name)
	return updated(res, err, "API token", "delete api token")
}

// TouchAPIToken records a use.
func (db *DB) TouchAPIToken(ctx context.Context, id string, at time.Time) error {
	res, err := db.write.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = $2 WHERE id = $1`, id, millis(at))
	return updated(res, err, "API token", "touch api token")
}

// RekeyAPIToken moves a token from its old key's hash to the current one's;
// ENOTFOUND when it is no longer under oldHash (revoked, or re-keyed by
// another node first).
func (db *DB) RekeyAPIToken(ctx context.Context, id string, oldHash, newHash []byte) error {
	res, err := db.write.ExecContext(ctx, `UPDATE api_tokens SET token_hash = $3 WHERE id = $1 AND token_hash = $2`, id, oldHash, newHash)
	return updated(res, err, "API token", "rekey api token")
}
