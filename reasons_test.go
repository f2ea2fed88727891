package gatehouse_test

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
)

func TestReasonsAreUniqueAndStartWithTheirCode(t *testing.T) {
	codes := []string{gatehouse.ECONFLICT, gatehouse.EINVALID, gatehouse.ENOTFOUND, gatehouse.EFORBIDDEN,
		gatehouse.EWEAKPASSWORD, gatehouse.EINVALIDPHONE, gatehouse.ETOOMANYATTEMPTS, gatehouse.ERESENDTOOSOON,
		gatehouse.EDELIVERYFAILED, gatehouse.ELOGINEXPIRED, gatehouse.EINVALIDNETWORK, gatehouse.EINVALIDCREDENTIALS,
		gatehouse.ETWOFACTORUNAVAIL}
	seen := make(map[string]bool)
	for _, r := range gatehouse.Reasons() {
		if seen[r] {
			t.Errorf("%q is listed twice", r)
		}
		seen[r] = true
		code, rest, _ := strings.Cut(r, ".")
		if rest == "" || !slices.Contains(codes, code) {
			t.Errorf("%q does not start with an error code and a dot", r)
		}
	}
}

// reasonOf returns err's code, reason and arguments.
func reasonOf(t *testing.T, err error) (code, reason string, args []any) {
	t.Helper()
	var ge *gatehouse.Error
	if !errors.As(err, &ge) {
		t.Fatalf("%v is not a *gatehouse.Error", err)
	}
	return ge.Code, ge.Reason, ge.Args
}

func TestRootErrorsCarryTheirReasons(t *testing.T) {
	normalize := func(s string) error {
		_, err := gatehouse.NormalizeEmail(s)
		return err
	}
	cases := []struct {
		name   string
		err    error
		code   string
		reason string
		args   []any
	}{
		{"no e-mail address", normalize("  "), gatehouse.EINVALID, gatehouse.ReasonEmailRequired, nil},
		{"an e-mail address too long", normalize(strings.Repeat("a", 300) + "@b.test"), gatehouse.EINVALID, gatehouse.ReasonEmailTooLong,
			[]any{gatehouse.MaxEmailLength}},
		{"not an e-mail address, quoted as normalized", normalize(" Staff at Clinic "), gatehouse.EINVALID, gatehouse.ReasonEmailInvalid,
			[]any{"staff at clinic"}},
		{"a member doing an admin's work", gatehouse.Actor{UserID: "u1", OrgID: "o1", Role: gatehouse.RoleMember}.RequireAdmin("o1"),
			gatehouse.EFORBIDDEN, gatehouse.ReasonAdminOnly, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, reason, args := reasonOf(t, tc.err)
			if code != tc.code || reason != tc.reason || !reflect.DeepEqual(args, tc.args) {
				t.Errorf("got %s %q %v, want %s %q %v", code, reason, args, tc.code, tc.reason, tc.args)
			}
		})
	}
}
