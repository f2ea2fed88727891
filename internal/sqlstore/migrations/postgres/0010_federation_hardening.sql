-- Each pending AuthnRequest is bound to the browser that asked for it: the
-- SHA-256 of a nonce that browser holds in a short-lived cookie, checked at
-- the ACS against login CSRF. Requests pending before this migration get an
-- empty hash, which no browser matches: those sign-ins start again.
ALTER TABLE saml_requests ADD COLUMN browser_hash bytea NOT NULL DEFAULT ''::bytea;

-- Federated users are found by an identifier their directory or identity
-- provider never reassigns (LDAP entryUUID, or the DN; a SAML2 persistent
-- NameID), not by their mutable e-mail address. provider names the source:
-- "ldap", or "saml2:" and the IdP's entity ID, since a persistent NameID
-- is only unique per IdP. A user has at most one identity per provider.
CREATE TABLE federated_identities (
	org_id      text NOT NULL REFERENCES organizations (id),
	provider    text NOT NULL,
	external_id text NOT NULL,
	user_id     text NOT NULL REFERENCES users (id),
	created_at  bigint NOT NULL,
	PRIMARY KEY (org_id, provider, external_id)
);

CREATE UNIQUE INDEX federated_identities_user ON federated_identities (org_id, provider, user_id);
