package web

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/password"
	"github.com/gatehousehq/gatehouse/internal/phone"
)

func mustCatalog(t *testing.T) *catalog {
	t.Helper()
	c, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// templateKeyRE finds {{t "key" …}} and (t "key" …) in a template.
var templateKeyRE = regexp.MustCompile(`(?:\{\{-?|\()\s*t\s+"([^"]+)"`)

// templateKeys are the keys every template under templates/ translates,
// by key, with where each is used.
func templateKeys(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob("templates/*.html")
	if err != nil || len(files) == 0 {
		t.Fatalf("no templates: %v", err)
	}
	keys := make(map[string]string)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range templateKeyRE.FindAllStringSubmatch(string(b), -1) {
			keys[m[1]] = f
		}
	}
	return keys
}

// goKeys are the keys the package's Go code translates with a literal:
// s.t(r, "key", …) and c.T(lang, "key", …).
func goKeys(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	keys := make(map[string]string)
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) < 2 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "t" && sel.Sel.Name != "T") {
				return true
			}
			if lit, ok := call.Args[1].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				key, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				keys[key] = fset.Position(lit.Pos()).String()
			}
			return true
		})
	}
	return keys
}

// tableKeys are the keys held in the package's tables and built from an
// error's fields.
func tableKeys() map[string]string {
	keys := make(map[string]string)
	for _, k := range accountNotices {
		keys[k] = "accountNotices"
	}
	for _, k := range roleKeys {
		keys[k] = "roleKeys"
	}
	for _, k := range twoFactorKeys {
		keys[k] = "twoFactorKeys"
	}
	for _, r := range gatehouse.Reasons() {
		keys["error."+r] = "gatehouse.Reasons"
	}
	for _, k := range []string{"error.invalid_code.last", "error.invalid_code.one", "error.invalid_code.other",
		"error.delivery_failed.email", "error.delivery_failed.sms"} {
		keys[k] = "errorKeys"
	}
	return keys
}

func TestEveryKeyInUseIsInEveryLanguage(t *testing.T) {
	c := mustCatalog(t)
	used := templateKeys(t)
	maps.Copy(used, goKeys(t))
	maps.Copy(used, tableKeys())
	for _, must := range []string{"login.title", "code.sent_email", "error.internal"} {
		if _, ok := used[must]; !ok {
			t.Fatalf("the scan missed %q: it finds nothing", must)
		}
	}
	for _, key := range slices.Sorted(maps.Keys(used)) {
		for _, lang := range c.langs {
			if _, ok := c.messages[lang][key]; !ok {
				t.Errorf("%s: %q is not in locales/%s", used[key], key, lang)
			}
		}
	}
}

func TestEveryLanguageHasEveryEnglishKey(t *testing.T) {
	c := mustCatalog(t)
	if !slices.Contains(c.langs, "fi") {
		t.Fatalf("languages %v, want fi among them", c.langs)
	}
	for _, lang := range c.langs[1:] {
		for _, key := range slices.Sorted(maps.Keys(c.messages[defaultLang])) {
			if _, ok := c.messages[lang][key]; !ok {
				t.Errorf("locales/%s lacks %q (en: %q)", lang, key, c.messages[defaultLang][key])
			}
		}
	}
}

func TestNoLanguageHasKeysEnglishLacks(t *testing.T) {
	c := mustCatalog(t)
	for _, lang := range c.langs {
		for _, key := range slices.Sorted(maps.Keys(c.messages[lang])) {
			if _, ok := c.messages[defaultLang][key]; !ok {
				t.Errorf("locales/%s has %q, which English lacks", lang, key)
			}
		}
	}
}

var placeholderRE = regexp.MustCompile(`\{[0-9]+\}`)

func placeholders(text string) []string {
	p := placeholderRE.FindAllString(text, -1)
	slices.Sort(p)
	return slices.Compact(p)
}

func TestTranslationsKeepThePlaceholders(t *testing.T) {
	c := mustCatalog(t)
	for _, lang := range c.langs[1:] {
		for key, en := range c.messages[defaultLang] {
			text, ok := c.messages[lang][key]
			if !ok {
				continue
			}
			if got, want := placeholders(text), placeholders(en); !slices.Equal(got, want) {
				t.Errorf("%s %q has placeholders %v, English %v", lang, key, got, want)
			}
		}
	}
}

// testCatalog is a small catalog for the catalog's own rules.
func testCatalog() *catalog {
	return &catalog{langs: []string{"en", "fi", "sv"}, messages: map[string]map[string]string{
		"en": {"greet": "Hello {0}, you have {1} codes.", "only.en": "English only", "plain": "Plain {0}"},
		"fi": {"greet": "Hei {0}, sinulla on {1} koodia."},
		"sv": {"greet": "Hej {0}, du har {1} koder."},
	}}
}

func TestT(t *testing.T) {
	c := testCatalog()
	cases := []struct {
		name, lang, key string
		args            []any
		want            string
	}{
		{"fills the placeholders in order", "fi", "greet", []any{"Anna", 3}, "Hei Anna, sinulla on 3 koodia."},
		{"fills each placeholder once, not its own output", "en", "greet", []any{"{1}", 2}, "Hello {1}, you have 2 codes."},
		{"falls back to English for a key the language lacks", "fi", "only.en", nil, "English only"},
		{"falls back to English for an unknown language", "de", "greet", []any{"Ann", 1}, "Hello Ann, you have 1 codes."},
		{"shows a missing key as itself", "fi", "no.such.key", nil, "no.such.key"},
		{"leaves a placeholder without an argument as it is", "en", "plain", nil, "Plain {0}"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := c.T(tc.lang, tc.key, tc.args...); got != tc.want {
				t.Errorf("T(%q, %q, %v) = %q, want %q", tc.lang, tc.key, tc.args, got, tc.want)
			}
		})
	}
}

func TestNegotiate(t *testing.T) {
	c := testCatalog()
	cases := []struct {
		name, profile, accept, want string
	}{
		{"is English without a header", "", "", "en"},
		{"takes a supported language", "", "fi", "fi"},
		{"reads a region as its language", "", "fi-FI", "fi"},
		{"ignores case", "", "FI-fi", "fi"},
		{"takes the highest q-value, not the first", "", "en;q=0.5, sv;q=0.9, fi;q=0.7", "sv"},
		{"keeps header order between equal q-values", "", "sv, fi", "sv"},
		{"skips unknown languages", "", "de-DE, fr;q=0.9, fi;q=0.8", "fi"},
		{"skips q=0", "", "fi;q=0, sv;q=0.1", "sv"},
		{"is English when nothing is supported", "", "de, fr", "en"},
		{"tolerates spaces and a broken q-value", "", " fi-FI ; q=abc , en;q=0.8", "fi"},
		{"tolerates a space before the parameters", "", "de, fi ;q=0.9, en;q=0.8", "fi"},
		{"takes the wildcard as nothing in particular", "", "*, fi;q=0.5", "fi"},
		{"prefers the profile's language", "sv", "fi", "sv"},
		{"ignores an unsupported profile language", "de", "fi", "fi"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if tc.accept != "" {
				r.Header.Set("Accept-Language", tc.accept)
			}
			if got := c.negotiate(tc.profile, r); got != tc.want {
				t.Errorf("negotiate(%q, %q) = %q, want %q", tc.profile, tc.accept, got, tc.want)
			}
		})
	}
}

func intp(n int) *int { return &n }

// serviceError returns err as a *gatehouse.Error, failing without one.
func serviceError(t *testing.T, err error) *gatehouse.Error {
	t.Helper()
	ge, ok := err.(*gatehouse.Error)
	if !ok {
		t.Fatalf("%v (%T) is not a *gatehouse.Error", err, err)
	}
	return ge
}

// chosenKey is the key errorText says ge with, or "" for ge.Message.
func chosenKey(c *catalog, ge *gatehouse.Error) string {
	key, _, _ := c.errorKey("fi", ge)
	return key
}

// pageError is an error a page can show, the key it is said with ("" for
// its Message) and a part of its Finnish text.
type pageError struct {
	name   string
	ge     *gatehouse.Error
	key    string
	wantFI string
}

// pageErrors are the errors the pages can show. Those of the password
// policy, phone numbers, e-mail addresses, RequireAdmin and this package
// are made by their own code; the others are built as internal/signin,
// accounts and federation make them (their tests check the reasons and
// arguments they set).
func pageErrors(t *testing.T) []pageError {
	t.Helper()
	policy := password.DefaultPolicy()
	phoneErr := func(raw, region string) *gatehouse.Error {
		_, err := phone.Normalize(raw, region)
		return serviceError(t, err)
	}
	emailErr := func(raw string) *gatehouse.Error {
		_, err := gatehouse.NormalizeEmail(raw)
		return serviceError(t, err)
	}
	member := gatehouse.Actor{UserID: "u1", OrgID: "o1", Role: gatehouse.RoleMember}
	networkErr := func(lines ...string) *gatehouse.Error {
		_, err := gatehouse.ParseSkipNetworks(lines)
		return serviceError(t, err)
	}
	many := make([]string, gatehouse.MaxSkipNetworks+1)
	for i := range many {
		many[i] = fmt.Sprintf("10.%d.%d.0/24", i/256, i%256)
	}
	return append([]pageError{
		{"a network without a prefix length, on a CRLF line", networkErr("10.1.2.3\r"), "error.invalid_network.not_cidr", "”10.1.2.3” ei ole CIDR-muodossa"},
		{"not a network", networkErr("clinic.example/24"), "error.invalid_network.invalid", "”clinic.example/24” ei ole CIDR-muotoinen"},
		{"a network with a zone", networkErr("fe80::%eth0/64"), "error.invalid_network.invalid", "”fe80::%eth0/64” ei ole"},
		{"a network with host bits", networkErr("192.0.2.7/24"), "error.invalid_network.host_bits", "tarkoititko 192.0.2.0/24?"},
		{"every address", networkErr("0.0.0.0/0"), "error.invalid_network.everyone", "”0.0.0.0/0” päästäisi kaikki"},
		{"an IPv4-mapped network", networkErr("::ffff:192.0.2.0/120"), "error.invalid_network.mapped", "(192.0.2.0/24)"},
		{"networks that together cover everyone", networkErr("0.0.0.0/1", "128.0.0.0/1"), "error.invalid_network.union", "kaikki IPv4-osoitteet"},
		{"too many networks", networkErr(many...), "error.invalid_input.skip_networks.too_many", "enintään 100 verkosta"},
		{"a wrong password", &gatehouse.Error{Code: gatehouse.EINVALIDCREDENTIALS, Message: "The e-mail address or password is incorrect."},
			"error.invalid_credentials", "Sähköpostiosoite tai salasana on väärä."},
		{"no organization by that name", &gatehouse.Error{Code: gatehouse.EINVALIDCREDENTIALS, Field: "organization", Reason: gatehouse.ReasonNoSuchOrganization,
			Message: "There is no organization by that name. Check the spelling, or use the sign-in address your admin gave you."}, "error.invalid_credentials.organization", "Tällä nimellä ei löydy organisaatiota"},
		{"a wrong password when changing contact details", &gatehouse.Error{Code: gatehouse.EINVALIDCREDENTIALS, Field: "password", Message: "The password is incorrect."},
			"error.invalid_credentials.password", "Salasana on väärä."},
		{"throttled sign-ins, with the wait", &gatehouse.Error{Code: gatehouse.ETOOMANYATTEMPTS, RetryAfter: 30 * time.Second,
			Reason: gatehouse.ReasonSignInThrottled, Args: []any{30 * time.Second},
			Message: "Too many failed sign-in attempts. Wait a moment and try again."}, "error.too_many_attempts.sign_in", "Odota 30 sekuntia"},
		{"too many wrong passwords", &gatehouse.Error{Code: gatehouse.ETOOMANYATTEMPTS, RetryAfter: 90 * time.Second,
			Reason: gatehouse.ReasonWrongPasswords, Args: []any{90 * time.Second},
			Message: "Too many wrong passwords. Wait a moment and try again."}, "error.too_many_attempts.wrong_passwords", "Odota 90 sekuntia"},
		{"backing off after wrong codes, in minutes", &gatehouse.Error{Code: gatehouse.ETOOMANYATTEMPTS, RetryAfter: 8*time.Minute + time.Second,
			Reason: gatehouse.ReasonWrongCodes, Args: []any{8*time.Minute + time.Second},
			Message: "Too many wrong codes. Wait a moment and try again."}, "error.too_many_attempts.wrong_codes", "Odota 9 minuuttia"},
		{"backing off for the longest wait, which is not a lock", &gatehouse.Error{Code: gatehouse.ETOOMANYATTEMPTS, RetryAfter: gatehouse.OTPMaxWait,
			Reason: gatehouse.ReasonWrongCodes, Args: []any{gatehouse.OTPMaxWait},
			Message: "Too many wrong codes. Wait a moment and try again."}, "error.too_many_attempts.wrong_codes", "Odota 60 minuuttia"},
		{"a locked account", &gatehouse.Error{Code: gatehouse.ETOOMANYATTEMPTS, RetryAfter: gatehouse.OTPMaxWait, Reason: gatehouse.ReasonLocked,
			Message: "Too many wrong codes: your account is locked. Ask your admin to unlock it, or reset your password."},
			"error.too_many_attempts.locked", "tilisi on lukittu"},
		{"throttled in other words", &gatehouse.Error{Code: gatehouse.ETOOMANYATTEMPTS, RetryAfter: time.Second, Message: "Slow down."},
			"error.too_many_attempts", "Odota 1 sekunti"},
		{"throttled without saying for how long", &gatehouse.Error{Code: gatehouse.ETOOMANYATTEMPTS, Reason: gatehouse.ReasonSignInThrottled,
			Message: "Too many failed sign-in attempts. Wait a moment and try again."}, "", "Wait a moment"},
		{"a wrong code, 4 tries left", &gatehouse.Error{Code: gatehouse.EINVALIDCODE, AttemptsLeft: intp(4), Message: "That code is not right. 4 tries are left."},
			"error.invalid_code.other", "Yrityksiä on jäljellä 4."},
		{"a wrong code, 1 try left", &gatehouse.Error{Code: gatehouse.EINVALIDCODE, AttemptsLeft: intp(1), Message: "That code is not right. 1 try is left."},
			"error.invalid_code.one", "enää yksi"},
		{"a wrong code, none left", &gatehouse.Error{Code: gatehouse.EINVALIDCODE, AttemptsLeft: intp(0),
			Message: "That code is not right. No tries are left: sign in again with your password."}, "error.invalid_code.last", "kirjaudu uudelleen"},
		{"a code not 6 digits", &gatehouse.Error{Code: gatehouse.EINVALID, Field: "code", Message: "The code is the 6 digits we sent you."},
			"error.invalid_input.code", "6 numeroa"},
		{"an expired code", &gatehouse.Error{Code: gatehouse.ECODEEXPIRED, Message: "That code has expired. Ask for a new one."},
			"error.code_expired", "Koodi on vanhentunut."},
		{"an expired sign-in", &gatehouse.Error{Code: gatehouse.ELOGINEXPIRED, Message: "This sign-in has expired. Sign in again with your password."},
			"error.login_expired", "Kirjautuminen on vanhentunut."},
		{"an expired change of contact details", &gatehouse.Error{Code: gatehouse.ELOGINEXPIRED, Reason: gatehouse.ReasonChangeExpired,
			Message: "This change has expired. Start it again."}, "error.login_expired.change", "Muutos on vanhentunut."},
		{"no pending sign-in", &gatehouse.Error{Code: gatehouse.ENOPENDINGLOGIN,
			Message: "There is no sign-in waiting for a code in this browser. Sign in with your password."}, "error.no_pending_login", "Kirjaudu sisään salasanallasi."},
		{"an early resend", &gatehouse.Error{Code: gatehouse.ERESENDTOOSOON, RetryAfter: 21 * time.Second,
			Message: "A code was sent a moment ago. Wait before asking for another."}, "error.resend_too_soon", "Odota 21 sekuntia"},
		{"the send caps", &gatehouse.Error{Code: gatehouse.ERESENDTOOSOON, RetryAfter: gatehouse.SendWindow,
			Reason: gatehouse.ReasonSendCapped, Args: []any{gatehouse.SendWindow},
			Message: "Too many codes were sent in the last 15 minutes. Try again later."}, "error.resend_too_soon.capped", "Odota 15 minuuttia"},
		{"a failed e-mail", withChannel(&gatehouse.Error{Code: gatehouse.EDELIVERYFAILED, Reason: gatehouse.ReasonDeliveryEmail,
			Message: "We could not send the e-mail with your code. Try again in a moment."}, "email").(*gatehouse.Error), "error.delivery_failed.email", "sähköpostilla"},
		{"a failed text message", withChannel(&gatehouse.Error{Code: gatehouse.EDELIVERYFAILED, Reason: gatehouse.ReasonDeliverySMS,
			Message: "We could not send the text message with your code. Try again in a moment."}, "sms").(*gatehouse.Error), "error.delivery_failed.sms", "tekstiviestillä"},
		{"a failed text message, by its reason alone (the JSON API's error)", &gatehouse.Error{Code: gatehouse.EDELIVERYFAILED, Reason: gatehouse.ReasonDeliverySMS,
			Message: "We could not send the text message with your code. Try again in a moment."}, "error.delivery_failed.sms", "tekstiviestillä"},
		{"a failed delivery by an unknown channel", &gatehouse.Error{Code: gatehouse.EDELIVERYFAILED, Message: "We could not send it."},
			"error.delivery_failed", "epäonnistui"},
		{"a phone number too long", phoneErr(strings.Repeat("1", 70), "FI"), "error.invalid_phone.too_long", "yli 64 merkkiä"},
		{"no phone number", phoneErr("  ", "FI"), "error.invalid_phone.empty", "Anna puhelinnumero."},
		{"a phone number with letters", phoneErr("040 KUKKA", "FI"), "error.invalid_phone.characters", "”040 KUKKA” ei ole puhelinnumero"},
		{"a national phone number without a region", phoneErr("040 123 4567", ""), "error.invalid_phone.not_international", "”040 123 4567”"},
		{"an invalid international phone number", phoneErr("+358 1", "FI"), "error.invalid_phone.invalid_international", "”+358 1”"},
		{"an invalid national phone number", phoneErr("12", "FI"), "error.invalid_phone.invalid", "”12” ei ole kelvollinen"},
		{"a phone number already saved", &gatehouse.Error{Code: gatehouse.EINVALID, Field: "phone", Reason: gatehouse.ReasonPhoneSame,
			Message: "That is already your phone number."}, "error.invalid_input.phone.same", "jo puhelinnumerosi"},
		{"an e-mail address already saved", &gatehouse.Error{Code: gatehouse.EINVALID, Field: "email", Reason: gatehouse.ReasonEmailSame,
			Message: "That is already your e-mail address."}, "error.invalid_input.email.same", "jo sähköpostiosoitteesi"},
		{"a code by SMS without a phone number", &gatehouse.Error{Code: gatehouse.EINVALID, Field: "phone", Reason: gatehouse.ReasonPhoneFirst,
			Message: "Enter your phone number first; we will send the code to it."}, "error.invalid_input.phone.first", "puhelinnumerosi"},
		{"a password kept by the directory", &gatehouse.Error{Code: gatehouse.EINVALID, Field: "password", Reason: gatehouse.ReasonPasswordFromDirectory,
			Message: "Your password is kept by your organization's directory or identity provider; change it there."},
			"error.invalid_input.password.directory", "vaihda se siellä"},
		{"the last admin", gatehouse.ErrLastAdmin(), "error.conflict.last_admin", "viimeinen ylläpitäjä"},
		{"group admins in the organization", gatehouse.Reasoned(gatehouse.ECONFLICT, gatehouse.ReasonGroupAdminsInOrg,
			"Admins of the group belong to this organization: remove them from the group first."), "error.conflict.group_admins_in_org", "poista heidät ensin ryhmästä"},
		{"in another group", gatehouse.Reasoned(gatehouse.ECONFLICT, gatehouse.ReasonOrgInOtherGroup,
			"The organization is in another group: take it out of that group first."), "error.conflict.org_in_other_group", "toiseen ryhmään"},
		{"a full group", gatehouse.Reasoned(gatehouse.ECONFLICT, gatehouse.ReasonGroupFull, "The group holds %d organizations, the most it can.", 1000),
			"error.conflict.group_full", "Ryhmässä on 1000 organisaatiota"},
		{"a group admin from outside", gatehouse.Reasoned(gatehouse.ECONFLICT, gatehouse.ReasonGroupAdminOutside,
			"A group admin must be a user of one of the group's organizations."), "error.conflict.group_admin_outside", "jonkin ryhmän organisaation"},
		{"a protected group admin", gatehouse.Reasoned(gatehouse.EFORBIDDEN, gatehouse.ReasonGroupAdminProtected,
			"This user administers the organization group: only the operator or another admin of the group may change their account."),
			"error.forbidden.group_admin", "ylläpitää organisaatioryhmää"},
		{"no such group", gatehouse.Reasoned(gatehouse.ENOTFOUND, gatehouse.ReasonNoSuchGroup, "There is no group with the slug %q.", "vets"),
			"error.not_found.group", "Ryhmää tunnuksella ”vets” ei ole"},
		{"a disabled group admin", gatehouse.FieldReason("email", gatehouse.ReasonGroupAdminDisabled, "%s is disabled.", "it@north.test"),
			"error.invalid_input.email.disabled", "it@north.test on poistettu käytöstä"},
		{"no group named", gatehouse.FieldReason("group", gatehouse.ReasonGroupRequired, "Name the group to create the organization in."),
			"error.invalid_input.group.required", "Valitse ryhmä"},
		{"an organization not administered", gatehouse.Reasoned(gatehouse.ENOTFOUND, gatehouse.ReasonNotAdministered, "No such organization."),
			"error.not_found.not_administered", "Organisaatiota ei ole"},
		{"an API token without the scope", gatehouse.Reasoned(gatehouse.EFORBIDDEN, gatehouse.ReasonTokenScope, "This API token lacks the scope %s.", "users:write"),
			"error.forbidden.token_scope", "puuttuu oikeus users:write"},
		{"a group admin stays an admin", gatehouse.Reasoned(gatehouse.ECONFLICT, gatehouse.ReasonGroupAdminRole,
			"A group admin must be an admin of an organization that signs in with a password: remove them from the group first, or choose another user."),
			"error.conflict.group_admin", "salasanalla kirjautuvan"},
		{"not a time zone", gatehouse.FieldReason("time_zone", gatehouse.ReasonTimeZoneInvalid, "%q is not a time zone: use a name such as Europe/Helsinki.", "Mars/Base"),
			"error.invalid_input.time_zone.invalid", "”Mars/Base” ei ole aikavyöhyke"},
		{"not a country", gatehouse.FieldReason("country", gatehouse.ReasonCountryInvalid, "%q is not a country code: use two letters such as FI.", "XX"),
			"error.invalid_input.country.invalid", "”XX” ei ole maatunnus"},
		{"contact details from a directory", &gatehouse.Error{Code: gatehouse.EINVALID, Field: "kind", Reason: gatehouse.ReasonContactFromDirectory,
			Message: "Contact details of this organization's users come from its directory or identity provider."},
			"error.invalid_input.kind.directory", "hakemistosta"},
		{"a password too short", serviceError(t, policy.Check("short", "a@b.test")), "error.weak_password.too_short", "vähintään 12 merkkiä"},
		{"a password too long", serviceError(t, policy.Check(strings.Repeat("ab", 200), "a@b.test")), "error.weak_password.too_long", "enintään 256 merkkiä"},
		{"a password of one character", serviceError(t, policy.Check("zzzzzzzzzzzzzz", "a@b.test")), "error.weak_password.one_character", "toistettuna"},
		{"a common password", serviceError(t, policy.Check("Password2026!", "a@b.test")), "error.weak_password.common", "yleisimmin"},
		{"a password with the e-mail address", serviceError(t, policy.Check("staff-member-secret", "staff-member@b.test")), "error.weak_password.contains_email", "@-merkkiä"},
		{"a weak password in other words", &gatehouse.Error{Code: gatehouse.EWEAKPASSWORD, Field: "password", Message: "The password must rhyme."}, "", "The password must rhyme."},
		{"no e-mail address", emailErr(" "), "error.invalid_input.email.required", "Anna sähköpostiosoite."},
		{"an e-mail address too long", emailErr(strings.Repeat("a", 300) + "@b.test"), "error.invalid_input.email.too_long", "merkkiä"},
		{"not an e-mail address", emailErr("staff at clinic"), "error.invalid_input.email.invalid", "”staff at clinic” ei ole sähköpostiosoite."},
		{"no password", &gatehouse.Error{Code: gatehouse.EINVALID, Field: "password", Reason: gatehouse.ReasonPasswordRequired,
			Message: "The password is required."}, "error.invalid_input.password.required", "Anna salasana."},
		{"no organization", &gatehouse.Error{Code: gatehouse.EINVALID, Field: "organization", Message: "The organization is required."},
			"error.invalid_input.organization", "Anna organisaatio."},
		{"an invalid field in other words", &gatehouse.Error{Code: gatehouse.EINVALID, Field: "password", Message: "No local password."}, "", "No local password."},
		{"the service account's password to enter again", &gatehouse.Error{Code: gatehouse.EINVALID, Field: "service_password",
			Reason: gatehouse.ReasonServicePasswordAgain, Message: "Enter the service account's password again: the saved one is kept only while the URL, the TLS settings and the service DN stay the same."},
			"error.invalid_input.service_password.again", "palvelutilin"},
		{"an unreadable form", serviceError(t, errUnreadableForm()), "error.invalid_input.form", "Lomaketta"},
		{"a spent reset link", &gatehouse.Error{Code: gatehouse.ENOTFOUND, Reason: gatehouse.ReasonResetLinkSpent,
			Message: "This link has expired or was already used. Ask for a new one."}, "error.not_found.reset_link", "Linkki on vanhentunut"},
		{"a missing page", serviceError(t, errNoSuchPage()), "error.not_found.page", "Tätä sivua ei ole"},
		{"a forgotten remembered browser", &gatehouse.Error{Code: gatehouse.ENOTFOUND, Reason: gatehouse.ReasonNoSuchBrowser,
			Message: "No such remembered browser."}, "error.not_found.browser", "selainta"},
		{"an ended session", &gatehouse.Error{Code: gatehouse.ENOTFOUND, Reason: gatehouse.ReasonNoSuchSession,
			Message: "No such session."}, "error.not_found.session", "Istuntoa ei löytynyt."},
		{"something else not found", gatehouse.Errorf(gatehouse.ENOTFOUND, "Widget not found."), "", "Widget not found."},
		{"a busy server", &gatehouse.Error{Code: gatehouse.EBUSY, RetryAfter: 3 * time.Second, Message: "The server is busy; try again in a moment."},
			"error.busy", "ruuhkautunut"},
		{"an unavailable database", &gatehouse.Error{Code: gatehouse.EUNAVAILABLE, RetryAfter: 5 * time.Second,
			Message: "Sign-in is unavailable right now. Try again in a moment."}, "error.unavailable", "ei ole juuri nyt käytettävissä"},
		{"an internal error", &gatehouse.Error{Code: gatehouse.EINTERNAL, Message: "Internal error."}, "error.internal", "Sisäinen virhe."},
		{"a cross-origin request", gatehouse.Reasoned(gatehouse.EFORBIDDEN, gatehouse.ReasonCrossOrigin, "Cross-origin request refused."),
			"error.forbidden.cross_origin", "Toiselta sivustolta"},
		{"a member doing an admin's work", serviceError(t, member.RequireAdmin("o1")), "error.forbidden.admin_only", "ylläpitäjät"},
		{"a body too large", errTooLarge, "error.request_too_large", "liian suuri"},
	}, settingsPageErrors(t)...)
}

// TestErrorTextSaysEveryPageErrorInFinnish runs through the errors the
// pages can show: each is said by its reason's key, its fields' or its
// code's, never by its English Message unless the catalog cannot say it.
// Choosing a reason's key also shows that the error gives every argument
// that key's text uses.
func TestErrorTextSaysEveryPageErrorInFinnish(t *testing.T) {
	c := mustCatalog(t)
	for _, tc := range pageErrors(t) {
		t.Run(tc.name, func(t *testing.T) {
			if got := chosenKey(c, tc.ge); got != tc.key {
				t.Errorf("%q (%s, reason %q) says key %q, want %q", tc.ge.Message, tc.ge.Code, tc.ge.Reason, got, tc.key)
			}
			fi := c.errorText("fi", tc.ge)
			if !strings.Contains(fi, tc.wantFI) {
				t.Errorf("Finnish %q lacks %q", fi, tc.wantFI)
			}
			if strings.Contains(fi, "{0}") {
				t.Errorf("Finnish %q has an unfilled placeholder", fi)
			}
			if en := c.errorText("en", tc.ge); tc.key != "" && en == fi {
				t.Errorf("English and Finnish are both %q", en)
			}
		})
	}
}

// TestEveryReasonIsSaidInEveryLanguage: each reason has its text in every
// language, with no more placeholders than the reason's errors fill (each
// reason has a case in pageErrors, whose key must be the reason's).
func TestEveryReasonIsSaidInEveryLanguage(t *testing.T) {
	c := mustCatalog(t)
	cases := make(map[string]pageError)
	for _, tc := range pageErrors(t) {
		if tc.ge.Reason != "" && tc.key == "error."+tc.ge.Reason {
			cases[tc.ge.Reason] = tc
		}
	}
	for _, r := range gatehouse.Reasons() {
		key := "error." + r
		for _, lang := range c.langs {
			if _, ok := c.messages[lang][key]; !ok {
				t.Errorf("reason %q: %q is not in locales/%s", r, key, lang)
			}
		}
		tc, ok := cases[r]
		if !ok {
			t.Errorf("reason %q has no case in pageErrors said by its key", r)
			continue
		}
		if need, have := placeholdersUsed(c.messages[defaultLang][key]), len(tc.ge.Args); need > have {
			t.Errorf("%s uses %d arguments, %q gives %d", key, need, tc.name, have)
		}
	}
}

// TestErrorTextKeepsTheServicesEnglish: a reason's English text says what
// the service's Message says, so English pages read as before. Where the
// reason carries a wait, English says it in words where the service says
// "a moment".
func TestErrorTextKeepsTheServicesEnglish(t *testing.T) {
	c := mustCatalog(t)
	for _, tc := range pageErrors(t) {
		if tc.ge.Reason == "" || tc.key == "" || slices.ContainsFunc(tc.ge.Args, func(a any) bool { _, ok := a.(time.Duration); return ok }) {
			continue
		}
		if got := c.errorText("en", tc.ge); got != tc.ge.Message {
			t.Errorf("%s: English %q, the service says %q", tc.key, got, tc.ge.Message)
		}
	}
}

func TestPlaceholdersUsed(t *testing.T) {
	for text, want := range map[string]int{
		"No placeholders.": 0, "Wait {0}.": 1, "{1} of {0}": 2, "{0} and {0}": 1, "Braces {x} and {": 0, "{2}": 3,
	} {
		if got := placeholdersUsed(text); got != want {
			t.Errorf("placeholdersUsed(%q) = %d, want %d", text, got, want)
		}
	}
}

func TestBrowserNamesInFinnish(t *testing.T) {
	c := mustCatalog(t)
	for ua, want := range map[string]string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0": "Firefox (Windows)",
		"curl/8.0": "Tuntematon selain",
		"":         "Tuntematon selain",
	} {
		if got := c.browser("fi", ua); got != want {
			t.Errorf("browser(fi, %q) = %q, want %q", ua, got, want)
		}
	}
	if got := c.browser("en", "curl/8.0"); got != "Unknown browser" {
		t.Errorf("browser(en, curl) = %q", got)
	}
}

// TestEveryAuditEventIsSaidInWords: the audit log shows each event in the
// reader's language, never its name (a new event without words fails).
func TestEveryAuditEventIsSaidInWords(t *testing.T) {
	c := mustCatalog(t)
	for _, lang := range []string{"en", "fi"} {
		for _, name := range gatehouse.AuditEventNames() {
			if w, ok := c.messages[lang]["audit.event."+name]; !ok || w == name {
				t.Errorf("%s: the audit event %s has no words", lang, name)
			}
		}
	}
	for _, name := range auditEvents {
		if !slices.Contains(gatehouse.AuditEventNames(), name) {
			t.Errorf("the audit filter offers %s, which AuditEventNames does not list", name)
		}
	}
}
