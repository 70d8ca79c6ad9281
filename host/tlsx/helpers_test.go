package tlsx

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/host/config"
)

// fixtures is the shared test CA (see testdata/tls/README.md).
var fixtures = filepath.Join("..", "..", "testdata", "tls")

// fixture returns the text of testdata/tls/NAME.
func fixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatalf("reading fixture: %v", err)
	}
	return string(b)
}

// fileCert is a certificate table that points at NAME.pem and NAME.key.
func fileCert(name string) *config.Certificate {
	return &config.Certificate{TLSCert: name + ".pem", TLSKey: name + ".key"}
}

// rootPool trusts the test root CA.
func rootPool(t testing.TB) *x509.CertPool {
	t.Helper()
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM([]byte(fixture(t, "ca.pem"))) {
		t.Fatal("ca.pem holds no certificate")
	}
	return p
}

// newTestManager returns a Manager whose relative paths resolve in
// testdata/tls and whose ACME cache is a temporary directory.
func newTestManager(t testing.TB) *Manager {
	t.Helper()
	return NewManager(Options{ACMECacheDir: t.TempDir()})
}

// build builds cfg into a Store, failing the test on error.
func build(t testing.TB, m *Manager, cfg *config.Config) *Store {
	t.Helper()
	s, err := m.Build(cfg, fixtures)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return s
}

// serve runs an echo server behind a Listener with cfg on loopback and
// returns its address. Everything stops at the end of the test.
func serve(t testing.TB, cfg *tls.Config, opts ListenerOptions) string {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := NewListener(inner, cfg, opts)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				io.Copy(c, c)
				c.Close()
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return l.Addr().String()
}

// dial makes a TLS connection trusting the test CA with SNI sni (none when
// empty), after edit changes the client config.
func dial(t testing.TB, addr, sni string, edit func(*tls.Config)) (*tls.Conn, error) {
	t.Helper()
	cfg := &tls.Config{RootCAs: rootPool(t), ServerName: sni}
	if sni == "" {
		// No SNI is sent; check the chain by hand against the default name.
		cfg.InsecureSkipVerify = true
	}
	if edit != nil {
		edit(cfg)
	}
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Close() })
	return c, nil
}

// echo checks that a connection still carries data both ways.
func echo(t testing.TB, c net.Conn, msg string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatalf("write: %v", err)
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("read: %v", err)
	}
	if string(buf) != msg {
		t.Fatalf("echo = %q; want %q", buf, msg)
	}
}

// leafName is the first DNS name of the certificate a connection got.
func leafName(c *tls.Conn) string {
	st := c.ConnectionState()
	if len(st.PeerCertificates) == 0 {
		return ""
	}
	return strings.Join(st.PeerCertificates[0].DNSNames, ",")
}

// wantErr checks that err's text contains every part.
func wantErr(t testing.TB, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil; want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("err = %q\nwant it to contain %q", err, p)
		}
	}
}
