package tlsx

import (
	"crypto/tls"
	"errors"
	"strings"
	"testing"

	"github.com/sluice-proxy/sluice/host/config"
)

// sniConfig serves a.test, *.wild.test, ed.test and chain.test, with
// default.test as the default when withDefault.
func sniConfig(withDefault bool) *config.Config {
	def := fileCert("default.test")
	def.IsDefault = withDefault
	return &config.Config{
		Certificates: map[string]*config.Certificate{
			"a":     fileCert("a.test"),
			"wild":  fileCert("wild.test"),
			"def":   def,
			"ed":    fileCert("ed.test"),
			"chain": fileCert("chain.test"),
		},
		Servers: map[string]*config.Server{"web": {Addr: "127.0.0.1:0", GlobalCertificates: true}},
	}
}

func TestSNI(t *testing.T) {
	tests := []struct {
		name        string
		withDefault bool
		sni         string
		// verify checks the chain against the test CA for the SNI name;
		// fallbacks to the default cannot pass that check.
		verify   bool
		wantLeaf string
		wantErr  string
	}{
		{name: "exact", withDefault: true, sni: "a.test", verify: true, wantLeaf: "a.test"},
		{name: "exact, other case", withDefault: true, sni: "A.Test", verify: true, wantLeaf: "a.test"},
		{name: "wildcard", withDefault: true, sni: "x.wild.test", verify: true, wantLeaf: "*.wild.test"},
		{name: "wildcard, other case", withDefault: true, sni: "API.Wild.TEST", verify: true, wantLeaf: "*.wild.test"},
		{name: "Ed25519 certificate", withDefault: true, sni: "ed.test", verify: true, wantLeaf: "ed.test"},
		{name: "chain through an intermediate", withDefault: true, sni: "chain.test", verify: true, wantLeaf: "chain.test"},
		{name: "wildcard does not cover its parent", withDefault: true, sni: "wild.test", wantLeaf: "default.test"},
		{name: "wildcard covers one level only", withDefault: true, sni: "a.b.wild.test", wantLeaf: "default.test"},
		{name: "unknown name gets the default", withDefault: true, sni: "unknown.test", wantLeaf: "default.test"},
		{name: "no SNI gets the default", withDefault: true, sni: "", wantLeaf: "default.test"},
		{name: "default is also served by its own name", withDefault: true, sni: "default.test", verify: true, wantLeaf: "default.test"},
		{name: "unknown name without default fails", sni: "unknown.test", wantErr: "remote error"},
		{name: "no SNI without default fails", sni: "", wantErr: "remote error"},
		{name: "exact without default", sni: "a.test", verify: true, wantLeaf: "a.test"},
	}
	addrs := map[bool]string{}
	for _, withDefault := range []bool{true, false} {
		m := newTestManager(t)
		m.Swap(build(t, m, sniConfig(withDefault)))
		addrs[withDefault] = serve(t, m.TLSConfig("web"), ListenerOptions{})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := dial(t, addrs[tt.withDefault], tt.sni, func(c *tls.Config) {
				c.InsecureSkipVerify = !tt.verify
			})
			if tt.wantErr != "" {
				wantErr(t, err, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			if got := leafName(c); got != tt.wantLeaf {
				t.Errorf("served %q; want %q", got, tt.wantLeaf)
			}
			echo(t, c, "ping")
		})
	}
}

func TestGetCertificateErrors(t *testing.T) {
	m := newTestManager(t)
	s := build(t, m, sniConfig(false))
	tests := []struct {
		name string
		sni  string
		want string
	}{
		{name: "unknown name", sni: "nope.test", want: `tlsx: no certificate for server name "nope.test", and no certificate is_default`},
		{name: "no SNI", sni: "", want: "tlsx: no certificate for a client that sent no server name (SNI), and no certificate is_default"},
		{name: "over-long name", sni: strings.Repeat("a", 300), want: "tlsx: no certificate for server name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.GetCertificate(&tls.ClientHelloInfo{ServerName: tt.sni})
			wantErr(t, err, tt.want)
			if !errors.Is(err, ErrNoCertificate) {
				t.Errorf("err = %v; want ErrNoCertificate", err)
			}
		})
	}
	if _, err := m.GetCertificate(&tls.ClientHelloInfo{ServerName: "a.test"}); !errors.Is(err, ErrNoConfig) {
		t.Errorf("GetCertificate before Swap: err = %v; want ErrNoConfig", err)
	}
}

// TestLookupDoesNotAllocate pins the hot path: picking a static
// certificate is map hits only.
func TestLookupDoesNotAllocate(t *testing.T) {
	m := newTestManager(t)
	s := build(t, m, sniConfig(true))
	for _, sni := range []string{"a.test", "x.wild.test", "X.Wild.Test", "unknown.test", ""} {
		hello := &tls.ClientHelloInfo{ServerName: sni}
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := s.GetCertificate(hello); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("GetCertificate(%q) allocates %v times; want 0", sni, allocs)
		}
	}
}

func BenchmarkGetCertificate(b *testing.B) {
	m := newTestManager(b)
	s := build(b, m, sniConfig(true))
	hello := &tls.ClientHelloInfo{ServerName: "api.wild.test"}
	b.ReportAllocs()
	for b.Loop() {
		s.GetCertificate(hello)
	}
}

func TestNewStore(t *testing.T) {
	load := func(name string, def bool, domains string) *Certificate {
		c := fileCert(name)
		c.IsDefault, c.Domains = def, domains
		lc, err := Loader{BaseDir: fixtures}.Load(name, c)
		if err != nil {
			t.Fatal(err)
		}
		return lc
	}
	t.Run("name claimed twice stays with the first", func(t *testing.T) {
		s, err := NewStore([]*Certificate{load("a.test", false, ""), load("default.test", false, "a.test,default.test")})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := s.GetCertificate(&tls.ClientHelloInfo{ServerName: "a.test"})
		if got == nil || got.Leaf.DNSNames[0] != "a.test" {
			t.Errorf("a.test served by %v; want the a.test certificate", got.Leaf.DNSNames)
		}
		wantErr(t, errors.New(strings.Join(s.Warnings(), "\n")),
			`certificates.default.test: "a.test" is already served by certificates.a.test, which keeps it`)
	})
	t.Run("two defaults", func(t *testing.T) {
		_, err := NewStore([]*Certificate{load("a.test", true, ""), load("default.test", true, "")})
		wantErr(t, err, "certificates.default.test.is_default: certificates.a.test is already the default")
	})
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  config.Config
		want []string
	}{
		{name: "every error at once", cfg: config.Config{
			Certificates: map[string]*config.Certificate{
				"bad":  {TLSCert: "a.test.pem", TLSKey: "wild.test.key"},
				"ca":   {TLSCert: "ca.pem", TLSKey: "ca.key", IsCA: true},
				"ok":   fileCert("a.test"),
				"acme": {Acme: "zerossl", Domains: "*.x.test,local", DNSChallenge: true, AcmeDirectory: "http://insecure/dir"},
			},
			Servers: map[string]*config.Server{
				"web":   {GlobalCertificates: true, TLSMinVersion: "tlsv2"},
				"plain": {TLSMinVersion: "nonsense"},
			},
		}, want: []string{
			"certificates.bad.tls_key: private key (RSA 2048) does not match",
			"certificates.ca.is_ca: minting certificates from a CA is not supported",
			`certificates.acme.acme: unknown ACME provider "zerossl" (want "lets_encrypt")`,
			"certificates.acme.dns_challenge: DNS-01 is not supported",
			`certificates.acme.acme_directory: "http://insecure/dir" is not an https URL`,
			`certificates.acme.domains: "*.x.test": wildcard names need DNS-01`,
			`certificates.acme.domains: "local": ACME needs a name with a dot`,
			`servers.web.tls_min_version: unknown TLS version "tlsv2"`,
		}},
		{name: "TLS server without certificates", cfg: config.Config{
			Servers: map[string]*config.Server{"web": {GlobalCertificates: true}},
		}, want: []string{"servers.web.global_certificates: there are no [certificates] to serve"}},
		{name: "acme without domains", cfg: config.Config{
			Certificates: map[string]*config.Certificate{"le": {Acme: "lets_encrypt"}},
		}, want: []string{"certificates.le.domains: required with acme"}},
		{name: "two defaults", cfg: config.Config{
			Certificates: map[string]*config.Certificate{
				"a": {TLSCert: "a.test.pem", TLSKey: "a.test.key", IsDefault: true},
				"b": {TLSCert: "default.test.pem", TLSKey: "default.test.key", IsDefault: true},
			},
		}, want: []string{"certificates.b.is_default: certificates.a is already the default"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestManager(t)
			s, err := m.Build(&tt.cfg, fixtures)
			if s != nil {
				t.Error("Build returned a Store with errors")
			}
			wantErr(t, err, tt.want...)
			if m.Store() != nil {
				t.Error("a failed Build changed the running Store")
			}
		})
	}
}

func TestBuildWarnings(t *testing.T) {
	m := newTestManager(t)
	s := build(t, m, &config.Config{
		Certificates: map[string]*config.Certificate{
			"a":  fileCert("a.test"),
			"le": {Acme: "lets_encrypt", Domains: "le.test", TLSCert: "old.pem"},
		},
		Servers: map[string]*config.Server{
			"web":   {GlobalCertificates: true, TLSCiphersuites: "TLS_AES_128_GCM_SHA256"},
			"plain": {TLSMinVersion: "tlsv1.3"},
		},
	})
	got := strings.Join(s.Warnings(), "\n")
	for _, want := range []string{
		"certificates.le: tls_cert and tls_key are ignored because acme is set",
		"servers.web.tls_ciphersuites: ignored",
		"servers.plain: tls_* keys are ignored because global_certificates is not set",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("warnings:\n%s\nwant one containing %q", got, want)
		}
	}
	if s.ServerConfig("web") == nil || s.ServerConfig("plain") != nil {
		t.Errorf("ServerConfig: web %v, plain %v; want a config for web only", s.ServerConfig("web") != nil, s.ServerConfig("plain") != nil)
	}
	if n := len(s.Certificates()); n != 1 {
		t.Errorf("Certificates() has %d; want the one static certificate", n)
	}
}
