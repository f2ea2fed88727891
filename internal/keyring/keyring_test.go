package keyring_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/internal/keyring"
)

var (
	keyA = bytes.Repeat([]byte("a"), 32)
	keyB = bytes.Repeat([]byte("b"), 32)
	keyC = bytes.Repeat([]byte("c"), 32)
)

func ring(t *testing.T, keys ...[]byte) *keyring.Ring {
	t.Helper()
	r, err := keyring.New(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// legacyHash is the keyed hash as signin and accounts made it before the
// keyring, written out here so that the compatibility is pinned.
func legacyHash(secret []byte, label string, parts ...string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("gatehouse " + label))
	for _, p := range parts {
		m.Write([]byte{0})
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

func TestNewRefusesBadRings(t *testing.T) {
	many := make([][]byte, keyring.MaxKeys+1)
	for i := range many {
		many[i] = bytes.Repeat([]byte{byte('a' + i)}, 32)
	}
	for name, keys := range map[string][][]byte{
		"none":     nil,
		"short":    {keyA, []byte("too short")},
		"twice":    {keyA, keyB, keyA},
		"too many": many,
		"31 bytes": {keyA[:31]},
	} {
		if _, err := keyring.New(keys...); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := keyring.New(many[:keyring.MaxKeys]...); err != nil {
		t.Errorf("%d keys: %v", keyring.MaxKeys, err)
	}
}

func TestRotationOldVerifiesNewSigns(t *testing.T) {
	a, ba, b := ring(t, keyA), ring(t, keyB, keyA), ring(t, keyB)
	if ba.CurrentID() != b.CurrentID() || ba.CurrentID() == a.CurrentID() {
		t.Fatalf("IDs: A %s, B,A %s, B %s", a.CurrentID(), ba.CurrentID(), b.CurrentID())
	}
	if got := ba.IDs(); len(got) != 2 || got[0] != b.CurrentID() || got[1] != a.CurrentID() {
		t.Errorf("IDs of B,A: %v", got)
	}

	msg := []byte("relay state")
	macA := a.Sign("saml relay", msg)
	if id, current, ok := ba.Verify("saml relay", msg, macA); !ok || current || id != a.CurrentID() {
		t.Errorf("B,A verifies A's MAC: id %s current %v ok %v", id, current, ok)
	}
	macB := ba.Sign("saml relay", msg)
	if id, current, ok := ba.Verify("saml relay", msg, macB); !ok || !current || id != b.CurrentID() {
		t.Errorf("B,A verifies its own MAC: id %s current %v ok %v", id, current, ok)
	}
	if _, _, ok := a.Verify("saml relay", msg, macB); ok {
		t.Error("A alone verifies B's MAC")
	}
	if _, _, ok := b.Verify("saml relay", msg, macA); ok {
		t.Error("B alone still verifies A's MAC after A was removed")
	}
	if _, _, ok := ba.Verify("saml relay", []byte("other"), macB); ok {
		t.Error("a MAC verifies another message")
	}
	if _, _, ok := ba.Verify("other purpose", msg, macB); ok {
		t.Error("a MAC verifies under another purpose")
	}
	bad := bytes.Clone(macB)
	bad[len(bad)-1] ^= 1
	if _, _, ok := ba.Verify("saml relay", msg, bad); ok {
		t.Error("a changed MAC verifies")
	}

	// Stored hashes: B,A finds A's hash among its candidates, not as current.
	h := a.Hash("session token", "tok")
	if !bytes.Equal(ba.Hash("session token", "tok"), b.Hash("session token", "tok")) || bytes.Equal(h, b.Hash("session token", "tok")) {
		t.Error("the current key does not decide the hash")
	}
	c := find(ba.Candidates("session token", "session token", "tok"), h)
	if c == nil || c.Current || c.Legacy || c.KeyID != a.CurrentID() {
		t.Errorf("A's hash among B,A's candidates: %+v", c)
	}
	if find(b.Candidates("session token", "session token", "tok"), h) != nil {
		t.Error("B alone still finds A's hash after A was removed")
	}
	if c := ba.Candidates("session token", "session token", "tok")[0]; !c.Current || !bytes.Equal(c.Hash, ba.Hash("session token", "tok")) {
		t.Errorf("first candidate: %+v", c)
	}
}

func find(cs []keyring.Candidate, h []byte) *keyring.Candidate {
	for _, c := range cs {
		if bytes.Equal(c.Hash, h) {
			return &c
		}
	}
	return nil
}

func TestLegacyHashesStillMatch(t *testing.T) {
	old := legacyHash(keyA, "remember token", "tok")
	for _, r := range []*keyring.Ring{ring(t, keyA), ring(t, keyB, keyA)} {
		c := find(r.Candidates("remember token", "remember token", "tok"), old)
		if c == nil || !c.Legacy || c.Current || c.KeyID != ring(t, keyA).CurrentID() {
			t.Errorf("legacy hash among candidates: %+v", c)
		}
	}
	if find(ring(t, keyB).Candidates("remember token", "remember token", "tok"), old) != nil {
		t.Error("a legacy hash of a removed key matches")
	}
	// The reset links' old framing is the same form with one part.
	if !bytes.Equal(legacyHash(keyA, "password reset", "tok"), func() []byte {
		m := hmac.New(sha256.New, keyA)
		m.Write([]byte("gatehouse password reset\x00tok"))
		return m.Sum(nil)
	}()) {
		t.Error("reset framing differs")
	}
	// HashLike: a legacy stored value asks for the legacy form of the
	// oldest key (the one of before the keyring), a new one for the key it
	// names.
	r := ring(t, keyB, keyA)
	if h, ok := r.HashLike(old, "code", "code", "c1", "123456"); !ok || !bytes.Equal(h, legacyHash(keyA, "code", "c1", "123456")) {
		t.Error("HashLike of a legacy value")
	}
	if h, ok := r.HashLike(ring(t, keyA).Hash("pending token", "p"), "code", "code", "c1", "123456"); !ok || !bytes.Equal(h, ring(t, keyA).Hash("code", "c1", "123456")) {
		t.Error("HashLike of A's value")
	}
	if _, ok := ring(t, keyB).HashLike(ring(t, keyC).Hash("pending token", "p"), "code", "code", "c1"); ok {
		t.Error("HashLike of a removed key's value")
	}
}

func TestSubkeysDifferPerPurposeAndKey(t *testing.T) {
	r := ring(t, keyA)
	seen := map[string]string{}
	for _, p := range []string{"session token", "remember token", "pending token", "code", "password reset", "x"} {
		h := string(r.Hash(p, "same"))
		if q, dup := seen[h]; dup {
			t.Errorf("purposes %q and %q hash alike", p, q)
		}
		seen[h] = p
		if bytes.Equal(r.Hash(p, "same")[keyring.IDLength:], legacyHash(keyA, p, "same")) {
			t.Errorf("%s: the new form equals the legacy one", p)
		}
	}
	// Parts are framed: ("ab","c") and ("a","bc") differ.
	if bytes.Equal(r.Hash("code", "ab", "c"), r.Hash("code", "a", "bc")) {
		t.Error("parts run together")
	}
	if bytes.Equal(r.Hash("code", "x"), ring(t, keyB).Hash("code", "x")) {
		t.Error("two keys hash alike")
	}
	if len(r.Hash("code", "x")) != keyring.HashLength {
		t.Error("hash length")
	}
	if id, legacy, ok := keyring.HashKeyID(r.Hash("code", "x")); !ok || legacy || id != r.CurrentID() {
		t.Errorf("HashKeyID: %s %v %v", id, legacy, ok)
	}
	if _, legacy, ok := keyring.HashKeyID(legacyHash(keyA, "code", "x")); !ok || !legacy {
		t.Error("HashKeyID of a legacy hash")
	}
	// Seals of two purposes do not open each other.
	sealed := r.Sealer("federation seal", "").Seal([]byte("x"), nil)
	if _, _, err := r.Sealer("other seal", "").Open(sealed, nil); err == nil {
		t.Error("a seal opens under another purpose")
	}
}

// legacySeal is how federation sealed before the keyring: AES-256-GCM under
// HMAC(secret, "gatehouse federation sealing key"), nonce then ciphertext.
func legacySeal(t *testing.T, secret, plain, aad []byte) []byte {
	block, err := aes.NewCipher(legacyHash(secret, "federation sealing key"))
	if err != nil {
		t.Fatal(err)
	}
	aead, _ := cipher.NewGCM(block)
	nonce := bytes.Repeat([]byte{7}, aead.NonceSize())
	return aead.Seal(nonce, nonce, plain, aad)
}

func TestSealRotation(t *testing.T) {
	const purpose, legacy = "federation seal", "federation sealing key"
	aad := []byte("org\x00ldap")
	a, ba, b := ring(t, keyA).Sealer(purpose, legacy), ring(t, keyB, keyA).Sealer(purpose, legacy), ring(t, keyB).Sealer(purpose, legacy)
	idA, idB := ring(t, keyA).CurrentID(), ring(t, keyB).CurrentID()

	sealedA := a.Seal([]byte("secret set-up"), aad)
	if id, lg := keyring.SealKeyID(sealedA); lg || id != idA {
		t.Errorf("SealKeyID: %s %v", id, lg)
	}
	if bytes.Contains(sealedA, []byte("secret set-up")) {
		t.Error("plain text in the seal")
	}
	out, o, err := ba.Open(sealedA, aad)
	if err != nil || string(out) != "secret set-up" || o.Current || o.Legacy || o.KeyID != idA {
		t.Fatalf("B,A opens A's seal: %q %+v %v", out, o, err)
	}
	resealed := ba.Seal(out, aad)
	if _, o, err := b.Open(resealed, aad); err != nil || !o.Current || o.KeyID != idB {
		t.Errorf("B alone opens the re-sealed value: %+v %v", o, err)
	}
	if _, _, err := b.Open(sealedA, aad); err == nil {
		t.Error("B alone opens A's seal after A was removed")
	}
	if _, _, err := ba.Open(sealedA, []byte("org2\x00ldap")); err == nil {
		t.Error("a seal opens for another organization")
	}

	old := legacySeal(t, keyA, []byte("made before"), aad)
	for _, s := range []*keyring.Sealer{a, ba} {
		out, o, err := s.Open(old, aad)
		if err != nil || string(out) != "made before" || !o.Legacy || o.Current || o.KeyID != idA {
			t.Errorf("legacy seal: %q %+v %v", out, o, err)
		}
	}
	if _, _, err := b.Open(old, aad); err == nil {
		t.Error("B opens a legacy seal of A")
	}
	// A legacy seal whose random nonce happens to start like a new one.
	odd := legacySealNonce(t, keyA, append([]byte("gk1"), make([]byte, 9)...), aad)
	if out, o, err := a.Open(odd, aad); err != nil || string(out) != "odd" || !o.Legacy {
		t.Errorf("legacy seal starting with the magic: %q %+v %v", out, o, err)
	}
	if _, _, err := a.Open([]byte("gk1"), aad); err == nil || !strings.Contains(err.Error(), "no key") {
		t.Errorf("short value: %v", err)
	}
}

func legacySealNonce(t *testing.T, secret, nonce, aad []byte) []byte {
	block, _ := aes.NewCipher(legacyHash(secret, "federation sealing key"))
	aead, _ := cipher.NewGCM(block)
	return aead.Seal(bytes.Clone(nonce), nonce, []byte("odd"), aad)
}
