-- Times are unix milliseconds (UTC) and booleans 0 or 1, the same values the
-- PostgreSQL schema holds, so that the Go code is shared. STRICT makes SQLite
-- refuse a value of the wrong type instead of storing it. Primary keys are
-- NOT NULL because SQLite otherwise allows NULL in them.

CREATE TABLE organizations (
	id                 TEXT NOT NULL PRIMARY KEY,
	slug               TEXT NOT NULL UNIQUE,
	name               TEXT NOT NULL,
	enforce_two_factor INTEGER NOT NULL,
	otp_method         TEXT NOT NULL,
	skip_networks      TEXT NOT NULL, -- a JSON array of CIDR strings
	remember_days      INTEGER NOT NULL,
	auth_method        TEXT NOT NULL,
	created_at         INTEGER NOT NULL,
	updated_at         INTEGER NOT NULL
) STRICT;

CREATE TABLE users (
	id                TEXT NOT NULL PRIMARY KEY,
	org_id            TEXT NOT NULL REFERENCES organizations (id),
	email             TEXT NOT NULL,
	name              TEXT NOT NULL,
	phone             TEXT,
	role              TEXT NOT NULL,
	disabled          INTEGER NOT NULL,
	two_factor_exempt INTEGER NOT NULL,
	password_hash     TEXT,
	created_at        INTEGER NOT NULL,
	updated_at        INTEGER NOT NULL,
	UNIQUE (org_id, email),
	-- The target of the sessions' foreign key, which keeps every session in
	-- its user's organization.
	UNIQUE (org_id, id)
) STRICT;

-- Sessions and throttles are only ever looked up by their key: WITHOUT ROWID
-- keeps each in one b-tree.
CREATE TABLE sessions (
	token_hash       BLOB NOT NULL PRIMARY KEY,
	user_id          TEXT NOT NULL,
	org_id           TEXT NOT NULL,
	two_factor_state TEXT NOT NULL,
	client_ip        TEXT NOT NULL,
	user_agent       TEXT NOT NULL,
	created_at       INTEGER NOT NULL,
	last_seen_at     INTEGER NOT NULL,
	expires_at       INTEGER NOT NULL,
	FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE login_throttle (
	key             TEXT NOT NULL PRIMARY KEY,
	failures        INTEGER NOT NULL,
	last_failure_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- No foreign keys: the log records events outside any organization (org_id
-- ""), and nothing may stop an event from being written. AUTOINCREMENT never
-- reuses an id, so pages by id stay stable.
CREATE TABLE audit_events (
	id        INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
	org_id    TEXT NOT NULL,
	user_id   TEXT NOT NULL,
	actor_id  TEXT NOT NULL,
	event     TEXT NOT NULL,
	reason    TEXT NOT NULL,
	client_ip TEXT NOT NULL,
	detail    TEXT NOT NULL, -- a JSON object of strings
	at        INTEGER NOT NULL
) STRICT;

CREATE INDEX audit_events_org_id ON audit_events (org_id, id);

CREATE TABLE outbox_messages (
	id         INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
	channel    TEXT NOT NULL,
	recipient  TEXT NOT NULL,
	subject    TEXT NOT NULL,
	body       TEXT NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;
