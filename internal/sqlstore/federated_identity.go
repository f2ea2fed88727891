package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/gatehousehq/gatehouse"
)

// FederatedUserID returns the id of the user linked to the external ID at
// the provider; ENOTFOUND when none is.
func (db *DB) FederatedUserID(ctx context.Context, orgID, provider, externalID string) (string, error) {
	var id string
	err := db.read.QueryRowContext(ctx, `
		SELECT user_id FROM federated_identities WHERE org_id = $1 AND provider = $2 AND external_id = $3`,
		orgID, provider, externalID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", notFound("Federated identity")
	}
	if err != nil {
		return "", fmt.Errorf("sqlstore: federated user: %w", err)
	}
	return id, nil
}

// FederatedExternalID returns the external ID the user is linked to at the
// provider; ENOTFOUND when the user has no link there.
func (db *DB) FederatedExternalID(ctx context.Context, orgID, provider, userID string) (string, error) {
	var id string
	err := db.read.QueryRowContext(ctx, `
		SELECT external_id FROM federated_identities WHERE org_id = $1 AND provider = $2 AND user_id = $3`,
		orgID, provider, userID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", notFound("Federated identity")
	}
	if err != nil {
		return "", fmt.Errorf("sqlstore: federated external id: %w", err)
	}
	return id, nil
}

// LinkFederatedIdentity records a link in one INSERT, which the two unique
// keys make atomic: of concurrent links of one external ID, or of one user
// at one provider, exactly one succeeds. Returns ECONFLICT for the others,
// ENOTFOUND when the organization or the user does not exist, EINVALID for
// an empty provider or external ID.
func (db *DB) LinkFederatedIdentity(ctx context.Context, l *gatehouse.FederatedIdentity) error {
	if l.Provider == "" || l.ExternalID == "" {
		return gatehouse.Errorf(gatehouse.EINVALID, "A federated identity needs a provider and an external ID.")
	}
	_, err := db.write.ExecContext(ctx, `
		INSERT INTO federated_identities (org_id, provider, external_id, user_id, created_at)
		VALUES ($1, $2, $3, $4, $5)`, l.OrgID, l.Provider, l.ExternalID, l.UserID, millis(l.CreatedAt))
	switch violated(err) {
	case uniqueViolation:
		return gatehouse.Errorf(gatehouse.ECONFLICT, "This identity, or this user at this provider, is linked already.")
	case foreignKeyViolation:
		return notFound("User")
	}
	if err != nil {
		return fmt.Errorf("sqlstore: link federated identity: %w", err)
	}
	return nil
}

// UnlinkFederatedIdentity removes the user's link at the provider; false
// when there was none.
func (db *DB) UnlinkFederatedIdentity(ctx context.Context, orgID, provider, userID string) (bool, error) {
	res, err := db.write.ExecContext(ctx, `
		DELETE FROM federated_identities WHERE org_id = $1 AND provider = $2 AND user_id = $3`, orgID, provider, userID)
	if err != nil {
		return false, fmt.Errorf("sqlstore: unlink federated identity: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlstore: unlink federated identity: %w", err)
	}
	return n > 0, nil
}
