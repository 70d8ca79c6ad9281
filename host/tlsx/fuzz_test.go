package tlsx

import (
	"crypto"
	"encoding/base64"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/host/config"
)

// FuzzLoad feeds arbitrary tls_cert and tls_key values through the
// PEM / base64 / path decoding and the parsers. Loading must never panic,
// every error must name the table, and whatever loads must be a leaf with
// its matching key.
func FuzzLoad(f *testing.F) {
	cert, key := fixture(f, "a.test.pem"), fixture(f, "a.test.key")
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	f.Add(cert, key)
	f.Add(b64(cert), b64(key))
	f.Add(fixture(f, "chain.test.pem"), fixture(f, "chain.test.key"))
	f.Add(fixture(f, "ed.test.pem"), fixture(f, "ed.test.key"))
	f.Add(cert, fixture(f, "wild.test.key"))
	f.Add("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "-----BEGIN EC PRIVATE KEY-----\n\n-----END EC PRIVATE KEY-----")
	f.Add("LS0tLS1CRUdJTiBDRVJU", "~/x.key")
	f.Add("", "  ")
	l := Loader{BaseDir: "/nonexistent", Env: Env{
		ReadFile: func(string) ([]byte, error) { return nil, fs.ErrNotExist },
		HomeDir:  func() (string, error) { return "/home/fuzz", nil },
		Now:      func() time.Time { return time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) },
	}}
	f.Fuzz(func(t *testing.T, certValue, keyValue string) {
		c, err := l.Load("fuzz", &config.Certificate{TLSCert: certValue, TLSKey: keyValue})
		if err != nil {
			if c != nil {
				t.Fatal("Load returned both a certificate and an error")
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "certificates.fuzz.") {
					t.Fatalf("error line %q does not start with its config path", line)
				}
			}
			return
		}
		if c.TLS.Leaf == nil || len(c.TLS.Certificate) == 0 {
			t.Fatal("loaded certificate has no leaf")
		}
		signer, ok := c.TLS.PrivateKey.(crypto.Signer)
		if !ok {
			t.Fatalf("private key %T is not a crypto.Signer", c.TLS.PrivateKey)
		}
		if err := matchKey(c.TLS.Leaf, signer); err != nil {
			t.Fatalf("loaded a key that does not match: %v", err)
		}
		for _, d := range c.Domains {
			if checkDomain(d) != nil || d != strings.ToLower(d) {
				t.Fatalf("domain %q is not a lowercase DNS name", d)
			}
		}
	})
}
