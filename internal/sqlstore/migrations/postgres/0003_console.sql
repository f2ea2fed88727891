-- The admin console: each user's language, the time a session's user last
-- gave the password again, and the indexes behind the console's searches
-- and counts. Times are unix milliseconds; 0 means never.
--
-- Adding a column with a constant default rewrites no table (PostgreSQL 11
-- and later). The indexes are built inside the migration's transaction,
-- which blocks writes to the audit log while they build: about half a
-- minute for a million events on a small machine. (CREATE INDEX
-- CONCURRENTLY cannot run in a transaction.)

ALTER TABLE users ADD COLUMN locale text NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN reauth_at bigint NOT NULL DEFAULT 0;

-- The audit log filtered by one user (as the subject or as the actor: the
-- query reads both indexes and merges them) or by one event name, newest
-- first, a page at a time below an id.
CREATE INDEX audit_events_user ON audit_events (org_id, user_id, id);
CREATE INDEX audit_events_actor ON audit_events (org_id, actor_id, id);
CREATE INDEX audit_events_event ON audit_events (org_id, event, id);

-- Sign-ins by outcome since a moment: a range of one event's times, with
-- the reason in the index so that the count never reads the table.
CREATE INDEX audit_events_event_at ON audit_events (org_id, event, at, reason);

-- The audit log in a time window: the work is bounded by the window's
-- events, never by those newer or older (ListAuditFiltered).
CREATE INDEX audit_events_at ON audit_events (org_id, at);

-- No index for the user statistics: they count every user of the
-- organization in one pass, which UNIQUE (org_id, id) already narrows, and
-- an index on (org_id, last_verified_at) would not spare reading the rows.
-- The search walks UNIQUE (org_id, email) in order: a substring cannot use
-- a b-tree.
