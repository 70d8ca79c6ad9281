package tlsx

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/host/config"
)

func TestHTTPHandlerRouting(t *testing.T) {
	m := newTestManager(t)
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := m.HTTPHandler(next)
	get := func(host, path string) int {
		rec := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, "http://"+host+path, nil)
		h.ServeHTTP(rec, r)
		return rec.Code
	}
	if got := get("le.test", "/.well-known/acme-challenge/x"); got != http.StatusTeapot {
		t.Errorf("before any Store: status %d; want the next handler's 418", got)
	}
	m.Swap(build(t, m, &config.Config{Certificates: map[string]*config.Certificate{
		"le": {Acme: "lets_encrypt", Domains: "le.test", AcmeDirectory: "https://127.0.0.1:1/dir"},
		"a":  fileCert("a.test"),
	}}))
	tests := []struct {
		name, host, path string
		want             int
	}{
		{name: "other path goes on", host: "le.test", path: "/index.html", want: http.StatusTeapot},
		{name: "challenge for a static name goes on", host: "a.test", path: "/.well-known/acme-challenge/x", want: http.StatusTeapot},
		// autocert answers an unknown token with 404.
		{name: "challenge for an ACME name is answered", host: "le.test:8080", path: "/.well-known/acme-challenge/unknown", want: http.StatusNotFound},
		{name: "host case and trailing dot", host: "LE.test.", path: "/.well-known/acme-challenge/unknown", want: http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := get(tt.host, tt.path); got != tt.want {
				t.Errorf("status %d; want %d", got, tt.want)
			}
		})
	}
}

func TestHostPolicy(t *testing.T) {
	m := newTestManager(t)
	m.Swap(build(t, m, &config.Config{Certificates: map[string]*config.Certificate{
		"le":    {Acme: "lets_encrypt", Domains: "le.test,www.le.test"},
		"other": {Acme: "lets_encrypt", Domains: "o.test", AcmeDirectory: "https://127.0.0.1:1/dir"},
	}}))
	le := m.acme["https://acme-v02.api.letsencrypt.org/directory"]
	if le == nil || len(m.acme) != 2 {
		t.Fatalf("ACME clients: %v; want one per directory", m.acme)
	}
	policy := le.mgr.HostPolicy
	for host, ok := range map[string]bool{
		"le.test": true, "www.le.test:80": true, "LE.TEST": true,
		"o.test": false, // another directory's name
		"x.test": false,
	} {
		if err := policy(context.Background(), host); (err == nil) != ok {
			t.Errorf("policy(%q) = %v; want allowed %v", host, err, ok)
		}
	}
	// Reloading keeps the client and follows the new names.
	m.Swap(build(t, m, &config.Config{Certificates: map[string]*config.Certificate{
		"le": {Acme: "lets_encrypt", Domains: "new.test"},
	}}))
	if m.acme["https://acme-v02.api.letsencrypt.org/directory"] != le {
		t.Error("a reload replaced the process-long ACME client")
	}
	if policy(context.Background(), "le.test") == nil || policy(context.Background(), "new.test") != nil {
		t.Error("host policy does not follow the current Store")
	}
}

// pebble is a running Pebble ACME server with pebble-challtestsrv as its DNS,
// set up as perf-reliability.md §B5 describes.
type pebble struct {
	dirURL   string
	mgmtURL  string
	httpPort int // where Pebble sends HTTP-01 requests
	tlsPort  int // where Pebble makes TLS-ALPN-01 handshakes
	client   *http.Client
}

// freePorts returns n loopback TCP ports that were free a moment ago.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// lockedBuffer collects a child process's output.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start runs a command until the end of the test and shows its output if
// the test fails.
func start(t *testing.T, env []string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, out)
		}
	})
}

func startPebble(t *testing.T) *pebble {
	t.Helper()
	if testing.Short() {
		t.Skip("ACME end-to-end test skipped in -short mode")
	}
	for _, bin := range []string{"pebble", "pebble-challtestsrv"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s is not installed (Debian package pebble; `make deps` should install it): %v", bin, err)
		}
	}
	p := freePorts(t, 6)
	dnsPort, dnsMgmt, listen, mgmt := p[0], p[1], p[2], p[3]
	pb := &pebble{
		dirURL:   fmt.Sprintf("https://127.0.0.1:%d/dir", listen),
		mgmtURL:  fmt.Sprintf("https://127.0.0.1:%d", mgmt),
		httpPort: p[4],
		tlsPort:  p[5],
	}
	// DNS answers every name with 127.0.0.1; its own challenge servers are
	// off because sluice answers the challenges.
	start(t, nil, "pebble-challtestsrv", "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
		"-dns01", fmt.Sprintf("127.0.0.1:%d", dnsPort), "-http01", "", "-https01", "", "-tlsalpn01", "",
		"-management", fmt.Sprintf("127.0.0.1:%d", dnsMgmt))

	// Pebble's own HTTPS listener uses the test CA's localhost certificate
	// (Debian does not ship Pebble's test/certs).
	abs, err := filepath.Abs(fixtures)
	if err != nil {
		t.Fatal(err)
	}
	conf := map[string]any{"pebble": map[string]any{
		"listenAddress":                  fmt.Sprintf("127.0.0.1:%d", listen),
		"managementListenAddress":        fmt.Sprintf("127.0.0.1:%d", mgmt),
		"certificate":                    filepath.Join(abs, "localhost.pem"),
		"privateKey":                     filepath.Join(abs, "localhost.key"),
		"httpPort":                       pb.httpPort,
		"tlsPort":                        pb.tlsPort,
		"ocspResponderURL":               "",
		"externalAccountBindingRequired": false,
	}}
	confPath := filepath.Join(t.TempDir(), "pebble.json")
	b, _ := json.Marshal(conf)
	if err := os.WriteFile(confPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	start(t, []string{"PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0"},
		"pebble", "-config", confPath, "-dnsserver", fmt.Sprintf("127.0.0.1:%d", dnsPort))

	pb.client = &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: rootPool(t)}},
	}
	t.Cleanup(pb.client.CloseIdleConnections)
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := pb.client.Get(pb.dirURL)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("pebble did not come up: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return pb
}

// roots returns Pebble's issuing root, which is new on every run.
func (pb *pebble) roots(t *testing.T) *x509.CertPool {
	t.Helper()
	resp, err := pb.client.Get(pb.mgmtURL + "/roots/0")
	if err != nil {
		t.Fatalf("fetching pebble's root: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatalf("pebble's root is not PEM: %q", b)
	}
	return pool
}

// serveOn is serve on a fixed address.
func serveOn(t *testing.T, addr string, cfg *tls.Config, opts ListenerOptions) *Listener {
	t.Helper()
	inner, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	l := NewListener(inner, cfg, opts)
	go func() {
		for {
			c, err := l.Accept()
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err == nil {
				go func() { io.Copy(c, c); c.Close() }()
			}
		}
	}()
	t.Cleanup(func() { l.Close() })
	return l
}

// TestACMEPebble obtains certificates from a real ACME server through both
// challenges and serves them by SNI.
func TestACMEPebble(t *testing.T) {
	pb := startPebble(t)
	m := NewManager(Options{ACMECacheDir: t.TempDir(), ACMEHTTPClient: pb.client})
	cfg := &config.Config{
		Certificates: map[string]*config.Certificate{
			"alpn":   {Acme: "lets_encrypt", AcmeDirectory: pb.dirURL, Domains: "alpn.sluice.test"},
			"http01": {Acme: "lets_encrypt", AcmeDirectory: pb.dirURL, Domains: "http.sluice.test"},
			"static": fileCert("a.test"),
		},
		Servers: map[string]*config.Server{"web": {GlobalCertificates: true, EnabledH2: true}},
	}
	m.Swap(build(t, m, cfg))
	roots := pb.roots(t)

	checkIssued := func(t *testing.T, c *tls.Conn, name string) {
		t.Helper()
		st := c.ConnectionState()
		leaf := st.PeerCertificates[0]
		if err := leaf.VerifyHostname(name); err != nil {
			t.Errorf("served certificate: %v", err)
		}
		if !strings.Contains(leaf.Issuer.CommonName, "Pebble") {
			t.Errorf("issuer = %q; want Pebble's intermediate", leaf.Issuer.CommonName)
		}
		echo(t, c, "hello")
	}

	t.Run("TLS-ALPN-01 through the first handshake", func(t *testing.T) {
		var challenges atomic.Int32
		l := serveOn(t, fmt.Sprintf("127.0.0.1:%d", pb.tlsPort), m.TLSConfig("web"), ListenerOptions{
			OnHandshake: func(_ net.Conn, info ConnInfo, err error) {
				if err == nil && info.NegotiatedProtocol == alpnACME {
					challenges.Add(1)
				}
			},
		})
		c, err := dial(t, l.Addr().String(), "alpn.sluice.test", func(c *tls.Config) {
			c.RootCAs = roots
			c.NextProtos = []string{"h2", "http/1.1"}
		})
		if err != nil {
			t.Fatalf("handshake (issuing on the way): %v", err)
		}
		checkIssued(t, c, "alpn.sluice.test")
		if c.ConnectionState().NegotiatedProtocol != "h2" {
			t.Errorf("ALPN = %q; want h2", c.ConnectionState().NegotiatedProtocol)
		}
		if challenges.Load() == 0 {
			t.Error("no acme-tls/1 handshake was seen")
		}
		// Static certificates are unaffected.
		s, err := dial(t, l.Addr().String(), "a.test", nil)
		if err != nil || leafName(s) != "a.test" {
			t.Errorf("static a.test: %v", err)
		}
	})

	t.Run("HTTP-01 through Prefetch", func(t *testing.T) {
		// Nothing answers TLS-ALPN-01 now, so autocert falls back to HTTP-01.
		var challenges atomic.Int32
		next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
		h := m.HTTPHandler(next)
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, challengePrefix) {
				challenges.Add(1)
			}
			h.ServeHTTP(w, r)
		}))
		inner, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", pb.httpPort))
		if err != nil {
			t.Fatal(err)
		}
		srv.Listener.Close()
		srv.Listener = inner
		srv.Start()
		defer srv.Close()

		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := m.Prefetch(ctx); err != nil {
			t.Fatalf("Prefetch: %v", err)
		}
		if challenges.Load() == 0 {
			t.Error("no HTTP-01 request reached the handler")
		}
		resp, err := http.Get(srv.URL + "/other")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusTeapot {
			t.Errorf("non-challenge request: status %d; want the next handler's 418", resp.StatusCode)
		}

		// The certificate is now served from memory by any TLS server.
		addr := serve(t, m.TLSConfig("web"), ListenerOptions{})
		c, err := dial(t, addr, "http.sluice.test", func(c *tls.Config) { c.RootCAs = roots })
		if err != nil {
			t.Fatalf("handshake: %v", err)
		}
		checkIssued(t, c, "http.sluice.test")
	})

	t.Run("a reload keeps obtained certificates", func(t *testing.T) {
		// The ACME certificate becomes the default as well.
		cfg.Certificates["alpn"].IsDefault = true
		m.Swap(build(t, m, cfg))
		addr := serve(t, m.TLSConfig("web"), ListenerOptions{})
		for _, name := range []string{"alpn.sluice.test", "http.sluice.test"} {
			start := time.Now()
			c, err := dial(t, addr, name, func(c *tls.Config) { c.RootCAs = roots })
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			checkIssued(t, c, name)
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("%s took %v: ordered again instead of served from memory", name, d)
			}
		}
		for _, sni := range []string{"unknown.sluice.test", ""} {
			c, err := dial(t, addr, sni, func(c *tls.Config) { c.InsecureSkipVerify = true })
			if err != nil {
				t.Fatalf("SNI %q: %v", sni, err)
			}
			if got := leafName(c); got != "alpn.sluice.test" {
				t.Errorf("SNI %q got %q; want the ACME default alpn.sluice.test", sni, got)
			}
		}
	})
}
