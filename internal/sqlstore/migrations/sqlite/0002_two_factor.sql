-- Two-factor authentication: pending challenges and their codes, the send
-- log behind the send caps, remembered browsers, forgot-password links, and
-- each user's consecutive wrong codes. Times are unix milliseconds; 0 means
-- never (SQLite's STRICT tables take INTEGER where PostgreSQL has bigint).

ALTER TABLE users ADD COLUMN otp_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN otp_last_failure_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN last_verified_at INTEGER NOT NULL DEFAULT 0;

-- A verification by code in progress. done_at is 0 while it is live.
-- last_result and prev_sent_at are written by the same UPDATE that takes a
-- code or claims a send, so that the statement's RETURNING can say what it
-- did: standard SQL cannot return a column's value from before the UPDATE.
-- prev_sent_at is -1 when there is no claimed send to give back.
CREATE TABLE challenges (
	id           TEXT NOT NULL PRIMARY KEY,
	token_hash   BLOB UNIQUE, -- NULL for a challenge without its own cookie
	kind         TEXT NOT NULL,
	org_id       TEXT NOT NULL,
	user_id      TEXT NOT NULL,
	channel      TEXT NOT NULL,
	destination  TEXT NOT NULL,
	new_value    TEXT NOT NULL,
	step         INTEGER NOT NULL,
	failures     INTEGER NOT NULL,
	sends        INTEGER NOT NULL,
	last_sent_at INTEGER NOT NULL,
	prev_sent_at INTEGER NOT NULL DEFAULT -1,
	last_result  TEXT NOT NULL DEFAULT '',
	client_ip    TEXT NOT NULL,
	user_agent   TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	done_at      INTEGER NOT NULL DEFAULT 0,
	FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id) ON DELETE CASCADE
) STRICT;

CREATE INDEX challenges_user ON challenges (org_id, user_id);
CREATE INDEX challenges_expires_at ON challenges (expires_at);

-- Codes are kept only as keyed hashes. The id orders them: the newest
-- survive when a resend drops the older ones.
CREATE TABLE challenge_codes (
	id           INTEGER NOT NULL PRIMARY KEY,
	challenge_id TEXT NOT NULL REFERENCES challenges (id) ON DELETE CASCADE,
	code_hash    BLOB NOT NULL,
	created_at   INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX challenge_codes_challenge ON challenge_codes (challenge_id, code_hash);

-- Delivered codes, counted by user, destination and client address for the
-- send caps. No foreign key: the log outlives the challenges.
CREATE TABLE code_sends (
	id          INTEGER NOT NULL PRIMARY KEY,
	user_id     TEXT NOT NULL,
	destination TEXT NOT NULL,
	client_ip   TEXT NOT NULL,
	sent_at     INTEGER NOT NULL
) STRICT;

CREATE INDEX code_sends_user ON code_sends (user_id, sent_at);
CREATE INDEX code_sends_destination ON code_sends (destination, sent_at);
CREATE INDEX code_sends_client_ip ON code_sends (client_ip, sent_at);
CREATE INDEX code_sends_sent_at ON code_sends (sent_at);

CREATE TABLE remembered_browsers (
	id           TEXT NOT NULL PRIMARY KEY,
	token_hash   BLOB NOT NULL UNIQUE,
	org_id       TEXT NOT NULL,
	user_id      TEXT NOT NULL,
	client_ip    TEXT NOT NULL,
	user_agent   TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	last_used_at INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id) ON DELETE CASCADE
) STRICT;

CREATE INDEX remembered_browsers_user ON remembered_browsers (org_id, user_id);

-- used_at is 0 while the link is unused.
CREATE TABLE password_resets (
	token_hash BLOB NOT NULL PRIMARY KEY,
	org_id     TEXT NOT NULL,
	user_id    TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at    INTEGER NOT NULL DEFAULT 0,
	FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

CREATE INDEX password_resets_user ON password_resets (org_id, user_id);
