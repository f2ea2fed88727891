package phone

import (
	"errors"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
)

// FuzzNormalize: any input either gives an E.164 number that normalizes to
// itself, or an invalid_phone error on the phone field; never a panic.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"+358 40 123 4567", "040 1234567", "(555) 010-0000", "＋４４ ２０ ７９４６ ０９５８", "1-800-FLOWERS", "", "+"} {
		f.Add(s, "FI")
		f.Add(s, "")
	}
	f.Fuzz(func(t *testing.T, raw, region string) {
		if region != "" && region != "FI" && region != "US" {
			region = "" // an unknown region is a programming error, not input
		}
		got, err := Normalize(raw, region)
		if err != nil {
			var ge *gatehouse.Error
			if !errors.As(err, &ge) || ge.Code != gatehouse.EINVALIDPHONE || ge.Field != "phone" {
				t.Fatalf("Normalize(%q, %q): %v, want invalid_phone", raw, region, err)
			}
			return
		}
		if !strings.HasPrefix(got, "+") || len(got) > 16 || strings.Trim(got[1:], "0123456789") != "" {
			t.Fatalf("Normalize(%q) = %q, not E.164", raw, got)
		}
		if again, err := Normalize(got, ""); err != nil || again != got {
			t.Fatalf("Normalize(%q) = %q, %v; want it unchanged", got, again, err)
		}
	})
}
