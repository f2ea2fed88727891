-- Placeholder for the counters branch's migration 0006 (migrations have no
-- gaps). When merging, keep the counters branch's 0006 and delete this file.
SELECT 1;
