-- Each pending AuthnRequest is bound to the browser that asked for it: the
-- SHA-256 of a nonce that browser holds in a short-lived cookie, checked at
-- the ACS against login CSRF. Requests pending before this migration get an
-- empty hash, which no browser matches: those sign-ins start again.
ALTER TABLE saml_requests ADD COLUMN browser_hash BLOB NOT NULL DEFAULT x'';

-- Federated users are found by an identifier their directory or identity
-- provider never reassigns (LDAP entryUUID, or the DN; a SAML2 persistent
-- NameID), not by their mutable e-mail address. provider names the source:
-- "ldap", or "saml2:" and the IdP's entity ID, since a persistent NameID
-- is only unique per IdP. A user has at most one identity per provider.
CREATE TABLE federated_identities (
	org_id      TEXT NOT NULL REFERENCES organizations (id),
	provider    TEXT NOT NULL,
	external_id TEXT NOT NULL,
	user_id     TEXT NOT NULL REFERENCES users (id),
	created_at  INTEGER NOT NULL,
	PRIMARY KEY (org_id, provider, external_id)
) STRICT, WITHOUT ROWID;

CREATE UNIQUE INDEX federated_identities_user ON federated_identities (org_id, provider, user_id);
