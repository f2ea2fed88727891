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

	// internal/accounts.
	ReasonResetLinkSpent  = "not_found.reset_link"            // expired, used, or never issued
	ReasonTimeZoneInvalid = "invalid_input.time_zone.invalid" // {0}: the zone as typed; Field "time_zone"
	ReasonCountryInvalid  = "invalid_input.country.invalid"   // {0}: the code as typed; Field "country"

	// UserStore.DeleteUser. Field "role".
	ReasonLastAdmin = "conflict.last_admin"

	// internal/federation.
	ReasonServicePasswordAgain = "invalid_input.service_password.again" // Field "service_password"

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
)
