package gatehouse

import (
	"errors"
	"time"
)

// UnavailableRetryAfter is how long a caller is told to wait after a
// dependency failed (the Retry-After of every 503 of the services).
const UnavailableRetryAfter = 5 * time.Second

// unavailableMessage is the one answer to a failed dependency: it says
// nothing of what failed, which only the log is told.
const unavailableMessage = "The service is unavailable right now. Try again in a moment."

// Unavailable is the fail-closed answer of a service to a failure of what it
// depends on (the database, above all): an EUNAVAILABLE *Error with a
// generic message, whose cause stays reachable through errors.Unwrap for
// the log. It is for a call whose error the service cannot answer better:
// any error becomes EUNAVAILABLE, except one that already is EUNAVAILABLE
// (a directory's, say, with its own message), which passes through. nil
// stays nil.
func Unavailable(op string, err error) error {
	if err == nil {
		return nil
	}
	var ge *Error
	if errors.As(err, &ge) && ge.Code == EUNAVAILABLE {
		return err
	}
	return &failure{
		answer: &Error{Code: EUNAVAILABLE, Message: unavailableMessage, RetryAfter: UnavailableRetryAfter},
		op:     op, cause: err,
	}
}

// WrapFailure is Unavailable for everything a service method returns, run
// deferred on its named result:
//
//	func (s *Service) Do(ctx context.Context) (err error) {
//		defer gatehouse.WrapFailure(&err, "do")
//
// A user-facing *Error (not found, invalid input, …) is the method's answer
// and passes through; anything else is a failure of a dependency and becomes
// EUNAVAILABLE, never the "internal error" of an unknown error.
func WrapFailure(err *error, op string) {
	if *err == nil {
		return
	}
	var ge *Error
	if errors.As(*err, &ge) {
		return
	}
	*err = Unavailable(op, *err)
}

// failure is the EUNAVAILABLE answer with the operation that failed and its
// cause. errors.As finds the answer first, so web and CLI see an ordinary
// *Error; errors.Is still reaches the cause.
type failure struct {
	answer *Error
	op     string
	cause  error
}

func (f *failure) Error() string { return f.op + ": unavailable: " + f.cause.Error() }

func (f *failure) Unwrap() []error { return []error{f.answer, f.cause} }
