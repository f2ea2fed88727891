-- Operators' API tokens for provisioning, by the keyed hash of their
-- secret; scopes is a comma-separated list; expires_at 0 never expires.
CREATE TABLE api_tokens (
	id           TEXT NOT NULL PRIMARY KEY,
	name         TEXT NOT NULL UNIQUE,
	token_hash   BLOB NOT NULL UNIQUE,
	scopes       TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	last_used_at INTEGER NOT NULL
) STRICT;
