package password

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func mustHash(t *testing.T, password string, p Params) string {
	t.Helper()
	stored, err := Hash(password, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	return stored
}

func TestHashFormat(t *testing.T) {
	zeros := bytes.NewReader(make([]byte, 16))
	stored, err := Hash("correct horse battery staple", TestParams(), zeros)
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Split(stored, "$")
	if len(fields) != 6 {
		t.Fatalf("hash %q has %d $-fields, want 6", stored, len(fields))
	}
	if got, want := strings.Join(fields[:4], "$"), "$argon2id$v=19$m=64,t=1,p=1"; got != want {
		t.Errorf("hash header = %q, want %q", got, want)
	}
	if got, want := fields[4], "AAAAAAAAAAAAAAAAAAAAAA"; got != want {
		t.Errorf("salt = %q, want %q (16 zero bytes)", got, want)
	}
	if got, want := len(fields[5]), 43; got != want {
		t.Errorf("hash field is %d characters, want %d (32 bytes)", got, want)
	}
}

func TestHashFailsWithoutRandomness(t *testing.T) {
	if _, err := Hash("correct horse battery staple", TestParams(), bytes.NewReader(nil)); err == nil {
		t.Error("Hash with an empty random source = nil error, want an error")
	}
	if _, err := Hash("correct horse battery staple", Params{}, nil); err == nil {
		t.Error("Hash with zero parameters = nil error, want an error")
	}
}

func TestHashAndVerify(t *testing.T) {
	stored := mustHash(t, "correct horse battery staple", TestParams())

	tests := []struct {
		name     string
		password string
		want     bool
	}{
		{"the right password matches", "correct horse battery staple", true},
		{"a wrong password does not match", "correct horse battery stapler", false},
		{"a different case does not match", "Correct horse battery staple", false},
		{"an empty password does not match", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Verify(stored, tt.password)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Verify(%q) = %v, want %v", tt.password, got, tt.want)
			}
		})
	}

	t.Run("two hashes of one password differ by their salt", func(t *testing.T) {
		again := mustHash(t, "correct horse battery staple", TestParams())
		if again == stored {
			t.Errorf("two hashes of the same password are both %q, want different salts", stored)
		}
	})
}

func TestVerifyTamperedHash(t *testing.T) {
	const password = "correct horse battery staple"
	stored := mustHash(t, password, TestParams())
	f := strings.Split(stored, "$") // "", alg, v, params, salt, hash

	flip := func(s string) string { // change the first character, keeping it canonical base64
		c := byte('A')
		if s[0] == 'A' {
			c = 'B'
		}
		return string(c) + s[1:]
	}
	join := func(params, salt, hash string) string {
		return strings.Join([]string{"", f[1], f[2], params, salt, hash}, "$")
	}
	tests := []struct {
		name   string
		stored string
	}{
		{"a changed salt", join(f[3], flip(f[4]), f[5])},
		{"a changed hash", join(f[3], f[4], flip(f[5]))},
		{"more memory", join("m=72,t=1,p=1", f[4], f[5])},
		{"more passes", join("m=64,t=2,p=1", f[4], f[5])},
		{"more lanes", join("m=64,t=1,p=2", f[4], f[5])},
	}
	for _, tt := range tests {
		t.Run("the password does not match "+tt.name, func(t *testing.T) {
			got, err := Verify(tt.stored, password)
			if err != nil {
				t.Fatalf("Verify(%q) error = %v, want nil", tt.stored, err)
			}
			if got {
				t.Errorf("Verify(%q) = true, want false", tt.stored)
			}
		})
	}
}

func TestParsePHCRoundTrip(t *testing.T) {
	stored := mustHash(t, "correct horse battery staple", TestParams())
	parsed, err := parsePHC(stored)
	if err != nil {
		t.Fatal(err)
	}
	if got := parsed.String(); got != stored {
		t.Errorf("parsePHC(%q).String() = %q, want the same string", stored, got)
	}
	if got, want := parsed.params, TestParams(); got != want {
		t.Errorf("parsed params = %+v, want %+v", got, want)
	}
}

func TestParsePHCRejects(t *testing.T) {
	const (
		salt = "c2FsdHNhbHRzYWx0c2FsdA"                      // 16 bytes
		hash = "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g" // 32 bytes
	)
	ok := "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + hash
	if _, err := parsePHC(ok); err != nil {
		t.Fatalf("parsePHC(%q) = %v; the base of this table must parse", ok, err)
	}
	withParams := func(params string) string {
		return "$argon2id$v=19$" + params + "$" + salt + "$" + hash
	}
	withSalt := func(s string) string { return "$argon2id$v=19$m=64,t=1,p=1$" + s + "$" + hash }
	withHash := func(h string) string { return "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + h }

	tests := []struct {
		name   string
		stored string
	}{
		{"an empty string", ""},
		{"a plain password", "correct horse battery staple"},
		// Verify takes bcrypt since imports bring it, but not beyond its bound.
		{"a bcrypt hash of cost 31", "$2a$31$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"},
		{"argon2i", strings.Replace(ok, "argon2id", "argon2i", 1)},
		{"argon2d", strings.Replace(ok, "argon2id", "argon2d", 1)},
		{"an upper-case algorithm", strings.Replace(ok, "argon2id", "ARGON2ID", 1)},
		{"version 16", strings.Replace(ok, "v=19", "v=16", 1)},
		{"a missing version", "$argon2id$m=64,t=1,p=1$" + salt + "$" + hash},
		{"a leading space", " " + ok},
		{"a trailing newline", ok + "\n"},
		{"a trailing dollar", ok + "$"},
		{"an extra field", ok + "$" + hash},
		{"parameters out of order", withParams("t=1,m=64,p=1")},
		{"a missing parameter", withParams("m=64,t=1")},
		{"an extra parameter", withParams("m=64,t=1,p=1,k=1")},
		{"a parameter with a leading zero", withParams("m=064,t=1,p=1")},
		{"a parameter with a plus sign", withParams("m=+64,t=1,p=1")},
		{"a negative parameter", withParams("m=64,t=-1,p=1")},
		{"a parameter with a space", withParams("m=64, t=1,p=1")},
		{"an empty parameter", withParams("m=,t=1,p=1")},
		{"memory beyond 32 bits", withParams("m=4294967296,t=1,p=1")},
		{"4 GiB of memory", withParams("m=4194304,t=1,p=1")},
		{"memory just above the ceiling", withParams("m=262145,t=1,p=1")},
		{"less memory than 8 KiB per lane", withParams("m=15,t=1,p=2")},
		{"zero passes", withParams("m=64,t=0,p=1")},
		{"a million passes", withParams("m=64,t=1000000,p=1")},
		{"zero lanes", withParams("m=64,t=1,p=0")},
		{"255 lanes", withParams("m=4096,t=1,p=255")},
		{"300 lanes", withParams("m=4096,t=1,p=300")},
		{"an empty salt", withSalt("")},
		{"a 4-byte salt", withSalt("c2FsdA")},
		{"a 100-byte salt", withSalt(strings.Repeat("QUFB", 33) + "QQ")},
		{"a padded salt", withSalt(salt + "==")},
		{"a salt with URL-safe characters", withSalt("c2FsdHNhbHRzYWx0c2Fsd_-")},
		{"a salt with non-zero trailing bits", withSalt("c2FsdHNhbHRzYWx0c2FsdB")},
		{"a salt with a newline inside", withSalt(salt[:8] + "\n" + salt[8:])},
		{"an empty hash", withHash("")},
		{"an 8-byte hash", withHash("aGFzaGhhc2g")},
		{"a 100-byte hash", withHash(strings.Repeat("QUFB", 33) + "QQ")},
		{"a hash that is not base64", withHash("not*base64")},
		{"a string longer than any valid hash", withHash(hash + strings.Repeat("A", 300))},
	}
	for _, tt := range tests {
		t.Run("the parser rejects "+tt.name, func(t *testing.T) {
			if _, err := parsePHC(tt.stored); !errors.Is(err, ErrInvalidHash) {
				t.Errorf("parsePHC(%q) error = %v, want ErrInvalidHash", tt.stored, err)
			}
			if _, err := Verify(tt.stored, "correct horse battery staple"); !errors.Is(err, ErrInvalidHash) {
				t.Errorf("Verify(%q) error = %v, want ErrInvalidHash", tt.stored, err)
			}
		})
	}
}

func TestNeedsRehash(t *testing.T) {
	stored := mustHash(t, "correct horse battery staple", TestParams())
	with := func(f func(*Params)) Params {
		p := TestParams()
		f(&p)
		return p
	}
	tests := []struct {
		name   string
		stored string
		p      Params
		want   bool
	}{
		{"the same parameters need no rehash", stored, TestParams(), false},
		{"more memory needs a rehash", stored, with(func(p *Params) { p.Memory *= 2 }), true},
		{"more passes need a rehash", stored, with(func(p *Params) { p.Time++ }), true},
		{"a longer hash needs a rehash", stored, with(func(p *Params) { p.KeyLen = 64 }), true},
		{"a longer salt needs a rehash", stored, with(func(p *Params) { p.SaltLen = 32 }), true},
		{"the defaults need a rehash of a test hash", stored, DefaultParams(), true},
		{"more lanes alone need no rehash", stored, with(func(p *Params) { p.Threads = 2 }), false},
		{"lower parameters need no rehash", mustHash(t, "x", with(func(p *Params) { p.Memory = 128; p.Time = 2 })), TestParams(), false},
		{"an empty hash needs a rehash", "", TestParams(), true},
		{"garbage needs a rehash", "$argon2id$garbage", TestParams(), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NeedsRehash(tt.stored, tt.p); got != tt.want {
				t.Errorf("NeedsRehash(%q, %+v) = %v, want %v", tt.stored, tt.p, got, tt.want)
			}
		})
	}
}
