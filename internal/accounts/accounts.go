// Package accounts creates and changes organizations and users: the
// validation, password policy and audit that every way in (CLI, API, pages)
// shares, so that none of them can save something half-checked.
package accounts

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/keyring"
)

// Hasher hashes new passwords (internal/password.Hasher).
type Hasher interface {
	Hash(ctx context.Context, password string) (string, error)
}

// PasswordPolicy checks a new password (internal/password.Policy).
type PasswordPolicy interface {
	Check(password, email string) error
}

// PhoneNormalizer turns a typed phone number into E.164
// (internal/phone.Normalize).
type PhoneNormalizer func(raw, defaultRegion string) (string, error)

// Service manages organizations and users.
type Service struct {
	Store  gatehouse.Store
	Hasher Hasher
	Policy PasswordPolicy
	Phone  PhoneNormalizer
	Logger *slog.Logger
	Now    func() time.Time
	// Rand makes the tokens of password links; nil means crypto/rand.
	Rand io.Reader

	// For forgot-password links: the server secret that keys stored token
	// hashes, the public URL links start with, and the messenger that
	// e-mails them.
	Secret []byte
	// Keys, when set, replaces Secret: the server's keys, the current one
	// first; links made under an old key still work.
	Keys      *keyring.Ring
	PublicURL string
	Messenger gatehouse.Messenger
	// SMSAvailable says whether an SMS provider is configured; without
	// one, an organization cannot choose codes by SMS.
	SMSAvailable bool
	// Configured reports whether an organization has set up LDAP or
	// SAML2 (internal/federation); nil means neither can be chosen.
	Configured func(ctx context.Context, orgID string, m gatehouse.AuthMethod) (bool, error)
}

func (s *Service) rand() io.Reader {
	if s.Rand != nil {
		return s.Rand
	}
	return rand.Reader
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// NewOrganization is what creating an organization takes.
type NewOrganization struct {
	Slug string
	Name string
	// EnforceTwoFactor overrides the default (enforced) when set.
	EnforceTwoFactor *bool
}

// CreateOrganization creates an organization with DESIGN.md's default
// settings: two-factor authentication enforced, by e-mail.
// Returns EINVALID naming the bad field, ECONFLICT if the slug is taken.
func (s *Service) CreateOrganization(ctx context.Context, in NewOrganization, actorID string) (_ *gatehouse.Organization, err error) {
	defer s.storeFailure(ctx, &err)
	slug := strings.TrimSpace(in.Slug)
	if err := gatehouse.ValidateSlug(slug); err != nil {
		return nil, err
	}
	name := strings.TrimSpace(in.Name)
	if err := gatehouse.ValidateOrgName(name); err != nil {
		return nil, err
	}
	settings := gatehouse.DefaultPasswordSettings()
	if in.EnforceTwoFactor != nil {
		settings.EnforceTwoFactor = *in.EnforceTwoFactor
	}
	now := s.now()
	org := &gatehouse.Organization{ID: gatehouse.NewID(), Slug: slug, Name: name, Settings: settings, CreatedAt: now, UpdatedAt: now}
	if err := s.Store.CreateOrganization(ctx, org); err != nil {
		return nil, err
	}
	s.audit(ctx, &gatehouse.AuditEvent{OrgID: org.ID, ActorID: actorID, Event: gatehouse.AuditOrgCreated, At: now,
		Detail: map[string]string{"slug": slug, "enforce_two_factor": boolString(settings.EnforceTwoFactor), "otp_method": string(settings.OTPMethod)}})
	return org, nil
}

// NewUser is what creating a user takes. Password may be empty: the user
// then cannot sign in with a password until one is set.
type NewUser struct {
	OrgSlug  string
	Email    string
	Name     string
	Phone    string
	Admin    bool
	Password string
}

// CreateUser creates a user in an organization. Every field is checked
// before anything is saved. Returns ENOTFOUND for an unknown organization,
// EINVALID / EINVALIDPHONE / EWEAKPASSWORD naming the bad field, ECONFLICT
// if the e-mail is taken in that organization.
func (s *Service) CreateUser(ctx context.Context, in NewUser, actorID string) (_ *gatehouse.User, err error) {
	defer s.storeFailure(ctx, &err)
	org, err := s.organization(ctx, in.OrgSlug)
	if err != nil {
		return nil, err
	}
	email, name, phone, err := s.profile(in.Email, in.Name, in.Phone)
	if err != nil {
		return nil, err
	}
	if org.Settings.AuthMethod != gatehouse.AuthPassword && in.Password != "" {
		return nil, gatehouse.FieldError("password", "Users of an organization that signs in with LDAP or SAML2 have no local password.")
	}
	hash := ""
	if in.Password != "" {
		if err := s.Policy.Check(in.Password, email); err != nil {
			return nil, err
		}
		if hash, err = s.Hasher.Hash(ctx, in.Password); err != nil {
			return nil, err
		}
	}
	role := gatehouse.RoleMember
	if in.Admin {
		role = gatehouse.RoleAdmin
	}
	now := s.now()
	u := &gatehouse.User{ID: gatehouse.NewID(), OrgID: org.ID, Email: email, Name: name, Phone: phone, Role: role,
		PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	if err := s.Store.CreateUser(ctx, u); err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
			return nil, &gatehouse.Error{Code: gatehouse.ECONFLICT, Field: "email", Message: gatehouse.ErrorMessage(err)}
		}
		return nil, err
	}
	s.audit(ctx, &gatehouse.AuditEvent{OrgID: org.ID, UserID: u.ID, ActorID: actorID, Event: gatehouse.AuditUserCreated, At: now,
		Detail: map[string]string{"email": email, "role": string(role)}})
	return u, nil
}

// SetPassword replaces a user's password after checking it against the
// policy, and ends the user's sessions. Returns ENOTFOUND for an unknown
// organization or user, EWEAKPASSWORD, or EINVALID for a user of an LDAP or
// SAML2 organization.
func (s *Service) SetPassword(ctx context.Context, orgSlug, email, password, actorID string) (_ *gatehouse.User, err error) {
	defer s.storeFailure(ctx, &err)
	org, err := s.organization(ctx, orgSlug)
	if err != nil {
		return nil, err
	}
	if org.Settings.AuthMethod != gatehouse.AuthPassword {
		return nil, gatehouse.FieldError("password", "Users of an organization that signs in with LDAP or SAML2 have no local password.")
	}
	email, err = gatehouse.NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	u, err := s.Store.UserByEmail(ctx, org.ID, email)
	if err != nil {
		return nil, err
	}
	if err := s.Policy.Check(password, email); err != nil {
		return nil, err
	}
	hash, err := s.Hasher.Hash(ctx, password)
	if err != nil {
		return nil, err
	}
	// As a reset: the password and the end of everything the old one
	// opened are saved together or not at all.
	now := s.now()
	if err := s.Store.ChangeCredentials(ctx, gatehouse.CredentialChange{OrgID: org.ID, UserID: u.ID, At: now,
		SetPassword: true, PasswordHash: hash,
		EndSessions: true, EndRememberedBrowsers: true, EndPending: true, VoidResetLinks: true, ClearCodeLock: true,
		ClearThrottle: []string{gatehouse.AccountThrottleKey(org.Slug, u.Email)}, ForgetDevices: true,
		Audit: &gatehouse.AuditEvent{OrgID: org.ID, UserID: u.ID, ActorID: actorID, Event: gatehouse.AuditPasswordSet, At: now}}); err != nil {
		return nil, err
	}
	return u, nil
}

// endPending ends what a user has started but not finished: pending
// sign-ins, pending contact changes and unused reset or welcome links.
func (s *Service) endPending(ctx context.Context, orgID, userID string) error {
	if _, err := s.Store.DeleteUserChallenges(ctx, orgID, userID); err != nil {
		return err
	}
	_, err := s.Store.VoidPasswordResets(ctx, orgID, userID, s.now())
	return err
}

// ListUsers returns every user of an organization, ordered by e-mail.
func (s *Service) ListUsers(ctx context.Context, orgSlug string) (_ *gatehouse.Organization, _ []*gatehouse.User, err error) {
	defer s.storeFailure(ctx, &err)
	org, err := s.organization(ctx, orgSlug)
	if err != nil {
		return nil, nil, err
	}
	var all []*gatehouse.User
	after := ""
	for {
		page, err := s.Store.ListUsers(ctx, org.ID, after, 500)
		if err != nil {
			return nil, nil, err
		}
		all = append(all, page...)
		if len(page) < 500 {
			return org, all, nil
		}
		after = page[len(page)-1].Email
	}
}

// organization finds an organization by slug; ENOTFOUND names the slug.
func (s *Service) organization(ctx context.Context, slug string) (*gatehouse.Organization, error) {
	slug = strings.TrimSpace(slug)
	org, err := s.Store.OrganizationBySlug(ctx, slug)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, &gatehouse.Error{Code: gatehouse.ENOTFOUND, Field: "organization", Message: fmt.Sprintf("There is no organization with the slug %q.", slug)}
	}
	return org, err
}

// audit records an administrative change after it is saved. A failed audit
// write is logged; the change itself stands.
func (s *Service) audit(ctx context.Context, e *gatehouse.AuditEvent) {
	if err := s.Store.AppendAudit(ctx, e); err != nil && s.Logger != nil {
		s.Logger.ErrorContext(ctx, "audit write failed", "event", e.Event, "error", err)
	}
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// profile checks and normalizes the e-mail, name and phone of a user as
// typed, naming the first bad field.
func (s *Service) profile(email, name, phone string) (string, string, string, error) {
	email, err := gatehouse.NormalizeEmail(email)
	if err != nil {
		return "", "", "", err
	}
	name = strings.TrimSpace(name)
	if err := gatehouse.ValidateUserName(name); err != nil {
		return "", "", "", err
	}
	if strings.TrimSpace(phone) == "" {
		return email, name, "", nil
	}
	if s.Phone == nil {
		return "", "", "", errors.New("accounts: no phone normalizer")
	}
	if phone, err = s.Phone(phone, ""); err != nil {
		return "", "", "", err
	}
	return email, name, phone, nil
}

// storeFailure turns a failure of the database (anything that is not a
// user-facing *gatehouse.Error) into EUNAVAILABLE, logged once here, so
// that admin and account calls fail closed with 503 like sign-ins do.
func (s *Service) storeFailure(ctx context.Context, err *error) {
	if *err == nil {
		return
	}
	var ge *gatehouse.Error
	if errors.As(*err, &ge) {
		return
	}
	if s.Logger != nil {
		s.Logger.ErrorContext(ctx, "account operation failed", "error", *err)
	}
	*err = &gatehouse.Error{Code: gatehouse.EUNAVAILABLE, RetryAfter: 5 * time.Second,
		Message: "This is unavailable right now. Try again in a moment."}
}
