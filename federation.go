package gatehouse

import (
	"context"
	"time"
)

// SignInConfig is an organization's set-up of LDAP or SAML2 sign-in. The
// configurations are opaque here: internal/federation encodes them, and
// encrypts what holds a secret (a service account's password, the SAML
// service provider's private key) under the server secret.
type SignInConfig struct {
	OrgID string
	// LDAP and SAML are the sealed configurations; nil when not set up.
	LDAP []byte
	SAML []byte
	// SAMLKey is the sealed private key of the organization's SAML
	// service provider and SAMLCert its certificate (DER), made once.
	SAMLKey   []byte
	SAMLCert  []byte
	UpdatedAt time.Time
}

// FederationStore keeps sign-in configurations and the SAML state that
// must hold across nodes.
type FederationStore interface {
	// SignInConfig returns ENOTFOUND when the organization has none.
	SignInConfig(ctx context.Context, orgID string) (*SignInConfig, error)
	// SaveSignInConfig inserts or replaces the organization's row.
	// Returns ENOTFOUND if the organization does not exist.
	SaveSignInConfig(ctx context.Context, c *SignInConfig) error
	// IssueSAMLRequest remembers an AuthnRequest id until it expires,
	// with the hash of the nonce that binds it to the browser that asked.
	IssueSAMLRequest(ctx context.Context, orgID, id string, browserHash []byte, until time.Time) error
	// ConsumeSAMLRequest takes an issued, unexpired request id once (one
	// conditional DELETE … RETURNING) and gives its browser hash back;
	// false when unknown, taken or expired.
	ConsumeSAMLRequest(ctx context.Context, orgID, id string, now time.Time) (browserHash []byte, ok bool, err error)
	// RememberAssertion records an assertion id until it expires; fresh is
	// false when the id was seen before (a replay), on any node.
	RememberAssertion(ctx context.Context, orgID, id string, until time.Time) (fresh bool, err error)
}

// FederatedIdentity links a user to the identifier their directory or
// identity provider gives them, which, unlike the e-mail address, is never
// reassigned to someone else.
type FederatedIdentity struct {
	OrgID string
	// Provider is "ldap", or "saml2:" followed by the IdP's entity ID.
	Provider string
	// ExternalID is the LDAP entryUUID ("uuid:…") or DN ("dn:…"), or the
	// SAML2 persistent NameID.
	ExternalID string
	UserID     string
	CreatedAt  time.Time
}

// FederatedIdentityStore keeps the links of federated users.
type FederatedIdentityStore interface {
	// FederatedUserID returns the user linked to the external ID; ENOTFOUND
	// when none is.
	FederatedUserID(ctx context.Context, orgID, provider, externalID string) (string, error)
	// FederatedExternalID returns the external ID the user is linked to at
	// the provider; ENOTFOUND when the user has no link there.
	FederatedExternalID(ctx context.Context, orgID, provider, userID string) (string, error)
	// LinkFederatedIdentity records a link. Returns ECONFLICT when the
	// external ID is linked already, or the user is linked to another one
	// at the provider; ENOTFOUND when the organization or user does not
	// exist.
	LinkFederatedIdentity(ctx context.Context, l *FederatedIdentity) error
	// UnlinkFederatedIdentity removes the user's link at the provider;
	// false when there was none.
	UnlinkFederatedIdentity(ctx context.Context, orgID, provider, userID string) (bool, error)
}
