package gatehouse

import "time"

// ImportedUser is one user of a bulk import, already checked and
// normalized like a user created one by one (docs/design.md §14).
type ImportedUser struct {
	ID    string // the new user's id, used only when the e-mail is new
	Email string
	Name  string // "" leaves an existing user's name as it is
	Phone string // E.164; "" leaves an existing user's phone as it is
	// Role "" makes a new user a member and leaves an existing user's
	// role as it is.
	Role Role
	// PasswordHash is argon2id, bcrypt or PBKDF2 (internal/password
	// CheckImported); "" gives a new user no password and leaves an
	// existing user's hash as it is.
	PasswordHash string
}

// ImportBatch is a batch of imported users of one organization, written
// in one transaction.
type ImportBatch struct {
	OrgID string
	Users []ImportedUser // no e-mail twice
	// Update changes the users whose e-mail exists already (the non-empty
	// fields); without it they are left alone and counted as Existing.
	Update bool
	// DryRun counts what the batch would do and writes nothing.
	DryRun bool
	At     time.Time
}

// ImportCounts says what a batch did (or, in a dry run, would do).
type ImportCounts struct {
	Inserted int
	Updated  int // existing users changed by Update
	Existing int // existing users left as they were
	// Invitable are the ids of the users inserted without a password
	// hash: those a welcome e-mail can go to.
	Invitable []string
}
