-- Browsers on which a user has given their correct password (issue 8 item
-- 2): a sign-in from one is held to its own failure count rather than the
-- account's, so failures from elsewhere cannot keep the owner out. Only the
-- keyed hash of the cookie's token is kept; at most 20 per user.
CREATE TABLE known_devices (
	id           text PRIMARY KEY,
	token_hash   bytea NOT NULL UNIQUE,
	org_id       text NOT NULL,
	user_id      text NOT NULL,
	created_at   bigint NOT NULL,
	last_used_at bigint NOT NULL,
	expires_at   bigint NOT NULL,
	FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id) ON DELETE CASCADE
);

CREATE INDEX known_devices_user ON known_devices (org_id, user_id, last_used_at);

-- For the periodic clean-up of expired devices.
CREATE INDEX known_devices_expires_at ON known_devices (expires_at);
