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
