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

// apiError is the JSON form of an error (docs/design.md §5).
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

// errorText is ge in lang: the text of errorKey with its arguments filled
// in, else ge.Message as it is. An error the catalog has no text for (no
// reason, and no text for its field or code) is better shown in English
// than replaced by something vaguer; a reason never depends on the
// wording, so a changed sentence cannot turn a Finnish page English.
func (c *catalog) errorText(lang string, ge *gatehouse.Error) string {
	key, args, ok := c.errorKey(lang, ge)
	if !ok {
		return ge.Message
	}
	return c.T(lang, key, args...)
}

// errorKey is the first of errorKeys that the catalog has and whose
// placeholders the error can fill, with the values for them.
func (c *catalog) errorKey(lang string, ge *gatehouse.Error) (key string, args []any, ok bool) {
	for _, k := range errorKeys(ge) {
		en, ok := c.messages[defaultLang][k.key]
		if !ok {
			continue
		}
		args := k.args
		if !k.reason {
			if arg := errorArg(ge); arg != nil {
				args = []any{arg}
			}
		}
		if placeholdersUsed(en) > len(args) {
			continue
		}
		return k.key, c.localArgs(lang, args), true
	}
	return "", nil, false
}

type errorCandidate struct {
	key    string
	reason bool  // the key of ge.Reason, which says all its arguments
	args   []any // for the reason's key
}

// errorKeys are the catalog keys that may say ge, most specific first: its
// reason's, a variant its fields tell, error.<code>.<field> and
// error.<code>.
func errorKeys(ge *gatehouse.Error) []errorCandidate {
	var keys []errorCandidate
	if ge.Reason != "" {
		keys = append(keys, errorCandidate{key: "error." + ge.Reason, reason: true, args: ge.Args})
	}
	prefix := "error." + ge.Code
	if ge.Code == gatehouse.EINVALIDCODE && ge.AttemptsLeft != nil {
		variant := "other"
		switch *ge.AttemptsLeft {
		case 0:
			variant = "last"
		case 1:
			variant = "one"
		}
		keys = append(keys, errorCandidate{key: prefix + "." + variant})
	}
	if ge.Field != "" {
		keys = append(keys, errorCandidate{key: prefix + "." + ge.Field})
	}
	return append(keys, errorCandidate{key: prefix})
}

// errorArg is {0} of a key that is not a reason's: the entry as typed, the
// tries left, or how long to wait.
func errorArg(ge *gatehouse.Error) any {
	switch {
	case ge.Entry != "":
		return ge.Entry
	case ge.AttemptsLeft != nil:
		return *ge.AttemptsLeft
	case ge.RetryAfter > 0:
		return ge.RetryAfter
	}
	return nil
}

// placeholdersUsed is how many arguments text needs: one more than its
// highest {n}.
func placeholdersUsed(text string) int {
	n := 0
	for rest := text; ; {
		_, after, ok := strings.Cut(rest, "{")
		if !ok {
			return n
		}
		rest = after
		digits, _, ok := strings.Cut(after, "}")
		if i, err := strconv.Atoi(digits); ok && err == nil && i >= 0 && i+1 > n {
			n = i + 1
		}
	}
}

// localArgs are args as lang says them: a time.Duration is a wait in words.
func (c *catalog) localArgs(lang string, args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		if d, ok := a.(time.Duration); ok {
			a = c.duration(lang, d)
		}
		out[i] = a
	}
	return out
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

// The web layer's own errors with a reason, made where they happen.

func errUnreadableForm() error {
	return gatehouse.Reasoned(gatehouse.EINVALID, gatehouse.ReasonFormUnreadable, "The form could not be read.")
}

func errNoSuchPage() error {
	return gatehouse.Reasoned(gatehouse.ENOTFOUND, gatehouse.ReasonNoSuchPage, "This page does not exist.")
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
