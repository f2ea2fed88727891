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
	id                     text PRIMARY KEY,
	name                   text NOT NULL,
	secret_hash            bytea,
	public                 boolean NOT NULL,
	redirect_uris          text NOT NULL,
	post_logout_uris       text NOT NULL,
	org_ids                text NOT NULL,
	signing_alg            text NOT NULL,
	backchannel_logout_uri text NOT NULL,
	created_at             bigint NOT NULL,
	updated_at             bigint NOT NULL
);

CREATE TABLE oauth_auth_requests (
	id                    text PRIMARY KEY,
	client_id             text NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
	redirect_uri          text NOT NULL,
	response_type         text NOT NULL,
	response_mode         text NOT NULL,
	state                 text NOT NULL,
	nonce                 text NOT NULL,
	scopes                text NOT NULL,
	code_challenge        text NOT NULL,
	code_challenge_method text NOT NULL,
	prompt                text NOT NULL,
	max_age_ms            bigint NOT NULL,
	has_max_age           boolean NOT NULL,
	login_hint            text NOT NULL,
	ui_locales            text NOT NULL,
	acr_values            text NOT NULL,
	organization          text NOT NULL,
	created_at            bigint NOT NULL,
	expires_at            bigint NOT NULL,
	user_id               text NOT NULL DEFAULT '',
	org_id                text NOT NULL DEFAULT '',
	session_id            text NOT NULL DEFAULT '',
	auth_time             bigint NOT NULL DEFAULT 0,
	amr                   text NOT NULL DEFAULT '[]',
	acr                   text NOT NULL DEFAULT '',
	two_factor_state      text NOT NULL DEFAULT '',
	done_at               bigint NOT NULL DEFAULT 0,
	code_hash             bytea UNIQUE,
	code_expires_at       bigint NOT NULL DEFAULT 0,
	code_used_at          bigint NOT NULL DEFAULT 0
);

CREATE INDEX oauth_auth_requests_expires_at ON oauth_auth_requests (expires_at);

CREATE TABLE oauth_tokens (
	id_hash          bytea PRIMARY KEY,
	client_id        text NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
	user_id          text NOT NULL,
	org_id           text NOT NULL,
	session_id       text NOT NULL,
	auth_request_id  text NOT NULL,
	family_id        text NOT NULL,
	scopes           text NOT NULL,
	auth_time        bigint NOT NULL,
	amr              text NOT NULL,
	acr              text NOT NULL,
	two_factor_state text NOT NULL,
	created_at       bigint NOT NULL,
	expires_at       bigint NOT NULL
);

CREATE INDEX oauth_tokens_session ON oauth_tokens (session_id);
CREATE INDEX oauth_tokens_family ON oauth_tokens (family_id);
CREATE INDEX oauth_tokens_auth_request ON oauth_tokens (auth_request_id);
CREATE INDEX oauth_tokens_expires_at ON oauth_tokens (expires_at);

CREATE TABLE oauth_refresh_tokens (
	token_hash       bytea PRIMARY KEY,
	client_id        text NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
	user_id          text NOT NULL,
	org_id           text NOT NULL,
	session_id       text NOT NULL,
	auth_request_id  text NOT NULL,
	family_id        text NOT NULL,
	scopes           text NOT NULL,
	auth_time        bigint NOT NULL,
	amr              text NOT NULL,
	acr              text NOT NULL,
	two_factor_state text NOT NULL,
	created_at       bigint NOT NULL,
	expires_at       bigint NOT NULL,
	used_at          bigint NOT NULL
);

CREATE INDEX oauth_refresh_tokens_session ON oauth_refresh_tokens (session_id);
CREATE INDEX oauth_refresh_tokens_family ON oauth_refresh_tokens (family_id);
CREATE INDEX oauth_refresh_tokens_auth_request ON oauth_refresh_tokens (auth_request_id);
CREATE INDEX oauth_refresh_tokens_expires_at ON oauth_refresh_tokens (expires_at);

CREATE TABLE oauth_signing_keys (
	id             text PRIMARY KEY,
	algorithm      text NOT NULL,
	private_sealed bytea NOT NULL,
	public_key     bytea NOT NULL,
	created_at     bigint NOT NULL,
	retired_at     bigint NOT NULL
);
