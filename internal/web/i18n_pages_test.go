package web_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// finnish is what a browser set to Finnish sends.
const finnish = "fi-FI,fi;q=0.9,en;q=0.8"

func findTag(doc *html.Node, tag string) *html.Node {
	return find(doc, func(n *html.Node) bool { return n.Data == tag })
}

func TestPagesSpeakTheBrowsersLanguage(t *testing.T) {
	e := newEnv(t, options{})
	cases := []struct {
		name, accept, lang, h1, title string
	}{
		{"English without Accept-Language", "", "en", "Sign in", "Sign in · Gatehouse"},
		{"Finnish for a Finnish browser", finnish, "fi", "Kirjaudu sisään", "Kirjaudu sisään · Gatehouse"},
		{"Finnish for a Finnish region alone", "fi-FI", "fi", "Kirjaudu sisään", "Kirjaudu sisään · Gatehouse"},
		{"English for a language it does not speak", "de-DE,de;q=0.9", "en", "Sign in", "Sign in · Gatehouse"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var header []string
			if tc.accept != "" {
				header = []string{"Accept-Language", tc.accept}
			}
			res := e.do("GET", "/login", "", "", header...)
			doc := parseHTML(t, wantStatus(t, res, 200))
			if got := attr(findTag(doc, "html"), "lang"); got != tc.lang {
				t.Errorf("<html lang=%q>, want %q", got, tc.lang)
			}
			if got := res.Header.Get("Content-Language"); got != tc.lang {
				t.Errorf("Content-Language %q, want %q", got, tc.lang)
			}
			if got := strings.TrimSpace(text(findTag(doc, "h1"))); got != tc.h1 {
				t.Errorf("<h1> %q, want %q", got, tc.h1)
			}
			if got := text(findTag(doc, "title")); got != tc.title {
				t.Errorf("<title> %q, want %q", got, tc.title)
			}
			if got := strings.TrimSpace(text(findLabelFor(doc, "password"))); (tc.lang == "fi") != (got == "Salasana") {
				t.Errorf("password label %q in %s", got, tc.lang)
			}
		})
	}
}

func TestAWrongPasswordOnTheFinnishLoginPageIsFinnish(t *testing.T) {
	e := newEnv(t, options{})
	res := e.do("POST", "/o/clinic/login", "application/x-www-form-urlencoded",
		url.Values{"email": {"staff@clinic.test"}, "password": {"not the password"}}.Encode(), "Accept-Language", finnish)
	doc := parseHTML(t, wantStatus(t, res, 401))
	if got, want := strings.TrimSpace(text(findByID(doc, "form-error"))), "Sähköpostiosoite tai salasana on väärä."; got != want {
		t.Errorf("alert %q, want %q", got, want)
	}
	if attr(findTag(doc, "html"), "lang") != "fi" {
		t.Error("the page is not marked Finnish")
	}

	t.Run("while the API keeps its English message", func(t *testing.T) {
		b := wantStatus(t, e.do("POST", "/api/v1/login", "application/json",
			`{"organization":"clinic","email":"staff@clinic.test","password":"not the password"}`, "Accept-Language", finnish), 401)
		if got := errorOf(t, b)["message"]; got != "The e-mail address or password is incorrect." {
			t.Errorf("API message %q", got)
		}
	})
	t.Run("and a throttled sign-in says how long to wait", func(t *testing.T) {
		for range 5 {
			e.login("clinic", "staff@clinic.test", "not the password")
		}
		res := e.do("POST", "/o/clinic/login", "application/x-www-form-urlencoded",
			url.Values{"email": {"staff@clinic.test"}, "password": {testPassword}}.Encode(), "Accept-Language", finnish)
		doc := parseHTML(t, wantStatus(t, res, 429))
		alert := text(findByID(doc, "form-error"))
		if !strings.Contains(alert, "Liian monta epäonnistunutta kirjautumisyritystä") || !strings.Contains(alert, "sekuntia") {
			t.Errorf("alert %q", alert)
		}
	})
}

func TestTheFinnishCodePage(t *testing.T) {
	e := newEnv(t, options{})
	e.addStrictOrg(nil)
	fi := []string{"Accept-Language", finnish}
	form := func(path string, v url.Values) string {
		return body(t, e.do("POST", path, "application/x-www-form-urlencoded", v.Encode(), fi...))
	}
	form("/o/acme/login", url.Values{"email": {"member@acme.test"}, "password": {testPassword}})
	doc := parseHTML(t, wantStatus(t, e.do("GET", "/login/code", "", "", fi...), 200))
	if got := strings.TrimSpace(text(findTag(doc, "h1"))); got != "Syötä vahvistuskoodi" {
		t.Errorf("<h1> %q", got)
	}
	page := strings.Join(strings.Fields(text(doc)), " ")
	for _, want := range []string{
		"Lähetimme 6-numeroisen vahvistuskoodin sähköpostitse osoitteeseen m•••@acme.test.",
		"Koodilla kirjaudut sisään organisaatioon Acme Clinic.",
		"Koodi on voimassa",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q: %s", want, page)
		}
	}
	if got := strings.TrimSpace(text(findTag(doc, "strong"))); got != "m•••@acme.test" {
		t.Errorf("the destination in bold is %q", got)
	}
	if resend := findByID(doc, "resend"); attr(resend, "data-wait") != "{0} ({1} s kuluttua)" {
		t.Errorf("resend countdown text %q", attr(resend, "data-wait"))
	}

	doc = parseHTML(t, form("/login/resend", url.Values{}))
	if alert := text(findByID(doc, "form-error")); !regexp.MustCompile(`^Koodi lähetettiin hetki sitten\. Odota [0-9]+ sekuntia`).MatchString(alert) {
		t.Errorf("early resend: %q", alert)
	}
	code := e.lastCode()
	wrong := "000000"
	if code == wrong {
		wrong = "000001"
	}
	doc = parseHTML(t, form("/login/code", url.Values{"code": {wrong}}))
	if got, want := text(findByID(doc, "form-error")), "Koodi on väärä. Yrityksiä on jäljellä 4."; got != want {
		t.Errorf("wrong code: %q, want %q", got, want)
	}
	if got := form("/login/code", url.Values{"code": {code}}); got != "" {
		t.Fatalf("the right code answered a page: %s", got)
	}
	doc = parseHTML(t, wantStatus(t, e.do("GET", "/", "", "", fi...), 200))
	page = text(doc)
	for _, want := range []string{"Olet kirjautunut sisään", "Vahvistettu koodilla", "Käyttäjä", "Kirjaudu ulos"} {
		if !strings.Contains(page, want) {
			t.Errorf("home lacks %q: %s", want, page)
		}
	}
	doc = parseHTML(t, wantStatus(t, e.do("GET", "/account", "", "", fi...), 200))
	page = text(doc)
	for _, want := range []string{"Oma tili", "Muistetut selaimet", "Unohda kaikki selaimet", "Vaihda puhelinnumerosi"} {
		if !strings.Contains(page, want) {
			t.Errorf("account lacks %q: %s", want, page)
		}
	}
}

func TestTheFinnishErrorPage(t *testing.T) {
	e := newEnv(t, options{})
	doc := parseHTML(t, wantStatus(t, e.do("GET", "/nowhere", "", "", "Accept-Language", finnish), 404))
	if got := strings.TrimSpace(text(findTag(doc, "h1"))); got != "Ei löytynyt" {
		t.Errorf("<h1> %q", got)
	}
	if !strings.Contains(text(doc), "Tätä sivua ei ole olemassa.") {
		t.Errorf("page %q", text(doc))
	}
	doc = parseHTML(t, wantStatus(t, e.do("GET", "/nowhere", "", ""), 404))
	if !strings.Contains(text(doc), "This page does not exist.") {
		t.Errorf("English page %q", text(doc))
	}
}

// TestFinnishPagesShareNoWordsWithEnglish renders pages in both languages:
// text that is the same in both is English left in a template (or a
// Finnish word left in English), except names, addresses and times.
func TestFinnishPagesShareNoWordsWithEnglish(t *testing.T) {
	e := newEnv(t, options{dev: true})
	e.addStrictOrg(nil)
	e.do("POST", "/o/acme/login", "application/x-www-form-urlencoded", url.Values{"email": {"member@acme.test"}, "password": {testPassword}}.Encode())
	for _, path := range []string{"/login", "/o/acme/login", "/forgot-password", "/login/code", "/nowhere", "/dev/outbox"} {
		en := pageWords(t, body(t, e.do("GET", path, "", "")))
		fi := pageWords(t, body(t, e.do("GET", path, "", "", "Accept-Language", finnish)))
		for w := range fi {
			if en[w] {
				t.Errorf("%s: %q is the same in English and Finnish", path, w)
			}
		}
	}
}

// data is text that is not language: names, addresses, paths, times, and an
// outbox message's time and subject.
var data = regexp.MustCompile(`^(Gatehouse|acme|Acme Clinic|/dev/outbox|.*@.*|[-+0-9 :.,()·UTC]*|[-0-9 :UTC]+ · .*)$`)

// pageWords are the texts of a page's text nodes and of its placeholder,
// aria-label and title attributes, less data.
func pageWords(t *testing.T, s string) map[string]bool {
	words := make(map[string]bool)
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && (n.Data == "script" || n.Data == "style" || n.Data == "pre") {
			return
		}
		var texts []string
		if n.Type == html.TextNode {
			texts = append(texts, n.Data)
		}
		for _, a := range []string{"placeholder", "aria-label", "title", "data-wait"} {
			texts = append(texts, attr(n, a))
		}
		for _, s := range texts {
			if s = strings.TrimSpace(s); s != "" && !data.MatchString(s) {
				words[s] = true
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(parseHTML(t, s))
	return words
}

// An application's ui_locales (OIDC Core §3.1.2.1, handed to the sign-in
// page as ?ui_locales= by internal/oidc) comes before the browser's
// language on the pages of that sign-in, and nowhere else.
func TestUILocalesComeBeforeTheBrowsersLanguageOnTheSignInPages(t *testing.T) {
	cases := []struct {
		name, uiLocales, accept, lang string
	}{
		{"Finnish asked of an English browser", "fi", "en", "fi"},
		{"the first language Gatehouse has", "sv-SE fi-FI en", "en", "fi"},
		{"English asked of a Finnish browser", "en-US", finnish, "en"},
		{"the browser's language when none asked for is known", "de-DE x-klingon", "en", "en"},
		{"the browser's Finnish when none asked for is known", "de", finnish, "fi"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, options{})
			res := e.do("GET", "/o/clinic/login?"+url.Values{"ui_locales": {tc.uiLocales}}.Encode(), "", "", "Accept-Language", tc.accept)
			doc := parseHTML(t, wantStatus(t, res, 200))
			if got := attr(findTag(doc, "html"), "lang"); got != tc.lang {
				t.Errorf("<html lang=%q>, want %q", got, tc.lang)
			}
		})
	}

	t.Run("the steps after the sign-in page keep it, other pages do not", func(t *testing.T) {
		e := newEnv(t, options{})
		wantStatus(t, e.do("GET", "/o/clinic/login?ui_locales=fi", "", "", "Accept-Language", "en"), 200)
		res := e.do("POST", "/o/clinic/login", "application/x-www-form-urlencoded",
			url.Values{"email": {"staff@clinic.test"}, "password": {"not the password"}}.Encode(), "Accept-Language", "en")
		doc := parseHTML(t, wantStatus(t, res, 401))
		if got, want := strings.TrimSpace(text(findByID(doc, "form-error"))), "Sähköpostiosoite tai salasana on väärä."; got != want || attr(findTag(doc, "html"), "lang") != "fi" {
			t.Errorf("the wrong password's page: alert %q, want %q in Finnish", got, want)
		}
		doc = parseHTML(t, wantStatus(t, e.do("GET", "/forgot-password", "", "", "Accept-Language", "en"), 200))
		if got := attr(findTag(doc, "html"), "lang"); got != "en" {
			t.Errorf("a page outside the sign-in speaks %q; want the browser's English", got)
		}
		doc = parseHTML(t, wantStatus(t, e.do("GET", "/login", "", "", "Accept-Language", "en"), 200))
		if got := attr(findTag(doc, "html"), "lang"); got != "en" {
			t.Errorf("a new sign-in page without ui_locales speaks %q; want it forgotten", got)
		}
		doc = parseHTML(t, wantStatus(t, e.do("POST", "/login", "application/x-www-form-urlencoded",
			url.Values{"organization": {"clinic"}, "email": {"staff@clinic.test"}, "password": {"not the password"}}.Encode(), "Accept-Language", "en"), 401))
		if got := attr(findTag(doc, "html"), "lang"); got != "en" {
			t.Errorf("after it was forgotten, the sign-in speaks %q; want English", got)
		}
	})
}

// TestTheSettingsSayTheirErrorsInFinnish: errors that the admin pages used
// to show in the services' English (issue 11) are Finnish on a Finnish
// page.
func TestTheSettingsSayTheirErrorsInFinnish(t *testing.T) {
	e := newEnv(t, options{})
	e.addStrictOrg(nil)
	lang := []string{"Accept-Language", finnish}

	e.signInWithCode("member@acme.test")
	doc := parseHTML(t, wantStatus(t, e.do("GET", "/settings/users", "", "", lang...), 403))
	if page := text(doc); !strings.Contains(page, "Vain tämän organisaation ylläpitäjät voivat avata asetukset.") {
		t.Errorf("a member's settings page: %s", page)
	}

	e.signInWithCode("admin@acme.test")
	v := settingsForm(true, "email", "", "14")
	v.Set("auth_method", "ldap")
	doc = parseHTML(t, wantStatus(t, e.form("/settings/users/password", v, lang...), 400))
	if page := text(doc); !strings.Contains(page, "LDAP-kirjautumista ei ole vielä määritetty") || strings.Contains(page, "not set up") {
		t.Errorf("LDAP chosen before it is set up: %s", page)
	}
	doc = parseHTML(t, wantStatus(t, e.do("GET", "/settings/audit?from=yesterday", "", "", lang...), 400))
	if page := text(doc); !strings.Contains(page, "”yesterday” ei ole päivämäärä") {
		t.Errorf("a bad audit date: %s", page)
	}
}
