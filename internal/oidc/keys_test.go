package oidc

import (
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehousehq/gatehouse"
)

// TestTheCurrentKeyIsReadAtMostOnceASecond: a node signs with the current
// key it read less than currentFor ago, takes up a key rotated on another
// node after that, and one it rotated itself at once.
func TestTheCurrentKeyIsReadAtMostOnceASecond(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	p, db, ring := newTestProvider(t, clock)
	kid := func(t *testing.T) string {
		t.Helper()
		raw, err := p.SignAssertion(t.Context(), map[string]any{"sub": "u1"})
		if err != nil {
			t.Fatal(err)
		}
		sig, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.ES256})
		if err != nil {
			t.Fatal(err)
		}
		id := sig.Signatures[0].Header.KeyID
		if set := jwks(t, p); len(set.Key(id)) != 1 {
			t.Errorf("the signing key %s is not in the JWKS", id)
		}
		return id
	}
	first := kid(t)

	// Another node rotates, through its own handle on the store.
	rotated, err := RotateKeys(t.Context(), db, ring)
	if err != nil {
		t.Fatal(err)
	}
	var next string
	for _, sk := range rotated {
		if sk.Algorithm == gatehouse.SigningES256 {
			next = sk.ID
		}
	}
	if set := jwks(t, p); len(set.Key(next)) != 1 {
		t.Errorf("the key rotated on another node is not published at once")
	}
	now = now.Add(currentFor - time.Millisecond)
	if got := kid(t); got != first {
		t.Errorf("within %v of reading it: signed with %s, want the key read then (%s)", currentFor, got, first)
	}
	now = now.Add(time.Millisecond)
	if got := kid(t); got != next {
		t.Errorf("%v after reading the key: signed with %s, want the one rotated on the other node (%s)", currentFor, got, next)
	}

	// This node rotates: the new key signs at once.
	own, err := p.keys.rotate(t.Context(), gatehouse.SigningES256)
	if err != nil {
		t.Fatal(err)
	}
	if got := kid(t); got != own.ID {
		t.Errorf("right after this node rotated: signed with %s, want its new key %s", got, own.ID)
	}

	// A clock set back never keeps a key for longer.
	if _, err := RotateKeys(t.Context(), db, ring); err != nil {
		t.Fatal(err)
	}
	now = now.Add(-time.Hour)
	if got := kid(t); got == own.ID {
		t.Errorf("after the clock went back: still signed with %s, want the key read again", got)
	}
}
