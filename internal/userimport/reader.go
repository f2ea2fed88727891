package userimport

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// Format is the form of an import's input.
type Format string

const (
	CSV   Format = "csv"   // a header line, then one user a line
	JSONL Format = "jsonl" // JSON Lines: one object a line
)

// MaxLine bounds one line (one record) of the input: a longer one ends the
// import with an error naming it, before anything is written, and never
// makes the reader hold more than this much of it.
const MaxLine = 64 << 10

// Columns are the fields of a user, in the CSV header's default order.
var Columns = []string{"email", "name", "phone", "role", "password_hash"}

// record is one line of input as written: the fields, or what is wrong
// with the line as a whole.
type record struct {
	line   int
	fields [5]string // in the order of Columns
	bad    string    // "" when the line could be read
}

// InputError is a problem with the input as a whole (empty, a header with
// unknown columns, a line too long to read): nothing can be imported.
type InputError struct {
	Line    int // 0 when it is not about one line
	Problem string
}

func (e *InputError) Error() string {
	if e.Line == 0 {
		return e.Problem
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Problem)
}

// reader reads the records of an input one at a time.
type reader interface {
	// next returns the next record, or io.EOF after the last, or an
	// *InputError (or a read error) that ends the input.
	next() (record, error)
}

// newReader skips a UTF-8 byte-order mark and reads r as format.
func newReader(r io.Reader, format Format) (reader, error) {
	lim := &recordLimit{r: r, quotes: format == CSV, line: 1, cur: 1}
	br := bufio.NewReaderSize(lim, 64<<10)
	if bom, err := br.Peek(3); err == nil && bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
	}
	switch format {
	case CSV:
		return newCSVReader(br)
	case JSONL:
		return newJSONLReader(br), nil
	}
	return nil, &InputError{Problem: fmt.Sprintf("unknown format %q: use csv or jsonl", format)}
}

// recordLimit passes reads through and fails once a record runs past
// MaxLine bytes. A record ends at a newline outside double quotes when
// quotes is set (CSV, where a quoted field may hold newlines: an unclosed
// quote would otherwise read the rest of the input as one field), at every
// newline otherwise.
type recordLimit struct {
	r       io.Reader
	quotes  bool
	inQuote bool
	n       int // bytes of the current record so far
	line    int // the line the current record started on
	cur     int // the line being read
	err     error
}

func (l *recordLimit) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.r.Read(p)
	for i := 0; i < n; i++ {
		switch p[i] {
		case '"':
			if l.quotes {
				l.inQuote = !l.inQuote
			}
		case '\n':
			l.cur++
			if !l.inQuote {
				l.n, l.line = 0, l.cur
				continue
			}
		}
		l.n++
		if l.n > MaxLine {
			l.err = &InputError{Line: l.line, Problem: fmt.Sprintf("longer than %d KiB: is this the right file?", MaxLine>>10)}
			return i, nil // what came before the record is still read
		}
	}
	return n, err
}

// csvReader reads CSV with a header naming the columns.
type csvReader struct {
	r   *csv.Reader
	idx []int // idx[i] is the position of Columns[i], -1 when absent
}

func newCSVReader(r io.Reader) (*csvReader, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, &InputError{Problem: "the input is empty: want a header line (email,name,phone,role,password_hash) and a user a line"}
	}
	if err != nil {
		return nil, readErr(err)
	}
	c := &csvReader{r: cr, idx: []int{-1, -1, -1, -1, -1}}
	var unknown []string
	for pos, name := range header {
		if !utf8.ValidString(name) {
			return nil, &InputError{Line: 1, Problem: "not UTF-8"}
		}
		name = strings.ToLower(strings.TrimSpace(name))
		i := slices.Index(Columns, name)
		switch {
		case i < 0:
			unknown = append(unknown, fmt.Sprintf("%q", name))
		case c.idx[i] >= 0:
			return nil, &InputError{Line: 1, Problem: fmt.Sprintf("column %s twice", name)}
		default:
			c.idx[i] = pos
		}
	}
	if len(unknown) > 0 {
		return nil, &InputError{Line: 1, Problem: fmt.Sprintf("unknown column %s: the columns are %s",
			strings.Join(unknown, ", "), strings.Join(Columns, ","))}
	}
	if c.idx[0] < 0 {
		return nil, &InputError{Line: 1, Problem: "no email column: the header names the columns, email first among them"}
	}
	cr.FieldsPerRecord = len(header)
	return c, nil
}

func (c *csvReader) next() (record, error) {
	fields, err := c.r.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) && !errors.As(err, new(*InputError)) {
			if errors.Is(pe.Err, csv.ErrFieldCount) {
				return record{line: pe.StartLine, bad: fmt.Sprintf("%d fields, the header has %d", len(fields), c.r.FieldsPerRecord)}, nil
			}
			return record{line: pe.StartLine, bad: "not CSV: " + pe.Err.Error()}, nil
		}
		return record{}, readErr(err)
	}
	line, _ := c.r.FieldPos(0)
	rec := record{line: line}
	for i, pos := range c.idx {
		if pos >= 0 {
			rec.fields[i] = fields[pos]
		}
	}
	for _, f := range rec.fields {
		if !utf8.ValidString(f) {
			return record{line: line, bad: "not UTF-8"}, nil
		}
	}
	return rec, nil
}

// readErr passes io.EOF and *InputError through as they are.
func readErr(err error) error {
	var ie *InputError
	if errors.As(err, &ie) {
		return ie
	}
	if errors.Is(err, io.EOF) {
		return io.EOF
	}
	return fmt.Errorf("read: %w", err)
}

// jsonlReader reads one JSON object a line; empty lines are skipped.
type jsonlReader struct {
	s    *bufio.Scanner
	line int
}

func newJSONLReader(r io.Reader) *jsonlReader {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 0, 64<<10), MaxLine+2)
	return &jsonlReader{s: s}
}

// jsonUser is a line of JSON Lines.
type jsonUser struct {
	Email        string `json:"email"`
	Name         string `json:"name"`
	Phone        string `json:"phone"`
	Role         string `json:"role"`
	PasswordHash string `json:"password_hash"`
}

func (j *jsonlReader) next() (record, error) {
	for j.s.Scan() {
		j.line++
		b := bytes.TrimSuffix(j.s.Bytes(), []byte("\r"))
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		if !utf8.Valid(b) {
			return record{line: j.line, bad: "not UTF-8"}, nil
		}
		var u jsonUser
		d := json.NewDecoder(bytes.NewReader(b))
		d.DisallowUnknownFields()
		if err := d.Decode(&u); err != nil {
			return record{line: j.line, bad: "not a JSON object of strings " + strings.Join(Columns, ", ") + ": " + err.Error()}, nil
		}
		if d.More() {
			return record{line: j.line, bad: "more than one JSON value"}, nil
		}
		return record{line: j.line, fields: [5]string{u.Email, u.Name, u.Phone, u.Role, u.PasswordHash}}, nil
	}
	if err := j.s.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return record{}, &InputError{Line: j.line + 1, Problem: fmt.Sprintf("longer than %d KiB: is this the right file?", MaxLine>>10)}
		}
		return record{}, readErr(err)
	}
	return record{}, io.EOF
}
