package userimport_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/password"
	"github.com/gatehousehq/gatehouse/internal/phone"
	"github.com/gatehousehq/gatehouse/internal/sqlstore"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/userimport"
)

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// htpasswd -bnBC 4 u 'correct horse battery staple'
const bcryptHash = "$2y$04$mRHz28IM3Z0cVxVu5Hgz8ugkv6aE1loAyfHcZlR6/cS8nc.oTmKpy"

type fixture struct {
	db  *sqlstore.DB
	org *gatehouse.Organization
	im  *userimport.Importer
}

func newFixture(t *testing.T, edit func(*gatehouse.Organization)) *fixture {
	t.Helper()
	db := testdb.SQLite(t)
	org := &gatehouse.Organization{ID: gatehouse.NewID(), Slug: "clinic", Name: "Clinic", Country: "FI",
		Settings: gatehouse.DefaultPasswordSettings(), CreatedAt: t0, UpdatedAt: t0}
	if edit != nil {
		edit(org)
	}
	if err := db.CreateOrganization(context.Background(), org); err != nil {
		t.Fatal(err)
	}
	im, err := userimport.New(userimport.Config{Store: db, Phone: phone.Normalize, CheckHash: password.CheckImported,
		Now: func() time.Time { return t0 }, BatchSize: 3, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{db: db, org: org, im: im}
}

func (f *fixture) run(t *testing.T, in io.Reader, opt userimport.Options) (*userimport.Summary, error) {
	t.Helper()
	return f.im.Import(context.Background(), f.org, in, opt)
}

func (f *fixture) users(t *testing.T) []*gatehouse.User {
	t.Helper()
	users, err := f.db.ListUsers(context.Background(), f.org.ID, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	return users
}

func (f *fixture) imports(t *testing.T) []*gatehouse.AuditEvent {
	t.Helper()
	events, err := f.db.ListAudit(context.Background(), f.org.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []*gatehouse.AuditEvent
	for _, e := range events {
		if e.Event == gatehouse.AuditUsersImported {
			out = append(out, e)
		}
	}
	return out
}

func dump(users []*gatehouse.User) string {
	var b strings.Builder
	for _, u := range users {
		fmt.Fprintf(&b, "%+v\n", *u)
	}
	return b.String()
}

func wantInvalid(t *testing.T, err error, says string) {
	t.Helper()
	if gatehouse.ErrorCode(err) != gatehouse.EINVALID || !strings.Contains(gatehouse.ErrorMessage(err), says) {
		t.Fatalf("error = %v, want EINVALID saying %q", err, says)
	}
}

func TestImportCSV(t *testing.T) {
	f := newFixture(t, nil)
	// A byte-order mark, CRLF line ends, columns in another order and a
	// quoted comma: all as a spreadsheet writes them.
	in := "\xef\xbb\xbfRole,Email,Name,Phone,Password_Hash\r\n" +
		"admin,Ann@Example.com,\"Virtanen, Ann\",040 1234567,\r\n" +
		"member,bob@example.com,Bob,+46 70 123 45 67," + bcryptHash + "\r\n" +
		",carl@example.com,,,\r\n" +
		"\r\n" + // an empty line is no user
		",dora@example.com,Dora,,\r\n"
	sum, err := f.run(t, strings.NewReader(in), userimport.Options{ActorID: "operator"})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Users != 4 || sum.Inserted != 4 || sum.Existing != 0 || sum.BadLines != 0 || !sum.Written || len(sum.Invitable) != 3 {
		t.Errorf("summary = %+v, want 4 users inserted, 3 of them invitable", sum)
	}
	got := map[string]string{}
	for _, u := range f.users(t) {
		got[u.Email] = fmt.Sprintf("%s|%s|%s|%s", u.Name, u.Phone, u.Role, u.PasswordHash)
	}
	want := map[string]string{
		"ann@example.com":  "Virtanen, Ann|+358401234567|admin|",
		"bob@example.com":  "Bob|+46701234567|member|" + bcryptHash,
		"carl@example.com": "||member|",
		"dora@example.com": "Dora||member|",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("users = %v\nwant %v", got, want)
	}
	events := f.imports(t)
	if len(events) != 1 || events[0].Detail["inserted"] != "4" || events[0].ActorID != "operator" {
		t.Errorf("audit = %+v, want one users.imported event with inserted 4", events)
	}

	t.Run("running it again skips every user and changes nothing", func(t *testing.T) {
		before := f.users(t)
		sum, err := f.run(t, strings.NewReader(in), userimport.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Inserted != 0 || sum.Existing != 4 {
			t.Errorf("summary = %+v, want 4 existing", sum)
		}
		if dump(f.users(t)) != dump(before) {
			t.Error("the users changed")
		}
	})
	t.Run("with update the given fields change", func(t *testing.T) {
		sum, err := f.run(t, strings.NewReader("email,name\nann@example.com,Ann V\nbob@example.com,Bob\n"), userimport.Options{Update: true})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Updated != 1 || sum.Existing != 1 {
			t.Errorf("summary = %+v, want 1 updated and 1 as it was", sum)
		}
		u, err := f.db.UserByEmail(context.Background(), f.org.ID, "ann@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if u.Name != "Ann V" || u.Phone != "+358401234567" || u.Role != gatehouse.RoleAdmin {
			t.Errorf("ann = %+v, want the new name and the rest as it was", u)
		}
	})
}

func TestImportJSONLines(t *testing.T) {
	f := newFixture(t, nil)
	in := `{"email":"ann@example.com","name":"Ann","role":"admin","password_hash":"` + bcryptHash + `"}` + "\r\n" +
		"\n" +
		`{"email":"bob@example.com","phone":"0401234567"}` + "\n"
	sum, err := f.run(t, strings.NewReader(in), userimport.Options{Format: userimport.JSONL})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Inserted != 2 {
		t.Errorf("summary = %+v, want 2 inserted", sum)
	}
	users := f.users(t)
	if len(users) != 2 || users[0].PasswordHash != bcryptHash || users[1].Phone != "+358401234567" {
		t.Errorf("users = %+v", users)
	}
}

// Every bad line is reported with its number and column, and nothing is
// written unless the good ones are asked for.
func TestImportBadLines(t *testing.T) {
	in := "email,name,phone,role,password_hash\n" +
		"ann@example.com,Ann,,,\n" +
		"not-an-address,,,,\n" +
		"bob@example.com,,12,,\n" +
		"carl@example.com,,,boss,\n" +
		"dora@example.com,,,,md5$x\n" +
		"erik@example.com,,,,$2b$16$" + bcryptHash[7:] + "\n" +
		"ANN@example.com,,,,\n" +
		"\xff@example.com,,,,\n" +
		"fay@example.com,,,\n" +
		"gus@example.com,\"Gus \"\"G\"\"\",,,\n"
	want := []string{
		`line 3: email: "not-an-address" is not an e-mail address.`,
		"line 4: phone: ",
		`line 5: role: "boss" is not member or admin`,
		"line 6: password_hash: invalid or unsupported password hash: not argon2id (PHC), bcrypt or pbkdf2_sha256",
		"line 7: password_hash: invalid or unsupported password hash: bcrypt cost 16 not in 4..15",
		"line 9: not UTF-8",
		"line 10: 4 fields, the header has 5",
		"line 8: email: ann@example.com is on line 2 already",
	}
	check := func(t *testing.T, sum *userimport.Summary, reported []userimport.BadLine) {
		t.Helper()
		if sum.BadLines != len(want) || len(reported) != len(want) || len(sum.Bad) != len(want) {
			t.Fatalf("%d bad lines, %d reported: %v; want %d", sum.BadLines, len(reported), reported, len(want))
		}
		for i, b := range reported {
			if !strings.HasPrefix(b.String(), want[i]) {
				t.Errorf("bad line %d = %q, want %q", i, b, want[i])
			}
		}
	}

	t.Run("nothing is written", func(t *testing.T) {
		f := newFixture(t, nil)
		var reported []userimport.BadLine
		sum, err := f.run(t, strings.NewReader(in), userimport.Options{Bad: func(b userimport.BadLine) { reported = append(reported, b) }})
		wantInvalid(t, err, "8 bad lines: nothing was imported")
		check(t, sum, reported)
		if users := f.users(t); len(users) != 0 || sum.Written {
			t.Errorf("%d users written", len(users))
		}
		if len(f.imports(t)) != 0 {
			t.Error("an import that wrote nothing was audited")
		}
	})
	t.Run("skip-bad writes the good lines", func(t *testing.T) {
		f := newFixture(t, nil)
		var reported []userimport.BadLine
		sum, err := f.run(t, strings.NewReader(in), userimport.Options{SkipBad: true, Bad: func(b userimport.BadLine) { reported = append(reported, b) }})
		if err != nil {
			t.Fatal(err)
		}
		check(t, sum, reported)
		var emails []string
		for _, u := range f.users(t) {
			emails = append(emails, u.Email)
		}
		if got := strings.Join(emails, " "); got != "ann@example.com gus@example.com" || sum.Inserted != 2 {
			t.Errorf("users = %s (%d inserted), want ann and gus", got, sum.Inserted)
		}
		if ev := f.imports(t); len(ev) != 1 || ev[0].Detail["bad_lines"] != "8" {
			t.Errorf("audit = %+v, want bad_lines 8", ev)
		}
	})
}

func TestImportHashInADirectoryOrganization(t *testing.T) {
	f := newFixture(t, func(o *gatehouse.Organization) { o.Settings.AuthMethod = gatehouse.AuthLDAP })
	sum, err := f.run(t, strings.NewReader("email,password_hash\nann@example.com,"+bcryptHash+"\n"), userimport.Options{})
	wantInvalid(t, err, "1 bad line:")
	if len(sum.Bad) != 1 || sum.Bad[0].Field != "password_hash" {
		t.Errorf("bad = %v, want the password_hash of line 2", sum.Bad)
	}
}

func TestImportDryRun(t *testing.T) {
	f := newFixture(t, nil)
	if _, err := f.run(t, strings.NewReader("email\nann@example.com\n"), userimport.Options{}); err != nil {
		t.Fatal(err)
	}
	sum, err := f.run(t, strings.NewReader("email,name\nann@example.com,Ann\nbob@example.com,\ncarl@example.com,\n"), userimport.Options{DryRun: true, Update: true})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Inserted != 2 || sum.Updated != 1 || sum.Written {
		t.Errorf("summary = %+v, want 2 would be inserted and 1 updated", sum)
	}
	if users := f.users(t); len(users) != 1 || users[0].Name != "" {
		t.Errorf("the dry run wrote: %+v", users)
	}
	if len(f.imports(t)) != 1 {
		t.Error("the dry run was audited")
	}
}

// lazy yields n bytes of b repeated, made as they are read: a 2 GB input
// that never exists in memory or on disk.
type lazy struct {
	b    []byte
	n    int64
	read int64
}

func (l *lazy) Read(p []byte) (int, error) {
	if l.read >= l.n {
		return 0, io.EOF
	}
	k := 0
	for k < len(p) && l.read < l.n {
		c := copy(p[k:], l.b[l.read%int64(len(l.b)):])
		c = int(min(int64(c), l.n-l.read))
		k += c
		l.read += int64(c)
	}
	return k, nil
}

// Inputs that cannot be read as a whole: each a clear error naming what is
// wrong, nothing written, and never more than a line read into memory.
func TestImportRefusesInputs(t *testing.T) {
	const twoGB = 2 << 30
	header := "email,name\n"
	for _, tt := range []struct {
		name   string
		format userimport.Format
		in     func() io.Reader
		says   string
	}{
		{"an empty file", userimport.CSV, func() io.Reader { return strings.NewReader("") }, "the input is empty"},
		{"only a byte-order mark", userimport.CSV, func() io.Reader { return strings.NewReader("\xef\xbb\xbf") }, "the input is empty"},
		{"a header and no users", userimport.CSV, func() io.Reader { return strings.NewReader(header) }, "the input holds no users"},
		{"an empty JSON Lines file", userimport.JSONL, func() io.Reader { return strings.NewReader("\n\n") }, "the input holds no users"},
		{"unknown columns", userimport.CSV, func() io.Reader { return strings.NewReader("email,mail,first name\na@example.com,b,c\n") },
			`line 1: unknown column "mail", "first name": the columns are email,name,phone,role,password_hash`},
		{"no email column", userimport.CSV, func() io.Reader { return strings.NewReader("name\nAnn\n") }, "line 1: no email column"},
		{"a column twice", userimport.CSV, func() io.Reader { return strings.NewReader("email,Email\na,b\n") }, "line 1: column email twice"},
		{"a header not in UTF-8", userimport.CSV, func() io.Reader { return strings.NewReader("email,n\xffme\n") }, "line 1: not UTF-8"},
		{"a line of 10 MB", userimport.CSV, func() io.Reader {
			return io.MultiReader(strings.NewReader(header+"ann@example.com,Ann\nbob@example.com,"), &lazy{b: []byte("x"), n: 10 << 20}, strings.NewReader("\n"))
		}, "line 3: longer than 64 KiB"},
		{"a JSON line of 10 MB", userimport.JSONL, func() io.Reader {
			return io.MultiReader(strings.NewReader(`{"email":"ann@example.com"}`+"\n"+`{"name":"`), &lazy{b: []byte("x"), n: 10 << 20}, strings.NewReader(`"}`+"\n"))
		}, "line 2: longer than 64 KiB"},
		{"2 GB without a newline", userimport.CSV, func() io.Reader { return &lazy{b: []byte("email,"), n: twoGB} }, "line 1: longer than 64 KiB"},
		{"2 GB of one quoted field", userimport.CSV, func() io.Reader {
			return io.MultiReader(strings.NewReader(header+"ann@example.com,\""), &lazy{b: []byte("a\n"), n: twoGB})
		}, "line 2: longer than 64 KiB"},
		{"2 GB of NUL bytes, as a sparse file reads", userimport.JSONL, func() io.Reader { return &lazy{b: []byte{0}, n: twoGB} }, "line 1: longer than 64 KiB"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			in := tt.in()
			_, err := f.run(t, in, userimport.Options{Format: tt.format, SkipBad: true})
			wantInvalid(t, err, tt.says)
			if l, ok := in.(*lazy); ok && l.read > 1<<20 {
				t.Errorf("read %d bytes before refusing", l.read)
			}
			if users := f.users(t); len(users) != 0 {
				t.Errorf("%d users written", len(users))
			}
		})
	}
}

// A sparse file of 2 GB on disk is refused like the lazy reader, at its
// first 64 KiB.
func TestImportSparseFile(t *testing.T) {
	f := newFixture(t, nil)
	file, err := os.CreateTemp(t.TempDir(), "sparse-*.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	if err := file.Truncate(2 << 30); err != nil {
		t.Skipf("no sparse files here: %v", err)
	}
	_, err = f.run(t, file, userimport.Options{})
	wantInvalid(t, err, "line 1: longer than 64 KiB")
}

// The spool is removed at the end whatever happened.
func TestImportLeavesNoSpool(t *testing.T) {
	dir := t.TempDir()
	db := testdb.SQLite(t)
	org := &gatehouse.Organization{ID: gatehouse.NewID(), Slug: "clinic", Name: "Clinic", Settings: gatehouse.DefaultPasswordSettings(), CreatedAt: t0, UpdatedAt: t0}
	if err := db.CreateOrganization(context.Background(), org); err != nil {
		t.Fatal(err)
	}
	im, err := userimport.New(userimport.Config{Store: db, Phone: phone.Normalize, CheckHash: password.CheckImported, TempDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{"email\na@example.com\n", "email\nbad\n", ""} {
		im.Import(context.Background(), org, bytes.NewReader([]byte(in)), userimport.Options{})
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("left in the temporary directory: %v", left)
	}
}
