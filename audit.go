package gatehouse

import (
	"net/netip"
	"time"
)

// AuditEvent is one line of an organization's audit log. It never carries a
// code, a password or a token.
type AuditEvent struct {
	ID       int64
	OrgID    string // "" for events outside any organization
	UserID   string // the subject, "" when unknown
	ActorID  string // who did it, when not the subject
	Event    string // e.g. "login.succeeded"
	Reason   string // which rule decided, e.g. "not_enforced"
	ClientIP netip.Addr
	Detail   map[string]string
	At       time.Time
}

// Audit event names.
const (
	AuditLoginSucceeded         = "login.succeeded"
	AuditLoginFailed            = "login.failed"
	AuditLoginThrottled         = "login.throttled"
	AuditLoginTwoFactorRequired = "login.two_factor_required"
	AuditLoginPhoneRequired     = "login.phone_required"
	AuditCodeSent               = "code.sent"
	AuditCodeDeliveryFailed     = "code.delivery_failed"
	AuditCodeWrong              = "code.wrong"
	AuditUserLocked             = "user.locked"
	AuditPhoneAdded             = "user.phone_added"
	AuditTwoFactorReset         = "user.two_factor_reset"
	AuditUserUnlocked           = "user.unlocked"
	AuditExemptionChanged       = "user.exemption_changed"
	AuditUserDisabledChanged    = "user.disabled_changed"
	AuditPasswordResetRequested = "user.password_reset_requested"
	AuditPasswordReset          = "user.password_reset"
	AuditBrowserRevoked         = "user.remembered_browser_revoked"
	AuditContactChanged         = "user.contact_changed"
	AuditUserEdited             = "user.edited"
	AuditUserDeleted            = "user.deleted"
	AuditReauthenticated        = "session.reauthenticated"
	AuditSignInConfigChanged    = "organization.sign_in_config_changed"
	AuditLogout                 = "logout"
	AuditSessionEnded           = "session.ended"
	AuditOtherSessionsEnded     = "session.others_ended"
	AuditOrgCreated             = "organization.created"
	AuditOrgEdited              = "organization.edited"
	AuditSettingsChanged        = "organization.settings_changed"
	AuditUserCreated            = "user.created"
	AuditPasswordSet            = "user.password_set"
	AuditPasswordChanged        = "user.password_changed" // by the user, at /account
	AuditPasswordRehashed       = "user.password_rehashed"
	// AuditUsersImported is one event per bulk import, its counts in the
	// detail, rather than one user.created per user.
	AuditUsersImported = "users.imported"
	// Organization groups: recorded in the organization concerned, and
	// an admin's coming and going in every organization of the group.
	AuditGroupOrgAdded     = "group.organization_added"
	AuditGroupOrgRemoved   = "group.organization_removed"
	AuditGroupAdminAdded   = "group.admin_added"
	AuditGroupAdminRemoved = "group.admin_removed"
)

// AuditEventNames lists every event above, so that tests can check each is
// said in words in every language.
func AuditEventNames() []string {
	return []string{
		AuditLoginSucceeded, AuditLoginFailed, AuditLoginThrottled, AuditLoginTwoFactorRequired, AuditLoginPhoneRequired,
		AuditCodeSent, AuditCodeDeliveryFailed, AuditCodeWrong, AuditUserLocked, AuditPhoneAdded, AuditTwoFactorReset,
		AuditUserUnlocked, AuditExemptionChanged, AuditUserDisabledChanged, AuditPasswordResetRequested, AuditPasswordReset,
		AuditBrowserRevoked, AuditContactChanged, AuditUserEdited, AuditUserDeleted, AuditReauthenticated,
		AuditSignInConfigChanged, AuditLogout, AuditSessionEnded, AuditOtherSessionsEnded, AuditOrgCreated, AuditOrgEdited,
		AuditSettingsChanged, AuditUserCreated, AuditPasswordSet, AuditPasswordChanged, AuditPasswordRehashed, AuditUsersImported,
		AuditGroupOrgAdded, AuditGroupOrgRemoved, AuditGroupAdminAdded, AuditGroupAdminRemoved,
	}
}
