//go:build ignore

// Command gen writes the test CA and certificates of testdata/tls. It is
// run by hand, once: the PEM files it writes are committed, so tests never
// generate keys and every package sees the same CA.
//
//	go run ./testdata/tls/gen.go -out testdata/tls
//
// Every certificate is valid from 2025-01-01 for 100 years, so the fixtures
// do not expire under anyone's feet.
package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

var (
	notBefore = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	notAfter  = notBefore.AddDate(100, 0, 0)
)

type issuer struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func main() {
	out := flag.String("out", "testdata/tls", "directory to write the PEM files into")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	root, err := newCA(out, "ca", "sluice test root CA", nil)
	if err != nil {
		return err
	}
	inter, err := newCA(out, "intermediate", "sluice test intermediate CA", root)
	if err != nil {
		return err
	}
	leaves := []struct {
		file    string
		keyType string
		names   []string
		ips     []net.IP
		by      *issuer
	}{
		{"a.test", "ecdsa", []string{"a.test"}, nil, root},
		{"wild.test", "rsa", []string{"*.wild.test"}, nil, root},
		{"default.test", "ecdsa", []string{"default.test"}, nil, root},
		{"ed.test", "ed25519", []string{"ed.test"}, nil, root},
		{"chain.test", "ecdsa", []string{"chain.test"}, nil, inter},
		{"localhost", "ecdsa", []string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, root},
	}
	for _, l := range leaves {
		key, err := newKey(l.keyType)
		if err != nil {
			return err
		}
		tmpl := &x509.Certificate{
			Subject:     pkix.Name{CommonName: l.names[0], Organization: []string{"sluice tests"}},
			DNSNames:    l.names,
			IPAddresses: l.ips,
			KeyUsage:    x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		}
		if l.keyType == "rsa" {
			// RSA key exchange (TLS 1.2 RSA suites) needs key encipherment.
			tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
		}
		der, err := sign(tmpl, key, l.by)
		if err != nil {
			return fmt.Errorf("signing %s: %w", l.file, err)
		}
		chain := [][]byte{der}
		if l.by != root {
			// Serve the intermediate with the leaf, as a real server must.
			chain = append(chain, l.by.cert.Raw)
		}
		if err := write(out, l.file, chain, key); err != nil {
			return err
		}
	}
	return nil
}

func newCA(out, file, cn string, parent *issuer) (*issuer, error) {
	key, err := newKey("ecdsa")
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"sluice tests"}},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := sign(tmpl, key, parent)
	if err != nil {
		return nil, fmt.Errorf("signing %s: %w", file, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	if err := write(out, file, [][]byte{der}, key); err != nil {
		return nil, err
	}
	return &issuer{cert: cert, key: key}, nil
}

// sign self-signs tmpl when parent is nil.
func sign(tmpl *x509.Certificate, key crypto.Signer, parent *issuer) ([]byte, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore, tmpl.NotAfter = notBefore, notAfter
	p, pkey := tmpl, key
	if parent != nil {
		p, pkey = parent.cert, parent.key
	}
	return x509.CreateCertificate(rand.Reader, tmpl, p, key.Public(), pkey)
}

func newKey(kind string) (crypto.Signer, error) {
	switch kind {
	case "ecdsa":
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "rsa":
		return rsa.GenerateKey(rand.Reader, 2048)
	case "ed25519":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	}
	return nil, fmt.Errorf("unknown key type %q", kind)
}

// write stores NAME.pem (the chain) and NAME.key (PKCS#8).
func write(out, name string, chain [][]byte, key crypto.Signer) error {
	var certPEM []byte
	for _, der := range chain {
		certPEM = append(certPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("encoding key of %s: %w", name, err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	if err := os.WriteFile(filepath.Join(out, name+".pem"), certPEM, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, name+".key"), keyPEM, 0o644)
}
