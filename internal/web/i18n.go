package web

import (
	"bufio"
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Page text lives in locales/<lang>/*.txt, one "key = text" a line (blank
// lines and lines starting with # are skipped). A translation is a folder
// of files, not a code change. Text may hold {0}, {1}, … for arguments.
//
//go:embed locales
var localeFS embed.FS

// defaultLang is the language every key must exist in.
const defaultLang = "en"

// catalog is every language's messages.
type catalog struct {
	langs    []string // supported, defaultLang first
	messages map[string]map[string]string
}

func loadCatalog() (*catalog, error) {
	c := &catalog{messages: make(map[string]map[string]string)}
	dirs, err := fs.ReadDir(localeFS, "locales")
	if err != nil {
		return nil, err
	}
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		lang := d.Name()
		msgs := make(map[string]string)
		files, err := fs.Glob(localeFS, path.Join("locales", lang, "*.txt"))
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			b, err := localeFS.ReadFile(f)
			if err != nil {
				return nil, err
			}
			if err := parseMessages(f, b, msgs); err != nil {
				return nil, err
			}
		}
		c.messages[lang] = msgs
		c.langs = append(c.langs, lang)
	}
	if _, ok := c.messages[defaultLang]; !ok {
		return nil, fmt.Errorf("web: no %q messages", defaultLang)
	}
	slices.SortFunc(c.langs, func(a, b string) int {
		switch {
		case a == defaultLang:
			return -1
		case b == defaultLang:
			return 1
		}
		return strings.Compare(a, b)
	})
	return c, nil
}

func parseMessages(name string, b []byte, into map[string]string) error {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, text, ok := strings.Cut(line, "=")
		if !ok {
			return fmt.Errorf("web: %s:%d: want \"key = text\"", name, n)
		}
		key, text = strings.TrimSpace(key), strings.TrimSpace(text)
		if _, dup := into[key]; dup {
			return fmt.Errorf("web: %s:%d: %q is defined twice", name, n, key)
		}
		into[key] = text
	}
	return sc.Err()
}

// T returns the text of key in lang, falling back to English, with {0},
// {1}, … replaced by args. A missing key shows as itself, so it is noticed
// (and a test fails).
func (c *catalog) T(lang, key string, args ...any) string {
	text, ok := c.messages[lang][key]
	if !ok {
		if text, ok = c.messages[defaultLang][key]; !ok {
			return key
		}
	}
	if len(args) == 0 {
		return text
	}
	pairs := make([]string, 0, 2*len(args))
	for i, a := range args {
		pairs = append(pairs, "{"+strconv.Itoa(i)+"}", fmt.Sprint(a))
	}
	return strings.NewReplacer(pairs...).Replace(text)
}

// maxUILocales bounds how many tags of a ui_locales list are looked at.
const maxUILocales = 10

// firstOf returns the first language of a space-separated list of BCP 47
// tags (OIDC ui_locales) that the catalog has, by its primary subtag ("fi"
// for fi-FI), or "" when it has none of them.
func (c *catalog) firstOf(tags string) string {
	for i, tag := range strings.Fields(tags) {
		if i == maxUILocales {
			break
		}
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if c.messages[base] != nil {
			return base
		}
	}
	return ""
}

// negotiate picks the language of a request: the user's own choice when
// signed in (profile), else the browser's Accept-Language, else English.
func (c *catalog) negotiate(profile string, r *http.Request) string {
	if profile != "" && c.messages[profile] != nil {
		return profile
	}
	type pref struct {
		lang string
		q    float64
	}
	var prefs []pref
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, params, _ := strings.Cut(part, ";")
		tag = strings.TrimSpace(tag)
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if base != "" && q > 0 {
			prefs = append(prefs, pref{base, q})
		}
	}
	slices.SortStableFunc(prefs, func(a, b pref) int {
		switch {
		case a.q > b.q:
			return -1
		case a.q < b.q:
			return 1
		}
		return 0
	})
	for _, p := range prefs {
		if c.messages[p.lang] != nil {
			return p.lang
		}
	}
	return defaultLang
}
