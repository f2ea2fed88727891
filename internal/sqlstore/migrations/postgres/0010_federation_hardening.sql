-- Each pending AuthnRequest is bound to the browser that asked for it: the
-- SHA-256 of a nonce that browser holds in a short-lived cookie, checked at
-- the ACS against login CSRF. Requests pending before this migration get an
-- empty hash, which no browser matches: those sign-ins start again.
ALTER TABLE saml_requests ADD COLUMN browser_hash bytea NOT NULL DEFAULT ''::bytea;
