package saml

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"
)

// SP key pairs: RSA, because XML encryption of assertions to the SP needs an
// RSA key, and 2048 bits, what IdPs expect of SAML certificates.
const (
	keyBits = 2048
	// CertificateLifetime is how long a certificate from NewKeyPair is
	// valid. IdPs take the SP certificate from its metadata as a container
	// for the public key, and rarely look at its dates; a short lifetime
	// would only break sign-ins until someone re-registers the SP.
	CertificateLifetime = 10 * 365 * 24 * time.Hour
)

// NewKeyPair makes an SP signing and decryption key and a self-signed
// certificate for it, valid from an hour before now (for clock skew) for
// CertificateLifetime. The caller stores both (x509.MarshalPKCS8PrivateKey,
// cert.Raw) and gives them to New for every sign-in of the organization, on
// every node. random is crypto/rand.Reader when nil; it supplies the
// certificate's serial number (the key itself always comes from the
// system's secure source, as crypto/rsa does by default).
func NewKeyPair(random io.Reader, commonName string, now time.Time) (*rsa.PrivateKey, *x509.Certificate, error) {
	if random == nil {
		random = rand.Reader
	}
	if commonName == "" {
		return nil, nil, errors.New("saml: new key pair: empty common name")
	}
	key, err := rsa.GenerateKey(random, keyBits)
	if err != nil {
		return nil, nil, fmt.Errorf("saml: new key pair: %w", err)
	}
	serial, err := rand.Int(random, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("saml: new key pair: serial number: %w", err)
	}
	template := &x509.Certificate{
		SerialNumber:          serial.Add(serial, big.NewInt(1)), // never 0
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-time.Hour).UTC().Truncate(time.Second),
		NotAfter:              now.Add(CertificateLifetime).UTC().Truncate(time.Second),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(random, template, template, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("saml: new key pair: certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("saml: new key pair: certificate: %w", err)
	}
	return key, cert, nil
}
