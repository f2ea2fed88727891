package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehousehq/gatehouse"
)

const authRequestColumns = `id, client_id, redirect_uri, response_type, response_mode, state, nonce, scopes,
	code_challenge, code_challenge_method, prompt, max_age_ms, has_max_age, login_hint, ui_locales, acr_values,
	organization, created_at, expires_at, user_id, org_id, session_id, auth_time, amr, acr, two_factor_state,
	done_at, code_hash, code_expires_at, code_used_at`

// CreateAuthRequest saves a new authorize request.
func (db *DB) CreateAuthRequest(ctx context.Context, r *gatehouse.OAuthAuthRequest) error {
	d := r.Done
	_, err := db.write.ExecContext(ctx, `INSERT INTO oauth_auth_requests (`+authRequestColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
			$21, $22, $23, $24, $25, $26, $27, $28, $29, $30)`,
		r.ID, r.ClientID, r.RedirectURI, r.ResponseType, r.ResponseMode, r.State, r.Nonce, jsonList(r.Scopes),
		r.CodeChallenge, r.CodeChallengeMethod, jsonList(r.Prompt), r.MaxAge.Milliseconds(), r.HasMaxAge, r.LoginHint,
		jsonList(r.UILocales), jsonList(r.ACRValues), r.Organization, millis(r.CreatedAt), millis(r.ExpiresAt),
		d.UserID, d.OrgID, d.SessionID, optMillis(d.AuthTime), jsonList(d.AMR), d.ACR, d.TwoFactorState, optMillis(d.At),
		nullableBytes(r.CodeHash), optMillis(r.CodeExpiresAt), optMillis(r.CodeUsedAt))
	switch violated(err) {
	case foreignKeyViolation:
		return notFound("Client")
	case uniqueViolation:
		return gatehouse.Errorf(gatehouse.ECONFLICT, "The authorize request already exists.")
	}
	if err != nil {
		return fmt.Errorf("sqlstore: create auth request: %w", err)
	}
	return nil
}

func scanAuthRequest(row scanner) (*gatehouse.OAuthAuthRequest, error) {
	var (
		r                                          gatehouse.OAuthAuthRequest
		scopes, prompt, locales, acrs, amr         string
		maxAge, created, expires, authTime, doneAt int64
		codeExpires, codeUsed                      int64
	)
	err := row.Scan(&r.ID, &r.ClientID, &r.RedirectURI, &r.ResponseType, &r.ResponseMode, &r.State, &r.Nonce, &scopes,
		&r.CodeChallenge, &r.CodeChallengeMethod, &prompt, &maxAge, &r.HasMaxAge, &r.LoginHint, &locales, &acrs,
		&r.Organization, &created, &expires, &r.Done.UserID, &r.Done.OrgID, &r.Done.SessionID, &authTime, &amr,
		&r.Done.ACR, &r.Done.TwoFactorState, &doneAt, &r.CodeHash, &codeExpires, &codeUsed)
	if err != nil {
		return nil, err
	}
	if err := fromJSONLists(scopes, &r.Scopes, prompt, &r.Prompt, locales, &r.UILocales, acrs, &r.ACRValues, amr, &r.Done.AMR); err != nil {
		return nil, fmt.Errorf("auth request %s: %w", r.ID, err)
	}
	r.MaxAge = time.Duration(maxAge) * time.Millisecond
	r.CreatedAt, r.ExpiresAt = fromMillis(created), fromMillis(expires)
	r.Done.AuthTime, r.Done.At = fromOptMillis(authTime), fromOptMillis(doneAt)
	r.CodeExpiresAt, r.CodeUsedAt = fromOptMillis(codeExpires), fromOptMillis(codeUsed)
	return &r, nil
}

// AuthRequestByID returns ENOTFOUND unless the request exists and is not
// past ExpiresAt at now.
func (db *DB) AuthRequestByID(ctx context.Context, id string, now time.Time) (*gatehouse.OAuthAuthRequest, error) {
	r, err := scanAuthRequest(db.write.QueryRowContext(ctx, `SELECT `+authRequestColumns+`
		FROM oauth_auth_requests WHERE id = $1 AND expires_at > $2`, id, millis(now)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Authorize request")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: auth request by id: %w", err)
	}
	return r, nil
}

// CompleteAuthRequest records who signed in, once. Returns ENOTFOUND
// unless the request exists, is live at d.At and is not done yet.
func (db *DB) CompleteAuthRequest(ctx context.Context, id string, d gatehouse.AuthRequestDone) error {
	res, err := db.write.ExecContext(ctx, `
		UPDATE oauth_auth_requests SET user_id = $2, org_id = $3, session_id = $4, auth_time = $5, amr = $6,
			acr = $7, two_factor_state = $8, done_at = $9
		WHERE id = $1 AND done_at = 0 AND expires_at > $9`,
		id, d.UserID, d.OrgID, d.SessionID, millis(d.AuthTime), jsonList(d.AMR), d.ACR, d.TwoFactorState, millis(d.At))
	return oneRow(res, err, "complete auth request", "Authorize request")
}

// SaveAuthCode records the hash of the request's code. Returns ENOTFOUND
// unless the request is done and has no code yet.
func (db *DB) SaveAuthCode(ctx context.Context, id string, hash []byte, expiresAt time.Time) error {
	res, err := db.write.ExecContext(ctx, `
		UPDATE oauth_auth_requests SET code_hash = $2, code_expires_at = $3
		WHERE id = $1 AND done_at <> 0 AND code_hash IS NULL`, id, hash, millis(expiresAt))
	return oneRow(res, err, "save auth code", "Authorize request")
}

// AuthRequestByCodeHash returns the request of a code, used or not,
// expired or not; ENOTFOUND if there is none. It reads from the writer: a
// code is redeemed a moment after it is saved, maybe by another node.
func (db *DB) AuthRequestByCodeHash(ctx context.Context, hash []byte) (*gatehouse.OAuthAuthRequest, error) {
	r, err := scanAuthRequest(db.write.QueryRowContext(ctx, `SELECT `+authRequestColumns+`
		FROM oauth_auth_requests WHERE code_hash = $1`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Code")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: auth request by code: %w", err)
	}
	return r, nil
}

// RedeemAuthCode marks the request's code used at at in one conditional
// UPDATE: the database's row lock lets exactly one of any number of callers
// (on any node) change the row; the others match nothing and get ECONFLICT,
// as does a code past its expiry.
func (db *DB) RedeemAuthCode(ctx context.Context, id string, at time.Time) error {
	res, err := db.write.ExecContext(ctx, `
		UPDATE oauth_auth_requests SET code_used_at = $2
		WHERE id = $1 AND code_hash IS NOT NULL AND code_used_at = 0 AND code_expires_at > $2`, id, millis(at))
	if err != nil {
		return fmt.Errorf("sqlstore: redeem auth code: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlstore: redeem auth code: %w", err)
	} else if n == 0 {
		return gatehouse.Errorf(gatehouse.ECONFLICT, "The code was already used or has expired.")
	}
	return nil
}
