-- Sessions get a public id: the list of a user's sessions names each one by
-- it, and ending one takes it, so neither the token nor its stored hash ever
-- leaves the server. 128 random bits as 32 hex digits for the sessions that
-- already exist; new ones get the ids of gatehouse.NewID. The index serves
-- ending one session by id and keeps ids unique.
--
-- sessions_org_user serves listing one user's sessions and ending an
-- organization's sessions that did not pass two-factor authentication,
-- which would otherwise read the whole table.

ALTER TABLE sessions ADD COLUMN public_id TEXT NOT NULL DEFAULT '';
UPDATE sessions SET public_id = lower(hex(randomblob(16)));
CREATE UNIQUE INDEX sessions_public_id ON sessions (public_id);
CREATE INDEX sessions_org_user ON sessions (org_id, user_id);
