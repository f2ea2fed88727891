package oidc

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"io"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/keyring"
)

// publishFor is how long a retired key stays in the JWKS: longer than
// anything it signed lives (ID and access tokens, forward-auth assertions).
const publishFor = 2 * gatehouse.AccessTokenLifetime

// sealPurpose keys the sealing of private signing keys.
const sealPurpose = "oidc signing key"

// currentFor is how long a node signs with the current key it last read
// before it reads again, so a key rotated on another node signs here
// within it. That is safe: a new key is in the JWKS from the moment it is
// stored, and the one it replaces stays there for publishFor.
const currentFor = time.Second

// keys generates, seals, stores and opens the provider's signing keys. The
// database is the truth (every node signs with the same keys); what is
// opened is cached by key ID, since a key never changes, and which key is
// current per algorithm for currentFor, dropped when this node rotates.
type keys struct {
	store  Store
	sealer *keyring.Sealer
	now    func() time.Time
	rand   io.Reader

	mu      sync.Mutex
	opened  map[string]crypto.Signer
	current map[string]currentKey // by algorithm
	// rotations counts this node's rotations, so that a read begun before
	// one is not kept as current after it.
	rotations uint64
}

// currentKey is the current key of an algorithm as read at read.
type currentKey struct {
	key  *signingKey
	read time.Time
}

func newKeys(store Store, ring *keyring.Ring, now func() time.Time, rand io.Reader) *keys {
	return &keys{store: store, sealer: ring.Sealer(sealPurpose, ""), now: now, rand: rand,
		opened: map[string]crypto.Signer{}, current: map[string]currentKey{}}
}

// ensure makes a first key of each algorithm when there is none, as at the
// first start.
func (k *keys) ensure(ctx context.Context) error {
	all, err := k.store.SigningKeys(ctx, k.now())
	if err != nil {
		return err
	}
	for _, alg := range []string{gatehouse.SigningES256, gatehouse.SigningRS256} {
		if currentOf(all, alg) == nil {
			if _, err := k.rotate(ctx, alg); err != nil {
				return err
			}
		}
	}
	return nil
}

func currentOf(all []*gatehouse.SigningKey, alg string) *gatehouse.SigningKey {
	for _, sk := range all {
		if sk.Algorithm == alg && sk.RetiredAt.IsZero() {
			return sk
		}
	}
	return nil
}

// rotate makes a new key of alg, which signs from now on; the old one
// stays published for publishFor.
func (k *keys) rotate(ctx context.Context, alg string) (*gatehouse.SigningKey, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case gatehouse.SigningES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), k.rand)
	case gatehouse.SigningRS256:
		priv, err = rsa.GenerateKey(k.rand, 2048)
	default:
		return nil, fmt.Errorf("oidc: unknown signing algorithm %q", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("oidc: generate %s key: %w", alg, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("oidc: marshal %s key: %w", alg, err)
	}
	pub, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		return nil, fmt.Errorf("oidc: marshal %s public key: %w", alg, err)
	}
	id := gatehouse.NewID()
	sk := &gatehouse.SigningKey{ID: id, Algorithm: alg, PrivateSealed: k.sealer.Seal(der, []byte(id)), Public: pub, CreatedAt: k.now()}
	if err := k.store.CreateSigningKey(ctx, sk); err != nil {
		return nil, err
	}
	k.mu.Lock()
	delete(k.current, alg)
	k.rotations++
	k.mu.Unlock()
	return sk, nil
}

// signer returns the current key of alg, opened: the one read from the
// database less than currentFor ago, or read now.
func (k *keys) signer(ctx context.Context, alg string) (*signingKey, error) {
	now := k.now()
	k.mu.Lock()
	c, ok := k.current[alg]
	rotations := k.rotations
	k.mu.Unlock()
	if ok && !now.Before(c.read) && now.Sub(c.read) < currentFor {
		return c.key, nil
	}
	all, err := k.store.SigningKeys(ctx, now)
	if err != nil {
		return nil, err
	}
	sk := currentOf(all, alg)
	if sk == nil {
		return nil, fmt.Errorf("oidc: no current %s signing key", alg)
	}
	k.mu.Lock()
	priv, ok := k.opened[sk.ID]
	k.mu.Unlock()
	if !ok {
		der, _, err := k.sealer.Open(sk.PrivateSealed, []byte(sk.ID))
		if err != nil {
			return nil, fmt.Errorf("oidc: open signing key %s: %w", sk.ID, err)
		}
		parsed, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return nil, fmt.Errorf("oidc: parse signing key %s: %w", sk.ID, err)
		}
		if priv, ok = parsed.(crypto.Signer); !ok {
			return nil, fmt.Errorf("oidc: signing key %s is a %T", sk.ID, parsed)
		}
	}
	key := &signingKey{id: sk.ID, alg: jose.SignatureAlgorithm(alg), key: priv, header: compactHeader(jose.SignatureAlgorithm(alg), sk.ID)}
	k.mu.Lock()
	k.opened[sk.ID] = priv
	if k.rotations == rotations {
		k.current[alg] = currentKey{key: key, read: now}
	}
	k.mu.Unlock()
	return key, nil
}

// published returns the public keys of the JWKS: the current ones and
// those retired less than publishFor ago.
func (k *keys) published(ctx context.Context) ([]op.Key, error) {
	all, err := k.store.SigningKeys(ctx, k.now().Add(-publishFor))
	if err != nil {
		return nil, err
	}
	out := make([]op.Key, 0, len(all))
	for _, sk := range all {
		pub, err := x509.ParsePKIXPublicKey(sk.Public)
		if err != nil {
			return nil, fmt.Errorf("oidc: parse public key %s: %w", sk.ID, err)
		}
		out = append(out, &publicKey{id: sk.ID, alg: jose.SignatureAlgorithm(sk.Algorithm), key: pub})
	}
	return out, nil
}

// signingKey is an opened private key (op.SigningKey).
type signingKey struct {
	id  string
	alg jose.SignatureAlgorithm
	key crypto.Signer
	// header is the encoded protected header of its JWTs (signES256).
	header string
}

func (s *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return s.alg }
func (s *signingKey) Key() any                                    { return s.key }
func (s *signingKey) ID() string                                  { return s.id }

// publicKey is a published key (op.Key).
type publicKey struct {
	id  string
	alg jose.SignatureAlgorithm
	key crypto.PublicKey
}

func (p *publicKey) ID() string                         { return p.id }
func (p *publicKey) Algorithm() jose.SignatureAlgorithm { return p.alg }
func (p *publicKey) Use() string                        { return "sig" }
func (p *publicKey) Key() any                           { return p.key }

// rotateEvery is the schedule of key rotation: a key signs for this long.
const rotateEvery = 90 * 24 * time.Hour

// rotateDue rotates each algorithm's current key once it is older than
// rotateEvery. Two nodes doing it at once make two keys; the older of the
// new ones is retired at once and stays published.
func (k *keys) rotateDue(ctx context.Context) error {
	all, err := k.store.SigningKeys(ctx, k.now())
	if err != nil {
		return err
	}
	for _, alg := range []string{gatehouse.SigningES256, gatehouse.SigningRS256} {
		if cur := currentOf(all, alg); cur == nil || k.now().Sub(cur.CreatedAt) > rotateEvery {
			if _, err := k.rotate(ctx, alg); err != nil {
				return err
			}
		}
	}
	return nil
}
