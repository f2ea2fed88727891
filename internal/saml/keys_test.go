package saml

import (
	"crypto/x509"
	"testing"
	"time"
)

func TestNewKeyPair(t *testing.T) {
	now := time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)
	key, cert, err := NewKeyPair(nil, "acme.gatehouse.example", now)
	if err != nil {
		t.Fatal(err)
	}
	if got := key.N.BitLen(); got != 2048 {
		t.Errorf("key of %d bits, want 2048", got)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		t.Error("the certificate is not for the key")
	}
	// Self-signed, though not a CA (so CheckSignatureFrom would refuse it).
	if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		t.Errorf("not self-signed: %v", err)
	}
	if cert.Subject.CommonName != "acme.gatehouse.example" {
		t.Errorf("common name %q", cert.Subject.CommonName)
	}
	if !cert.NotBefore.Equal(now.Add(-time.Hour)) || !cert.NotAfter.Equal(now.Add(CertificateLifetime)) {
		t.Errorf("valid %s to %s", cert.NotBefore, cert.NotAfter)
	}
	if cert.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageKeyEncipherment {
		t.Errorf("key usage %v", cert.KeyUsage)
	}
	if cert.SerialNumber.Sign() <= 0 {
		t.Errorf("serial number %v", cert.SerialNumber)
	}
	if _, _, err := NewKeyPair(nil, "", now); err == nil {
		t.Error("an empty common name was accepted")
	}
}
