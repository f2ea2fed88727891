package web

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// decodeJSON reads exactly one JSON object with no unknown fields from a
// request whose Content-Type is application/json. Requiring the type also
// keeps plain HTML forms from another site out of the API.
func decodeJSON(r *http.Request, v any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return &gatehouse.Error{Code: codeUnsupportedType, Message: "The request body must be JSON (Content-Type: application/json)."}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooLarge *http.MaxBytesError
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &tooLarge):
			return errTooLarge
		case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
			return gatehouse.Errorf(gatehouse.EINVALID, "The request body is not valid JSON.")
		case errors.As(err, &typ):
			return &gatehouse.Error{Code: gatehouse.EINVALID, Field: typ.Field, Message: "The field \"" + typ.Field + "\" has the wrong type."}
		case errors.Is(err, io.EOF):
			return gatehouse.Errorf(gatehouse.EINVALID, "The request body is empty.")
		default:
			// Unknown fields and the like: the decoder's message names the
			// field and holds nothing secret.
			return gatehouse.Errorf(gatehouse.EINVALID, "The request body is not accepted: %s.", err.Error())
		}
	}
	if dec.More() {
		return gatehouse.Errorf(gatehouse.EINVALID, "The request body must hold one JSON object.")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return gatehouse.Errorf(gatehouse.EINVALID, "The request body must hold one JSON object.")
	}
	return nil
}

func timeJSON(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	v := t.UTC().Format(time.RFC3339)
	return &v
}

func queryInt(r *http.Request, name string, def int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 200 {
		return 0, gatehouse.FieldError(name, "%s must be a whole number from 1 to 200.", name)
	}
	return n, nil
}

// apiNotFound answers every /api/ path that no route takes.
func (s *Server) apiNotFound(w http.ResponseWriter, r *http.Request) error {
	return gatehouse.Errorf(gatehouse.ENOTFOUND, "No such API call.")
}
