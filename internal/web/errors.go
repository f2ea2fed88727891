package web

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
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
		body := apiErrorBody{Code: ge.Code, Message: ge.Message, Field: ge.Field, Entry: ge.Entry, AttemptsLeft: ge.AttemptsLeft}
		if ge.RetryAfter > 0 {
			body.RetryAfter = int(math.Ceil(ge.RetryAfter.Seconds()))
		}
		writeJSON(w, status, apiError{Error: body})
		return
	}
	s.renderPage(w, r, status, "error", errorPage{Status: status, Message: ge.Message})
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
