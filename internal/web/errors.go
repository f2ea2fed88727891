package web

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// statusOf is the one table from error code to HTTP status.
var statusOf = map[string]int{
	gatehouse.EINVALID:            http.StatusBadRequest,
	gatehouse.EWEAKPASSWORD:       http.StatusBadRequest,
	gatehouse.EINVALIDNETWORK:     http.StatusBadRequest,
	gatehouse.EINVALIDPHONE:       http.StatusBadRequest,
	gatehouse.EINVALIDCREDENTIALS: http.StatusUnauthorized,
	gatehouse.EUNAUTHORIZED:       http.StatusUnauthorized,
	gatehouse.EREAUTHREQUIRED:     http.StatusUnauthorized,
	gatehouse.EFORBIDDEN:          http.StatusForbidden,
	gatehouse.ENOTFOUND:           http.StatusNotFound,
	gatehouse.ECONFLICT:           http.StatusConflict,
	gatehouse.ESSOREQUIRED:        http.StatusConflict,
	gatehouse.ETWOFACTORUNAVAIL:   http.StatusConflict,
	gatehouse.ETOOMANYATTEMPTS:    http.StatusTooManyRequests,
	gatehouse.EINVALIDCODE:        http.StatusBadRequest,
	gatehouse.ECODEEXPIRED:        http.StatusGone,
	gatehouse.ELOGINEXPIRED:       http.StatusGone,
	gatehouse.ENOPENDINGLOGIN:     http.StatusUnauthorized,
	gatehouse.ERESENDTOOSOON:      http.StatusTooManyRequests,
	gatehouse.EDELIVERYFAILED:     http.StatusBadGateway,
	gatehouse.EPHONENOTEXPECTED:   http.StatusConflict,
	gatehouse.EBUSY:               http.StatusServiceUnavailable,
	gatehouse.EUNAVAILABLE:        http.StatusServiceUnavailable,
	gatehouse.EINTERNAL:           http.StatusInternalServerError,
	codeTooLarge:                  http.StatusRequestEntityTooLarge,
	codeUnsupportedType:           http.StatusUnsupportedMediaType,
}

// Codes that only the web layer produces.
const (
	codeTooLarge        = "request_too_large"
	codeUnsupportedType = "unsupported_media_type"
)

var (
	errTooLarge = &gatehouse.Error{Code: codeTooLarge, Message: "The request body is too large."}
	errPanic    = errors.New("web: handler panicked")
)

// apiError is the JSON form of an error (DESIGN.md §5).
type apiError struct {
	Error apiErrorBody `json:"error"`
}

type apiErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	Entry   string `json:"entry,omitempty"`
	// AttemptsLeft is present (possibly 0) on invalid_code only.
	AttemptsLeft *int `json:"attempts_left,omitempty"`
	// RetryAfter repeats the Retry-After header in seconds.
	RetryAfter int `json:"retry_after,omitempty"`
	// Challenge names a contact change whose code could not be sent, so
	// the client can resend for it.
	Challenge string `json:"challenge,omitempty"`
	// Location, for sso_required, is where the sign-in goes instead.
	Location string `json:"location,omitempty"`
}

// renderError answers err in JSON (API routes) or HTML. Anything that is not
// a *gatehouse.Error is logged here, once, and shown as "internal error".
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, api bool, err error) {
	var ge *gatehouse.Error
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &ge):
	case errors.As(err, &tooLarge):
		ge = errTooLarge
	default:
		s.log.ErrorContext(r.Context(), "internal error", "method", r.Method, "path", r.URL.Path, "error", err)
		ge = &gatehouse.Error{Code: gatehouse.EINTERNAL, Message: "Internal error."}
	}
	status := statusFor(ge.Code)
	if ge.RetryAfter > 0 {
		w.Header().Set("Retry-After", retryAfterSeconds(ge.RetryAfter))
	}
	if api {
		body := apiErrorBody{Code: ge.Code, Message: ge.Message, Field: ge.Field, Entry: ge.Entry, AttemptsLeft: ge.AttemptsLeft, Location: ge.Location}
		if ge.RetryAfter > 0 {
			body.RetryAfter = int(math.Ceil(ge.RetryAfter.Seconds()))
		}
		writeJSON(w, status, apiError{Error: body})
		return
	}
	s.renderPage(w, r, status, "error", errorPage{Status: status, Message: s.errorText(r, ge)})
}

// errorText is what a page shows for ge, in the request's language. The
// JSON API keeps ge.Message, the services' English.
func (s *Server) errorText(r *http.Request, ge *gatehouse.Error) string {
	return s.pages.cat.errorText(s.lang(r), ge)
}

// errorText is ge in lang: the text of errorKey with {0} filled in, else
// ge.Message as it is. A message whose specifics the catalog cannot say
// (a new wording in a service) is better shown in English than replaced by
// something vaguer.
func (c *catalog) errorText(lang string, ge *gatehouse.Error) string {
	key, arg, ok := c.errorKey(lang, ge)
	switch {
	case !ok:
		return ge.Message
	case arg == nil:
		return c.T(lang, key)
	}
	return c.T(lang, key, arg)
}

// errorKey is the first of errorKeys that the catalog has, skipping a key
// that says a value ({0}) the error does not carry, and its {0}.
func (c *catalog) errorKey(lang string, ge *gatehouse.Error) (key string, arg any, ok bool) {
	for _, k := range errorKeys(ge) {
		en, ok := c.messages[defaultLang][k.key]
		if !ok {
			continue
		}
		if k.arg == nil {
			k.arg = c.errorArg(lang, ge)
		}
		if k.arg == nil && strings.Contains(en, "{0}") {
			continue
		}
		return k.key, k.arg, true
	}
	return "", nil, false
}

type errorCandidate struct {
	key string
	arg any // {0}; nil for errorArg
}

// errorKeys are the catalog keys that may say ge, most specific first: the
// known wording its message matches (errorForms), a variant its fields
// tell, error.<code>.<field> and error.<code>.
func errorKeys(ge *gatehouse.Error) []errorCandidate {
	var keys []errorCandidate
	for _, f := range errorForms {
		if arg, ok := f.match(ge); ok {
			keys = append(keys, errorCandidate{key: f.key, arg: arg})
			break
		}
	}
	prefix := "error." + ge.Code
	switch {
	case ge.Code == gatehouse.EINVALIDCODE && ge.AttemptsLeft != nil:
		variant := "other"
		switch *ge.AttemptsLeft {
		case 0:
			variant = "last"
		case 1:
			variant = "one"
		}
		keys = append(keys, errorCandidate{key: prefix + "." + variant})
	case ge.Code == gatehouse.ETOOMANYATTEMPTS && ge.RetryAfter == gatehouse.OTPMaxWait:
		// A locked user: Retry-After is only a bound, the lock lasts
		// until an admin or a password reset lifts it.
		keys = append(keys, errorCandidate{key: prefix + ".locked"})
	case ge.Code == gatehouse.ERESENDTOOSOON && ge.RetryAfter >= gatehouse.SendWindow:
		// The send caps, not the gap between two sends of one code.
		keys = append(keys, errorCandidate{key: prefix + ".capped"})
	}
	if ge.Field != "" {
		keys = append(keys, errorCandidate{key: prefix + "." + ge.Field})
	}
	return append(keys, errorCandidate{key: prefix})
}

// errorArg is {0} of a key that is not a known wording: the entry as
// typed, the tries left, or how long to wait.
func (c *catalog) errorArg(lang string, ge *gatehouse.Error) any {
	switch {
	case ge.Entry != "":
		return ge.Entry
	case ge.AttemptsLeft != nil:
		return *ge.AttemptsLeft
	case ge.RetryAfter > 0:
		return c.duration(lang, ge.RetryAfter)
	}
	return nil
}

// duration says d in whole seconds, or whole minutes from two minutes on,
// rounded up: "30 seconds", "15 minutes".
func (c *catalog) duration(lang string, d time.Duration) string {
	secs := int(math.Ceil(d.Seconds()))
	switch {
	case secs <= 1:
		return c.T(lang, "duration.seconds.one")
	case secs < 120:
		return c.T(lang, "duration.seconds", secs)
	}
	return c.T(lang, "duration.minutes", (secs+59)/60)
}

// errorForm is a wording of a service error that means more than its code
// and field tell. The services write English with the specifics inside the
// sentence (a minimum length, a number as typed); a form recognizes such a
// message exactly and names the key that says it in any language, with
// the part at {0} (unquoted when the service quoted it) as the key's {0}.
// i18n_test.go checks the forms against the services' own errors, so a
// changed wording shows up as a failing test, not as English on a Finnish
// page.
type errorForm struct {
	code, message, key string
}

func (f errorForm) match(ge *gatehouse.Error) (arg any, ok bool) {
	if ge.Code != f.code {
		return nil, false
	}
	before, after, hole := strings.Cut(f.message, "{0}")
	if !hole {
		return nil, ge.Message == f.message
	}
	m := ge.Message
	if len(m) <= len(before)+len(after) || !strings.HasPrefix(m, before) || !strings.HasSuffix(m, after) {
		return nil, false
	}
	part := m[len(before) : len(m)-len(after)]
	if strings.HasPrefix(part, `"`) {
		if u, err := strconv.Unquote(part); err == nil {
			part = u
		}
	}
	return part, true
}

var errorForms = []errorForm{
	// internal/password: Policy.Check.
	{gatehouse.EWEAKPASSWORD, "The password must be at least {0} characters long.", "error.weak_password.too_short"},
	{gatehouse.EWEAKPASSWORD, "The password must be at most {0} characters long.", "error.weak_password.too_long"},
	{gatehouse.EWEAKPASSWORD, "The password must not be a single character repeated.", "error.weak_password.one_character"},
	{gatehouse.EWEAKPASSWORD, "This password is one of the most commonly used passwords; choose one that is harder to guess.", "error.weak_password.common"},
	{gatehouse.EWEAKPASSWORD, "The password must not contain your e-mail address or the name before the @.", "error.weak_password.contains_email"},
	// internal/phone: Normalize.
	{gatehouse.EINVALIDPHONE, "The phone number is longer than {0} characters.", "error.invalid_phone.too_long"},
	{gatehouse.EINVALIDPHONE, "Enter a phone number.", "error.invalid_phone.empty"},
	{gatehouse.EINVALIDPHONE, "{0} is not a phone number: use only digits, spaces, dashes and parentheses.", "error.invalid_phone.characters"},
	{gatehouse.EINVALIDPHONE, "{0} is not in international form: start with + and the country code, such as +358 40 123 4567.", "error.invalid_phone.not_international"},
	{gatehouse.EINVALIDPHONE, "{0} is not a valid phone number; check the country code and the number.", "error.invalid_phone.invalid_international"},
	{gatehouse.EINVALIDPHONE, "{0} is not a valid phone number; check it, or write it with + and the country code.", "error.invalid_phone.invalid"},
	// gatehouse.NormalizeEmail.
	{gatehouse.EINVALID, "The e-mail address is required.", "error.invalid_input.email.required"},
	{gatehouse.EINVALID, "The e-mail address is longer than {0} characters.", "error.invalid_input.email.too_long"},
	{gatehouse.EINVALID, "{0} is not an e-mail address.", "error.invalid_input.email.invalid"},
	// internal/signin.
	{gatehouse.EINVALID, "The password is required.", "error.invalid_input.password.required"},
	{gatehouse.EINVALID, "That is already your e-mail address.", "error.invalid_input.email.same"},
	{gatehouse.EINVALID, "That is already your phone number.", "error.invalid_input.phone.same"},
	{gatehouse.EINVALID, "Enter your phone number first; we will send the code to it.", "error.invalid_input.phone.first"},
	{gatehouse.EINVALID, "Contact details of this organization's users come from its directory or identity provider.", "error.invalid_input.kind.directory"},
	{gatehouse.ETOOMANYATTEMPTS, "Too many failed sign-in attempts. Wait a moment and try again.", "error.too_many_attempts.sign_in"},
	{gatehouse.ETOOMANYATTEMPTS, "Too many wrong passwords. Wait a moment and try again.", "error.too_many_attempts.wrong_passwords"},
	{gatehouse.ETOOMANYATTEMPTS, "Too many wrong codes. Wait a moment and try again.", "error.too_many_attempts.wrong_codes"},
	{gatehouse.ELOGINEXPIRED, "This change has expired. Start it again.", "error.login_expired.change"},
	{gatehouse.ENOTFOUND, "No such remembered browser.", "error.not_found.browser"},
	{gatehouse.ENOTFOUND, "No such session.", "error.not_found.session"},
	// internal/accounts.
	{gatehouse.ENOTFOUND, "This link has expired or was already used. Ask for a new one.", "error.not_found.reset_link"},
	// internal/federation.
	{gatehouse.EINVALID, "Enter the service account's password again: the saved one is kept only while the URL, the TLS settings and the service DN stay the same.", "error.invalid_input.service_password.again"},
	// This package.
	{gatehouse.EINVALID, "The form could not be read.", "error.invalid_input.form"},
	{gatehouse.ENOTFOUND, "This page does not exist.", "error.not_found.page"},
	{gatehouse.EFORBIDDEN, "Cross-origin request refused.", "error.forbidden.cross_origin"},
	{gatehouse.EFORBIDDEN, "Only admins of this organization may do that.", "error.forbidden.admin_only"},
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func retryAfterSeconds(d time.Duration) string {
	return strconv.Itoa(int(math.Ceil(d.Seconds())))
}

// statusFor is the HTTP status of an error code.
func statusFor(code string) int {
	if status, ok := statusOf[code]; ok {
		return status
	}
	return http.StatusInternalServerError
}
