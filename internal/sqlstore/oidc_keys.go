package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// CreateSigningKey saves a new key and retires the current key of its
// algorithm at k.CreatedAt, in one transaction. Two nodes creating a first
// key at once both succeed: the later one retires the earlier, whose public
// key stays published.
func (db *DB) CreateSigningKey(ctx context.Context, k *gatehouse.SigningKey) error {
	return db.inTx(ctx, "create signing key", func(tx *txn) error {
		if _, err := tx.ExecContext(ctx, `UPDATE oauth_signing_keys SET retired_at = $2
			WHERE algorithm = $1 AND retired_at = 0`, k.Algorithm, millis(k.CreatedAt)); err != nil {
			return fmt.Errorf("sqlstore: create signing key: %w", err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO oauth_signing_keys (id, algorithm, private_sealed, public_key, created_at, retired_at)
			VALUES ($1, $2, $3, $4, $5, 0)`, k.ID, k.Algorithm, k.PrivateSealed, k.Public, millis(k.CreatedAt))
		if violated(err) == uniqueViolation {
			return gatehouse.Errorf(gatehouse.ECONFLICT, "The signing key already exists.")
		}
		if err != nil {
			return fmt.Errorf("sqlstore: create signing key: %w", err)
		}
		return nil
	})
}

// SigningKeys returns the current keys and those retired after
// retiredAfter (what they signed may still be valid), newest first.
func (db *DB) SigningKeys(ctx context.Context, retiredAfter time.Time) ([]*gatehouse.SigningKey, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, algorithm, private_sealed, public_key, created_at, retired_at
		FROM oauth_signing_keys WHERE retired_at = 0 OR retired_at > $1 ORDER BY created_at DESC, id`, millis(retiredAfter))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: signing keys: %w", err)
	}
	defer rows.Close()
	var out []*gatehouse.SigningKey
	for rows.Next() {
		var (
			k                gatehouse.SigningKey
			created, retired int64
		)
		if err := rows.Scan(&k.ID, &k.Algorithm, &k.PrivateSealed, &k.Public, &created, &retired); err != nil {
			return nil, fmt.Errorf("sqlstore: signing keys: %w", err)
		}
		k.CreatedAt, k.RetiredAt = fromMillis(created), fromOptMillis(retired)
		out = append(out, &k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: signing keys: %w", err)
	}
	return out, nil
}
