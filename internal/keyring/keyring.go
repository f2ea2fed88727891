// Package keyring holds the server's secret keys, newest first, and does
// every keyed operation Gatehouse needs with them: keyed hashes of stored
// tokens and codes, MACs handed to clients, and sealing of stored secrets.
//
// The first key is the current one: whatever is made now is made with it.
// The others are old keys kept during a rotation: what they made still
// verifies and opens, and the caller re-keys it when it is used (Candidate
// and Opened say which key matched). A key removed from the ring no longer
// verifies anything.
//
// Each purpose ("session token", "federation seal", …) gets its own subkey,
// derived from the key with HKDF-SHA256, so no two purposes ever share a
// MAC key. What is made carries the key's ID (4 bytes of an HKDF output, not
// the key) in front, so the stored value says which key made it.
//
// Values made before the keyring (HMAC-SHA256 keyed with the whole secret,
// a "gatehouse " label and NUL-separated parts; sealing keyed with one such
// hash) carry no key ID. They are still accepted, under every key of the
// ring, as "legacy", and re-keyed in the new form when used.
package keyring

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
)

const (
	// MinKeyLength is the least length of a key, in bytes.
	MinKeyLength = 32
	// MaxKeys bounds the ring: every verification may try each key.
	MaxKeys = 8
	// IDLength is the length of a key ID in bytes (shown as 8 hex digits).
	IDLength = 4
	// HashLength is the length of a keyed hash: key ID and HMAC-SHA256.
	HashLength = IDLength + sha256.Size
	// LegacyHashLength is the length of a hash made before the keyring.
	LegacyHashLength = sha256.Size
)

// sealMagic starts every sealed value made by the ring; what does not start
// with it (or whose key ID is unknown) is tried as a legacy seal.
var sealMagic = []byte("gk1")

// Ring is an ordered list of keys, the current one first. It is safe for
// concurrent use and never changes after New.
type Ring struct {
	keys []*key
}

type key struct {
	id     [IDLength]byte
	secret []byte
	// subkeys caches derive(secret, purpose): the purposes are the
	// program's own constants, a handful, and a session check would
	// otherwise run HKDF on every request.
	subkeys sync.Map // purpose → []byte
}

// subkey is the HMAC key of purpose under k.
func (k *key) subkey(purpose string) []byte {
	if v, ok := k.subkeys.Load(purpose); ok {
		return v.([]byte)
	}
	b := derive(k.secret, purpose, sha256.Size)
	k.subkeys.Store(purpose, b)
	return b
}

// New returns a ring of secrets, the current one first. Each must be at
// least MinKeyLength bytes; there must be between 1 and MaxKeys, all
// different.
func New(secrets ...[]byte) (*Ring, error) {
	if len(secrets) == 0 {
		return nil, errors.New("keyring: no key")
	}
	if len(secrets) > MaxKeys {
		return nil, fmt.Errorf("keyring: %d keys; at most %d are allowed", len(secrets), MaxKeys)
	}
	r := &Ring{}
	seen := map[[IDLength]byte]bool{}
	for i, s := range secrets {
		if len(s) < MinKeyLength {
			return nil, fmt.Errorf("keyring: key %d holds %d bytes; it needs at least %d", i+1, len(s), MinKeyLength)
		}
		k := &key{secret: bytes.Clone(s)}
		copy(k.id[:], derive(s, "key id", IDLength))
		if seen[k.id] {
			return nil, fmt.Errorf("keyring: key %d (%x) is given twice", i+1, k.id)
		}
		seen[k.id] = true
		r.keys = append(r.keys, k)
	}
	return r, nil
}

// derive is the HKDF-SHA256 subkey of secret for a purpose.
func derive(secret []byte, purpose string, n int) []byte {
	b, err := hkdf.Key(sha256.New, secret, nil, "gatehouse "+purpose, n)
	if err != nil {
		panic("keyring: hkdf: " + err.Error()) // only for n out of range
	}
	return b
}

// IDs returns the keys' IDs in order, the current one first.
func (r *Ring) IDs() []string {
	ids := make([]string, len(r.keys))
	for i, k := range r.keys {
		ids[i] = hex.EncodeToString(k.id[:])
	}
	return ids
}

// CurrentID returns the ID of the key that makes everything new.
func (r *Ring) CurrentID() string { return hex.EncodeToString(r.keys[0].id[:]) }

// Has reports whether the ring holds the key of an ID.
func (r *Ring) Has(id string) bool { return r.byID(id) != nil }

func (r *Ring) byID(id string) *key {
	for _, k := range r.keys {
		if hex.EncodeToString(k.id[:]) == id {
			return k
		}
	}
	return nil
}

func (r *Ring) byRawID(id []byte) *key {
	for _, k := range r.keys {
		if bytes.Equal(k.id[:], id) {
			return k
		}
	}
	return nil
}

// mac is HMAC-SHA256 under the key's subkey for purpose over the parts,
// each prefixed with its length, so no two lists of parts run together.
func (k *key) mac(purpose string, parts ...string) []byte {
	m := hmac.New(sha256.New, k.subkey(purpose))
	var n [binary.MaxVarintLen64]byte
	for _, p := range parts {
		m.Write(n[:binary.PutUvarint(n[:], uint64(len(p)))])
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

func (k *key) hash(purpose string, parts ...string) []byte {
	return append(k.id[:len(k.id):len(k.id)], k.mac(purpose, parts...)...)
}

// legacy is how Gatehouse keyed a hash before the keyring: HMAC-SHA256
// under the whole secret of "gatehouse " + label, then each part after a
// NUL byte.
func (k *key) legacy(label string, parts ...string) []byte {
	m := hmac.New(sha256.New, k.secret)
	m.Write([]byte("gatehouse " + label))
	for _, p := range parts {
		m.Write([]byte{0})
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

// Hash returns the keyed hash of parts for purpose under the current key:
// how a token or code is stored. It is HashLength bytes, the key ID first.
func (r *Ring) Hash(purpose string, parts ...string) []byte {
	return r.keys[0].hash(purpose, parts...)
}

// Candidate is one hash that a stored value of some parts may be.
type Candidate struct {
	Hash []byte
	// KeyID is the key that makes this hash.
	KeyID string
	// Legacy: made the way of before the keyring (no key ID in it).
	Legacy bool
	// Current: the hash Hash makes now; anything else should be re-keyed.
	Current bool
}

// Candidates returns every hash of parts that a key of the ring may have
// stored, for lookups by hash: the current key's first, then the old keys',
// then the legacy form under each key (legacyLabel is the label the value
// was made with before the keyring; usually the purpose). There are at most
// 2·MaxKeys.
func (r *Ring) Candidates(purpose, legacyLabel string, parts ...string) []Candidate {
	out := make([]Candidate, 0, 2*len(r.keys))
	for i, k := range r.keys {
		out = append(out, Candidate{Hash: k.hash(purpose, parts...), KeyID: hex.EncodeToString(k.id[:]), Current: i == 0})
	}
	for _, k := range r.keys {
		out = append(out, Candidate{Hash: k.legacy(legacyLabel, parts...), KeyID: hex.EncodeToString(k.id[:]), Legacy: true})
	}
	return out
}

// HashLike returns the hash of parts made the way stored was made: under
// the key whose ID it carries, or, for a legacy value, the legacy form under
// the oldest (last) key, the one key there was before the keyring. It lets a value hashed alongside a stored one (a code
// beside its sign-in's token) be checked with the same key. ok is false
// when stored names a key the ring no longer holds.
func (r *Ring) HashLike(stored []byte, purpose, legacyLabel string, parts ...string) (_ []byte, ok bool) {
	switch len(stored) {
	case HashLength:
		if k := r.byRawID(stored[:IDLength]); k != nil {
			return k.hash(purpose, parts...), true
		}
		return nil, false
	case LegacyHashLength:
		return r.keys[len(r.keys)-1].legacy(legacyLabel, parts...), true
	}
	return r.Hash(purpose, parts...), true
}

// NewToken returns 256 bits from r, URL-safe base64 without padding: the
// form of every token Gatehouse hands out (sessions, remembered browsers,
// pending sign-ins, password links) and then stores only as a Hash.
func NewToken(r io.Reader) (string, error) {
	var b [32]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("keyring: read random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// Sign returns a MAC of msg for purpose under the current key, its key ID
// first, for a value given to a client and checked when it comes back.
func (r *Ring) Sign(purpose string, msg []byte) []byte {
	return r.keys[0].hash(purpose, string(msg))
}

// Verify checks a MAC made by Sign with any key of the ring, in constant
// time for a given length, and returns the ID of the key that made it;
// current is true when that is the current key (otherwise the caller should
// sign the value again).
func (r *Ring) Verify(purpose string, msg, mac []byte) (keyID string, current, ok bool) {
	if len(mac) != HashLength {
		return "", false, false
	}
	k := r.byRawID(mac[:IDLength])
	if k == nil {
		return "", false, false
	}
	if !hmac.Equal(k.hash(purpose, string(msg)), mac) {
		return "", false, false
	}
	return hex.EncodeToString(k.id[:]), k == r.keys[0], true
}

// Sealer seals and opens values of one purpose with AES-256-GCM under each
// key's subkey for it.
type Sealer struct {
	ring   *Ring
	aeads  []cipher.AEAD // by key, for the new form
	legacy []cipher.AEAD // by key, keyed with the legacy hash of legacyLabel
	rand   io.Reader
}

// Sealer returns the sealer for purpose. legacyLabel is the label whose
// legacy hash keyed the sealing before the keyring ("" when there was none).
func (r *Ring) Sealer(purpose, legacyLabel string) *Sealer {
	s := &Sealer{ring: r, rand: rand.Reader}
	for _, k := range r.keys {
		s.aeads = append(s.aeads, newGCM(derive(k.secret, purpose, 32)))
		if legacyLabel != "" {
			s.legacy = append(s.legacy, newGCM(k.legacy(legacyLabel)))
		}
	}
	return s
}

func newGCM(key []byte) cipher.AEAD {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic("keyring: aes: " + err.Error()) // the key is always 32 bytes
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic("keyring: gcm: " + err.Error())
	}
	return aead
}

// Seal encrypts plain under the current key, bound to aad (which must be
// given again to Open): "gk1", the key ID, a random nonce, the ciphertext.
func (s *Sealer) Seal(plain, aad []byte) []byte {
	aead := s.aeads[0]
	out := append(bytes.Clone(sealMagic), s.ring.keys[0].id[:]...)
	nonce := make([]byte, aead.NonceSize())
	if _, err := io.ReadFull(s.rand, nonce); err != nil {
		panic("keyring: read random: " + err.Error()) // crypto/rand does not fail
	}
	out = append(out, nonce...)
	return aead.Seal(out, nonce, plain, aad)
}

// Opened says how a sealed value was opened.
type Opened struct {
	KeyID string
	// Legacy: sealed the way of before the keyring.
	Legacy bool
	// Current: sealed by the current key in the current form; otherwise the
	// caller should seal the value again.
	Current bool
}

// ErrOpen is returned when no key of the ring opens a sealed value.
var ErrOpen = errors.New("keyring: no key of the ring opens the sealed value (was a key removed or changed?)")

// Open decrypts a value made by Seal with any key of the ring, or a legacy
// seal (nonce, ciphertext) under any key's legacy sealing key.
func (s *Sealer) Open(sealed, aad []byte) ([]byte, Opened, error) {
	if len(sealed) > len(sealMagic)+IDLength && bytes.HasPrefix(sealed, sealMagic) {
		id := sealed[len(sealMagic) : len(sealMagic)+IDLength]
		for i, k := range s.ring.keys {
			if !bytes.Equal(k.id[:], id) {
				continue
			}
			rest := sealed[len(sealMagic)+IDLength:]
			if n := s.aeads[i].NonceSize(); len(rest) >= n {
				if out, err := s.aeads[i].Open(nil, rest[:n], rest[n:], aad); err == nil {
					return out, Opened{KeyID: hex.EncodeToString(k.id[:]), Current: i == 0}, nil
				}
			}
		}
	}
	// A legacy seal starts with a random nonce, which may by chance start
	// like a new one: try it as legacy whatever its first bytes.
	for i, aead := range s.legacy {
		n := aead.NonceSize()
		if len(sealed) < n {
			break
		}
		if out, err := aead.Open(nil, sealed[:n], sealed[n:], aad); err == nil {
			return out, Opened{KeyID: hex.EncodeToString(s.ring.keys[i].id[:]), Legacy: true}, nil
		}
	}
	return nil, Opened{}, ErrOpen
}

// HashKeyID returns the key ID a stored hash carries, or legacy when it was
// made before the keyring and carries none. ok is false for a value of any
// other length.
func HashKeyID(h []byte) (id string, legacy, ok bool) {
	switch len(h) {
	case HashLength:
		return hex.EncodeToString(h[:IDLength]), false, true
	case LegacyHashLength:
		return "", true, true
	}
	return "", false, false
}

// SealKeyID returns the key ID a sealed value names; legacy when it names
// none (made before the keyring, or unreadable).
func SealKeyID(sealed []byte) (id string, legacy bool) {
	if len(sealed) > len(sealMagic)+IDLength && bytes.HasPrefix(sealed, sealMagic) {
		return hex.EncodeToString(sealed[len(sealMagic) : len(sealMagic)+IDLength]), false
	}
	return "", true
}
