package mail

import (
	"html"
	"strings"
	"testing"
	"time"
)

func TestChangedByAdminMessageSaysWhatChangedInEnglishAndFinnish(t *testing.T) {
	at := time.Date(2026, 3, 14, 9, 26, 0, 0, time.UTC)
	cases := []struct {
		name, field, old, new string
		want                  []string
	}{
		{"an e-mail change names both addresses", "email", "old@example.com", "new@example.com",
			[]string{"administrator changed the e-mail address", "old@example.com", "new@example.com", "sähköpostiosoitteen", "kumpaankin osoitteeseen"}},
		{"a phone change names both masked numbers", "phone", "+358••••67", "+358••••12",
			[]string{"changed the phone number", "+358••••67", "+358••••12", "puhelinnumeron"}},
		{"a removed phone says so", "phone", "+358••••67", "",
			[]string{"removed the phone number", "poisti puhelinnumeron"}},
		{"an exemption says codes are no longer asked", "two_factor_exempt", "", "true",
			[]string{"exempted your", "no longer asks for a code", "vapautti", "ei enää kysytä"}},
		{"an ended exemption says codes are asked again", "two_factor_exempt", "", "false",
			[]string{"ended your", "asks for a code again", "kysytään taas koodi"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ChangedByAdminMessage("a@example.com", "Acme", tc.field, tc.old, tc.new, at)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range append(tc.want, "contact your administrator", "ota heti yhteyttä", "2026-03-14 09:26 UTC") {
				if !strings.Contains(m.Text, w) || !strings.Contains(html.UnescapeString(m.HTML), w) {
					t.Errorf("text or HTML lacks %q:\n%s", w, m.Text)
				}
			}
			if !strings.Contains(m.Subject, "Ylläpitäjä") || !strings.Contains(m.Subject, "administrator") {
				t.Errorf("subject %q is not in both languages", m.Subject)
			}
		})
	}
	if _, err := ChangedByAdminMessage("a@example.com", "Acme", "password", "", "", at); err == nil {
		t.Error("an unknown field was rendered")
	}
}
