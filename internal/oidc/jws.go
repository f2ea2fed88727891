package oidc

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"

	jose "github.com/go-jose/go-jose/v4"
)

// A forward-auth assertion is signed on every answer to a proxy, so it is
// made here with crypto/ecdsa instead of a go-jose signer, which is built
// and whose header is marshalled again at every call. What it makes is
// what go-jose makes: the compact JWS of RFC 7515 §7.1 with ES256 (RFC 7518
// §3.4, the signature R and S in 32 bytes each), the protected header
// alg, kid and typ JWT, encoded once per key.

// compactHeader is the encoded protected header of the JWTs of a key.
func compactHeader(alg jose.SignatureAlgorithm, kid string) string {
	b, _ := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{string(alg), kid, "JWT"}) // strings always marshal
	return base64.RawURLEncoding.EncodeToString(b)
}

// signES256 returns the compact JWS of payload under s, which must be an
// ES256 key.
func (s *signingKey) signES256(rand io.Reader, payload []byte) (string, error) {
	priv, ok := s.key.(*ecdsa.PrivateKey)
	if !ok || s.alg != jose.ES256 || priv.Curve != elliptic.P256() {
		return "", fmt.Errorf("oidc: signing key %s is not an ES256 key", s.id)
	}
	enc := base64.RawURLEncoding
	out := make([]byte, 0, len(s.header)+1+enc.EncodedLen(len(payload))+1+enc.EncodedLen(64))
	out = append(out, s.header...)
	out = append(out, '.')
	out = enc.AppendEncode(out, payload)
	digest := sha256.Sum256(out)
	r, sv, err := ecdsa.Sign(rand, priv, digest[:])
	if err != nil {
		return "", fmt.Errorf("oidc: sign with key %s: %w", s.id, err)
	}
	var sig [64]byte
	r.FillBytes(sig[:32])
	sv.FillBytes(sig[32:])
	out = append(out, '.')
	out = enc.AppendEncode(out, sig[:])
	return string(out), nil
}
