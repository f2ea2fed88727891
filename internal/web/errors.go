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
	gatehouse.ETWOFACTORPENDING:   http.StatusNotImplemented,
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
	status, ok := statusOf[ge.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if ge.RetryAfter > 0 {
		w.Header().Set("Retry-After", retryAfterSeconds(ge.RetryAfter))
	}
	if api {
		writeJSON(w, status, apiError{Error: apiErrorBody{Code: ge.Code, Message: ge.Message, Field: ge.Field, Entry: ge.Entry}})
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
