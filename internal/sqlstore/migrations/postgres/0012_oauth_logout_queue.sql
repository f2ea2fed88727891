-- Back-channel logouts still to be told (OIDC Back-Channel Logout 1.0):
-- one row per client and ended Gatehouse session, written in the same
-- transaction that takes the session's tokens, so a client that is down
-- is told later instead of never. A row is claimed until claimed_until by
-- the node posting its logout token, due again at next_attempt_at after a
-- failure, and deleted once the client accepts it or is given up on.
-- Nothing secret is kept: the token is signed afresh for every try.
-- Deleting a client deletes what it was still to be told.
CREATE TABLE oauth_logout_queue (
	id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	client_id       text NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
	user_id         text NOT NULL,
	session_id      text NOT NULL,
	attempts        integer NOT NULL DEFAULT 0,
	next_attempt_at bigint NOT NULL,
	claimed_until   bigint NOT NULL DEFAULT 0,
	created_at      bigint NOT NULL,
	UNIQUE (client_id, session_id)
);

CREATE INDEX oauth_logout_queue_due ON oauth_logout_queue (next_attempt_at, id);
CREATE INDEX oauth_logout_queue_created_at ON oauth_logout_queue (created_at, id);
