package password

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
)

// TestDefaultParams is the one test that hashes at the production cost: it
// checks that a Hasher built with no parameters writes m=19456,t=2,p=1.
func TestDefaultParams(t *testing.T) {
	want := Params{Memory: 19456, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 16}
	if got := DefaultParams(); got != want {
		t.Fatalf("DefaultParams() = %+v, want %+v", got, want)
	}

	h, err := NewHasher(HasherConfig{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := h.Hash(context.Background(), "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if prefix := "$argon2id$v=19$m=19456,t=2,p=1$"; !strings.HasPrefix(stored, prefix) {
		t.Errorf("hash = %q, want prefix %q", stored, prefix)
	}
	parsed, err := parsePHC(stored)
	if err != nil {
		t.Fatal(err)
	}
	if got := parsed.params; got != want {
		t.Errorf("stored params = %+v, want %+v", got, want)
	}
	if h.NeedsRehash(stored) {
		t.Error("NeedsRehash of a fresh default hash = true, want false")
	}
	ok, err := h.Verify(context.Background(), stored, "correct horse battery staple")
	if err != nil || !ok {
		t.Errorf("Verify(right password) = %v, %v; want true, nil", ok, err)
	}
}

func TestTestParamsAreValidAndCheap(t *testing.T) {
	p := TestParams()
	if err := p.Validate(); err != nil {
		t.Fatalf("TestParams().Validate() = %v, want nil", err)
	}
	if p.Memory > 1024 || p.Time != 1 || p.Threads != 1 {
		t.Errorf("TestParams() = %+v, want at most 1 MiB, t=1, p=1", p)
	}
}

func TestParamsValidate(t *testing.T) {
	base := TestParams()
	with := func(f func(*Params)) Params {
		p := base
		f(&p)
		return p
	}
	tests := []struct {
		name  string
		p     Params
		valid bool
	}{
		{"the defaults are valid", DefaultParams(), true},
		{"the test parameters are valid", base, true},
		{"the largest parameters are valid", Params{Memory: MaxMemory, Time: MaxTime, Threads: MaxThreads, KeyLen: MaxKeyLen, SaltLen: MaxSaltLen}, true},
		{"the zero value is invalid", Params{}, false},
		{"zero threads are invalid", with(func(p *Params) { p.Threads = 0 }), false},
		{"too many threads are invalid", with(func(p *Params) { p.Threads = MaxThreads + 1 }), false},
		{"zero passes are invalid", with(func(p *Params) { p.Time = 0 }), false},
		{"too many passes are invalid", with(func(p *Params) { p.Time = MaxTime + 1 }), false},
		{"less than 8 KiB per thread is invalid", with(func(p *Params) { p.Threads = 8; p.Memory = 63 }), false},
		{"exactly 8 KiB per thread is valid", with(func(p *Params) { p.Threads = 8; p.Memory = 64 }), true},
		{"more than the memory ceiling is invalid", with(func(p *Params) { p.Memory = MaxMemory + 1 }), false},
		{"4 GiB of memory is invalid", with(func(p *Params) { p.Memory = 4 << 20 }), false},
		{"a short key is invalid", with(func(p *Params) { p.KeyLen = MinKeyLen - 1 }), false},
		{"a long key is invalid", with(func(p *Params) { p.KeyLen = MaxKeyLen + 1 }), false},
		{"a short salt is invalid", with(func(p *Params) { p.SaltLen = MinSaltLen - 1 }), false},
		{"a long salt is invalid", with(func(p *Params) { p.SaltLen = MaxSaltLen + 1 }), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if got := err == nil; got != tt.valid {
				t.Errorf("Validate(%+v) = %v, want valid %v", tt.p, err, tt.valid)
			}
		})
	}
}

func BenchmarkHashDefault(b *testing.B) {
	p := DefaultParams()
	for b.Loop() {
		if _, err := Hash("correct horse battery staple", p, rand.Reader); err != nil {
			b.Fatal(err)
		}
	}
}
