package gatehouse_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
)

func TestAFailedDependencyIsAnsweredUnavailableKeepingItsCause(t *testing.T) {
	cause := errors.New("connection refused")
	err := gatehouse.Unavailable("save session", fmt.Errorf("sqlstore: %w", cause))
	var ge *gatehouse.Error
	if !errors.As(err, &ge) || ge.Code != gatehouse.EUNAVAILABLE || ge.RetryAfter != gatehouse.UnavailableRetryAfter {
		t.Fatalf("Unavailable = %#v, want EUNAVAILABLE with Retry-After", err)
	}
	if strings.Contains(ge.Message, "connection") || strings.Contains(ge.Message, "save session") {
		t.Errorf("message %q tells what failed; only the log may", ge.Message)
	}
	if !errors.Is(err, cause) {
		t.Error("the cause is lost: errors.Is(err, cause) is false")
	}
	if got := err.Error(); !strings.Contains(got, "save session") || !strings.Contains(got, "connection refused") {
		t.Errorf("err.Error() = %q, want the operation and the cause for the log", got)
	}
}

func TestUnavailableLetsAnUnavailableAnswerThrough(t *testing.T) {
	directory := &gatehouse.Error{Code: gatehouse.EUNAVAILABLE, Message: "The directory cannot be reached."}
	if got := gatehouse.Unavailable("open directory", directory); got != error(directory) {
		t.Errorf("Unavailable(EUNAVAILABLE) = %v, want it unchanged", got)
	}
	if gatehouse.Unavailable("anything", nil) != nil {
		t.Error("Unavailable(nil) is not nil")
	}
	// A user-facing error of another code is still a failure here: the
	// caller says the call it wraps can only fail.
	if got := gatehouse.ErrorCode(gatehouse.Unavailable("find user", gatehouse.Errorf(gatehouse.ECONFLICT, "taken"))); got != gatehouse.EUNAVAILABLE {
		t.Errorf("Unavailable(ECONFLICT) code = %q, want %q", got, gatehouse.EUNAVAILABLE)
	}
}

func TestWrapFailureKeepsAnswersAndTurnsFailuresUnavailable(t *testing.T) {
	do := func(ret error) (err error) {
		defer gatehouse.WrapFailure(&err, "do")
		return ret
	}
	for _, tc := range []struct {
		name string
		ret  error
		want string
	}{
		{"nil stays nil", nil, ""},
		{"an answer passes through", gatehouse.FieldError("slug", "bad"), gatehouse.EINVALID},
		{"a wrapped answer passes through", fmt.Errorf("x: %w", gatehouse.Errorf(gatehouse.ENOTFOUND, "no")), gatehouse.ENOTFOUND},
		{"a database error becomes unavailable", errors.New("disk I/O error"), gatehouse.EUNAVAILABLE},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := gatehouse.ErrorCode(do(tc.ret)); got != tc.want {
				t.Errorf("code = %q, want %q", got, tc.want)
			}
		})
	}
}
