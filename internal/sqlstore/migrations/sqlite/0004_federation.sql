-- Federated sign-in: each organization's LDAP or SAML2 set-up, and the SAML
-- state every node must share. The configurations are sealed by the caller
-- and opaque here; a column is NULL when that part is not set up. Times are
-- unix milliseconds.

-- An IdP's metadata can run to tens of kilobytes, so this table keeps its
-- rowid: WITHOUT ROWID suits only small rows.
CREATE TABLE org_sign_in (
	org_id     TEXT NOT NULL PRIMARY KEY REFERENCES organizations (id),
	ldap       BLOB,
	saml       BLOB,
	saml_key   BLOB,
	saml_cert  BLOB,
	updated_at INTEGER NOT NULL
) STRICT;

-- The AuthnRequests issued and not yet answered, and the assertions
-- accepted, each until it expires. They are only ever looked up by their
-- key, and purged by expires_at. No foreign key: they are short-lived
-- caches, and writing them must not depend on anything else.
CREATE TABLE saml_requests (
	org_id     TEXT NOT NULL,
	id         TEXT NOT NULL,
	expires_at INTEGER NOT NULL,
	PRIMARY KEY (org_id, id)
) STRICT, WITHOUT ROWID;

CREATE INDEX saml_requests_expires_at ON saml_requests (expires_at);

CREATE TABLE saml_assertions (
	org_id     TEXT NOT NULL,
	id         TEXT NOT NULL,
	expires_at INTEGER NOT NULL,
	PRIMARY KEY (org_id, id)
) STRICT, WITHOUT ROWID;

CREATE INDEX saml_assertions_expires_at ON saml_assertions (expires_at);
