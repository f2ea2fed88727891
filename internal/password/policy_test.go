package password

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/gatehousehq/gatehouse"
)

func TestPolicyCheck(t *testing.T) {
	const email = "jane.doe@example.com"
	tests := []struct {
		name     string
		password string
		email    string
		wantMsg  string // a part of the message; "" means the password is accepted
		reason   string
	}{
		{"a long unusual passphrase is accepted", "tangerine otter violin", email, "", ""},
		{"exactly twelve characters are enough", "vq3-otter-9z", email, "", ""},
		{"eleven characters are too short and the message says the minimum", "vq3-otter-9", email, "at least 12 characters", gatehouse.ReasonPasswordTooShort},
		{"an empty password is too short", "", email, "at least 12 characters", gatehouse.ReasonPasswordTooShort},
		{"length counts characters, not bytes", "äöåüßøæœñçéí", email, "", ""},
		{"eleven non-ASCII characters are too short", "äöåüßøæœñçé", email, "at least 12 characters", gatehouse.ReasonPasswordTooShort},
		{"256 characters are accepted", strings.Repeat("abcdefgh", 32), email, "", ""},
		{"257 characters are too long", strings.Repeat("abcdefgh", 32) + "x", email, "at most 256 characters", gatehouse.ReasonPasswordTooLong},
		{"one letter repeated is refused", strings.Repeat("z", 13), email, "single character repeated", gatehouse.ReasonPasswordOneCharacter},
		{"one digit repeated is refused", strings.Repeat("7", 20), email, "single character repeated", gatehouse.ReasonPasswordOneCharacter},
		{"one non-ASCII letter repeated is refused", strings.Repeat("ä", 12), email, "single character repeated", gatehouse.ReasonPasswordOneCharacter},
		{"a listed password is refused", "password1234", email, "commonly used", gatehouse.ReasonPasswordCommon},
		{"a listed keyboard walk is refused", "qwertyuiop12", email, "commonly used", gatehouse.ReasonPasswordCommon},
		{"a listed run of digits is refused", "123456789012", email, "commonly used", gatehouse.ReasonPasswordCommon},
		{"a listed phrase is refused", "iloveyou1234", email, "commonly used", gatehouse.ReasonPasswordCommon},
		{"a listed passphrase is refused", "correct horse battery staple", email, "commonly used", gatehouse.ReasonPasswordCommon},
		{"the list ignores case", "PassWord1234", email, "commonly used", gatehouse.ReasonPasswordCommon},
		{"trailing digits and symbols do not hide a listed word", "Password2026!!", email, "commonly used", gatehouse.ReasonPasswordCommon},
		{"trailing spaces and symbols do not hide a listed word", "Football  #1 ?!", email, "commonly used", gatehouse.ReasonPasswordCommon},
		{"the product's name is refused", "Gatehouse2026!", email, "commonly used", gatehouse.ReasonPasswordCommon},
		{"a listed word inside a longer passphrase is accepted", "my password is long enough", email, "", ""},
		{"leading digits are not stripped", "2026password", email, "", ""},
		{"the e-mail address itself is refused", "jane.doe@example.com", email, "e-mail address", gatehouse.ReasonPasswordContainsEmail},
		{"a password containing the e-mail address is refused", "x-JANE.DOE@example.com-x", email, "e-mail address", gatehouse.ReasonPasswordContainsEmail},
		{"a password containing the local part is refused", "Jane.Doe-likes-tea", email, "e-mail address", gatehouse.ReasonPasswordContainsEmail},
		{"a local part shorter than four characters is allowed inside", "bobsled-in-march", "bob@example.com", "", ""},
		{"the whole address is refused even when the local part is short", "xbob@example.comx", "bob@example.com", "e-mail address", gatehouse.ReasonPasswordContainsEmail},
		{"an e-mail address with spaces and capitals is still found", "Jane.Doe-likes-tea", "  Jane.Doe@Example.com ", "e-mail address", gatehouse.ReasonPasswordContainsEmail},
		{"no e-mail address means no e-mail check", "jane.doe-likes-tea", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := DefaultPolicy().Check(tt.password, tt.email)
			if tt.wantMsg == "" {
				if err != nil {
					t.Errorf("Check(%q, %q) = %v, want nil", tt.password, tt.email, err)
				}
				return
			}
			var e *gatehouse.Error
			if !errors.As(err, &e) {
				t.Fatalf("Check(%q, %q) = %v, want a *gatehouse.Error", tt.password, tt.email, err)
			}
			if e.Code != gatehouse.EWEAKPASSWORD || e.Field != "password" {
				t.Errorf("code, field = %q, %q; want %q, %q", e.Code, e.Field, gatehouse.EWEAKPASSWORD, "password")
			}
			if !strings.Contains(e.Message, tt.wantMsg) {
				t.Errorf("message = %q, want it to contain %q", e.Message, tt.wantMsg)
			}
			if e.Reason != tt.reason {
				t.Errorf("reason = %q, want %q", e.Reason, tt.reason)
			}
		})
	}
}

// TestPolicyCheckArgs: the reasons that say a length carry the policy's,
// so a page in any language can say it.
func TestPolicyCheckArgs(t *testing.T) {
	p := Policy{MinLength: 8, MaxLength: 10}
	for _, tt := range []struct {
		password string
		reason   string
		args     []any
	}{
		{"short", gatehouse.ReasonPasswordTooShort, []any{8}},
		{"far-too-long-for-this", gatehouse.ReasonPasswordTooLong, []any{10}},
		{"zzzzzzzz", gatehouse.ReasonPasswordOneCharacter, nil},
	} {
		var e *gatehouse.Error
		if !errors.As(p.Check(tt.password, ""), &e) {
			t.Fatalf("%q is accepted", tt.password)
		}
		if e.Reason != tt.reason || !slices.Equal(e.Args, tt.args) {
			t.Errorf("%q: reason %q, args %v; want %q, %v", tt.password, e.Reason, e.Args, tt.reason, tt.args)
		}
	}
}

func TestPolicyBounds(t *testing.T) {
	tests := []struct {
		name     string
		policy   Policy
		password string
		wantErr  bool
	}{
		{"the zero policy takes the default minimum", Policy{}, "vq3-otter-9", true},
		{"the zero policy takes the default maximum", Policy{}, strings.Repeat("abcdefgh", 32), false},
		{"a lower minimum is honoured", Policy{MinLength: 8}, "vq3-otter", false},
		{"a lower maximum is honoured", Policy{MinLength: 8, MaxLength: 10}, "vq3-otter-9z", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.Check(tt.password, "")
			if got := err != nil; got != tt.wantErr {
				t.Errorf("%+v.Check(%q) = %v, want error %v", tt.policy, tt.password, err, tt.wantErr)
			}
		})
	}
}

func TestCommonList(t *testing.T) {
	lines := strings.Split(strings.TrimSuffix(commonText, "\n"), "\n")
	if len(lines) < 300 {
		t.Errorf("common.txt has %d lines, want a few hundred", len(lines))
	}
	seen := make(map[string]bool)
	for i, line := range lines {
		switch {
		case line == "":
			t.Errorf("line %d is empty", i+1)
		case line != strings.TrimSpace(line):
			t.Errorf("line %d %q has surrounding space", i+1, line)
		case line != strings.ToLower(line):
			t.Errorf("line %d %q is not lower-case", i+1, line)
		case seen[line]:
			t.Errorf("line %d %q is a duplicate", i+1, line)
		}
		for _, r := range line {
			if r > unicode.MaxASCII {
				t.Errorf("line %d %q is not ASCII", i+1, line)
				break
			}
		}
		seen[line] = true
	}
	for _, want := range []string{"password", "123456", "qwerty", "iloveyou", "welcome", "letmein", "admin", "football",
		"password1234", "qwertyuiop12", "123456789012", "iloveyou1234"} {
		if !commonSet()[want] {
			t.Errorf("common list lacks %q", want)
		}
	}
}
