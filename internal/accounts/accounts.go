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

// Config holds the Service's collaborators and settings. Store, Hasher,
// Policy and Phone are required; the rest have defaults.
type Config struct {
	Store  gatehouse.Store
	Hasher Hasher
	Policy PasswordPolicy
	Phone  PhoneNormalizer
	// Logger is told failures once; nil discards.
	Logger *slog.Logger
	// Now is the clock of every change; nil is time.Now.
	Now func() time.Time
	// Rand makes the tokens of password links; nil means crypto/rand.
	Rand io.Reader

	// For forgot-password links: the server's keys, the current one first
	// (links made under an old key still work), that key stored token
	// hashes; Secret, when Keys is nil, is the one key (at least 32
	// bytes). Without either, password links fail (EUNAVAILABLE).
	Keys   *keyring.Ring
	Secret []byte
	// PublicURL is what links start with; Messenger e-mails links and
	// notices (nil: notices of admins' changes are not sent).
	PublicURL string
	Messenger gatehouse.Messenger
	// SMSAvailable says whether an SMS provider is configured; without
	// one, an organization cannot choose codes by SMS.
	SMSAvailable bool
	// Configured reports whether an organization has set up LDAP or
	// SAML2 (internal/federation); nil means neither can be chosen.
	Configured func(ctx context.Context, orgID string, m gatehouse.AuthMethod) (bool, error)
}

// Service manages organizations and users. Make it with New; nothing in it
// changes after.
type Service struct {
	store        gatehouse.Store
	hasher       Hasher
	policy       PasswordPolicy
	phone        PhoneNormalizer
	log          *slog.Logger
	now          func() time.Time
	rand         io.Reader
	ring         *keyring.Ring // nil: no password links
	publicURL    string
	msg          gatehouse.Messenger
	smsAvailable bool
	configured   func(ctx context.Context, orgID string, m gatehouse.AuthMethod) (bool, error)
}

// New returns a Service, or an error naming the first required field
// missing.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("accounts: Config.Store is required")
	case cfg.Hasher == nil:
		return nil, errors.New("accounts: Config.Hasher is required")
	case cfg.Policy == nil:
		return nil, errors.New("accounts: Config.Policy is required")
	case cfg.Phone == nil:
		return nil, errors.New("accounts: Config.Phone is required")
	}
	s := &Service{store: cfg.Store, hasher: cfg.Hasher, policy: cfg.Policy, phone: cfg.Phone, log: cfg.Logger,
		now: cfg.Now, rand: cfg.Rand, ring: cfg.Keys, publicURL: strings.TrimSuffix(cfg.PublicURL, "/"), msg: cfg.Messenger,
		smsAvailable: cfg.SMSAvailable, configured: cfg.Configured}
	if s.ring == nil && cfg.Secret != nil {
		ring, err := keyring.New(cfg.Secret)
		if err != nil {
			return nil, fmt.Errorf("accounts: Config.Secret: %w", err)
		}
		s.ring = ring
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	return s, nil
}

// NewOrganization is what creating an organization takes.
type NewOrganization struct {
	Slug string
	Name string
	// TimeZone (an IANA name, "" for the server's) and Country (ISO 3166-1
	// alpha-2, "" for none) are optional.
	TimeZone, Country string
	// EnforceTwoFactor overrides the default (enforced) when set.
	EnforceTwoFactor *bool

	groupID, groupSlug string // set by CreateGroupOrganization
}

func orgCreatedDetail(slug string, st gatehouse.PasswordSettings, group string) map[string]string {
	d := map[string]string{"slug": slug, "enforce_two_factor": boolString(st.EnforceTwoFactor), "otp_method": string(st.OTPMethod)}
	if group != "" {
		d["group"] = group
	}
	return d
}

// CreateOrganization creates an organization with the default
// settings: two-factor authentication enforced, by e-mail.
// Returns EINVALID naming the bad field, ECONFLICT if the slug is taken.
func (s *Service) CreateOrganization(ctx context.Context, in NewOrganization, actorID string) (_ *gatehouse.Organization, err error) {
	defer s.storeFailure(ctx, &err)
	slug := strings.TrimSpace(in.Slug)
	if err := gatehouse.ValidateSlug(slug); err != nil {
		return nil, err
	}
	name, zone, country, err := s.orgProfile(OrgProfile{Name: in.Name, TimeZone: in.TimeZone, Country: in.Country})
	if err != nil {
		return nil, err
	}
	settings := gatehouse.DefaultPasswordSettings()
	if in.EnforceTwoFactor != nil {
		settings.EnforceTwoFactor = *in.EnforceTwoFactor
	}
	now := s.now()
	org := &gatehouse.Organization{ID: gatehouse.NewID(), Slug: slug, Name: name, TimeZone: zone, Country: country, Settings: settings,
		GroupID: in.groupID, CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreateOrganization(ctx, org); err != nil {
		return nil, err
	}
	if err := s.audit(ctx, &gatehouse.AuditEvent{OrgID: org.ID, ActorID: actorID, Event: gatehouse.AuditOrgCreated, At: now,
		Detail: orgCreatedDetail(slug, settings, in.groupSlug)}); err != nil {
		return nil, err
	}
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
	// NoWelcome: InviteUser sends no e-mail (the user asks for a link at
	// "Forgot your password?", or an admin sends one later).
	NoWelcome bool
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
	email, name, phone, err := s.profile(org, in.Email, in.Name, in.Phone)
	if err != nil {
		return nil, err
	}
	if org.Settings.AuthMethod != gatehouse.AuthPassword && in.Password != "" {
		return nil, gatehouse.FieldReason("password", gatehouse.ReasonNoLocalPassword, "Users of an organization that signs in with LDAP or SAML2 have no local password.")
	}
	hash := ""
	if in.Password != "" {
		if err := s.policy.Check(in.Password, email); err != nil {
			return nil, err
		}
		if hash, err = s.hasher.Hash(ctx, in.Password); err != nil {
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
	if err := s.store.CreateUser(ctx, u); err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
			return nil, &gatehouse.Error{Code: gatehouse.ECONFLICT, Field: "email", Message: gatehouse.ErrorMessage(err)}
		}
		return nil, err
	}
	if err := s.audit(ctx, &gatehouse.AuditEvent{OrgID: org.ID, UserID: u.ID, ActorID: actorID, Event: gatehouse.AuditUserCreated, At: now,
		Detail: map[string]string{"email": email, "role": string(role)}}); err != nil {
		return nil, err
	}
	return u, nil
}

// CheckNewUser checks everything of in that CreateUser checks but the
// password: the organization, the e-mail (and that it is free), name and
// phone. A command line calls it before asking for the password, so that a
// typo is named before anyone types one. It saves nothing; CreateUser
// checks again. Returns what CreateUser returns for those fields.
func (s *Service) CheckNewUser(ctx context.Context, in NewUser) (err error) {
	defer s.storeFailure(ctx, &err)
	org, err := s.organization(ctx, in.OrgSlug)
	if err != nil {
		return err
	}
	email, _, _, err := s.profile(org, in.Email, in.Name, in.Phone)
	if err != nil {
		return err
	}
	_, err = s.store.UserByEmail(ctx, org.ID, email)
	switch gatehouse.ErrorCode(err) {
	case gatehouse.ENOTFOUND:
		return nil
	case "":
		return &gatehouse.Error{Code: gatehouse.ECONFLICT, Field: "email", Message: "A user with that e-mail address already exists in this organization."}
	}
	return err
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
		return nil, gatehouse.FieldReason("password", gatehouse.ReasonNoLocalPassword, "Users of an organization that signs in with LDAP or SAML2 have no local password.")
	}
	email, err = gatehouse.NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	u, err := s.store.UserByEmail(ctx, org.ID, email)
	if err != nil {
		return nil, err
	}
	if err := s.policy.Check(password, email); err != nil {
		return nil, err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return nil, err
	}
	// As a reset: the password and the end of everything the old one
	// opened are saved together or not at all.
	now := s.now()
	if err := s.store.ChangeCredentials(ctx, gatehouse.CredentialChange{OrgID: org.ID, UserID: u.ID, At: now,
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
	if _, err := s.store.DeleteUserChallenges(ctx, orgID, userID); err != nil {
		return err
	}
	_, err := s.store.VoidPasswordResets(ctx, orgID, userID, s.now())
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
		page, err := s.store.ListUsers(ctx, org.ID, after, 500)
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
	org, err := s.store.OrganizationBySlug(ctx, slug)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, &gatehouse.Error{Code: gatehouse.ENOTFOUND, Field: "organization", Reason: gatehouse.ReasonNoSuchSlug, Args: []any{slug},
			Message: fmt.Sprintf("There is no organization with the slug %q.", slug)}
	}
	return org, err
}

// audit records an administrative change after it is saved. A failed audit
// write fails the call (EUNAVAILABLE, through storeFailure): the change
// stands, but no change goes unrecorded without its caller knowing, and
// trying again records it.
func (s *Service) audit(ctx context.Context, e *gatehouse.AuditEvent) error {
	if err := s.store.AppendAudit(ctx, e); err != nil {
		return fmt.Errorf("audit %s: %w", e.Event, err)
	}
	return nil
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// profile checks and normalizes the e-mail, name and phone of a user of org
// as typed, naming the first bad field; a phone number without a country
// code is read in the organization's country.
func (s *Service) profile(org *gatehouse.Organization, email, name, phone string) (string, string, string, error) {
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
	if s.phone == nil {
		return "", "", "", errors.New("accounts: no phone normalizer")
	}
	if phone, err = s.phone(phone, org.Country); err != nil {
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
	s.log.ErrorContext(ctx, "account operation failed", "error", *err)
	gatehouse.WrapFailure(err, "account operation")
}
