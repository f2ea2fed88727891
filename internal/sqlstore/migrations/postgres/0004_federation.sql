-- Federated sign-in: each organization's LDAP or SAML2 set-up, and the SAML
-- state every node must share. The configurations are sealed by the caller
-- and opaque here; a column is NULL when that part is not set up. Times are
-- unix milliseconds.

CREATE TABLE org_sign_in (
	org_id     text PRIMARY KEY REFERENCES organizations (id),
	ldap       bytea,
	saml       bytea,
	saml_key   bytea,
	saml_cert  bytea,
	updated_at bigint NOT NULL
);

-- The AuthnRequests issued and not yet answered, and the assertions
-- accepted, each until it expires. They are only ever looked up by their
-- key, and purged by expires_at. No foreign key: they are short-lived
-- caches, and writing them must not depend on anything else.
CREATE TABLE saml_requests (
	org_id     text NOT NULL,
	id         text NOT NULL,
	expires_at bigint NOT NULL,
	PRIMARY KEY (org_id, id)
);

CREATE INDEX saml_requests_expires_at ON saml_requests (expires_at);

CREATE TABLE saml_assertions (
	org_id     text NOT NULL,
	id         text NOT NULL,
	expires_at bigint NOT NULL,
	PRIMARY KEY (org_id, id)
);

CREATE INDEX saml_assertions_expires_at ON saml_assertions (expires_at);
