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

// SignIn is what the web layer needs of the sign-in service.
type SignIn interface {
	Login(ctx context.Context, req signin.LoginRequest) (*signin.LoginResult, error)
	Authenticate(ctx context.Context, token string) (*signin.Current, error)
	Logout(ctx context.Context, token string, ip netip.Addr) error
	Verify(ctx context.Context, req signin.VerifyRequest) (*signin.LoginResult, error)
	Resend(ctx context.Context, pendingToken string, ip netip.Addr) (*signin.Pending, error)
	Phone(ctx context.Context, pendingToken, phone string, ip netip.Addr) (*signin.Pending, error)
	Cancel(ctx context.Context, pendingToken string) error
	PendingState(ctx context.Context, pendingToken string) (*signin.Pending, *gatehouse.Organization, error)
	RememberedBrowsers(ctx context.Context, cur *signin.Current) ([]*gatehouse.RememberedBrowser, error)
	RevokeBrowser(ctx context.Context, cur *signin.Current, id string, ip netip.Addr) error
	StartContactChange(ctx context.Context, cur *signin.Current, kind, value, password string, ip netip.Addr, userAgent string) (*signin.ContactChange, error)
	VerifyContactChange(ctx context.Context, cur *signin.Current, id, code string, ip netip.Addr) (*signin.ContactChange, error)
	ResendContactChange(ctx context.Context, cur *signin.Current, id string, ip netip.Addr) (*signin.ContactChange, error)
	ContactState(ctx context.Context, cur *signin.Current, id string) (*signin.ContactChange, string, error)
	FederatedLogin(ctx context.Context, org *gatehouse.Organization, id signin.Identity, ip netip.Addr, userAgent, previousSession string) (*signin.LoginResult, error)
	FederatedFailed(ctx context.Context, org *gatehouse.Organization, reason, why string, ip netip.Addr)
	RecentlyAuthenticated(cur *signin.Current) bool
	StartReauth(ctx context.Context, cur *signin.Current, password string, ip netip.Addr) (*signin.Reauth, error)
	VerifyReauth(ctx context.Context, cur *signin.Current, id, code string, ip netip.Addr) (*signin.Reauth, error)
	ResendReauth(ctx context.Context, cur *signin.Current, id string, ip netip.Addr) (*signin.Reauth, error)
	Sessions(ctx context.Context, cur *signin.Current) ([]signin.SessionInfo, error)
	EndSession(ctx context.Context, cur *signin.Current, publicID string, ip netip.Addr) error
	EndOtherSessions(ctx context.Context, cur *signin.Current, ip netip.Addr) (int64, error)
}

// Accounts is what the web layer needs of account management
// (internal/accounts).
type Accounts interface {
	UpdateSettings(ctx context.Context, orgSlug string, change accounts.SettingsChange, actor accounts.Actor) (*gatehouse.Organization, error)
	UsersPage(ctx context.Context, orgSlug, cursor string, limit int) ([]*gatehouse.User, string, error)
	ResetTwoFactor(ctx context.Context, orgSlug, userID string, actor accounts.Actor) (int64, error)
	Unlock(ctx context.Context, orgSlug, userID string, actor accounts.Actor) error
	SetExempt(ctx context.Context, orgSlug, userID string, exempt bool, actor accounts.Actor) (*gatehouse.User, error)
	SetDisabled(ctx context.Context, orgSlug, userID string, disabled bool, actor accounts.Actor) (*gatehouse.User, error)
	AuditPage(ctx context.Context, orgSlug string, before int64, limit int) ([]*gatehouse.AuditEvent, int64, error)
	ForgotPassword(ctx context.Context, orgSlug, email string, ip netip.Addr) error
	PasswordResetUser(ctx context.Context, token string) (*gatehouse.Organization, *gatehouse.User, error)
	ResetPassword(ctx context.Context, token, password string, ip netip.Addr) error
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

// Metrics receives request measurements (internal/metrics).
type Metrics interface {
	Request(route, method, code string, d time.Duration)
	Handler() http.Handler
}

// Console is what the admin pages need beyond Accounts.
type Console interface {
	Coverage(ctx context.Context, orgSlug string) (*accounts.Coverage, error)
	SearchUsers(ctx context.Context, orgSlug, query, cursor string, limit int) ([]accounts.UserRow, string, error)
	RememberedCount(ctx context.Context, orgID, userID string) (int, error)
	InviteUser(ctx context.Context, in accounts.NewUser, actor accounts.Actor) (*gatehouse.User, error)
	ResendWelcome(ctx context.Context, orgSlug, userID string, actor accounts.Actor) error
	EditUser(ctx context.Context, orgSlug, userID string, in accounts.UserEdit, actor accounts.Actor) (*gatehouse.User, error)
	User(ctx context.Context, orgSlug, userID string) (*gatehouse.Organization, *gatehouse.User, error)
	AuditSearch(ctx context.Context, orgSlug string, q accounts.AuditQuery) ([]*gatehouse.AuditEvent, int64, error)
	SetLocale(ctx context.Context, orgID, userID, locale string) error
}

// Federation is the organizations' LDAP and SAML2 set-up
// (internal/federation).
type Federation interface {
	LDAPConfig(ctx context.Context, orgID string) (*ldap.Config, error)
	SetLDAP(ctx context.Context, orgID string, cfg ldap.Config, actor gatehouse.Actor) error
	SAMLConfig(ctx context.Context, orgID string) (*saml.Config, error)
	SetSAML(ctx context.Context, orgID string, cfg saml.Config, policy saml.FetchPolicy, actor gatehouse.Actor) error
	ServiceProvider(ctx context.Context, org *gatehouse.Organization, base *url.URL) (*saml.ServiceProvider, error)
}

// OrgLookup finds an organization by slug, for the SAML2 endpoints.
type OrgLookup interface {
	OrganizationBySlug(ctx context.Context, slug string) (*gatehouse.Organization, error)
}
