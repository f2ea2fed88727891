-- The indexes behind the periodic clean-up (DeleteExpiredChallenges), so
-- that removing the stale rows of these tables reads only those rows and
-- never walks a whole table: remembered browsers and password reset links
-- past expires_at, links already used (a partial index: it holds only the
-- used links, which the clean-up removes), and failure counts whose last
-- failure is older than the throttle window. Times are unix milliseconds.
--
-- The indexes are built inside the migration's transaction, which blocks
-- writes to these tables while they build. Before this release nothing
-- removed these rows, so on a long-running database the tables hold every
-- row ever written and the build takes longer than their live rows
-- suggest. (CREATE INDEX CONCURRENTLY cannot run in a transaction.)

CREATE INDEX remembered_browsers_expires_at ON remembered_browsers (expires_at);

CREATE INDEX password_resets_expires_at ON password_resets (expires_at);

CREATE INDEX password_resets_used ON password_resets (used_at) WHERE used_at <> 0;

CREATE INDEX login_throttle_last_failure_at ON login_throttle (last_failure_at);
