package tlsx

import (
	"crypto/tls"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/host/config"
)

// oneServer is a config with the given server settings and the a.test,
// *.wild.test and default certificates.
func oneServer(srv config.Server) *config.Config {
	srv.GlobalCertificates = true
	cfg := sniConfig(true)
	cfg.Servers = map[string]*config.Server{"web": &srv}
	return cfg
}

func TestVersions(t *testing.T) {
	tests := []struct {
		name         string
		srv          config.Server
		clientMin    uint16
		clientMax    uint16
		wantVersion  uint16
		wantHandshak bool
	}{
		{name: "defaults negotiate 1.3", wantVersion: tls.VersionTLS13, wantHandshak: true},
		{name: "client limited to 1.1 fails against default min 1.2",
			clientMin: tls.VersionTLS10, clientMax: tls.VersionTLS11},
		{name: "client limited to 1.1 fails against explicit min 1.2", srv: config.Server{TLSMinVersion: "tlsv1.2"},
			clientMin: tls.VersionTLS10, clientMax: tls.VersionTLS11},
		{name: "min 1.1 lets a 1.1 client in", srv: config.Server{TLSMinVersion: "tlsv1.1"},
			clientMin: tls.VersionTLS11, clientMax: tls.VersionTLS11, wantVersion: tls.VersionTLS11, wantHandshak: true},
		{name: "max 1.2 caps a 1.3 client", srv: config.Server{TLSMaxVersion: "TLSv1.2"},
			wantVersion: tls.VersionTLS12, wantHandshak: true},
		{name: "min 1.3 refuses a 1.2 client", srv: config.Server{TLSMinVersion: "tls1.3"},
			clientMax: tls.VersionTLS12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestManager(t)
			m.Swap(build(t, m, oneServer(tt.srv)))
			addr := serve(t, m.TLSConfig("web"), ListenerOptions{})
			c, err := dial(t, addr, "a.test", func(c *tls.Config) {
				c.MinVersion, c.MaxVersion = tt.clientMin, tt.clientMax
			})
			if !tt.wantHandshak {
				wantErr(t, err, "protocol version")
				return
			}
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			if got := c.ConnectionState().Version; got != tt.wantVersion {
				t.Errorf("version = %s; want %s", VersionName(got), VersionName(tt.wantVersion))
			}
		})
	}
}

func TestCiphers(t *testing.T) {
	const only = tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
	tests := []struct {
		name      string
		list      string
		sni       string
		client    []uint16
		want      uint16
		wantError string
	}{
		{name: "server list picks among client suites", list: "ECDHE-ECDSA-CHACHA20-POLY1305", sni: "a.test",
			client: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, only}, want: only},
		{name: "Go names work too", list: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", sni: "x.wild.test",
			client: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384},
			want:   tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384},
		{name: "no common suite fails", list: "ECDHE-ECDSA-CHACHA20-POLY1305", sni: "a.test",
			client: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}, wantError: "handshake failure"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestManager(t)
			m.Swap(build(t, m, oneServer(config.Server{TLSCipherList: tt.list})))
			addr := serve(t, m.TLSConfig("web"), ListenerOptions{})
			// Suites only apply up to TLS 1.2.
			c, err := dial(t, addr, tt.sni, func(c *tls.Config) {
				c.MaxVersion = tls.VersionTLS12
				c.CipherSuites = tt.client
			})
			if tt.wantError != "" {
				wantErr(t, err, tt.wantError)
				return
			}
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			if got := c.ConnectionState().CipherSuite; got != tt.want {
				t.Errorf("cipher = %s; want %s", CipherName(got), CipherName(tt.want))
			}
		})
	}
}

func TestALPN(t *testing.T) {
	tests := []struct {
		name   string
		h2     bool
		client []string
		want   string
	}{
		{name: "h2 enabled", h2: true, client: []string{"h2", "http/1.1"}, want: "h2"},
		{name: "h2 disabled", client: []string{"h2", "http/1.1"}, want: "http/1.1"},
		{name: "client without ALPN", h2: true, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestManager(t)
			m.Swap(build(t, m, oneServer(config.Server{EnabledH2: tt.h2})))
			addr := serve(t, m.TLSConfig("web"), ListenerOptions{})
			c, err := dial(t, addr, "a.test", func(c *tls.Config) { c.NextProtos = tt.client })
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			if got := c.ConnectionState().NegotiatedProtocol; got != tt.want {
				t.Errorf("ALPN = %q; want %q", got, tt.want)
			}
		})
	}
}

// TestSwap reloads certificates and server settings under a running
// listener: open connections keep working, new ones see the new
// generation, and sessions resume across the swap.
func TestSwap(t *testing.T) {
	m := newTestManager(t)
	front := m.TLSConfig("web")
	if m.TLSConfig("web") != front {
		t.Fatal("TLSConfig returned a new config for the same server")
	}
	addr := serve(t, front, ListenerOptions{})
	if _, err := dial(t, addr, "a.test", nil); err == nil {
		t.Fatal("handshake before the first Swap succeeded")
	}

	m.Swap(build(t, m, oneServer(config.Server{})))
	cache := tls.NewLRUClientSessionCache(4)
	old, err := dial(t, addr, "a.test", func(c *tls.Config) { c.ClientSessionCache = cache })
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	echo(t, old, "before") // Reading also takes in the TLS 1.3 session ticket.

	// Generation 2: a.test now gets the default certificate (it is no
	// longer among any certificate's names), and TLS 1.3 is required.
	cfg2 := oneServer(config.Server{TLSMinVersion: "tlsv1.3"})
	delete(cfg2.Certificates, "a")
	prev := m.Swap(build(t, m, cfg2))
	if prev == nil || prev == m.Store() {
		t.Fatal("Swap did not return the previous Store")
	}

	echo(t, old, "after")
	if got := leafName(old); got != "a.test" {
		t.Errorf("open connection now reports %q; want its original a.test", got)
	}
	c, err := dial(t, addr, "a.test", func(c *tls.Config) { c.InsecureSkipVerify = true })
	if err != nil {
		t.Fatalf("handshake after swap: %v", err)
	}
	if got := leafName(c); got != "default.test" {
		t.Errorf("new connection got %q; want default.test", got)
	}
	if _, err := dial(t, addr, "x.wild.test", func(c *tls.Config) { c.MaxVersion = tls.VersionTLS12 }); err == nil {
		t.Error("a TLS 1.2 client got in after min became 1.3")
	}

	// The session from generation 1 resumes: the ticket keys belong to the
	// long-lived config, not to a generation.
	m.Swap(build(t, m, oneServer(config.Server{})))
	r, err := dial(t, addr, "a.test", func(c *tls.Config) { c.ClientSessionCache = cache })
	if err != nil {
		t.Fatalf("resuming handshake: %v", err)
	}
	if !r.ConnectionState().DidResume {
		t.Error("session did not resume across reloads")
	}

	// A generation without the server fails its handshakes.
	noServer := sniConfig(true)
	noServer.Servers = nil
	m.Swap(build(t, m, noServer))
	if _, err := dial(t, addr, "a.test", nil); err == nil {
		t.Error("handshake succeeded for a server the configuration no longer has")
	}
	_, err = front.GetConfigForClient(&tls.ClientHelloInfo{ServerName: "a.test"})
	if !errors.Is(err, ErrNoConfig) {
		t.Errorf("GetConfigForClient: err = %v; want ErrNoConfig", err)
	}
}

// TestSwapHammer swaps generations while clients handshake without pause;
// no handshake may fail. Run it with -race.
func TestSwapHammer(t *testing.T) {
	m := newTestManager(t)
	gens := []*Store{
		build(t, m, oneServer(config.Server{})),
		build(t, m, oneServer(config.Server{EnabledH2: true, TLSMaxVersion: "tlsv1.2"})),
	}
	m.Swap(gens[0])
	addr := serve(t, m.TLSConfig("web"), ListenerOptions{})

	const clients, swaps = 4, 50
	var failures atomic.Int64
	var handshakes atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				c, err := dial(t, addr, []string{"a.test", "x.wild.test"}[(i+n)%2], nil)
				if err != nil {
					failures.Add(1)
					t.Errorf("handshake: %v", err)
					return
				}
				handshakes.Add(1)
				c.Close()
			}
		}()
	}
	for i := range swaps {
		m.Swap(gens[i%2])
		time.Sleep(2 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if failures.Load() != 0 || handshakes.Load() == 0 {
		t.Errorf("%d handshakes failed, %d succeeded", failures.Load(), handshakes.Load())
	}
}

func ExampleManager() {
	m := NewManager(Options{})
	cfg := &config.Config{
		Certificates: map[string]*config.Certificate{
			"site": {TLSCert: "a.test.pem", TLSKey: "a.test.key", IsDefault: true},
		},
		Servers: map[string]*config.Server{"web": {Addr: ":443", GlobalCertificates: true, EnabledH2: true}},
	}
	// On every (re)load: build beside the running Store, then swap.
	s, err := m.Build(cfg, "../../testdata/tls")
	if err != nil {
		fmt.Println(err)
		return
	}
	m.Swap(s)
	// Once per server: the listener's config follows every later Swap.
	front := m.TLSConfig("web")
	gen, _ := front.GetConfigForClient(&tls.ClientHelloInfo{ServerName: "a.test"})
	fmt.Println(gen.NextProtos, VersionName(gen.MinVersion))
	// Output: [h2 http/1.1] TLSv1.2
}
