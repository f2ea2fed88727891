package web

import (
	"context"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/accounts"
	"github.com/gatehousehq/gatehouse/internal/ldap"
	"github.com/gatehousehq/gatehouse/internal/saml"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

// The web layer declares what it consumes, by capability: each handler
// file calls only the small interfaces it needs, through the Server's
// fields of the same capability (New). Config keeps one field per
// service, whose type joins that service's capabilities, so one concrete
// service fills it.

// SignIn is what the web layer needs of the sign-in service
// (internal/signin).
type SignIn interface {
	SessionAuth
	CodeSignIn
	FederatedSignIn
	Reauthenticator
	SessionList
	BrowserList
	ContactChanger
}

// SessionAuth tells who holds a session token and ends one: the route
// guards, the home page, GET /api/v1/session and signing out.
type SessionAuth interface {
	Authenticate(ctx context.Context, token string) (*signin.Current, error)
	Logout(ctx context.Context, token string, ip netip.Addr) error
	// AdminOf is the session as an admin of the organization slug (their
	// own, or one of their groups'); Manageable lists those organizations.
	AdminOf(ctx context.Context, cur *signin.Current, slug string) (*signin.Current, error)
	Manageable(ctx context.Context, cur *signin.Current) ([]*gatehouse.Organization, error)
}

// CodeSignIn is signing in with a password and, where the policy asks, a
// code: the sign-in and code pages and /api/v1/login/*.
type CodeSignIn interface {
	Login(ctx context.Context, req signin.LoginRequest) (*signin.LoginResult, error)
	Verify(ctx context.Context, req signin.VerifyRequest) (*signin.LoginResult, error)
	Resend(ctx context.Context, pendingToken string, ip netip.Addr) (*signin.Pending, error)
	Phone(ctx context.Context, pendingToken, phone string, ip netip.Addr) (*signin.Pending, error)
	Cancel(ctx context.Context, pendingToken string) error
	PendingState(ctx context.Context, pendingToken string) (*signin.Pending, *gatehouse.Organization, error)
}

// FederatedSignIn signs in a user whom an identity provider vouched for,
// or records why it refused: the SAML2 ACS.
type FederatedSignIn interface {
	FederatedLogin(ctx context.Context, org *gatehouse.Organization, id signin.Identity, ip netip.Addr, userAgent, previousSession string) (*signin.LoginResult, error)
	FederatedFailed(ctx context.Context, org *gatehouse.Organization, reason, why string, ip netip.Addr)
}

// Reauthenticator confirms it is still the signed-in user before a
// sensitive change: the re-authentication page, the settings form and
// /api/v1/session/reauthenticate.
type Reauthenticator interface {
	RecentlyAuthenticated(cur *signin.Current) bool
	StartReauth(ctx context.Context, cur *signin.Current, password string, ip netip.Addr) (*signin.Reauth, error)
	VerifyReauth(ctx context.Context, cur *signin.Current, id, code string, ip netip.Addr) (*signin.Reauth, error)
	ResendReauth(ctx context.Context, cur *signin.Current, id string, ip netip.Addr) (*signin.Reauth, error)
}

// SessionList is the signed-in user's sessions: the account page and
// /api/v1/account/sessions.
type SessionList interface {
	Sessions(ctx context.Context, cur *signin.Current) ([]signin.SessionInfo, error)
	EndSession(ctx context.Context, cur *signin.Current, publicID string, ip netip.Addr) error
	EndOtherSessions(ctx context.Context, cur *signin.Current, ip netip.Addr) (int64, error)
}

// BrowserList is the signed-in user's remembered browsers: the account
// page and /api/v1/account/remembered-browsers.
type BrowserList interface {
	RememberedBrowsers(ctx context.Context, cur *signin.Current) ([]*gatehouse.RememberedBrowser, error)
	RevokeBrowser(ctx context.Context, cur *signin.Current, id string, ip netip.Addr) error
}

// ContactChanger changes the signed-in user's phone or e-mail address,
// with a code to the old and the new one: the contact pages and
// /api/v1/account/contact.
type ContactChanger interface {
	StartContactChange(ctx context.Context, cur *signin.Current, kind, value, password string, ip netip.Addr, userAgent string) (*signin.ContactChange, error)
	VerifyContactChange(ctx context.Context, cur *signin.Current, id, code string, ip netip.Addr) (*signin.ContactChange, error)
	ResendContactChange(ctx context.Context, cur *signin.Current, id string, ip netip.Addr) (*signin.ContactChange, error)
	ContactState(ctx context.Context, cur *signin.Current, id string) (*signin.ContactChange, string, error)
	// ChangePassword is the user's own change of password (/account and
	// POST /api/v1/account/password).
	ChangePassword(ctx context.Context, cur *signin.Current, current, next string, ip netip.Addr) error
}

// Accounts is what the web layer needs of account management
// (internal/accounts).
type Accounts interface {
	SettingsEditor
	OrgEditor
	UserAdmin
	AuditLog
	PasswordReset
}

// OrgEditor saves an organization's name, time zone and country: the
// organization page and PUT /api/v1/organizations/{slug}.
// A group admin also creates organizations in their groups (the
// organizations page and POST /api/v1/organizations).
type OrgEditor interface {
	EditOrganization(ctx context.Context, orgSlug string, in accounts.OrgProfile, actor accounts.Actor) (*gatehouse.Organization, error)
	CreateGroupOrganization(ctx context.Context, groupSlug string, in accounts.NewOrganization, actor accounts.Actor) (*gatehouse.Organization, error)
	GroupsByIDs(ctx context.Context, ids []string) ([]*gatehouse.OrgGroup, error)
	// For the operator's API tokens: who holds one, the organization of a
	// path, every organization, and one created outside any group.
	AuthenticateAPIToken(ctx context.Context, token string) (*gatehouse.APIToken, error)
	Organization(ctx context.Context, slug string) (*gatehouse.Organization, error)
	Organizations(ctx context.Context, actor accounts.Actor) ([]*gatehouse.Organization, error)
	CreateOrganizationAs(ctx context.Context, in accounts.NewOrganization, actor accounts.Actor) (*gatehouse.Organization, error)
}

// SettingsEditor saves an organization's password settings: the settings
// page and PUT /api/v1/organizations/{slug}/password-settings.
type SettingsEditor interface {
	UpdateSettings(ctx context.Context, orgSlug string, change accounts.SettingsChange, actor accounts.Actor) (*gatehouse.Organization, error)
}

// UserAdmin is an admin's view of and actions on an organization's users:
// the user page's buttons and /api/v1/organizations/{slug}/users.
type UserAdmin interface {
	UsersPage(ctx context.Context, orgSlug, cursor string, limit int) ([]*gatehouse.User, string, error)
	InviteUser(ctx context.Context, in accounts.NewUser, actor accounts.Actor) (*accounts.Invitation, error)
	EditUser(ctx context.Context, orgSlug, userID string, in accounts.UserEdit, actor accounts.Actor) (*gatehouse.User, error)
	User(ctx context.Context, orgSlug, userID string) (*gatehouse.Organization, *gatehouse.User, error)
	ResetTwoFactor(ctx context.Context, orgSlug, userID string, actor accounts.Actor) (int64, error)
	Unlock(ctx context.Context, orgSlug, userID string, actor accounts.Actor) error
	SetExempt(ctx context.Context, orgSlug, userID string, exempt bool, actor accounts.Actor) (*gatehouse.User, error)
	SetDisabled(ctx context.Context, orgSlug, userID string, disabled bool, actor accounts.Actor) (*gatehouse.User, error)
	DeleteUser(ctx context.Context, orgSlug, userID string, actor accounts.Actor) error
}

// AuditLog pages through an organization's audit events:
// /api/v1/organizations/{slug}/audit-events.
type AuditLog interface {
	AuditPage(ctx context.Context, orgSlug string, before int64, limit int) ([]*gatehouse.AuditEvent, int64, error)
}

// PasswordReset is the forgotten password: the forgot and reset pages and
// /api/v1/password/*.
type PasswordReset interface {
	ForgotPassword(ctx context.Context, orgSlug, email string, ip netip.Addr) error
	PasswordResetUser(ctx context.Context, token string) (*gatehouse.Organization, *gatehouse.User, error)
	ResetPassword(ctx context.Context, token, password string, ip netip.Addr) error
}

// Console is what the admin and account pages need beyond Accounts
// (internal/accounts).
type Console interface {
	CoverageReporter
	UserConsole
	AuditSearcher
	LocaleSetter
}

// CoverageReporter counts how an organization's users and sign-ins stand
// with two-factor authentication: the settings and users pages.
type CoverageReporter interface {
	Coverage(ctx context.Context, orgSlug string) (*accounts.Coverage, error)
}

// UserConsole finds, invites and edits users: the admin users pages.
type UserConsole interface {
	SearchUsers(ctx context.Context, orgSlug, query, cursor string, limit int) ([]accounts.UserRow, string, error)
	RememberedCount(ctx context.Context, orgID, userID string) (int, error)
	InviteUser(ctx context.Context, in accounts.NewUser, actor accounts.Actor) (*accounts.Invitation, error)
	ResendWelcome(ctx context.Context, orgSlug, userID string, actor accounts.Actor) error
	EditUser(ctx context.Context, orgSlug, userID string, in accounts.UserEdit, actor accounts.Actor) (*gatehouse.User, error)
	User(ctx context.Context, orgSlug, userID string) (*gatehouse.Organization, *gatehouse.User, error)
}

// AuditSearcher filters an organization's audit events: the audit page and
// its CSV export.
type AuditSearcher interface {
	AuditSearch(ctx context.Context, orgSlug string, q accounts.AuditQuery) ([]*gatehouse.AuditEvent, int64, error)
	AuditPeople(ctx context.Context, orgSlug string, events []*gatehouse.AuditEvent) (map[string]*gatehouse.User, error)
}

// LocaleSetter saves the language a user chose on the account page.
type LocaleSetter interface {
	SetLocale(ctx context.Context, orgID, userID, locale string) error
}

// Federation is the organizations' LDAP and SAML2 set-up
// (internal/federation).
type Federation interface {
	FederationSetup
	SAMLProviders
}

// FederationSetup reads and saves an organization's LDAP and SAML2 set-up:
// the LDAP and SAML2 settings pages and their API.
type FederationSetup interface {
	LDAPConfig(ctx context.Context, orgID string) (*ldap.Config, error)
	SetLDAP(ctx context.Context, orgID string, cfg ldap.Config, actor gatehouse.Actor) error
	SAMLConfig(ctx context.Context, orgID string) (*saml.Config, error)
	SetSAML(ctx context.Context, orgID string, cfg saml.Config, policy saml.FetchPolicy, actor gatehouse.Actor) error
}

// SAMLProviders builds the SAML2 service provider of an organization: the
// SAML2 endpoints and the URLs the set-up shows.
type SAMLProviders interface {
	ServiceProvider(ctx context.Context, org *gatehouse.Organization, base *url.URL) (*saml.ServiceProvider, error)
}

// OrgLookup finds an organization by slug, for the SAML2 endpoints.
type OrgLookup interface {
	OrganizationBySlug(ctx context.Context, slug string) (*gatehouse.Organization, error)
}

// Pinger reports whether the database answers, for /readyz.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Outbox lists the development outbox, for /dev/outbox.
type Outbox interface {
	ListOutboxMessages(ctx context.Context, limit int) ([]*gatehouse.OutboxMessage, error)
}

// ClientIPResolver finds the client address of a request through the
// trusted-proxy rules (internal/clientip).
type ClientIPResolver interface {
	ClientIP(r *http.Request) netip.Addr
}

// ReturnURLs checks where a sign-in may send the browser back to
// (internal/forwardauth's Returns).
type ReturnURLs interface {
	// Check returns raw when it is an allowed return URL.
	Check(raw string) (string, bool)
	// CSPSources are the allowed hosts as Content-Security-Policy
	// sources: browsers follow a form's redirect only to form-action's.
	CSPSources() []string
}

// ForwardAuth answers reverse proxies asking whether a request may reach
// the application behind them (internal/forwardauth).
type ForwardAuth interface {
	Forward(w http.ResponseWriter, r *http.Request) // GET /auth/forward
	Request(w http.ResponseWriter, r *http.Request) // GET /auth/request
}

// Metrics receives request measurements (internal/metrics).
type Metrics interface {
	Request(route, method, code string, d time.Duration)
	Handler() http.Handler
}
