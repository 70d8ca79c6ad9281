package tlsx

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/sluice-proxy/sluice/host/config"
)

// defaultBufferDays is how close to expiry a certificate gets a warning when
// buffer_days is not set (Pingap's tls_validity default).
const defaultBufferDays = 7

// Certificate is one loaded [certificates.NAME] table: the parsed chain and
// key, and the names it is served for.
type Certificate struct {
	// Name is the table's name, as in certificates.NAME.
	Name string
	// TLS is the chain (leaf first) and private key; TLS.Leaf is parsed.
	TLS tls.Certificate
	// Domains are the lowercase names this certificate is served for: the
	// `domains` key when set, else the leaf's DNS SANs, else its common
	// name. A leading "*." makes a one-level wildcard.
	Domains []string
	// Default marks the is_default certificate.
	Default bool
	// Warnings are problems that do not stop the certificate from being
	// served (expired, not yet valid, close to expiry), each prefixed with
	// the config path.
	Warnings []string
}

// Loader turns [certificates.NAME] tables into Certificates.
type Loader struct {
	// BaseDir is the directory relative file paths are resolved against:
	// the directory of the config file. Empty means the working directory.
	BaseDir string
	// Env holds the file system and clock; zero fields are the real ones.
	Env Env
}

// Load reads, parses and checks the certificate and key of the table
// certificates.NAME. tls_cert and tls_key may each be inline PEM, base64 of
// PEM, or a file path ("~" expanded, relative paths against BaseDir).
// Every problem found is returned, joined, each prefixed with its config
// path (certificates.NAME.tls_key: ...). An expired or not yet valid
// certificate loads, with a warning.
func (l Loader) Load(name string, c *config.Certificate) (*Certificate, error) {
	env := l.Env.withDefaults()
	path := "certificates." + name
	var errs []error

	chain, leaf, certErr := l.loadChain(env, c.TLSCert)
	if certErr != nil {
		errs = append(errs, fmt.Errorf("%s.tls_cert: %w", path, certErr))
	}
	key, keyErr := l.loadKey(env, c.TLSKey)
	if keyErr != nil {
		errs = append(errs, fmt.Errorf("%s.tls_key: %w", path, keyErr))
	}
	if certErr == nil && keyErr == nil {
		if err := matchKey(leaf, key); err != nil {
			errs = append(errs, fmt.Errorf("%s.tls_key: %w (certificate in %s.tls_cert)", path, err, path))
		}
	}
	domains, err := certDomains(c.Domains, leaf)
	if err != nil {
		errs = append(errs, fmt.Errorf("%s.domains: %w", path, err))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &Certificate{
		Name:     name,
		TLS:      tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf},
		Domains:  domains,
		Default:  c.IsDefault,
		Warnings: validityWarnings(path+".tls_cert", leaf, env.Now(), c.BufferDays),
	}, nil
}

// loadChain decodes tls_cert and parses every CERTIFICATE block in it; the
// first is the leaf.
func (l Loader) loadChain(env Env, value string) ([][]byte, *x509.Certificate, error) {
	data, err := l.source(env, value)
	if err != nil {
		return nil, nil, err
	}
	var chain [][]byte
	var leaf *x509.Certificate
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			// A combined file may hold the key too; tls.X509KeyPair skips
			// other blocks in the same way.
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, nil, fmt.Errorf("parsing certificate %d of the chain: %w", len(chain)+1, err)
		}
		if leaf == nil {
			leaf = c
		}
		chain = append(chain, b.Bytes)
	}
	if leaf == nil {
		return nil, nil, errors.New("no CERTIFICATE PEM block found")
	}
	return chain, leaf, nil
}

// loadKey decodes tls_key and parses the first private key block in it.
func (l Loader) loadKey(env Env, value string) (crypto.Signer, error) {
	data, err := l.source(env, value)
	if err != nil {
		return nil, err
	}
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, errors.New("no PRIVATE KEY PEM block found")
		}
		if b.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(b.Headers["Proc-Type"], "ENCRYPTED") {
			return nil, errors.New("the private key is encrypted; sluice needs it unencrypted")
		}
		var k any
		switch b.Type {
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(b.Bytes)
		default:
			// Certificates and EC PARAMETERS may share the file.
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("parsing %s block: %w", b.Type, err)
		}
		switch k := k.(type) {
		case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
			return k.(crypto.Signer), nil
		default:
			return nil, fmt.Errorf("unsupported private key type %T (want RSA, ECDSA or Ed25519)", k)
		}
	}
}

// source turns a tls_cert or tls_key value into PEM bytes. Inline PEM is
// recognised by its armour, base64 by decoding to armoured text; anything
// else is a file path. The order matters: a path can never contain
// "-----BEGIN", and base64 of PEM always decodes to it, so no value is
// ambiguous.
func (l Loader) source(env Env, value string) ([]byte, error) {
	v := strings.TrimSpace(value)
	if v == "" {
		return nil, errors.New("required (inline PEM, base64 of PEM, or a file path), or set acme")
	}
	if strings.Contains(v, "-----BEGIN") {
		return []byte(v), nil
	}
	if b, ok := decodeBase64PEM(v); ok {
		return b, nil
	}
	p, err := l.expand(env, v)
	if err != nil {
		return nil, err
	}
	data, err := env.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("not PEM, not base64 of PEM, and not a readable file: %w", err)
	}
	if !bytes.Contains(data, []byte("-----BEGIN")) {
		return nil, fmt.Errorf("file %q holds no PEM data", p)
	}
	return data, nil
}

// expand resolves "~" and relative paths.
func (l Loader) expand(env Env, p string) (string, error) {
	if p == "~" || strings.HasPrefix(p, "~/") {
		home, err := env.HomeDir()
		if err != nil {
			return "", fmt.Errorf("expanding %q: %w", p, err)
		}
		return filepath.Join(home, p[1:]), nil
	}
	if !filepath.IsAbs(p) && l.BaseDir != "" {
		return filepath.Join(l.BaseDir, p), nil
	}
	return p, nil
}

// decodeBase64PEM reports whether v is base64 (standard alphabet, padded or
// not, line breaks allowed) of PEM text.
func decodeBase64PEM(v string) ([]byte, bool) {
	compact := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, v)
	b, err := base64.StdEncoding.DecodeString(compact)
	if err != nil {
		b, err = base64.RawStdEncoding.DecodeString(compact)
		if err != nil {
			return nil, false
		}
	}
	if !bytes.Contains(b, []byte("-----BEGIN")) {
		return nil, false
	}
	return b, true
}

// matchKey checks that key is the private half of the leaf's public key.
func matchKey(leaf *x509.Certificate, key crypto.Signer) error {
	pub, ok := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok {
		return fmt.Errorf("unsupported certificate public key type %T", leaf.PublicKey)
	}
	if !pub.Equal(key.Public()) {
		return fmt.Errorf("private key (%s) does not match the certificate's public key (%s)",
			keyKind(key.Public()), keyKind(leaf.PublicKey))
	}
	return nil
}

func keyKind(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return fmt.Sprintf("%T", pub)
}

// certDomains returns the names a certificate is served for: the `domains`
// list when set, else the leaf's DNS SANs, else its common name.
func certDomains(list string, leaf *x509.Certificate) ([]string, error) {
	if strings.TrimSpace(list) != "" {
		return parseDomains(list)
	}
	if leaf == nil {
		return nil, nil // The tls_cert error already says why.
	}
	names := leaf.DNSNames
	if len(names) == 0 && leaf.Subject.CommonName != "" {
		names = []string{leaf.Subject.CommonName}
	}
	var out []string
	for _, n := range names {
		n = strings.ToLower(strings.TrimSuffix(n, "."))
		if checkDomain(n) == nil {
			out = append(out, n)
		}
	}
	return out, nil
}

// parseDomains splits a comma-separated `domains` value and checks each
// name.
func parseDomains(list string) ([]string, error) {
	var out []string
	var errs []error
	for _, d := range strings.Split(list, ",") {
		d = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(d), "."))
		if d == "" {
			continue
		}
		if err := checkDomain(d); err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, d)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(out) == 0 {
		return nil, errors.New("no names in the list")
	}
	return out, nil
}

// checkDomain accepts a DNS name, optionally with a leading "*." wildcard
// label. Only one-level wildcards exist (RFC 6125 §6.4.3), so "*" anywhere
// else is refused.
func checkDomain(d string) error {
	name := strings.TrimPrefix(d, "*.")
	if name == "" || len(d) > 253 {
		return fmt.Errorf("%q is not a DNS name", d)
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("%q is not a DNS name (empty or over-long label)", d)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
			if !ok {
				if c == '*' {
					return fmt.Errorf("%q: only a leading \"*.\" wildcard is allowed", d)
				}
				return fmt.Errorf("%q is not a DNS name (character %q)", d, c)
			}
		}
	}
	return nil
}

// validityWarnings says when a certificate is expired, not yet valid, or
// within bufferDays of expiry. Such a certificate is still served: refusing
// to start because a certificate lapsed would turn an expiry into an
// outage for every other name.
func validityWarnings(path string, leaf *x509.Certificate, now time.Time, bufferDays int) []string {
	if bufferDays <= 0 {
		bufferDays = defaultBufferDays
	}
	const layout = time.RFC3339
	switch {
	case now.After(leaf.NotAfter):
		return []string{fmt.Sprintf("%s: certificate expired on %s (still served)", path, leaf.NotAfter.UTC().Format(layout))}
	case now.Before(leaf.NotBefore):
		return []string{fmt.Sprintf("%s: certificate is not valid before %s (still served)", path, leaf.NotBefore.UTC().Format(layout))}
	case now.Add(time.Duration(bufferDays) * 24 * time.Hour).After(leaf.NotAfter):
		return []string{fmt.Sprintf("%s: certificate expires on %s, within buffer_days (%d)", path, leaf.NotAfter.UTC().Format(layout), bufferDays)}
	}
	return nil
}
