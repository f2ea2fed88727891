-- Two-factor authentication: pending challenges and their codes, the send
-- log behind the send caps, remembered browsers, forgot-password links, and
-- each user's consecutive wrong codes. Times are unix milliseconds; 0 means
-- never.

ALTER TABLE users ADD COLUMN otp_failures integer NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN otp_last_failure_at bigint NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN last_verified_at bigint NOT NULL DEFAULT 0;

-- A verification by code in progress. done_at is 0 while it is live.
-- last_result and prev_sent_at are written by the same UPDATE that takes a
-- code or claims a send, so that the statement's RETURNING can say what it
-- did: standard SQL cannot return a column's value from before the UPDATE.
-- prev_sent_at is -1 when there is no claimed send to give back.
CREATE TABLE challenges (
	id           text PRIMARY KEY,
	token_hash   bytea UNIQUE, -- NULL for a challenge without its own cookie
	kind         text NOT NULL,
	org_id       text NOT NULL,
	user_id      text NOT NULL,
	channel      text NOT NULL,
	destination  text NOT NULL,
	new_value    text NOT NULL,
	step         integer NOT NULL,
	failures     integer NOT NULL,
	sends        integer NOT NULL,
	last_sent_at bigint NOT NULL,
	prev_sent_at bigint NOT NULL DEFAULT -1,
	last_result  text NOT NULL DEFAULT '',
	client_ip    text NOT NULL,
	user_agent   text NOT NULL,
	created_at   bigint NOT NULL,
	expires_at   bigint NOT NULL,
	done_at      bigint NOT NULL DEFAULT 0,
	FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id) ON DELETE CASCADE
);

CREATE INDEX challenges_user ON challenges (org_id, user_id);
CREATE INDEX challenges_expires_at ON challenges (expires_at);

-- Codes are kept only as keyed hashes. The id orders them: the newest
-- survive when a resend drops the older ones.
CREATE TABLE challenge_codes (
	id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	challenge_id text NOT NULL REFERENCES challenges (id) ON DELETE CASCADE,
	code_hash    bytea NOT NULL,
	created_at   bigint NOT NULL,
	expires_at   bigint NOT NULL
);

CREATE INDEX challenge_codes_challenge ON challenge_codes (challenge_id, code_hash);

-- Delivered codes, counted by user, destination and client address for the
-- send caps. No foreign key: the log outlives the challenges.
CREATE TABLE code_sends (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id     text NOT NULL,
	destination text NOT NULL,
	client_ip   text NOT NULL,
	sent_at     bigint NOT NULL
);

CREATE INDEX code_sends_user ON code_sends (user_id, sent_at);
CREATE INDEX code_sends_destination ON code_sends (destination, sent_at);
CREATE INDEX code_sends_client_ip ON code_sends (client_ip, sent_at);
CREATE INDEX code_sends_sent_at ON code_sends (sent_at);

CREATE TABLE remembered_browsers (
	id           text PRIMARY KEY,
	token_hash   bytea NOT NULL UNIQUE,
	org_id       text NOT NULL,
	user_id      text NOT NULL,
	client_ip    text NOT NULL,
	user_agent   text NOT NULL,
	created_at   bigint NOT NULL,
	last_used_at bigint NOT NULL,
	expires_at   bigint NOT NULL,
	FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id) ON DELETE CASCADE
);

CREATE INDEX remembered_browsers_user ON remembered_browsers (org_id, user_id);

-- used_at is 0 while the link is unused.
CREATE TABLE password_resets (
	token_hash bytea PRIMARY KEY,
	org_id     text NOT NULL,
	user_id    text NOT NULL,
	created_at bigint NOT NULL,
	expires_at bigint NOT NULL,
	used_at    bigint NOT NULL DEFAULT 0,
	FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id) ON DELETE CASCADE
);

CREATE INDEX password_resets_user ON password_resets (org_id, user_id);
