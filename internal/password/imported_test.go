package password

import (
	"context"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

const importedPassword = "correct horse battery staple"

// Vectors made elsewhere, so that the parsers are checked against other
// implementations and not only against themselves:
//
//	htpasswd -bnBC 4 u 'correct horse battery staple'
//	python3: hashlib.pbkdf2_hmac('sha256', pw, b'seasalt123', 1000), base64
const (
	htpasswdBcrypt = "$2y$04$mRHz28IM3Z0cVxVu5Hgz8ugkv6aE1loAyfHcZlR6/cS8nc.oTmKpy"
	djangoPBKDF2   = "pbkdf2_sha256$1000$seasalt123$mi/mouJNitkW01F5F1gueFuRlWbcQkpDEMxeAA/Xa9k="
)

func bcryptOf(t *testing.T, password string, cost int) string {
	t.Helper()
	b, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestVerifyImportedFormats(t *testing.T) {
	b2b := bcryptOf(t, importedPassword, 4)
	for _, stored := range []string{
		htpasswdBcrypt,
		b2b,
		"$2a$" + b2b[4:], // the same algorithm under its older letters
		djangoPBKDF2,
	} {
		t.Run(stored[:8], func(t *testing.T) {
			if err := CheckImported(stored); err != nil {
				t.Fatalf("CheckImported(%q) = %v, want nil", stored, err)
			}
			for _, tt := range []struct {
				password string
				want     bool
			}{
				{importedPassword, true},
				{importedPassword + "!", false},
				{"", false},
			} {
				got, err := Verify(stored, tt.password)
				if err != nil || got != tt.want {
					t.Errorf("Verify(%q, %q) = %v, %v; want %v, nil", stored, tt.password, got, err, tt.want)
				}
			}
			if !NeedsRehash(stored, TestParams()) {
				t.Errorf("NeedsRehash(%q) = false, want true: only argon2id is kept", stored)
			}
		})
	}
}

func TestCheckImportedSaysWhatIsWrong(t *testing.T) {
	b := bcryptOf(t, importedPassword, 4)
	for _, tt := range []struct {
		name, hash, want string
	}{
		{"unknown format", "md5$abc$def", "not argon2id (PHC), bcrypt or pbkdf2_sha256"},
		{"plain text", importedPassword, "not argon2id (PHC), bcrypt or pbkdf2_sha256"},
		{"bcrypt cost over the bound", "$2b$16$" + b[7:], "bcrypt cost 16 not in 4..15"},
		{"bcrypt cost under the bound", "$2b$03$" + b[7:], "bcrypt cost 3 not in 4..15"},
		{"bcrypt cost not a number", "$2b$+4$" + b[7:], "bcrypt cost"},
		{"bcrypt of another version", "$2x$04$" + b[7:], "bcrypt version"},
		{"bcrypt cut short", b[:59], "not a bcrypt string"},
		{"bcrypt not base64", b[:59] + "!", "not bcrypt's base64"},
		{"pbkdf2 with sha1", "pbkdf2_sha1$1000$salt$" + strings.Repeat("A", 28), "only pbkdf2_sha256"},
		{"pbkdf2 too many iterations", "pbkdf2_sha256$2000001$seasalt123$mi/mouJNitkW01F5F1gueFuRlWbcQkpDEMxeAA/Xa9k=", "iterations"},
		{"pbkdf2 no iterations", "pbkdf2_sha256$0$seasalt123$mi/mouJNitkW01F5F1gueFuRlWbcQkpDEMxeAA/Xa9k=", "iterations"},
		{"pbkdf2 empty salt", "pbkdf2_sha256$1000$$mi/mouJNitkW01F5F1gueFuRlWbcQkpDEMxeAA/Xa9k=", "salt"},
		{"pbkdf2 hash not base64", "pbkdf2_sha256$1000$seasalt123$mi/mouJNitkW01F5F1gueFuRlWbcQkpDEMxeAA/Xa9k", "not base64"},
		{"pbkdf2 missing a part", "pbkdf2_sha256$1000$seasalt123", "ITERATIONS$SALT$HASH"},
		{"argon2i", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "algorithm is not argon2id"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckImported(tt.hash)
			if !errors.Is(err, ErrInvalidHash) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("CheckImported(%q) = %v, want ErrInvalidHash saying %q", tt.hash, err, tt.want)
			}
			if _, err := Verify(tt.hash, importedPassword); !errors.Is(err, ErrInvalidHash) {
				t.Errorf("Verify(%q) error = %v, want ErrInvalidHash", tt.hash, err)
			}
		})
	}
}

// An imported hash is checked in a slot of the Hasher like argon2id: with
// every slot taken, verifying one is EBUSY and computes nothing.
func TestHasherVerifiesImportedHashesInASlot(t *testing.T) {
	h := newTestHasher(t, HasherConfig{Workers: 1, MaxWait: 1})
	n := countHashes(h)
	for _, stored := range []string{htpasswdBcrypt, djangoPBKDF2} {
		ok, err := h.Verify(context.Background(), stored, importedPassword)
		if err != nil || !ok {
			t.Fatalf("Verify(%q) = %v, %v; want true, nil", stored, ok, err)
		}
		release := holdAllSlots(t, h)
		_, err = h.Verify(context.Background(), stored, importedPassword)
		release()
		wantBusy(t, err)
	}
	if got := n.Load(); got != 2 {
		t.Errorf("%d hashes computed, want 2 (none while the slots were taken)", got)
	}
}
