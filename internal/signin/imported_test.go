package signin_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

// A user imported with a bcrypt or Django PBKDF2 hash signs in with their
// old password, is refused with a wrong one, and from then on has an
// argon2id hash: the import's formats live only until the first sign-in.
func TestImportedHashesSignInAndBecomeArgon2id(t *testing.T) {
	for _, tt := range []struct{ name, hash string }{
		// htpasswd -bnBC 4 u 'correct horse battery staple'
		{"bcrypt", "$2y$04$mRHz28IM3Z0cVxVu5Hgz8ugkv6aE1loAyfHcZlR6/cS8nc.oTmKpy"},
		// Python's hashlib.pbkdf2_hmac('sha256', ..., b'seasalt123', 1000)
		{"pbkdf2", "pbkdf2_sha256$1000$seasalt123$mi/mouJNitkW01F5F1gueFuRlWbcQkpDEMxeAA/Xa9k="},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t)
			if err := f.db.SetPasswordHash(ctx, f.org.ID, f.user.ID, tt.hash, f.clock.Now()); err != nil {
				t.Fatal(err)
			}
			req := signin.LoginRequest{Organization: "clinic", Email: "staff@clinic.test", Password: testPassword + "x"}
			_, err := f.svc.Login(ctx, req)
			wantCode(t, err, gatehouse.EINVALIDCREDENTIALS)
			if u := f.storedUser(t); u.PasswordHash != tt.hash {
				t.Fatalf("a wrong password changed the hash to %q", u.PasswordHash)
			}
			req.Password = testPassword
			if _, err := f.svc.Login(ctx, req); err != nil {
				t.Fatalf("the right password: %v", err)
			}
			u := f.storedUser(t)
			if !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
				t.Fatalf("after sign-in the hash is %q, want argon2id", u.PasswordHash)
			}
			if _, err := f.svc.Login(ctx, req); err != nil {
				t.Errorf("the argon2id hash does not verify: %v", err)
			}
		})
	}
}

func (f *fixture) storedUser(t *testing.T) *gatehouse.User {
	t.Helper()
	u, err := f.db.UserByID(context.Background(), f.org.ID, f.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
