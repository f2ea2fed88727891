package password

import (
	"errors"
	"testing"
)

// FuzzParsePHC: a stored hash string from the database (or an import) either
// parses into parameters within the bounds and prints back exactly as it
// came, or is ErrInvalidHash; never a panic.
func FuzzParsePHC(f *testing.F) {
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g")
	f.Add("$argon2id$v=19$m=019456,t=2,p=1$c2FsdA$aGFzaA")
	f.Add("$argon2i$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA")
	f.Add("$2b$12$abcdefghijklmnopqrstuv")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parsePHC(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidHash) {
				t.Fatalf("parsePHC(%q): %v, want ErrInvalidHash", s, err)
			}
			return
		}
		if err := h.params.Validate(); err != nil {
			t.Fatalf("parsePHC(%q) accepted parameters out of bounds: %v", s, err)
		}
		if h.String() != s {
			t.Fatalf("parsePHC(%q) prints back as %q: a hash must have one form", s, h.String())
		}
	})
}
