package gatehouse_test

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestTheRepositoryStandsAlone: a reader of a clone has only the clone, so
// no file may send them to a file outside it (the product design the
// project started from, a folder beside the checkout), and every
// "docs/design.md §N" names a section docs/design.md has.
func TestTheRepositoryStandsAlone(t *testing.T) {
	design, err := os.ReadFile("docs/design.md")
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^#+ §([0-9]+(?:\.[0-9]+)*) `).FindAllSubmatch(design, -1) {
		sections[string(m[1])] = true
	}
	outside := regexp.MustCompile(`\b` + `DESIGN` + `\.md\b|\.\./` + `shared\b|\b` + `STYLE` + `\.md\b`)
	cite := regexp.MustCompile(`docs/design\.md\s+§([0-9]+(?:\.[0-9]+)*)`)
	var files int
	err = filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" || d.Name() == "testdata" || d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(path) {
		case ".go", ".md", ".yaml", ".yml", ".sql", ".html", ".txt", ".css", ".js", ".service", ".example", "":
		default:
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.IndexByte(b, 0) >= 0 {
			return nil // binary
		}
		files++
		for i, line := range strings.Split(string(b), "\n") {
			if m := outside.FindString(line); m != "" {
				t.Errorf("%s:%d refers to %s, a file outside the repository: cite docs/design.md (and add to it what is missing)", path, i+1, m)
			}
			for _, m := range cite.FindAllStringSubmatch(line, -1) {
				if !sections[m[1]] {
					t.Errorf("%s:%d cites docs/design.md §%s, which docs/design.md does not have", path, i+1, m[1])
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 || len(sections) < 5 {
		t.Fatalf("read %d files and %d sections of docs/design.md: the test reads the wrong tree", files, len(sections))
	}
}
