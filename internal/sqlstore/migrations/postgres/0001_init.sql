-- Times are unix milliseconds (UTC), the same values the SQLite schema holds,
-- so that the Go code is shared. Slugs and e-mails sort byte by byte
-- (COLLATE "C"), as on SQLite, whatever the database's locale: lists and
-- their pages come out in the same order on both.

CREATE TABLE organizations (
	id                 text PRIMARY KEY,
	slug               text COLLATE "C" NOT NULL UNIQUE,
	name               text NOT NULL,
	enforce_two_factor boolean NOT NULL,
	otp_method         text NOT NULL,
	skip_networks      text NOT NULL, -- a JSON array of CIDR strings
	remember_days      integer NOT NULL,
	auth_method        text NOT NULL,
	created_at         bigint NOT NULL,
	updated_at         bigint NOT NULL
);

CREATE TABLE users (
	id                text PRIMARY KEY,
	org_id            text NOT NULL REFERENCES organizations (id),
	email             text COLLATE "C" NOT NULL,
	name              text NOT NULL,
	phone             text,
	role              text NOT NULL,
	disabled          boolean NOT NULL,
	two_factor_exempt boolean NOT NULL,
	password_hash     text,
	created_at        bigint NOT NULL,
	updated_at        bigint NOT NULL,
	UNIQUE (org_id, email),
	-- The target of the sessions' foreign key, which keeps every session in
	-- its user's organization.
	UNIQUE (org_id, id)
);

CREATE TABLE sessions (
	token_hash       bytea PRIMARY KEY,
	user_id          text NOT NULL,
	org_id           text NOT NULL,
	two_factor_state text NOT NULL,
	client_ip        text NOT NULL,
	user_agent       text NOT NULL,
	created_at       bigint NOT NULL,
	last_seen_at     bigint NOT NULL,
	expires_at       bigint NOT NULL,
	FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id) ON DELETE CASCADE
);

CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE login_throttle (
	key             text PRIMARY KEY,
	failures        integer NOT NULL,
	last_failure_at bigint NOT NULL
);

-- No foreign keys: the log records events outside any organization (org_id
-- ''), and nothing may stop an event from being written.
CREATE TABLE audit_events (
	id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	org_id    text NOT NULL,
	user_id   text NOT NULL,
	actor_id  text NOT NULL,
	event     text NOT NULL,
	reason    text NOT NULL,
	client_ip text NOT NULL,
	detail    text NOT NULL, -- a JSON object of strings
	at        bigint NOT NULL
);

CREATE INDEX audit_events_org_id ON audit_events (org_id, id);

CREATE TABLE outbox_messages (
	id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	channel    text NOT NULL,
	recipient  text NOT NULL,
	subject    text NOT NULL,
	body       text NOT NULL,
	created_at bigint NOT NULL
);
