package tlsx

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/host/config"
)

// reencodeKey returns the PEM of the key in NAME.key re-encoded as PKCS#1
// (RSA) or SEC 1 (ECDSA), the forms openssl's older tools write.
func reencodeKey(t *testing.T, name string) string {
	t.Helper()
	b, _ := pem.Decode([]byte(fixture(t, name+".key")))
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
	case *ecdsa.PrivateKey:
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n" +
			string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
	}
	t.Fatalf("no legacy encoding for %T", k)
	return ""
}

// wrap64 breaks s into 64-character lines, as `base64` does.
func wrap64(s string) string {
	var b strings.Builder
	for len(s) > 64 {
		b.WriteString(s[:64] + "\n")
		s = s[64:]
	}
	b.WriteString(s)
	return b.String()
}

func TestLoadForms(t *testing.T) {
	abs, err := filepath.Abs(fixtures)
	if err != nil {
		t.Fatal(err)
	}
	b64 := func(name string) string { return base64.StdEncoding.EncodeToString([]byte(fixture(t, name))) }
	tests := []struct {
		name      string
		cert, key string
		wantNames []string
		wantChain int
		wantKey   string
	}{
		{name: "inline PEM", cert: fixture(t, "a.test.pem"), key: fixture(t, "a.test.key"),
			wantNames: []string{"a.test"}, wantChain: 1, wantKey: "*ecdsa.PrivateKey"},
		{name: "relative file path", cert: "a.test.pem", key: "a.test.key",
			wantNames: []string{"a.test"}, wantChain: 1, wantKey: "*ecdsa.PrivateKey"},
		{name: "absolute file path", cert: filepath.Join(abs, "wild.test.pem"), key: filepath.Join(abs, "wild.test.key"),
			wantNames: []string{"*.wild.test"}, wantChain: 1, wantKey: "*rsa.PrivateKey"},
		{name: "home path", cert: "~/ed.test.pem", key: "~/ed.test.key",
			wantNames: []string{"ed.test"}, wantChain: 1, wantKey: "ed25519.PrivateKey"},
		{name: "base64 of PEM", cert: b64("a.test.pem"), key: b64("a.test.key"),
			wantNames: []string{"a.test"}, wantChain: 1, wantKey: "*ecdsa.PrivateKey"},
		{name: "base64 wrapped in lines", cert: wrap64(b64("chain.test.pem")), key: "  " + wrap64(b64("chain.test.key")) + "\n",
			wantNames: []string{"chain.test"}, wantChain: 2, wantKey: "*ecdsa.PrivateKey"},
		{name: "unpadded base64", cert: strings.TrimRight(b64("ed.test.pem"), "="), key: strings.TrimRight(b64("ed.test.key"), "="),
			wantNames: []string{"ed.test"}, wantChain: 1, wantKey: "ed25519.PrivateKey"},
		{name: "chain with intermediate", cert: "chain.test.pem", key: "chain.test.key",
			wantNames: []string{"chain.test"}, wantChain: 2, wantKey: "*ecdsa.PrivateKey"},
		{name: "PKCS#1 RSA key", cert: "wild.test.pem", key: reencodeKey(t, "wild.test"),
			wantNames: []string{"*.wild.test"}, wantChain: 1, wantKey: "*rsa.PrivateKey"},
		{name: "SEC 1 EC key after EC PARAMETERS", cert: "a.test.pem", key: reencodeKey(t, "a.test"),
			wantNames: []string{"a.test"}, wantChain: 1, wantKey: "*ecdsa.PrivateKey"},
		{name: "key and certificate in one file for both", cert: fixture(t, "a.test.key") + fixture(t, "a.test.pem"),
			key:       fixture(t, "a.test.pem") + fixture(t, "a.test.key"),
			wantNames: []string{"a.test"}, wantChain: 1, wantKey: "*ecdsa.PrivateKey"},
	}
	l := Loader{BaseDir: fixtures, Env: Env{HomeDir: func() (string, error) { return abs, nil }}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := l.Load("api", &config.Certificate{TLSCert: tt.cert, TLSKey: tt.key})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !slices.Equal(c.Domains, tt.wantNames) {
				t.Errorf("Domains = %q; want %q", c.Domains, tt.wantNames)
			}
			if got := len(c.TLS.Certificate); got != tt.wantChain {
				t.Errorf("chain length = %d; want %d", got, tt.wantChain)
			}
			if got := fmt.Sprintf("%T", c.TLS.PrivateKey); got != tt.wantKey {
				t.Errorf("key type = %s; want %s", got, tt.wantKey)
			}
			if c.TLS.Leaf == nil || c.Name != "api" || len(c.Warnings) != 0 {
				t.Errorf("Leaf = %v, Name = %q, Warnings = %q", c.TLS.Leaf != nil, c.Name, c.Warnings)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	garbledCert := strings.Replace(fixture(t, "a.test.pem"), "MII", "MIX", 1)
	encrypted := "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"
	legacyEncrypted := "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00000000000000000000000000000000\n\nAAAA\n-----END RSA PRIVATE KEY-----\n"
	tests := []struct {
		name string
		c    config.Certificate
		want []string
	}{
		{name: "nothing set", c: config.Certificate{},
			want: []string{"certificates.api.tls_cert: required", "certificates.api.tls_key: required"}},
		{name: "missing file", c: config.Certificate{TLSCert: "nope/missing.pem", TLSKey: "a.test.key"},
			want: []string{"certificates.api.tls_cert: not PEM, not base64 of PEM, and not a readable file", "missing.pem"}},
		{name: "file without PEM", c: config.Certificate{TLSCert: "README.md", TLSKey: "a.test.key"},
			want: []string{"certificates.api.tls_cert: file", "README.md\" holds no PEM data"}},
		{name: "key does not match", c: config.Certificate{TLSCert: "a.test.pem", TLSKey: "wild.test.key"},
			want: []string{"certificates.api.tls_key: private key (RSA 2048) does not match the certificate's public key (ECDSA P-256)", "certificates.api.tls_cert"}},
		{name: "key of same type does not match", c: config.Certificate{TLSCert: "a.test.pem", TLSKey: "default.test.key"},
			want: []string{"certificates.api.tls_key: private key (ECDSA P-256) does not match"}},
		{name: "unparseable certificate", c: config.Certificate{TLSCert: garbledCert, TLSKey: "a.test.key"},
			want: []string{"certificates.api.tls_cert: parsing certificate 1 of the chain"}},
		{name: "key where the certificate goes", c: config.Certificate{TLSCert: "a.test.key", TLSKey: "a.test.key"},
			want: []string{"certificates.api.tls_cert: no CERTIFICATE PEM block found"}},
		{name: "certificate where the key goes", c: config.Certificate{TLSCert: "a.test.pem", TLSKey: "a.test.pem"},
			want: []string{"certificates.api.tls_key: no PRIVATE KEY PEM block found"}},
		{name: "encrypted PKCS#8 key", c: config.Certificate{TLSCert: "a.test.pem", TLSKey: encrypted},
			want: []string{"certificates.api.tls_key: the private key is encrypted"}},
		{name: "encrypted legacy key", c: config.Certificate{TLSCert: "a.test.pem", TLSKey: legacyEncrypted},
			want: []string{"certificates.api.tls_key: the private key is encrypted"}},
		{name: "broken key block", c: config.Certificate{TLSCert: "a.test.pem", TLSKey: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"},
			want: []string{"certificates.api.tls_key: parsing PRIVATE KEY block"}},
		{name: "both fields wrong at once", c: config.Certificate{TLSCert: "x.pem", TLSKey: "y.key"},
			want: []string{"certificates.api.tls_cert:", "x.pem", "certificates.api.tls_key:", "y.key"}},
		{name: "bad domains", c: config.Certificate{TLSCert: "a.test.pem", TLSKey: "a.test.key", Domains: "ok.test, a.*.test, bad name"},
			want: []string{"certificates.api.domains:", `"a.*.test": only a leading "*." wildcard`, `"bad name" is not a DNS name`}},
	}
	l := Loader{BaseDir: fixtures}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := l.Load("api", &tt.c)
			if c != nil {
				t.Errorf("Load returned a certificate with an error")
			}
			wantErr(t, err, tt.want...)
		})
	}
}

func TestLoadValidity(t *testing.T) {
	// The fixtures are valid from 2025-01-01 to 2125-01-01.
	tests := []struct {
		name       string
		now        time.Time
		bufferDays int
		want       string
	}{
		{name: "valid", now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)},
		{name: "expired", now: time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC),
			want: "certificates.api.tls_cert: certificate expired on 2125-01-01T00:00:00Z (still served)"},
		{name: "not yet valid", now: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
			want: "certificates.api.tls_cert: certificate is not valid before 2025-01-01T00:00:00Z (still served)"},
		{name: "within default buffer", now: time.Date(2124, 12, 28, 0, 0, 0, 0, time.UTC),
			want: "certificates.api.tls_cert: certificate expires on 2125-01-01T00:00:00Z, within buffer_days (7)"},
		{name: "outside a short buffer", now: time.Date(2124, 12, 28, 0, 0, 0, 0, time.UTC), bufferDays: 2},
		{name: "within a long buffer", now: time.Date(2124, 11, 1, 0, 0, 0, 0, time.UTC), bufferDays: 90,
			want: "within buffer_days (90)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := Loader{BaseDir: fixtures, Env: Env{Now: func() time.Time { return tt.now }}}
			cc := fileCert("a.test")
			cc.BufferDays = tt.bufferDays
			c, err := l.Load("api", cc)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			got := strings.Join(c.Warnings, "\n")
			if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
				t.Errorf("Warnings = %q; want %q", got, tt.want)
			}
		})
	}
}

// selfSigned makes a throw-away ECDSA certificate from tmpl.
func selfSigned(t *testing.T, tmpl *x509.Certificate) (certPEM, keyPEM string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = big.NewInt(1)
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(365 * 24 * time.Hour)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
}

func TestLoadDomains(t *testing.T) {
	cnCert, cnKey := selfSigned(t, &x509.Certificate{Subject: pkix.Name{CommonName: "CN.Only.Test"}})
	sanCert, sanKey := selfSigned(t, &x509.Certificate{Subject: pkix.Name{CommonName: "ignored.test"},
		DNSNames: []string{"One.Test", "*.two.test", "bad name"}})
	tests := []struct {
		name       string
		c          config.Certificate
		want       []string
		wantErrStr string
	}{
		{name: "domains key wins", c: config.Certificate{TLSCert: sanCert, TLSKey: sanKey, Domains: " x.test,*.Y.test., ,z.test "},
			want: []string{"x.test", "*.y.test", "z.test"}},
		{name: "SANs lowercased, invalid skipped, CN ignored", c: config.Certificate{TLSCert: sanCert, TLSKey: sanKey},
			want: []string{"one.test", "*.two.test"}},
		{name: "CN when no SANs", c: config.Certificate{TLSCert: cnCert, TLSKey: cnKey},
			want: []string{"cn.only.test"}},
		{name: "empty list is an error", c: config.Certificate{TLSCert: cnCert, TLSKey: cnKey, Domains: " , "},
			wantErrStr: "certificates.api.domains: no names in the list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Loader{}.Load("api", &tt.c)
			if tt.wantErrStr != "" {
				wantErr(t, err, tt.wantErrStr)
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !slices.Equal(c.Domains, tt.want) {
				t.Errorf("Domains = %q; want %q", c.Domains, tt.want)
			}
		})
	}
}

func TestLoadUsesEnv(t *testing.T) {
	var asked []string
	l := Loader{BaseDir: "/conf", Env: Env{
		ReadFile: func(name string) ([]byte, error) {
			asked = append(asked, name)
			return nil, fs.ErrNotExist
		},
		HomeDir: func() (string, error) { return "", errors.New("no home") },
	}}
	_, err := l.Load("api", &config.Certificate{TLSCert: "certs/a.pem", TLSKey: "~/a.key"})
	wantErr(t, err, "certificates.api.tls_cert:", "file does not exist", `certificates.api.tls_key: expanding "~/a.key": no home`)
	if want := []string{filepath.Join("/conf", "certs/a.pem")}; !slices.Equal(asked, want) {
		t.Errorf("files read = %q; want %q", asked, want)
	}
}
