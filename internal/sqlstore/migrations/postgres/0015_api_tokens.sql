-- Operators' API tokens for provisioning, by the keyed hash of their
-- secret; scopes is a comma-separated list; expires_at 0 never expires.
CREATE TABLE api_tokens (
	id           text PRIMARY KEY,
	name         text COLLATE "C" NOT NULL UNIQUE,
	token_hash   bytea NOT NULL UNIQUE,
	scopes       text NOT NULL,
	created_at   bigint NOT NULL,
	expires_at   bigint NOT NULL,
	last_used_at bigint NOT NULL
);
