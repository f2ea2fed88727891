// Package userimport imports the users of one organization in bulk from CSV
// or JSON Lines (docs/design.md §14).
//
// An import runs in two passes with bounded memory whatever the size of the
// input. The first reads the input once, checks every line as creating the
// user one at a time would (e-mail, name, phone in the organization's
// country, role, password hash, duplicates within the input) and writes the
// good lines, normalized, to a spool file of its own (mode 0600, removed at
// the end): standard input cannot be read twice, and the second pass then
// does not normalize again. When a line is bad, nothing is written unless
// the caller asked to skip bad lines. The second pass reads the spool and
// writes it in batches, each one transaction of the store.
//
// Duplicates are found with a set of 64-bit keyed hashes of the e-mails
// (8 bytes and a line number each, not the e-mails), and a hash seen twice
// is checked against the spooled e-mail, so a collision never refuses a good
// line.
package userimport

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// DefaultBatchSize is how many users one transaction writes.
const DefaultBatchSize = 10000

// MaxReported bounds the bad lines an import keeps for its answer; the
// count goes on.
const MaxReported = 1000

// Store is what an import writes to (internal/sqlstore).
type Store interface {
	// ImportUsers writes one batch in one transaction.
	ImportUsers(ctx context.Context, b gatehouse.ImportBatch) (gatehouse.ImportCounts, error)
	AppendAudit(ctx context.Context, e *gatehouse.AuditEvent) error
}

// Config holds an Importer's collaborators. Store, Phone and CheckHash are
// required.
type Config struct {
	Store Store
	// Phone turns a phone number as typed into E.164, reading one
	// without a country code in defaultRegion (internal/phone.Normalize).
	Phone func(raw, defaultRegion string) (string, error)
	// CheckHash says what is wrong with an imported password hash
	// (internal/password.CheckImported).
	CheckHash func(hash string) error
	// Now is the clock of created_at and the audit; nil is time.Now.
	Now func() time.Time
	// NewID makes user ids; nil is gatehouse.NewID.
	NewID func() string
	// BatchSize is how many users a transaction writes; 0 is
	// DefaultBatchSize.
	BatchSize int
	// TempDir holds the spool file; "" is os.TempDir().
	TempDir string
}

// Importer imports users. Make it with New.
type Importer struct {
	store     Store
	phone     func(raw, defaultRegion string) (string, error)
	checkHash func(string) error
	now       func() time.Time
	newID     func() string
	batch     int
	tempDir   string
}

// New checks cfg and fills in its defaults.
func New(cfg Config) (*Importer, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("userimport: Config.Store is required")
	case cfg.Phone == nil:
		return nil, errors.New("userimport: Config.Phone is required")
	case cfg.CheckHash == nil:
		return nil, errors.New("userimport: Config.CheckHash is required")
	case cfg.BatchSize < 0:
		return nil, errors.New("userimport: Config.BatchSize is negative")
	}
	im := &Importer{store: cfg.Store, phone: cfg.Phone, checkHash: cfg.CheckHash, now: cfg.Now, newID: cfg.NewID,
		batch: cfg.BatchSize, tempDir: cfg.TempDir}
	if im.now == nil {
		im.now = time.Now
	}
	if im.newID == nil {
		im.newID = gatehouse.NewID
	}
	if im.batch == 0 {
		im.batch = DefaultBatchSize
	}
	return im, nil
}

// Options are the choices of one import.
type Options struct {
	Format Format
	// Update changes existing users (the fields given); without it they
	// are skipped and counted.
	Update bool
	// SkipBad imports the good lines when some are bad; without it a bad
	// line means nothing is written.
	SkipBad bool
	// DryRun checks and counts, and writes nothing.
	DryRun bool
	// ActorID is who the audit names (gatehouse.OperatorActor for the
	// command line).
	ActorID string
	// Bad, when set, is told each bad line as it is found.
	Bad func(BadLine)
	// Progress, when set, is told how far the import is: every few
	// thousand lines while checking, after every batch while writing.
	Progress func(Progress)
}

// Progress is how far an import is.
type Progress struct {
	Writing bool // false while checking the input
	Done    int  // lines checked, or users written
	Total   int  // users to write; 0 while checking
}

// BadLine is what is wrong with one line of the input.
type BadLine struct {
	Line    int
	Field   string // a column, or "" for the line as a whole
	Problem string
}

func (b BadLine) String() string {
	if b.Field == "" {
		return fmt.Sprintf("line %d: %s", b.Line, b.Problem)
	}
	return fmt.Sprintf("line %d: %s: %s", b.Line, b.Field, b.Problem)
}

// Summary says what an import did (or, in a dry run, would do).
type Summary struct {
	Users    int // lines with a user, good and bad
	BadLines int
	// Bad are the first MaxReported problems.
	Bad      []BadLine
	Inserted int
	Updated  int
	Existing int // existing users left as they were
	// Invitable are the ids of users inserted without a password hash.
	Invitable []string
	Written   bool // false when nothing was written (bad lines, dry run)
}

// Import reads the users of org from r and writes them.
//
// Returns EINVALID when the input cannot be read as a whole (empty, an
// unknown column, a line over MaxLine, not the format) and when a line is
// bad and SkipBad is not set; nothing is written then, and the Summary
// lists the bad lines. A failure of the store after some batches leaves
// those written: importing the same input again skips them.
func (im *Importer) Import(ctx context.Context, org *gatehouse.Organization, r io.Reader, opt Options) (*Summary, error) {
	if opt.Format == "" {
		opt.Format = CSV
	}
	spool, err := os.CreateTemp(im.tempDir, "gatehouse-import-*")
	if err != nil {
		return nil, fmt.Errorf("userimport: spool: %w", err)
	}
	defer os.Remove(spool.Name())
	defer spool.Close()

	sum := &Summary{}
	good, dups, err := im.check(ctx, org, r, opt, spool, sum)
	if err != nil {
		return sum, err
	}
	if sum.BadLines > 0 && !opt.SkipBad {
		return sum, gatehouse.Errorf(gatehouse.EINVALID, "%d bad %s: nothing was imported (--skip-bad imports the good ones)",
			sum.BadLines, plural(sum.BadLines, "line", "lines"))
	}
	if good == 0 {
		if sum.Users == 0 {
			return sum, gatehouse.Errorf(gatehouse.EINVALID, "the input holds no users")
		}
		return sum, nil
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return sum, fmt.Errorf("userimport: spool: %w", err)
	}
	err = im.write(ctx, org, bufio.NewReaderSize(spool, 64<<10), good, dups, opt, sum)
	if opt.DryRun {
		return sum, err
	}
	sum.Written = sum.Inserted+sum.Updated > 0
	if err == nil || sum.Written {
		if aerr := im.audit(ctx, org, opt, sum, err); err == nil {
			err = aerr
		}
	}
	return sum, err
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// check is the first pass. It returns how many users it spooled and the
// lines that turned out to repeat an earlier e-mail.
func (im *Importer) check(ctx context.Context, org *gatehouse.Organization, r io.Reader, opt Options, spool *os.File, sum *Summary) (int, map[int]bool, error) {
	rd, err := newReader(r, opt.Format)
	if err != nil {
		return 0, nil, inputErr(err)
	}
	w := bufio.NewWriterSize(spool, 64<<10)
	seen := map[uint64]int{}    // keyed hash of an e-mail -> its first line
	suspects := map[int][]int{} // a first line -> later lines with the same hash
	seed := maphash.MakeSeed()
	good := 0
	bad := func(b BadLine) {
		if opt.Bad != nil {
			opt.Bad(b)
		}
		if len(sum.Bad) < MaxReported {
			sum.Bad = append(sum.Bad, b)
		}
	}
	for n := 0; ; n++ {
		if n%4096 == 0 {
			if ctx.Err() != nil {
				return 0, nil, ctx.Err()
			}
			if opt.Progress != nil && n > 0 {
				opt.Progress(Progress{Done: n})
			}
		}
		rec, err := rd.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, nil, inputErr(err)
		}
		sum.Users++
		if rec.bad != "" {
			sum.BadLines++
			bad(BadLine{Line: rec.line, Problem: rec.bad})
			continue
		}
		u, problems := im.checkUser(org, rec)
		if len(problems) == 0 {
			h := maphash.String(seed, u.Email)
			if first, ok := seen[h]; ok {
				// Most likely the same e-mail; the spool says for sure.
				suspects[first] = append(suspects[first], rec.line)
			} else {
				seen[h] = rec.line
			}
		}
		if len(problems) > 0 {
			sum.BadLines++
			for _, p := range problems {
				bad(BadLine{Line: rec.line, Field: p[0], Problem: p[1]})
			}
			continue
		}
		if err := writeSpooled(w, rec.line, &u); err != nil {
			return 0, nil, err
		}
		good++
	}
	if err := w.Flush(); err != nil {
		return 0, nil, fmt.Errorf("userimport: spool: %w", err)
	}
	dups, err := confirmDuplicates(spool, suspects)
	if err != nil {
		return 0, nil, err
	}
	for _, d := range dups {
		sum.BadLines++
		bad(BadLine{Line: d.line, Field: "email", Problem: fmt.Sprintf("%s is on line %d already", d.email, d.first)})
	}
	drop := map[int]bool{}
	for _, d := range dups {
		drop[d.line] = true
	}
	return good - len(dups), drop, nil
}

// inputErr makes a problem of the input as a whole EINVALID.
func inputErr(err error) error {
	var ie *InputError
	if errors.As(err, &ie) {
		return gatehouse.Errorf(gatehouse.EINVALID, "%s: nothing was imported", ie.Error())
	}
	return fmt.Errorf("userimport: %w", err)
}

// checkUser checks and normalizes one line's fields, naming each problem
// with its column.
func (im *Importer) checkUser(org *gatehouse.Organization, rec record) (gatehouse.ImportedUser, [][2]string) {
	var problems [][2]string
	add := func(field string, err error) {
		problems = append(problems, [2]string{field, gatehouse.ErrorMessage(err)})
	}
	f := rec.fields
	email, err := gatehouse.NormalizeEmail(f[0])
	if err != nil {
		add("email", err)
	}
	name := strings.TrimSpace(f[1])
	if err := gatehouse.ValidateUserName(name); err != nil {
		add("name", err)
	}
	phone := strings.TrimSpace(f[2])
	if phone != "" {
		if phone, err = im.phone(phone, org.Country); err != nil {
			add("phone", err)
		}
	}
	role := gatehouse.Role(strings.ToLower(strings.TrimSpace(f[3])))
	if role != "" && !role.Valid() {
		problems = append(problems, [2]string{"role", fmt.Sprintf("%q is not member or admin", f[3])})
	}
	hash := strings.TrimSpace(f[4])
	if hash != "" {
		if org.Settings.AuthMethod != gatehouse.AuthPassword {
			problems = append(problems, [2]string{"password_hash", "users of an organization that signs in with LDAP or SAML2 have no local password"})
		} else if err := im.checkHash(hash); err != nil {
			problems = append(problems, [2]string{"password_hash", err.Error()})
		}
	}
	return gatehouse.ImportedUser{Email: email, Name: name, Phone: phone, Role: role, PasswordHash: hash}, problems
}

// duplicate is a line whose e-mail an earlier line has.
type duplicate struct {
	line, first int
	email       string
}

// confirmDuplicates reads the spool once when some lines' e-mails hash
// alike, and returns those that are truly the same e-mail as their first
// line, in the order of the input.
func confirmDuplicates(spool *os.File, suspects map[int][]int) ([]duplicate, error) {
	if len(suspects) == 0 {
		return nil, nil
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("userimport: spool: %w", err)
	}
	later := map[int]int{} // a later line -> its first line
	for first, lines := range suspects {
		for _, l := range lines {
			later[l] = first
		}
	}
	firstEmail := map[int]string{}
	var dups []duplicate
	r := bufio.NewReaderSize(spool, 64<<10)
	for {
		line, u, err := readSpooled(r)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if _, ok := suspects[line]; ok {
			firstEmail[line] = u.Email
		}
		// Lines come in order, so the first line was read before.
		if first, ok := later[line]; ok && firstEmail[first] == u.Email {
			dups = append(dups, duplicate{line: line, first: first, email: u.Email})
		}
	}
	return dups, nil
}

// write is the second pass: the spool in batches.
func (im *Importer) write(ctx context.Context, org *gatehouse.Organization, r *bufio.Reader, total int, drop map[int]bool, opt Options, sum *Summary) error {
	at := im.now()
	batch := make([]gatehouse.ImportedUser, 0, im.batch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		c, err := im.store.ImportUsers(ctx, gatehouse.ImportBatch{OrgID: org.ID, Users: batch, Update: opt.Update, DryRun: opt.DryRun, At: at})
		if err != nil {
			return err
		}
		sum.Inserted += c.Inserted
		sum.Updated += c.Updated
		sum.Existing += c.Existing
		sum.Invitable = append(sum.Invitable, c.Invitable...)
		batch = batch[:0]
		if opt.Progress != nil {
			opt.Progress(Progress{Writing: true, Done: sum.Inserted + sum.Updated + sum.Existing, Total: total})
		}
		return nil
	}
	for {
		line, u, err := readSpooled(r)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if drop[line] {
			continue
		}
		u.ID = im.newID()
		batch = append(batch, u)
		if len(batch) == im.batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// audit records the import as one event, with its counts, rather than an
// event per user: a million user.created events would be the log.
func (im *Importer) audit(ctx context.Context, org *gatehouse.Organization, opt Options, sum *Summary, failed error) error {
	d := map[string]string{
		"inserted":  strconv.Itoa(sum.Inserted),
		"updated":   strconv.Itoa(sum.Updated),
		"existing":  strconv.Itoa(sum.Existing),
		"bad_lines": strconv.Itoa(sum.BadLines),
		"format":    string(opt.Format),
	}
	if failed != nil {
		d["incomplete"] = "true"
	}
	err := im.store.AppendAudit(ctx, &gatehouse.AuditEvent{OrgID: org.ID, ActorID: opt.ActorID, Event: gatehouse.AuditUsersImported,
		At: im.now(), Detail: d})
	if err != nil {
		return fmt.Errorf("userimport: audit: %w", err)
	}
	return nil
}

// The spool holds one checked user after another: the line number and
// then email, name, phone, role and hash, each a uvarint length and bytes.

func writeSpooled(w *bufio.Writer, line int, u *gatehouse.ImportedUser) error {
	var b [binary.MaxVarintLen64]byte
	w.Write(b[:binary.PutUvarint(b[:], uint64(line))])
	for _, s := range [5]string{u.Email, u.Name, u.Phone, string(u.Role), u.PasswordHash} {
		w.Write(b[:binary.PutUvarint(b[:], uint64(len(s)))])
		if _, err := w.WriteString(s); err != nil {
			return fmt.Errorf("userimport: spool: %w", err)
		}
	}
	return nil
}

func readSpooled(r *bufio.Reader) (int, gatehouse.ImportedUser, error) {
	var u gatehouse.ImportedUser
	line, err := binary.ReadUvarint(r)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return 0, u, io.EOF
		}
		return 0, u, fmt.Errorf("userimport: spool: %w", err)
	}
	var f [5]string
	for i := range f {
		n, err := binary.ReadUvarint(r)
		if err != nil || n > MaxLine {
			return 0, u, fmt.Errorf("userimport: spool: corrupt (%v)", err)
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return 0, u, fmt.Errorf("userimport: spool: %w", err)
		}
		f[i] = string(b)
	}
	u = gatehouse.ImportedUser{Email: f[0], Name: f[1], Phone: f[2], Role: gatehouse.Role(f[3]), PasswordHash: f[4]}
	return int(line), u, nil
}
