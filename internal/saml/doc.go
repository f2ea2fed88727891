// Package saml signs users in through an organization's SAML 2.0 identity
// provider (IdP), with Gatehouse as the service provider (SP). There is one
// SP per organization, built on crewjam/saml's core saml.ServiceProvider.
//
// The organization gives its IdP metadata, as XML or as a URL (Config); the
// IdP is given the SP metadata, served at a stable URL (MetadataURL). A
// sign-in goes:
//
//  1. AuthnRequestURL makes an AuthnRequest, signed with the SP key, for the
//     HTTP-Redirect binding, and records its ID with the RequestTracker for
//     RequestLifetime. The caller redirects the browser there.
//  2. The IdP authenticates the user and has the browser POST a SAMLResponse
//     to the assertion consumer service (ACSURL). That POST comes from the
//     IdP's origin, so it is the one request the web layer exempts from its
//     cross-origin check; nothing else is.
//  3. ParseResponse takes the response's InResponseTo out of the
//     RequestTracker (single use, across nodes when the tracker lives in the
//     database) and only then lets crewjam validate the response against
//     it: a valid XML signature by an IdP signing certificate on the
//     Response or on the Assertion (an unsigned one is refused), the Issuer,
//     Destination, the bearer SubjectConfirmation's Recipient and
//     InResponseTo, the Conditions' NotBefore and NotOnOrAfter and the
//     audience (the SP entity ID, which is the metadata URL). The
//     assertion's ID is then recorded in the ReplayCache until the assertion
//     would expire, so the same assertion is refused on every node, and the
//     attributes are mapped to an Identity; an assertion without an e-mail
//     address is refused.
//
// IdP-initiated (unsolicited) responses and the HTTP-Artifact binding are not
// accepted. SHA-1 signatures are refused. Assertions may be encrypted to the
// SP certificate (AES-GCM preferred); signing and encryption use the same RSA
// key, which NewKeyPair makes and the caller stores.
//
// Every reason to refuse a response is returned as an error that wraps
// ErrInvalidResponse, whose message is safe to show ("sign-in failed"); the
// wrapped detail, crewjam's reason included, is for the log only. A failure
// of the RequestTracker, the ReplayCache or the metadata fetch wraps
// ErrUnavailable instead. The package has no HTTP routes of its own: the
// caller serves Metadata at MetadataURL and calls ParseResponse at ACSURL.
package saml
