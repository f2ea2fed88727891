package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/password"
	"github.com/gatehousehq/gatehouse/internal/phone"
	"github.com/gatehousehq/gatehouse/internal/userimport"
)

// userImport imports users in bulk (docs/design.md §14). Bad lines go to
// standard error as they are found, the summary to standard output; on a
// terminal a progress line on standard error says how far it is.
func userImport(ctx context.Context, e *env, args []string) error {
	var c Config
	var slug, file, format string
	var opt userimport.Options
	fs := newFlagSet(e, "user import", "user import --org S [--file F] [--format csv|jsonl] [--update] [--skip-bad] [--dry-run]")
	fs.StringVar(&slug, "org", "", "the organization's slug (required)")
	fs.StringVar(&file, "file", "", "the file to import (standard input when not given)")
	fs.StringVar(&format, "format", "", "csv or jsonl (default: from the file's extension, .jsonl or .ndjson for JSON Lines; csv otherwise)")
	fs.BoolVar(&opt.Update, "update", false, "change existing users (the non-empty fields of their line) instead of skipping them")
	fs.BoolVar(&opt.SkipBad, "skip-bad", false, "import the good lines when some are bad (without it, one bad line and nothing is written)")
	fs.BoolVar(&opt.DryRun, "dry-run", false, "check the input and count what would happen; write nothing")
	if err := parse(fs, &c, userSettings, args, e); err != nil {
		return err
	}
	if slug == "" {
		return usageError("user import needs --org")
	}
	switch format = strings.ToLower(format); {
	case format == "" && file != "":
		switch strings.ToLower(filepath.Ext(file)) {
		case ".jsonl", ".ndjson":
			format = string(userimport.JSONL)
		default:
			format = string(userimport.CSV)
		}
	case format == "":
		format = string(userimport.CSV)
	case format != string(userimport.CSV) && format != string(userimport.JSONL):
		return usageError("--format %q: write --format csv or --format jsonl", format)
	}
	opt.Format = userimport.Format(format)
	in := e.stdin
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return usageError("cannot read --file: %v", err)
		}
		defer f.Close()
		in = f
	}
	a, err := newAdminApp(ctx, &c, newLogger(e, &c), adminWiring{})
	if err != nil {
		return err
	}
	defer a.store.Close()
	org, err := findOrg(ctx, a, slug)
	if err != nil {
		return err
	}
	im, err := userimport.New(userimport.Config{Store: a.store, Phone: phone.Normalize, CheckHash: password.CheckImported, Now: a.now})
	if err != nil {
		return err
	}
	start := time.Now()
	bad := 0
	opt.ActorID = gatehouse.OperatorActor().AuditID()
	bar := newProgressBar(e.stderr, start)
	opt.Bad = func(b userimport.BadLine) {
		bad++
		if bad <= userimport.MaxReported {
			bar.clear()
			fmt.Fprintln(e.stderr, b)
		}
	}
	opt.Progress = bar.update
	sum, err := im.Import(ctx, org, in, opt)
	bar.clear()
	if bad > userimport.MaxReported {
		fmt.Fprintf(e.stderr, "… and %d more bad lines\n", bad-userimport.MaxReported)
	}
	if sum != nil && (err == nil || sum.Written) {
		fmt.Fprintln(e.stdout, summaryLine(sum, opt, time.Since(start)))
	}
	return err
}

func summaryLine(s *userimport.Summary, opt userimport.Options, took time.Duration) string {
	verb := "imported"
	if opt.DryRun {
		verb = "dry run: would import"
	}
	skipped := ""
	if s.BadLines > 0 {
		skipped = fmt.Sprintf(", %d bad line skipped", s.BadLines)
		if s.BadLines > 1 {
			skipped = fmt.Sprintf(", %d bad lines skipped", s.BadLines)
		}
	}
	return fmt.Sprintf("%s %d, updated %d, skipped %d existing%s in %.1f s", verb, s.Inserted, s.Updated, s.Existing, skipped, took.Seconds())
}

// progressBar draws one line on a terminal, at most ten times a second:
// the count, the rate and, while writing, the share done and the time
// left. Off a terminal it draws nothing.
type progressBar struct {
	w       io.Writer
	on      bool
	start   time.Time // of the pass being drawn
	last    time.Time
	drawn   bool
	writing bool
}

func newProgressBar(w io.Writer, start time.Time) *progressBar {
	f, ok := w.(*os.File)
	return &progressBar{w: w, on: ok && term.IsTerminal(int(f.Fd())), start: start}
}

func (b *progressBar) update(p userimport.Progress) {
	now := time.Now()
	if !b.on || now.Sub(b.last) < 100*time.Millisecond && p.Done != p.Total {
		return
	}
	if p.Writing && !b.writing {
		b.writing, b.start = true, now // the rate and time left are the writing's own
	}
	b.last = now
	b.drawn = true
	fmt.Fprint(b.w, "\r\x1b[K"+progressText(p, now.Sub(b.start)))
}

func (b *progressBar) clear() {
	if b.drawn {
		fmt.Fprint(b.w, "\r\x1b[K")
		b.drawn = false
	}
}

// progressText is the bar's line for p, elapsed into the import.
func progressText(p userimport.Progress, elapsed time.Duration) string {
	rate := float64(p.Done) / max(elapsed.Seconds(), 0.001)
	if !p.Writing {
		return fmt.Sprintf("checking: %d lines, %.0f/s", p.Done, rate)
	}
	const width = 30
	share := float64(p.Done) / float64(max(p.Total, 1))
	filled := int(share * width)
	eta := time.Duration(float64(p.Total-p.Done) / max(rate, 1) * float64(time.Second)).Round(time.Second)
	return fmt.Sprintf("writing: [%s%s] %d/%d %3.0f%% %.0f/s, %s left",
		strings.Repeat("=", filled), strings.Repeat(" ", width-filled), p.Done, p.Total, share*100, rate, eta)
}
