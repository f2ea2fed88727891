-- The OpenID Connect provider (docs/design.md §10.1): its clients, authorize
-- requests with their codes, access and refresh tokens, and signing keys,
-- all in the database so that any node can finish any step.
--
-- Nothing here is usable as it is stored: client secrets, codes, access
-- token IDs and refresh tokens are keyed hashes; private keys are sealed.
-- Lists (redirect URIs, scopes, amr…) are JSON arrays of strings.
--
-- Tokens name their Gatehouse session by its public id (the token hash
-- changes when the server's key rotates): a token is live only while that
-- session is. Deleting a client deletes everything it was given.

CREATE TABLE oauth_clients (
	id                     TEXT NOT NULL PRIMARY KEY,
	name                   TEXT NOT NULL,
	secret_hash            BLOB,
	public                 INTEGER NOT NULL,
	redirect_uris          TEXT NOT NULL,
	post_logout_uris       TEXT NOT NULL,
	org_ids                TEXT NOT NULL,
	signing_alg            TEXT NOT NULL,
	backchannel_logout_uri TEXT NOT NULL,
	created_at             INTEGER NOT NULL,
	updated_at             INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE oauth_auth_requests (
	id                    TEXT NOT NULL PRIMARY KEY,
	client_id             TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
	redirect_uri          TEXT NOT NULL,
	response_type         TEXT NOT NULL,
	response_mode         TEXT NOT NULL,
	state                 TEXT NOT NULL,
	nonce                 TEXT NOT NULL,
	scopes                TEXT NOT NULL,
	code_challenge        TEXT NOT NULL,
	code_challenge_method TEXT NOT NULL,
	prompt                TEXT NOT NULL,
	max_age_ms            INTEGER NOT NULL,
	has_max_age           INTEGER NOT NULL,
	login_hint            TEXT NOT NULL,
	ui_locales            TEXT NOT NULL,
	acr_values            TEXT NOT NULL,
	organization          TEXT NOT NULL,
	created_at            INTEGER NOT NULL,
	expires_at            INTEGER NOT NULL,
	user_id               TEXT NOT NULL DEFAULT '',
	org_id                TEXT NOT NULL DEFAULT '',
	session_id            TEXT NOT NULL DEFAULT '',
	auth_time             INTEGER NOT NULL DEFAULT 0,
	amr                   TEXT NOT NULL DEFAULT '[]',
	acr                   TEXT NOT NULL DEFAULT '',
	two_factor_state      TEXT NOT NULL DEFAULT '',
	done_at               INTEGER NOT NULL DEFAULT 0,
	code_hash             BLOB UNIQUE,
	code_expires_at       INTEGER NOT NULL DEFAULT 0,
	code_used_at          INTEGER NOT NULL DEFAULT 0
) STRICT, WITHOUT ROWID;

CREATE INDEX oauth_auth_requests_expires_at ON oauth_auth_requests (expires_at);

CREATE TABLE oauth_tokens (
	id_hash          BLOB NOT NULL PRIMARY KEY,
	client_id        TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
	user_id          TEXT NOT NULL,
	org_id           TEXT NOT NULL,
	session_id       TEXT NOT NULL,
	auth_request_id  TEXT NOT NULL,
	family_id        TEXT NOT NULL,
	scopes           TEXT NOT NULL,
	auth_time        INTEGER NOT NULL,
	amr              TEXT NOT NULL,
	acr              TEXT NOT NULL,
	two_factor_state TEXT NOT NULL,
	created_at       INTEGER NOT NULL,
	expires_at       INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX oauth_tokens_session ON oauth_tokens (session_id);
CREATE INDEX oauth_tokens_family ON oauth_tokens (family_id);
CREATE INDEX oauth_tokens_auth_request ON oauth_tokens (auth_request_id);
CREATE INDEX oauth_tokens_expires_at ON oauth_tokens (expires_at);

CREATE TABLE oauth_refresh_tokens (
	token_hash       BLOB NOT NULL PRIMARY KEY,
	client_id        TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
	user_id          TEXT NOT NULL,
	org_id           TEXT NOT NULL,
	session_id       TEXT NOT NULL,
	auth_request_id  TEXT NOT NULL,
	family_id        TEXT NOT NULL,
	scopes           TEXT NOT NULL,
	auth_time        INTEGER NOT NULL,
	amr              TEXT NOT NULL,
	acr              TEXT NOT NULL,
	two_factor_state TEXT NOT NULL,
	created_at       INTEGER NOT NULL,
	expires_at       INTEGER NOT NULL,
	used_at          INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX oauth_refresh_tokens_session ON oauth_refresh_tokens (session_id);
CREATE INDEX oauth_refresh_tokens_family ON oauth_refresh_tokens (family_id);
CREATE INDEX oauth_refresh_tokens_auth_request ON oauth_refresh_tokens (auth_request_id);
CREATE INDEX oauth_refresh_tokens_expires_at ON oauth_refresh_tokens (expires_at);

CREATE TABLE oauth_signing_keys (
	id             TEXT NOT NULL PRIMARY KEY,
	algorithm      TEXT NOT NULL,
	private_sealed BLOB NOT NULL,
	public_key     BLOB NOT NULL,
	created_at     INTEGER NOT NULL,
	retired_at     INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
