package phone

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name   string
		raw    string
		region string
		want   string
	}{
		{"a Finnish mobile number in national form", "040 123 4567", "FI", "+358401234567"},
		{"a Finnish mobile number with dashes", "040-123-4567", "FI", "+358401234567"},
		{"a Finnish mobile number in international form", "+358 40 123 4567", "FI", "+358401234567"},
		{"an international number needs no region", "+358401234567", "", "+358401234567"},
		{"an international number ignores the region", "+46 70 123 45 67", "FI", "+46701234567"},
		{"the 00 international prefix is understood", "00358 40 123 4567", "FI", "+358401234567"},
		{"a US number with parentheses", "(201) 555-0123", "US", "+12015550123"},
		{"a US number with dots", "201.555.0123", "US", "+12015550123"},
		{"a US number with the country code", "+1 201 555 0123", "", "+12015550123"},
		{"a British mobile number", "07400 123456", "GB", "+447400123456"},
		{"a British number with the trunk zero in parentheses", "+44 (0)7400 123456", "", "+447400123456"},
		{"a Swedish mobile number", "070-123 45 67", "SE", "+46701234567"},
		{"a lower-case region", "040 123 4567", "fi", "+358401234567"},
		{"surrounding spaces are ignored", "  +358 40 123 4567\t", "", "+358401234567"},
		{"a full-width plus is understood", "＋358401234567", "", "+358401234567"},
		{"non-breaking spaces are understood", "+358\u00a040\u00a0123\u00a04567", "", "+358401234567"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Normalize(tt.raw, tt.region)
			if err != nil {
				t.Fatalf("Normalize(%q, %q) error = %v, want nil", tt.raw, tt.region, err)
			}
			if got != tt.want {
				t.Errorf("Normalize(%q, %q) = %q, want %q", tt.raw, tt.region, got, tt.want)
			}
		})
	}
}

func TestNormalizeRefuses(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		region  string
		wantMsg string // a part of the message
		reason  string
	}{
		{"an empty number", "", "FI", "Enter a phone number", gatehouse.ReasonPhoneEmpty},
		{"only spaces", "   ", "FI", "Enter a phone number", gatehouse.ReasonPhoneEmpty},
		{"a number too short", "040 123", "FI", `"040 123" is not a valid phone number`, gatehouse.ReasonPhoneInvalid},
		{"an international number too short", "+358 40", "", `"+358 40" is not a valid phone number`, gatehouse.ReasonPhoneInvalidInternational},
		{"an unknown country code", "+999 40 123 4567", "", `"+999 40 123 4567" is not a valid phone number`, gatehouse.ReasonPhoneInvalidInternational},
		{"a number that is not valid in its country", "+1 200 555 0123", "", `"+1 200 555 0123" is not a valid phone number`, gatehouse.ReasonPhoneInvalidInternational},
		{"digits too many", "+358 40 123 4567 8901 2345", "", "is not a valid phone number", gatehouse.ReasonPhoneInvalidInternational},
		{"letters", "call me maybe", "FI", `"call me maybe" is not a phone number`, gatehouse.ReasonPhoneCharacters},
		{"a vanity number", "1-800-FLOWERS", "US", `"1-800-FLOWERS" is not a phone number`, gatehouse.ReasonPhoneCharacters},
		{"an extension", "+1 201 555 0123 ext. 7", "", "is not a phone number", gatehouse.ReasonPhoneCharacters},
		{"a national number without a region", "040 123 4567", "", `"040 123 4567" is not in international form`, gatehouse.ReasonPhoneNotInternational},
		{"a 00 number without a region", "00358401234567", "", "is not in international form", gatehouse.ReasonPhoneNotInternational},
		{"more than 64 characters", "+358 40 123 4567" + strings.Repeat(" ", 60), "", "longer than 64 characters", gatehouse.ReasonPhoneTooLong},
		{"a very long input", strings.Repeat("1", 100000), "FI", "longer than 64 characters", gatehouse.ReasonPhoneTooLong},
		{"control characters", "+358\x00401234567", "", `"+358\x00401234567" is not a phone number`, gatehouse.ReasonPhoneCharacters},
	}
	for _, tt := range tests {
		t.Run("Normalize refuses "+tt.name, func(t *testing.T) {
			got, err := Normalize(tt.raw, tt.region)
			var e *gatehouse.Error
			if !errors.As(err, &e) {
				t.Fatalf("Normalize(%q, %q) = %q, %v; want a *gatehouse.Error", tt.raw, tt.region, got, err)
			}
			if e.Code != gatehouse.EINVALIDPHONE || e.Field != "phone" {
				t.Errorf("code, field = %q, %q; want %q, %q", e.Code, e.Field, gatehouse.EINVALIDPHONE, "phone")
			}
			if !strings.Contains(e.Message, tt.wantMsg) {
				t.Errorf("message = %q, want it to contain %q", e.Message, tt.wantMsg)
			}
			if e.Reason != tt.reason {
				t.Errorf("reason = %q, want %q", e.Reason, tt.reason)
			}
			if got != "" {
				t.Errorf("Normalize returned %q with an error, want \"\"", got)
			}
		})
	}
}

func TestNormalizeUnknownRegion(t *testing.T) {
	_, err := Normalize("040 123 4567", "XX")
	if err == nil {
		t.Fatal("Normalize with region XX = nil error, want an error")
	}
	if code := gatehouse.ErrorCode(err); code != gatehouse.EINTERNAL {
		t.Errorf("error code = %q, want %q: an unknown region is a programming error, not the user's", code, gatehouse.EINTERNAL)
	}
}

// TestNormalizeArgs: a refusal carries what its reason's text says, the
// number as typed (trimmed, not quoted) or the maximum length.
func TestNormalizeArgs(t *testing.T) {
	for _, tt := range []struct {
		raw, region string
		args        []any
	}{
		{"  call me maybe ", "FI", []any{"call me maybe"}},
		{"040 123 4567", "", []any{"040 123 4567"}},
		{strings.Repeat("1", 65), "FI", []any{MaxLength}},
		{"", "FI", nil},
	} {
		_, err := Normalize(tt.raw, tt.region)
		var e *gatehouse.Error
		if !errors.As(err, &e) {
			t.Fatalf("Normalize(%q, %q) = %v, want a *gatehouse.Error", tt.raw, tt.region, err)
		}
		if !slices.Equal(e.Args, tt.args) {
			t.Errorf("Normalize(%q, %q): args %v, want %v", tt.raw, tt.region, e.Args, tt.args)
		}
	}
}
