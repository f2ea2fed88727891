-- Reset and welcome links bound to the address they were sent to, at most
-- one live link per user; the reset e-mails' own send log, apart from the
-- code sends; and the durable queue of outgoing notices. Times are unix
-- milliseconds; 0 means never.

-- A link works only while the user's e-mail is still the address it was
-- sent to. Links issued before this migration are bound to the user's
-- current address.
ALTER TABLE password_resets ADD COLUMN email TEXT NOT NULL DEFAULT '';
UPDATE password_resets SET email = COALESCE((SELECT u.email FROM users u
	WHERE u.org_id = password_resets.org_id AND u.id = password_resets.user_id), '');

-- One live (unused) link per user: keep each user's newest, drop the rest,
-- then let the unique index hold it. CreatePasswordReset replaces the live
-- link in one INSERT … ON CONFLICT on this index.
DELETE FROM password_resets WHERE used_at = 0 AND EXISTS (
	SELECT 1 FROM password_resets n
	WHERE n.org_id = password_resets.org_id AND n.user_id = password_resets.user_id AND n.used_at = 0
	  AND (n.created_at > password_resets.created_at
	       OR (n.created_at = password_resets.created_at AND n.token_hash > password_resets.token_hash)));
CREATE UNIQUE INDEX password_resets_one_live ON password_resets (org_id, user_id) WHERE used_at = 0;

-- Forgot-password e-mails sent, by user and by client network (an IPv4
-- address or an IPv6 /64), for their own caps. Kept apart from code_sends
-- so that reset requests can never use up anyone's sign-in codes.
CREATE TABLE reset_sends (
	id         INTEGER PRIMARY KEY,
	user_id    TEXT NOT NULL,
	client_net TEXT NOT NULL,
	sent_at    INTEGER NOT NULL
) STRICT;

CREATE INDEX reset_sends_user ON reset_sends (user_id, sent_at);
CREATE INDEX reset_sends_client_net ON reset_sends (client_net, sent_at);
CREATE INDEX reset_sends_sent_at ON reset_sends (sent_at);

-- Notices waiting to be e-mailed (password links, welcome links, "your
-- phone was added", …), drained by a worker on every node. A row is
-- claimed until claimed_until by the node delivering it, retried at
-- next_attempt_at after a failure, and deleted once sent. The payload
-- holds a live reset or welcome link until then. Not the development
-- outbox (outbox_messages), which keeps what dev mode "sent".
CREATE TABLE mail_queue (
	id              INTEGER PRIMARY KEY,
	kind            TEXT NOT NULL,
	recipient       TEXT NOT NULL,
	payload         BLOB NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL,
	claimed_until   INTEGER NOT NULL DEFAULT 0,
	created_at      INTEGER NOT NULL
) STRICT;

CREATE INDEX mail_queue_due ON mail_queue (next_attempt_at, id);
