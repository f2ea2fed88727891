package signin

import (
	"context"
	"sync"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// MaxSessionCacheTTL bounds Config.SessionCacheTTL: a revoked session, a
// disabled user or a stricter policy reaches every node within it.
const MaxSessionCacheTTL = time.Second

// maxCachedSessions bounds the cache's memory (about 1 KiB an entry); a
// full cache starts again empty.
const maxCachedSessions = 50_000

// sessionCache remembers, for at most ttl, what a full session check
// answered for a token hash, so that a burst of requests of one session
// (an application's page and its assets, forward-auth per request) reads
// the database once. Every local change that can end a session
// (ForgetSessions, called by this node's sign-out and by the store wrapper
// of Revoking) empties it at once; other nodes see the change within ttl.
type sessionCache struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]cachedSession
	gen uint64 // bumped by forget; an entry of an older one is stale
}

type cachedSession struct {
	sess gatehouse.Session
	org  gatehouse.Organization
	user gatehouse.User
	at   time.Time
	gen  uint64
}

// get returns a copy of the check cached for hash, if it is younger than
// ttl (and not from the future: a clock set back fails closed).
func (c *sessionCache) get(hash []byte, now time.Time) (*Current, bool) {
	if c == nil || c.ttl <= 0 {
		return nil, false
	}
	c.mu.Lock()
	e, ok := c.m[string(hash)]
	gen := c.gen
	c.mu.Unlock()
	if !ok || e.gen != gen {
		return nil, false
	}
	if age := now.Sub(e.at); age < 0 || age >= c.ttl {
		return nil, false
	}
	sess, org, user := e.sess, e.org, e.user
	return &Current{Session: &sess, Organization: &org, User: &user}, true
}

// put caches a full check that let cur in, made at now; gen is the
// generation read before the check began, so a session forgotten while it
// was checked is not put back.
func (c *sessionCache) put(hash []byte, cur *Current, now time.Time, gen uint64) {
	if c == nil || c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.m == nil || len(c.m) >= maxCachedSessions {
		c.m = make(map[string]cachedSession)
	}
	c.m[string(hash)] = cachedSession{sess: *cur.Session, org: *cur.Organization, user: *cur.User, at: now, gen: gen}
}

func (c *sessionCache) generation() uint64 {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// forget drops every cached check.
func (c *sessionCache) forget() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.gen++
	c.m = nil
	c.mu.Unlock()
}

// ForgetSessions drops every cached session check of this node, so that
// a session ended, a user disabled or a policy changed here is seen by the
// next request. Revoking calls it after the store's changes that can end a
// session.
func (s *Service) ForgetSessions() { s.cache.forget() }

// revoking is a store whose changes that can end a session, disable a
// user or change what a session check answers empty the session cache
// once they are saved.
type revoking struct {
	Store
	forget func()
}

func (r revoking) after(err error) error {
	r.forget()
	return err
}

func (r revoking) DeleteSession(ctx context.Context, hash []byte) error {
	return r.after(r.Store.DeleteSession(ctx, hash))
}

func (r revoking) DeleteUserSessions(ctx context.Context, orgID, userID string) error {
	return r.after(r.Store.DeleteUserSessions(ctx, orgID, userID))
}

func (r revoking) DeleteUserSession(ctx context.Context, orgID, userID, publicID string) error {
	return r.after(r.Store.DeleteUserSession(ctx, orgID, userID, publicID))
}

func (r revoking) DeleteOtherUserSessions(ctx context.Context, orgID, userID string, keep []byte) (int64, error) {
	n, err := r.Store.DeleteOtherUserSessions(ctx, orgID, userID, keep)
	return n, r.after(err)
}

func (r revoking) ChangeCredentials(ctx context.Context, c gatehouse.CredentialChange) error {
	return r.after(r.Store.ChangeCredentials(ctx, c))
}

func (r revoking) PatchUser(ctx context.Context, orgID, userID string, p gatehouse.UserPatch, at time.Time) (*gatehouse.User, error) {
	u, err := r.Store.PatchUser(ctx, orgID, userID, p, at)
	return u, r.after(err)
}

func (r revoking) SetSessionReauth(ctx context.Context, hash []byte, at time.Time) error {
	return r.after(r.Store.SetSessionReauth(ctx, hash, at))
}

// Revoking wraps the store of another service of this node (accounts,
// federation) so that its changes that can end a session (sessions,
// credentials, users, deletions, password settings, organization profile
// and groups) empty svc's session cache once saved.
func Revoking(store gatehouse.Store, svc *Service) gatehouse.Store {
	return fullRevoking{Store: store, forget: svc.ForgetSessions}
}

type fullRevoking struct {
	gatehouse.Store
	forget func()
}

func (r fullRevoking) after(err error) error {
	r.forget()
	return err
}

func (r fullRevoking) DeleteSession(ctx context.Context, hash []byte) error {
	return r.after(r.Store.DeleteSession(ctx, hash))
}

func (r fullRevoking) DeleteUserSessions(ctx context.Context, orgID, userID string) error {
	return r.after(r.Store.DeleteUserSessions(ctx, orgID, userID))
}

func (r fullRevoking) DeleteOtherUserSessions(ctx context.Context, orgID, userID string, keep []byte) (int64, error) {
	n, err := r.Store.DeleteOtherUserSessions(ctx, orgID, userID, keep)
	return n, r.after(err)
}

func (r fullRevoking) ChangeCredentials(ctx context.Context, c gatehouse.CredentialChange) error {
	return r.after(r.Store.ChangeCredentials(ctx, c))
}

func (r fullRevoking) PatchUser(ctx context.Context, orgID, userID string, p gatehouse.UserPatch, at time.Time) (*gatehouse.User, error) {
	u, err := r.Store.PatchUser(ctx, orgID, userID, p, at)
	return u, r.after(err)
}

func (r fullRevoking) DeleteUser(ctx context.Context, orgID, userID string, audit *gatehouse.AuditEvent) error {
	return r.after(r.Store.DeleteUser(ctx, orgID, userID, audit))
}

func (r fullRevoking) UpdatePasswordSettings(ctx context.Context, orgID string, st gatehouse.PasswordSettings, at time.Time) error {
	return r.after(r.Store.UpdatePasswordSettings(ctx, orgID, st, at))
}

func (r fullRevoking) UpdateOrganizationProfile(ctx context.Context, orgID, name, timeZone, country string, at time.Time) error {
	return r.after(r.Store.UpdateOrganizationProfile(ctx, orgID, name, timeZone, country, at))
}

func (r fullRevoking) SetOrganizationGroup(ctx context.Context, orgID, groupID string, audit []*gatehouse.AuditEvent) error {
	return r.after(r.Store.SetOrganizationGroup(ctx, orgID, groupID, audit))
}
