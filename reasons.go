package gatehouse

import "fmt"

// Reasons say what an Error means more precisely than its code, in a form a
// program can rely on: the web layer shows the catalog text
// "error."+Reason, with Args at {0}, {1}, …, so a page says the error in
// the reader's language without reading the English Message. A reason
// starts with its error's code. A reason, once released, keeps its meaning
// and its arguments; the comment of each names them.
const (
	// internal/password: Policy.Check. Field "password".
	ReasonPasswordTooShort      = "weak_password.too_short"      // {0}: the minimum length
	ReasonPasswordTooLong       = "weak_password.too_long"       // {0}: the maximum length
	ReasonPasswordOneCharacter  = "weak_password.one_character"  // one character repeated
	ReasonPasswordCommon        = "weak_password.common"         // on the list of common passwords
	ReasonPasswordContainsEmail = "weak_password.contains_email" // holds the e-mail address or its local part

	// internal/phone: Normalize. Field "phone".
	ReasonPhoneTooLong              = "invalid_phone.too_long"              // {0}: the maximum length
	ReasonPhoneEmpty                = "invalid_phone.empty"                 // nothing typed
	ReasonPhoneCharacters           = "invalid_phone.characters"            // {0}: the number as typed
	ReasonPhoneNotInternational     = "invalid_phone.not_international"     // {0}: the number as typed
	ReasonPhoneInvalidInternational = "invalid_phone.invalid_international" // {0}: the number as typed
	ReasonPhoneInvalid              = "invalid_phone.invalid"               // {0}: the number as typed

	// ParseSkipNetworks. Field "skip_networks"; {0}: the entry as typed.
	ReasonNetworkNotCIDR  = "invalid_network.not_cidr"             // no "/" in it
	ReasonNetworkInvalid  = "invalid_network.invalid"              // not a network
	ReasonNetworkHostBits = "invalid_network.host_bits"            // {1}: the network meant
	ReasonNetworkEveryone = "invalid_network.everyone"             // /0
	ReasonNetworkMapped   = "invalid_network.mapped"               // {1}: the IPv4 network meant
	ReasonNetworkUnion    = "invalid_network.union"                // {1}: IPv4 or IPv6, which the list covers whole
	ReasonNetworkTooMany  = "invalid_input.skip_networks.too_many" // {0}: the most allowed (no entry)

	// NormalizeEmail. Field "email".
	ReasonEmailRequired = "invalid_input.email.required"
	ReasonEmailTooLong  = "invalid_input.email.too_long" // {0}: the maximum length
	ReasonEmailInvalid  = "invalid_input.email.invalid"  // {0}: the address as normalized

	// internal/signin.
	ReasonPasswordRequired      = "invalid_input.password.required"   // Field "password"
	ReasonEmailSame             = "invalid_input.email.same"          // a change to the address the user has
	ReasonPhoneSame             = "invalid_input.phone.same"          // a change to the number the user has
	ReasonPhoneFirst            = "invalid_input.phone.first"         // a code by SMS to a user without a number
	ReasonContactFromDirectory  = "invalid_input.kind.directory"      // federated users' contact details are not theirs to change
	ReasonPasswordFromDirectory = "invalid_input.password.directory"  // Field "password": an LDAP or SAML2 organization's users have no password here
	ReasonNoSuchOrganization    = "invalid_credentials.organization"  // neither a slug nor the one name of an organization
	ReasonSignInThrottled       = "too_many_attempts.sign_in"         // {0}: the wait (a time.Duration)
	ReasonWrongPasswords        = "too_many_attempts.wrong_passwords" // {0}: the wait (a time.Duration)
	ReasonWrongCodes            = "too_many_attempts.wrong_codes"     // {0}: the wait (a time.Duration)
	ReasonLocked                = "too_many_attempts.locked"          // locked until an admin or a password reset lifts it
	ReasonSendCapped            = "resend_too_soon.capped"            // {0}: the wait (a time.Duration); the send caps, not ResendGap
	ReasonDeliveryEmail         = "delivery_failed.email"             // the e-mail with a code could not be sent
	ReasonDeliverySMS           = "delivery_failed.sms"               // the text message with a code could not be sent
	ReasonChangeExpired         = "login_expired.change"              // a pending change of contact details is over
	ReasonNoSuchBrowser         = "not_found.browser"                 // no such remembered browser
	ReasonNoSuchSession         = "not_found.session"

	// PasswordSettings.Validate, ValidateSlug, ValidateOrgName, ValidateUserName.
	ReasonOTPMethodInvalid   = "invalid_input.otp_method.invalid"         // {0}: the method as sent
	ReasonAuthMethodInvalid  = "invalid_input.auth_method.invalid"        // {0}: the method as sent
	ReasonRememberDaysRange  = "invalid_input.remember_days.range"        // {0}: the most days allowed
	ReasonTwoFactorFederated = "two_factor_unavailable.federated"         // Field "enforce_two_factor": not with LDAP or SAML2
	ReasonSlugInvalid        = "invalid_input.slug.invalid"               // not 1 to 63 letters, digits, hyphens
	ReasonOrgNameRequired    = "invalid_input.name.organization_required" // Field "name"
	ReasonOrgNameTooLong     = "invalid_input.name.organization_too_long" // {0}: the maximum length
	ReasonUserNameTooLong    = "invalid_input.name.too_long"              // {0}: the maximum length
	ReasonUserNameOneLine    = "invalid_input.name.one_line"              // a line break or NUL in a user's name
	ReasonNoLocalPassword    = "invalid_input.password.no_local"          // internal/accounts: an admin sets a password in an LDAP or SAML2 organization
	ReasonNoSuchSlug         = "not_found.organization"                   // internal/accounts: {0}: the slug as given; Field "organization"

	// internal/accounts.
	ReasonResetLinkSpent  = "not_found.reset_link"            // expired, used, or never issued
	ReasonTimeZoneInvalid = "invalid_input.time_zone.invalid" // {0}: the zone as typed; Field "time_zone"
	ReasonCountryInvalid  = "invalid_input.country.invalid"   // {0}: the code as typed; Field "country"

	// UserStore.DeleteUser. Field "role".
	ReasonLastAdmin = "conflict.last_admin"

	// internal/federation.
	ReasonServicePasswordAgain = "invalid_input.service_password.again" // Field "service_password"

	// internal/accounts: the admin console.
	ReasonAuthMethodNotSetUp   = "invalid_input.auth_method.not_set_up" // {0}: "LDAP" or "SAML2", not yet set up
	ReasonNoSMSProvider        = "invalid_input.otp_method.no_sms"      // the server has no SMS provider
	ReasonDisableSelf          = "invalid_input.disabled.self"          // an admin disabling themself
	ReasonDeleteSelf           = "invalid_input.user.self"              // an admin deleting themself
	ReasonWelcomeFromDirectory = "invalid_input.auth_method.directory"  // no welcome e-mail: users sign in through the directory or identity provider
	ReasonRoleInvalid          = "invalid_input.role.invalid"           // neither admin nor member
	ReasonRoleSelf             = "invalid_input.role.self"              // an admin taking away their own admin role
	ReasonWelcomeNotSent       = "delivery_failed.welcome"              // {0}: the new user's e-mail address; created, but the e-mail with the link not sent
	ReasonMailNotSent          = "delivery_failed.mail"                 // ResendWelcome: the e-mail with the link could not be sent

	// internal/signin: contact changes, reauthentication, federated sign-in.
	ReasonKindInvalid          = "invalid_input.kind.invalid"                   // Field "kind": neither phone nor email
	ReasonChangeMissing        = "invalid_input.challenge.change_missing"       // Field "challenge": no change of contact details named
	ReasonConfirmationMissing  = "invalid_input.challenge.confirmation_missing" // Field "challenge": no reauthentication named
	ReasonNotSAML2             = "invalid_input.not_saml2"                      // the organization does not sign in with SAML2
	ReasonNotSAML2Here         = "not_found.not_saml2"                          // internal/web: the same, for the SAML2 endpoints
	ReasonAccountDisabled      = "invalid_credentials.disabled"                 // a federated user whom an admin disabled
	ReasonNotLinked            = "invalid_credentials.not_linked"               // a federated identity not yet linked to its user
	ReasonSAML2ResponseRefused = "invalid_credentials.saml2_response"           // internal/web: Field "saml": the identity provider's answer refused
	ReasonSAML2NotSetUp        = "not_found.saml2_not_set_up"                   // internal/federation

	// internal/ldap: Config.Problems, by Field.
	ReasonLDAPURLRequired        = "invalid_input.ldap.url.required"
	ReasonLDAPURLInvalid         = "invalid_input.ldap.url.invalid"
	ReasonLDAPURLScheme          = "invalid_input.ldap.url.scheme"
	ReasonLDAPURLShape           = "invalid_input.ldap.url.shape" // {0}: the scheme, ldaps or ldap
	ReasonLDAPURLNoHost          = "invalid_input.ldap.url.no_host"
	ReasonLDAPURLPort            = "invalid_input.ldap.url.port"               // {0}: the port as typed
	ReasonLDAPCABlockType        = "invalid_input.ldap.ca_cert_pem.block_type" // {0}: the PEM block's type
	ReasonLDAPCAUnparsable       = "invalid_input.ldap.ca_cert_pem.unparsable" // {0}: which certificate, from 1
	ReasonLDAPCANotPEM           = "invalid_input.ldap.ca_cert_pem.not_pem"
	ReasonLDAPPlainWithLDAPS     = "invalid_input.ldap.insecure_no_tls.ldaps"
	ReasonLDAPPlainNotLoopback   = "invalid_input.ldap.insecure_no_tls.not_local" // {0}: the host
	ReasonLDAPBindAndSearch      = "invalid_input.ldap.bind_dn_template.both"
	ReasonLDAPBindOrSearch       = "invalid_input.ldap.bind_dn_template.neither"
	ReasonLDAPBindPlaceholder    = "invalid_input.ldap.bind_dn_template.no_placeholder"
	ReasonLDAPBindInvalid        = "invalid_input.ldap.bind_dn_template.invalid"
	ReasonLDAPBindNotValue       = "invalid_input.ldap.bind_dn_template.not_value"
	ReasonLDAPServiceDNRequired  = "invalid_input.ldap.service_dn.required"
	ReasonLDAPServiceDNInvalid   = "invalid_input.ldap.service_dn.invalid"
	ReasonLDAPServicePassword    = "invalid_input.ldap.service_password.required"
	ReasonLDAPSearchBaseRequired = "invalid_input.ldap.search_base.required"
	ReasonLDAPSearchBaseInvalid  = "invalid_input.ldap.search_base.invalid"
	ReasonLDAPFilterRequired     = "invalid_input.ldap.search_filter.required"
	ReasonLDAPFilterPlaceholder  = "invalid_input.ldap.search_filter.no_placeholder"
	ReasonLDAPFilterInvalid      = "invalid_input.ldap.search_filter.invalid"
	ReasonLDAPAttribute          = "invalid_input.ldap.attribute" // {0}: the name as typed; Field email_attr, name_attr or phone_attr
	ReasonLDAPTimeout            = "invalid_input.ldap.timeout"   // {0}: the default, {1}: the longest (time.Duration)

	// internal/saml: Config.Validate, ParseIdPMetadata, FetchIdPMetadata.
	// Field idp_metadata, idp_metadata_url, or the attribute's.
	ReasonSAMLMetadataMissing  = "invalid_input.saml.metadata_missing"
	ReasonSAMLMetadataBoth     = "invalid_input.saml.metadata_both"
	ReasonSAMLAttributeSpaces  = "invalid_input.saml.attribute_spaces"
	ReasonSAMLAttributeTooLong = "invalid_input.saml.attribute_too_long" // {0}: the maximum length
	ReasonSAMLAttributeOneLine = "invalid_input.saml.attribute_one_line"
	ReasonSAMLMetadataTooLarge = "invalid_input.saml.metadata_too_large" // {0}: the most KiB
	ReasonSAMLNotMetadata      = "invalid_input.saml.not_metadata"
	ReasonSAMLNoEntityID       = "invalid_input.saml.no_entity_id"
	ReasonSAMLNoIdP            = "invalid_input.saml.no_idp"
	ReasonSAMLNoRedirectSSO    = "invalid_input.saml.no_redirect_sso"
	ReasonSAMLSSONotHTTP       = "invalid_input.saml.sso_not_http"
	ReasonSAMLCertNotBase64    = "invalid_input.saml.cert_not_base64"
	ReasonSAMLCertUnparsable   = "invalid_input.saml.cert_unparsable"
	ReasonSAMLNoSigningCert    = "invalid_input.saml.no_signing_cert"
	ReasonSAMLURLTooLong       = "invalid_input.saml.url_too_long" // {0}: the maximum length
	ReasonSAMLURLNotAbsolute   = "invalid_input.saml.url_not_absolute"
	ReasonSAMLURLCredentials   = "invalid_input.saml.url_credentials"
	ReasonSAMLURLScheme        = "invalid_input.saml.url_scheme"
	ReasonSAMLURLHTTPS         = "invalid_input.saml.url_https"
	ReasonSAMLURLNotPublic     = "invalid_input.saml.url_not_public"

	// internal/web: the account and audit pages, admin-only settings.
	ReasonLanguageUnknown = "invalid_input.language.unknown"
	ReasonDateInvalid     = "invalid_input.date.invalid"   // {0}: the date as typed; Field "from" or "to"
	ReasonAuditPage       = "invalid_input.before.invalid" // the audit page's "before" is not a page
	ReasonSettingsAdmins  = "forbidden.settings"           // a member opening the settings

	// Actor and internal/web.
	ReasonAdminOnly      = "forbidden.admin_only"
	ReasonCrossOrigin    = "forbidden.cross_origin"
	ReasonFormUnreadable = "invalid_input.form"
	ReasonNoSuchPage     = "not_found.page"
)

// Reasons returns every reason above, so that tests can check each has its
// text in every language.
func Reasons() []string {
	return []string{
		ReasonPasswordTooShort, ReasonPasswordTooLong, ReasonPasswordOneCharacter, ReasonPasswordCommon, ReasonPasswordContainsEmail,
		ReasonPhoneTooLong, ReasonPhoneEmpty, ReasonPhoneCharacters, ReasonPhoneNotInternational, ReasonPhoneInvalidInternational, ReasonPhoneInvalid,
		ReasonEmailRequired, ReasonEmailTooLong, ReasonEmailInvalid,
		ReasonNetworkNotCIDR, ReasonNetworkInvalid, ReasonNetworkHostBits, ReasonNetworkEveryone, ReasonNetworkMapped,
		ReasonNetworkUnion, ReasonNetworkTooMany,
		ReasonPasswordRequired, ReasonNoSuchOrganization, ReasonEmailSame, ReasonPhoneSame, ReasonPhoneFirst, ReasonContactFromDirectory, ReasonPasswordFromDirectory,
		ReasonSignInThrottled, ReasonWrongPasswords, ReasonWrongCodes, ReasonLocked, ReasonSendCapped,
		ReasonDeliveryEmail, ReasonDeliverySMS, ReasonChangeExpired, ReasonNoSuchBrowser, ReasonNoSuchSession,
		ReasonResetLinkSpent, ReasonLastAdmin, ReasonTimeZoneInvalid, ReasonCountryInvalid,
		ReasonServicePasswordAgain,
		ReasonGroupAdminsInOrg, ReasonOrgInOtherGroup, ReasonGroupFull, ReasonGroupAdminOutside, ReasonGroupAdminProtected, ReasonGroupAdminRole,
		ReasonNoSuchGroup, ReasonGroupAdminDisabled, ReasonGroupRequired, ReasonNotAdministered, ReasonTokenScope,
		ReasonOTPMethodInvalid, ReasonAuthMethodInvalid, ReasonRememberDaysRange, ReasonTwoFactorFederated,
		ReasonSlugInvalid, ReasonOrgNameRequired, ReasonOrgNameTooLong, ReasonUserNameTooLong,
		ReasonUserNameOneLine, ReasonNoLocalPassword, ReasonNoSuchSlug, ReasonAuthMethodNotSetUp,
		ReasonNoSMSProvider, ReasonDisableSelf, ReasonDeleteSelf, ReasonWelcomeFromDirectory,
		ReasonRoleInvalid, ReasonRoleSelf, ReasonWelcomeNotSent, ReasonMailNotSent,
		ReasonKindInvalid, ReasonChangeMissing, ReasonConfirmationMissing, ReasonNotSAML2,
		ReasonNotSAML2Here, ReasonAccountDisabled, ReasonNotLinked, ReasonSAML2ResponseRefused,
		ReasonSAML2NotSetUp, ReasonLDAPURLRequired, ReasonLDAPURLInvalid,
		ReasonLDAPURLScheme, ReasonLDAPURLShape, ReasonLDAPURLNoHost, ReasonLDAPURLPort,
		ReasonLDAPCABlockType, ReasonLDAPCAUnparsable, ReasonLDAPCANotPEM, ReasonLDAPPlainWithLDAPS,
		ReasonLDAPPlainNotLoopback, ReasonLDAPBindAndSearch, ReasonLDAPBindOrSearch, ReasonLDAPBindPlaceholder,
		ReasonLDAPBindInvalid, ReasonLDAPBindNotValue, ReasonLDAPServiceDNRequired, ReasonLDAPServiceDNInvalid,
		ReasonLDAPServicePassword, ReasonLDAPSearchBaseRequired, ReasonLDAPSearchBaseInvalid, ReasonLDAPFilterRequired,
		ReasonLDAPFilterPlaceholder, ReasonLDAPFilterInvalid, ReasonLDAPAttribute, ReasonLDAPTimeout,
		ReasonSAMLMetadataMissing, ReasonSAMLMetadataBoth, ReasonSAMLAttributeSpaces, ReasonSAMLAttributeTooLong,
		ReasonSAMLAttributeOneLine, ReasonSAMLMetadataTooLarge, ReasonSAMLNotMetadata, ReasonSAMLNoEntityID,
		ReasonSAMLNoIdP, ReasonSAMLNoRedirectSSO, ReasonSAMLSSONotHTTP, ReasonSAMLCertNotBase64,
		ReasonSAMLCertUnparsable, ReasonSAMLNoSigningCert, ReasonSAMLURLTooLong, ReasonSAMLURLNotAbsolute,
		ReasonSAMLURLCredentials, ReasonSAMLURLScheme, ReasonSAMLURLHTTPS, ReasonSAMLURLNotPublic,
		ReasonLanguageUnknown, ReasonDateInvalid, ReasonAuditPage, ReasonSettingsAdmins,
		ReasonAdminOnly, ReasonCrossOrigin, ReasonFormUnreadable, ReasonNoSuchPage,
	}
}

// Reasoned returns an *Error with the given code and reason. Its Message is
// format filled in with args, and args are its Args too: use it where the
// English says the same values as the catalog text, in the same order, and a
// literal otherwise.
func Reasoned(code, reason, format string, args ...any) *Error {
	return &Error{Code: code, Reason: reason, Message: fmt.Sprintf(format, args...), Args: args}
}

// FieldReason is FieldError with a reason: an EINVALID error naming field,
// with Args as Reasoned sets them.
func FieldReason(field, reason, format string, args ...any) *Error {
	e := Reasoned(EINVALID, reason, format, args...)
	e.Field = field
	return e
}

// Organization groups (group.go).
const (
	// ReasonGroupAdminsInOrg: an organization whose users include admins
	// of its group cannot leave the group.
	ReasonGroupAdminsInOrg = "conflict.group_admins_in_org"
	// ReasonOrgInOtherGroup: the organization is in another group already.
	ReasonOrgInOtherGroup = "conflict.org_in_other_group"
	// ReasonGroupFull: the group holds MaxGroupOrganizations; {0} is that
	// number.
	ReasonGroupFull = "conflict.group_full"
	// ReasonGroupAdminOutside: a group admin must be a user of one of the
	// group's organizations.
	ReasonGroupAdminOutside = "conflict.group_admin_outside"
	// ReasonGroupAdminProtected: only the operator or another admin of the
	// same group may change a group admin's account.
	ReasonGroupAdminProtected = "forbidden.group_admin"
	// ReasonGroupAdminRole: a group admin stays an admin of their own
	// organization and in a password organization until removed from the
	// group.
	ReasonGroupAdminRole = "conflict.group_admin"
	// ReasonNoSuchGroup: {0} is the group slug as given.
	ReasonNoSuchGroup = "not_found.group"
	// ReasonGroupAdminDisabled: {0} is the disabled user's e-mail.
	ReasonGroupAdminDisabled = "invalid_input.email.disabled"
	// ReasonGroupRequired: the caller administers several groups and
	// named none to create an organization in.
	ReasonGroupRequired = "invalid_input.group.required"
	// ReasonNotAdministered: an organization the caller does not
	// administer, said as if it did not exist.
	ReasonNotAdministered = "not_found.not_administered"
	// ReasonTokenScope: {0} is the scope an API token lacks.
	ReasonTokenScope = "forbidden.token_scope"
)
