package e2e

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 2: HTTP/2 and TLS to upstreams: h2c with prior knowledge, h2 over
// TLS with SNI, and certificate verification.
func TestUpstreamProtocols(t *testing.T) {
	seen := func(w http.ResponseWriter, r *http.Request) {
		sni := ""
		if r.TLS != nil {
			sni = r.TLS.ServerName
		}
		fmt.Fprintf(w, "proto=%s sni=%s", r.Proto, sni)
	}
	// h2c backend.
	var p2 http.Protocols
	p2.SetUnencryptedHTTP2(true)
	p2.SetHTTP1(true)
	h2c := &http.Server{Handler: http.HandlerFunc(seen), Protocols: &p2}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go h2c.Serve(l)
	t.Cleanup(func() { h2c.Close() })

	// TLS backend with the test CA's certificate for a.test, speaking h2.
	cert, err := tls.LoadX509KeyPair(filepath.Join(repoRoot, "testdata", "tls", "a.test.pem"), filepath.Join(repoRoot, "testdata", "tls", "a.test.key"))
	if err != nil {
		t.Fatal(err)
	}
	tb := httptest.NewUnstartedServer(http.HandlerFunc(seen))
	tb.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	tb.EnableHTTP2 = true
	tb.StartTLS()
	t.Cleanup(tb.Close)

	addr := freePort(t)
	conf := filepath.Join(t.TempDir(), "sluice.toml")
	writeConf(t, conf, `
[servers.main]
addr = "{{.addr}}"
locations = ["h2c", "tls", "noverify", "badverify"]
[locations.h2c]
path = "/h2c"
upstream = "h2c"
[locations.tls]
path = "/tls"
upstream = "tls"
[locations.noverify]
path = "/noverify"
upstream = "noverify"
[locations.badverify]
path = "/badverify"
upstream = "badverify"
[upstreams.h2c]
addrs = ["{{.h2c}}"]
alpn = "h2"
[upstreams.tls]
addrs = ["{{.tls}}"]
sni = "a.test"
alpn = "h2"
verify_cert = false
[upstreams.noverify]
addrs = ["{{.tls}}"]
sni = "other.test"
verify_cert = false
[upstreams.badverify]
addrs = ["{{.tls}}"]
sni = "a.test"
`, map[string]any{"addr": addr, "h2c": l.Addr().String(), "tls": tb.Listener.Addr().String()})
	start(t, conf, addr)

	tests := []struct {
		path   string
		status int
		want   string
	}{
		{"/h2c", 200, "proto=HTTP/2.0 sni="},
		{"/tls", 200, "proto=HTTP/2.0 sni=a.test"},
		{"/noverify", 200, "proto=HTTP/1.1 sni=other.test"},
		// The test CA is not in the system pool: verification fails.
		{"/badverify", 502, "upstream"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			code, body, _ := httpGet(t, http.DefaultClient, "http://"+addr+tc.path)
			if code != tc.status || !strings.Contains(body, tc.want) {
				t.Errorf("%d %q; want %d containing %q", code, body, tc.status, tc.want)
			}
		})
	}
}
